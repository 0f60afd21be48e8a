// Fused softmax cross-entropy backward (softmax_cross_entropy.backward of
// plexus/fused.hpp): dpred = (softmax(pred) - target) * scale,
// one work-group per row, the softmax computed as in softmax.cl. dpred may alias pred.
__kernel void softmax_cross_entropy_backward(__global const float* x, uint xo,
                                             __global const float* target, uint to,
                                             __global float* y, uint yo, uint cols,
                                             float scale) {
    __local float peak[PLEXUS_WG];
    __local acc_t total[PLEXUS_WG];
    const uint row = get_group_id(0), t = get_local_id(0), size = get_local_size(0);
    const size_t base = (size_t)row * cols;
    __global const float* xr = x + xo + base;

    acc_t s;
    const float m = row_exp_stats(xr, cols, peak, total, &s);
    const float inv = (float)((acc_t)1 / s);
    for (uint c = t; c < cols; c += size)
        y[yo + base + c] = (exp(xr[c] - m) * inv - target[to + base + c]) * scale;
}
