// Fused batch normalization forward (batchnorm.forward_train and forward_infer of
// plexus/fused.hpp): one work-item per feature of x [n, f, s] (s = spatial; [n, f] when 1),
// feature c of sample r being the s contiguous values at (r*f + c)*s.
// Train: the feature's statistics over its n*s values around its first value in acc_t (no
// cancellation for a large mean with a small spread), the moving averages, xhat and y. Infer:
// y from the moving statistics. gamma/beta are read only when has_gamma/has_beta. The
// arithmetic follows the CPU device's fused_batchnorm.hpp expression by expression. y may
// alias x.
__kernel void batchnorm_forward(__global const float* x, uint xo, __global const float* gamma,
                                uint go, int has_gamma, __global const float* beta, uint bo,
                                int has_beta, __global float* y, uint yo, __global float* xhat,
                                uint ho, __global float* mean, uint mo, __global float* invstd,
                                uint io, __global float* moving_mean, uint mmo,
                                __global float* moving_var, uint mvo, uint n, uint f, uint s,
                                float epsilon, float momentum, int train) {
    const uint c = get_global_id(0);
    if (c >= f) return;
    const size_t stride = (size_t)f * s, plane = (size_t)c * s;
    const float g = has_gamma ? gamma[go + c] : 1.0f;
    const float b = has_beta ? beta[bo + c] : 0.0f;
    if (!train) {
        const float coef = g / sqrt(moving_var[mvo + c] + epsilon);
        const float shift = b - moving_mean[mmo + c] * coef;
        for (uint r = 0; r < n; ++r)
            for (uint k = 0; k < s; ++k) {
                const size_t i = r * stride + plane + k;
                y[yo + i] = x[xo + i] * coef + shift;
            }
        return;
    }
    const float pivot = x[xo + plane];
    acc_t sum = 0, q = 0;
    for (uint r = 0; r < n; ++r)
        for (uint k = 0; k < s; ++k) {
            const acc_t d = (acc_t)x[xo + r * stride + plane + k] - pivot;
            sum += d;
            q += d * d;
        }
    const acc_t inv_n = (acc_t)1 / ((acc_t)n * (acc_t)s);
    const acc_t m = sum * inv_n;
    const acc_t var = fmax(q * inv_n - m * m, (acc_t)0);
    const float mu = (float)(pivot + m);
    const float is = (float)((acc_t)1 / sqrt(var + epsilon));
    mean[mo + c] = mu;
    invstd[io + c] = is;
    moving_mean[mmo + c] = momentum * moving_mean[mmo + c] + (1.0f - momentum) * mu;
    moving_var[mvo + c] = momentum * moving_var[mvo + c] + (1.0f - momentum) * (float)var;
    for (uint r = 0; r < n; ++r)
        for (uint k = 0; k < s; ++k) {
            const size_t i = r * stride + plane + k;
            const float h = (x[xo + i] - mu) * is;
            xhat[ho + i] = h;
            y[yo + i] = h * g + b;
        }
}
