// Row-wise softmax (or log-softmax when `log_out`) of a [rows, cols] matrix, cols > 0: one
// work-group per row. The row maximum is subtracted first and the sum of exponentials is
// taken in acc_t, as the CPU device does. Every work-item writes only the elements it read
// after the row's statistics are complete, so y may alias x.
__kernel void softmax(__global const float* x, uint xo, __global float* y, uint yo, uint cols,
                      int log_out) {
    __local float peak[PLEXUS_WG];
    __local acc_t total[PLEXUS_WG];
    const uint row = get_group_id(0), t = get_local_id(0), size = get_local_size(0);
    __global const float* xr = x + xo + (size_t)row * cols;
    __global float* yr = y + yo + (size_t)row * cols;

    acc_t s;
    const float m = row_exp_stats(xr, cols, peak, total, &s);

    if (log_out) {
        // (x - m) is exact, which keeps rows like [1000, 1001] accurate.
        const float log_s = (float)log(s);
        for (uint c = t; c < cols; c += size) yr[c] = (xr[c] - m) - log_s;
    } else {
        const float inv = (float)((acc_t)1 / s);
        for (uint c = t; c < cols; c += size) yr[c] = exp(xr[c] - m) * inv;
    }
}
