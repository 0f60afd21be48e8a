// Fused Adam / AdamW / AMSGrad step (adam.update of plexus/fused.hpp):
// one pass over grad, w, m, v (and v_max when amsgrad), each expression in the order of the
// CPU device's fused_optimizer.hpp. The host derives keep, inv_sqrt_bc2 and step as it does.
__kernel void adam_update(__global const float* grad, uint gro, __global float* w, uint wo,
                          __global float* m, uint mo, __global float* v, uint vo,
                          __global float* v_max, uint vmo, int amsgrad, uint n, float beta1,
                          float beta2, float epsilon, float keep, float inv_sqrt_bc2,
                          float step, float grad_scale, float limit) {
    const uint i = get_global_id(0);
    if (i >= n) return;
    const float g = plexus_clip_grad(grad[gro + i], grad_scale, limit);
    const float mi = (1.0f - beta1) * g + beta1 * m[mo + i];
    const float vi = (1.0f - beta2) * (g * g) + beta2 * v[vo + i];
    m[mo + i] = mi;
    v[vo + i] = vi;
    float vu = vi;
    if (amsgrad) {
        vu = v_max[vmo + i] > vi ? v_max[vmo + i] : vi;
        v_max[vmo + i] = vu;
    }
    const float denom = sqrt(vu) * inv_sqrt_bc2 + epsilon;
    w[wo + i] = step * (mi / denom) + keep * w[wo + i];
}
