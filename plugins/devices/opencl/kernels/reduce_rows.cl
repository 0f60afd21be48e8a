// Reduction over the rows (the batch) of a [rows, cols] matrix: one work-item per column,
// reading the rows in order, so adjacent work-items read adjacent floats. op: 0 sum, 1 mean,
// 2 max, 3 argmax (first maximum wins), as plexus::ReduceOp. rows > 0.
__kernel void reduce_rows(__global const float* x, uint xo, __global float* y, uint yo,
                          uint rows, uint cols, int op) {
    const uint c = get_global_id(0);
    if (c >= cols) return;
    __global const float* xc = x + xo + c;
    if (op <= 1) {
        acc_t s = 0;
        for (uint r = 0; r < rows; ++r) s += xc[(size_t)r * cols];
        y[yo + c] = (float)(op == 1 ? s * ((acc_t)1 / (acc_t)rows) : s);
        return;
    }
    float best = xc[0];
    uint at = 0;
    for (uint r = 1; r < rows; ++r) {
        const float v = xc[(size_t)r * cols];
        if (v > best) {
            best = v;
            at = r;
        }
    }
    y[yo + c] = op == 2 ? best : (float)at;
}
