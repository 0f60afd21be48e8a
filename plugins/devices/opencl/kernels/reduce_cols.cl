// Reduction within each row of a [rows, cols] matrix (Axis::all is one row of everything):
// one work-group of get_local_size(0) (a power of two <= PLEXUS_WG) per row, each work-item
// striding over the row, then a tree in local memory. op as in reduce_rows.cl. cols > 0.
__kernel void reduce_cols(__global const float* x, uint xo, __global float* y, uint yo,
                          uint cols, int op) {
    __local acc_t value[PLEXUS_WG];
    __local uint index[PLEXUS_WG];
    const uint row = get_group_id(0), t = get_local_id(0), size = get_local_size(0);
    __global const float* xr = x + xo + (size_t)row * cols;
    if (op <= 1) {
        acc_t s = 0;
        for (uint c = t; c < cols; c += size) s += xr[c];
        value[t] = s;
    } else {
        // Each work-item's first element is the best of its strided subset so far; a strict
        // comparison keeps the earliest index among equals.
        float best = t < cols ? xr[t] : xr[0];
        uint at = t < cols ? t : 0u;
        for (uint c = t + size; c < cols; c += size)
            if (xr[c] > best) {
                best = xr[c];
                at = c;
            }
        value[t] = best;
        index[t] = at;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (t < stride) {
            if (op <= 1) {
                value[t] += value[t + stride];
            } else {
                const acc_t v = value[t + stride];
                const uint k = index[t + stride];
                if (v > value[t] || (v == value[t] && k < index[t])) {
                    value[t] = v;
                    index[t] = k;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0)
        y[yo + row] = op == 0   ? (float)value[0]
                      : op == 1 ? (float)(value[0] / (acc_t)cols)
                      : op == 2 ? (float)value[0]
                                : (float)index[0];
}
