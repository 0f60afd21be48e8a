// Shared by every kernel: the device builds all kernels/*.cl as one program, this file first.
//
// Contraction into FMA is off so elementwise results round exactly like the CPU device's
// (built without -ffp-contract); gemm asks for mad() where it wants speed.
#pragma OPENCL FP_CONTRACT OFF

// Sums accumulate in double where the device has it (as the CPU device does), else float.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif

// Work-group size of the row kernels (reductions, softmax); the host passes a power of two.
#ifndef PLEXUS_WG
#define PLEXUS_WG 256
#endif

// Philox4x32-10 (Salmon et al., SC 2011), word for word the CPU device's random.hpp, so
// both devices draw the same bits for the same (seed, counter, element).
uint4 plexus_philox(ulong block, ulong counter, ulong seed) {
    uint c0 = (uint)block, c1 = (uint)(block >> 32);
    uint c2 = (uint)counter, c3 = (uint)(counter >> 32);
    uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const uint hi0 = mul_hi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const uint hi1 = mul_hi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        const uint n0 = hi1 ^ c1 ^ k0;
        const uint n2 = hi0 ^ c3 ^ k1;
        c1 = lo1;
        c3 = lo0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return (uint4)(c0, c1, c2, c3);
}

// The top 24 bits as a float in [0, 1).
float plexus_unit(uint bits) { return (float)(bits >> 8) * 0x1p-24f; }

// Gradient clipping of the fused optimizers: g*scale, then clamped to +-limit.
float plexus_clip_grad(float g, float scale, float limit) {
    const float s = scale != 1.0f ? scale * g : g;
    return s < -limit ? -limit : (s > limit ? limit : s);
}

// The maximum of a row of `cols` values and the sum of exp(x - maximum), each reduced over
// the work-group through the two local buffers (PLEXUS_WG entries each); every work-item of
// the group must call it. Returns the maximum; *sum receives the sum (acc_t, as the CPU
// device sums in double). Shared by softmax.cl and softmax_cross_entropy_backward.cl.
float row_exp_stats(__global const float* xr, uint cols, __local float* peak,
                    __local acc_t* total, acc_t* sum) {
    const uint t = get_local_id(0), size = get_local_size(0);
    float m = xr[t < cols ? t : 0u];
    for (uint c = t + size; c < cols; c += size) m = xr[c] > m ? xr[c] : m;
    peak[t] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (t < stride) peak[t] = peak[t + stride] > peak[t] ? peak[t + stride] : peak[t];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    m = peak[0];
    acc_t s = 0;
    for (uint c = t; c < cols; c += size) s += exp(xr[c] - m);
    total[t] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (t < stride) total[t] += total[t + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    *sum = total[0];
    return m;
}

// The fields of plexus::Window2d, in the order window.cpp passes them to the window kernels
// (im2col, col2im, pool2d, pool2d_backward).
#define WINDOW2D_PARAMS                                                                    \
    uint N, uint C, uint H, uint W, uint KH, uint KW, uint SH, uint SW, uint DH, uint DW, \
        uint PT, uint PL, uint OH, uint OW

// The recurrent cells' activations, by plexus::fused::Activation's value (tanh, sigmoid, relu,
// linear), and their derivatives times dy from the output y.
float plexus_activate(int a, float x) {
    switch (a) {
        case 0: return tanh(x);
        case 1: return 1.0f / (1.0f + exp(-x));
        case 2: return x > 0.0f ? x : 0.0f;
        default: return x;
    }
}
float plexus_activate_backward(int a, float dy, float y) {
    switch (a) {
        case 0: return dy * (1.0f - y * y);
        case 1: return dy * y * (1.0f - y);
        case 2: return y > 0.0f ? dy : 0.0f;
        default: return dy;
    }
}
