// Batched transpose of runs (plexus::Device::transpose): y[b][j][i][k] = x[b][i][j][k] for x
// seen as [batch, rows, cols, inner].
//
// inner == 1, an element transpose: each 16 x k work-group moves one 16 x 16 tile through
// local memory, so both the reads of x and the writes of y are runs of 16 adjacent floats; the
// tile's rows are 17 wide so the column reads hit 16 different local-memory banks. Dimension 1
// of the range counts tiles of all batches, tile-rows of batch b after those of batch b - 1.
//
// inner > 1, a block permute: the runs are already contiguous, so no tile is needed; dimension
// 0 walks a run (adjacent work-items, adjacent floats on both sides) and dimension 1 counts
// the output runs (b, j, i) in y's order. `inner` is the same for the whole launch, so the
// early return leaves every work-group on one side of the barrier.
#define TR_TILE 16
__kernel void transpose(__global const float* x, uint xo, __global float* y, uint yo,
                        uint rows, uint cols, uint inner, uint runs) {
    if (inner > 1) {
        const uint k = get_global_id(0), t = get_global_id(1);
        if (k >= inner || t >= runs) return;
        const uint i = t % rows, bj = t / rows, j = bj % cols, b = bj / cols;
        y[yo + t * inner + k] = x[xo + ((b * rows + i) * cols + j) * inner + k];
        return;
    }
    __local float tile[TR_TILE][TR_TILE + 1];
    const uint tiles_r = (rows + TR_TILE - 1) / TR_TILE;
    const uint b = get_group_id(1) / tiles_r;
    const uint r0 = (get_group_id(1) % tiles_r) * TR_TILE, c0 = get_group_id(0) * TR_TILE;
    const uint lx = get_local_id(0), ly = get_local_id(1), step = get_local_size(1);
    __global const float* xb = x + xo + b * rows * cols;
    __global float* yb = y + yo + b * rows * cols;
    for (uint r = ly; r < TR_TILE; r += step)
        if (r0 + r < rows && c0 + lx < cols) tile[r][lx] = xb[(r0 + r) * cols + c0 + lx];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint c = ly; c < TR_TILE; c += step)
        if (c0 + c < cols && r0 + lx < rows) yb[(c0 + c) * rows + r0 + lx] = tile[lx][c];
}
