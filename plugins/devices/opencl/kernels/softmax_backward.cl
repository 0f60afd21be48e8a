// dx = y * (dy - rowsum(dy * y)) for a row-wise softmax output y: one work-group per row.
// dx may alias dy: each work-item rewrites only its own elements after the row's sum.
__kernel void softmax_backward(__global const float* y, uint yo, __global const float* dy,
                               uint dyo, __global float* dx, uint dxo, uint cols) {
    __local acc_t total[PLEXUS_WG];
    const uint row = get_group_id(0), t = get_local_id(0), size = get_local_size(0);
    const size_t base = (size_t)row * cols;
    acc_t s = 0;
    for (uint c = t; c < cols; c += size) s += dy[dyo + base + c] * y[yo + base + c];
    total[t] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (t < stride) total[t] += total[t + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float dot = (float)total[0];
    for (uint c = t; c < cols; c += size) {
        const float g = dy[dyo + base + c];
        dx[dxo + base + c] = y[yo + base + c] * (g - dot);
    }
}
