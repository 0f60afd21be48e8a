// Fused batch normalization backward ("batchnorm.backward"): one work-item per feature of
// dy [n, f, s] (s = spatial, as in batchnorm_forward.cl). dbeta = sum(dy), dgamma =
// sum(dy * xhat) over the feature's m = n*s values (in acc_t), and when has_dx
// dx = gamma*invstd/m * (m*dy - dbeta - xhat*dgamma), as the CPU device's fused kernel.
// dx may alias dy.
__kernel void batchnorm_backward(__global const float* dy, uint dyo, __global const float* xhat,
                                 uint ho, __global const float* gamma, uint go, int has_gamma,
                                 __global const float* invstd, uint io, __global float* dx,
                                 uint dxo, int has_dx, __global float* dgamma, uint dgo,
                                 __global float* dbeta, uint dbo, uint n, uint f, uint s) {
    const uint c = get_global_id(0);
    if (c >= f) return;
    const size_t stride = (size_t)f * s, plane = (size_t)c * s;
    acc_t sdy = 0, sdyx = 0;
    for (uint r = 0; r < n; ++r)
        for (uint k = 0; k < s; ++k) {
            const size_t i = r * stride + plane + k;
            const float g = dy[dyo + i];
            sdy += g;
            sdyx += (acc_t)g * xhat[ho + i];
        }
    const float s1 = (float)sdy, s2 = (float)sdyx;
    dbeta[dbo + c] = s1;
    dgamma[dgo + c] = s2;
    if (!has_dx) return;
    const float fm = (float)((size_t)n * s);
    const float k = (has_gamma ? gamma[go + c] : 1.0f) * invstd[io + c] / fm;
    for (uint r = 0; r < n; ++r)
        for (uint j = 0; j < s; ++j) {
            const size_t i = r * stride + plane + j;
            dx[dxo + i] = k * (fm * dy[dyo + i] - s1 - xhat[ho + i] * s2);
        }
}
