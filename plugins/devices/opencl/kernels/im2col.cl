// Patch matrix of a convolution (plexus::Device::im2col): one work-item per element of col
// [N*OH*OW, C*KH*KW], so consecutive work-items write consecutive floats; the reads of a
// kernel row are strided by the stride, which caches absorb. Padding reads as 0.
__kernel void im2col(__global const float* x, uint xo, __global float* col, uint co,
                     WINDOW2D_PARAMS) {
    const uint g = get_global_id(0);
    const uint patch = C * KH * KW;
    if (g >= N * OH * OW * patch) return;
    const uint row = g / patch, k = g - row * patch;
    const uint ow = row % OW, oh = (row / OW) % OH, n = row / (OW * OH);
    const uint j = k % KW, i = (k / KW) % KH, c = k / (KW * KH);
    // Positions in the padded plane, so "before the image" needs no signed arithmetic.
    const uint hp = oh * SH + i * DH, wp = ow * SW + j * DW;
    float v = 0.0f;
    if (hp >= PT && hp - PT < H && wp >= PL && wp - PL < W)
        v = x[xo + (n * C + c) * H * W + (hp - PT) * W + (wp - PL)];
    col[co + g] = v;
}
