// Fused SGD momentum step (sgd.momentum_update of plexus/fused.hpp),
// classic or Nesterov, in the order of the CPU device's fused_optimizer.hpp.
__kernel void sgd_momentum_update(__global const float* grad, uint gro, __global float* w,
                                  uint wo, __global float* velocity, uint vo, uint n, float lr,
                                  float momentum, float weight_decay, int nesterov,
                                  float grad_scale, float limit) {
    const uint i = get_global_id(0);
    if (i >= n) return;
    const float g = plexus_clip_grad(grad[gro + i], grad_scale, limit);
    const float wi = w[wo + i];
    const float keep = weight_decay != 0.0f ? 1.0f - lr * weight_decay : 1.0f;
    const float b = weight_decay * wi + (g + momentum * velocity[vo + i]);
    velocity[vo + i] = b;
    w[wo + i] = nesterov ? (-lr * momentum) * b + ((-lr) * g + keep * wi) : (-lr) * b + wi;
}
