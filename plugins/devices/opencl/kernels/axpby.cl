// y = alpha * x + beta * y; with beta == 0, y is not read (it may hold garbage or NaN).
__kernel void axpby(float alpha, __global const float* x, uint xo, float beta, __global float* y,
                    uint yo, uint n) {
    const uint i = get_global_id(0);
    if (i >= n) return;
    y[yo + i] = beta == 0.0f ? alpha * x[xo + i] : alpha * x[xo + i] + beta * y[yo + i];
}
