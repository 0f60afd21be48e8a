// Max or average pooling (plexus::Device::pool2d): one work-item per output element,
// visiting its window in order (rows, then columns) and skipping padding. op: 0 max, 1 avg,
// as plexus::PoolOp. Max keeps the first maximum, as the CPU device does: the first
// in-bounds element, then only a strictly greater one; with `has_argmax` its in-plane index
// h * W + w goes to argmax as a float (exact: planes hold at most 2^24 elements).
__kernel void pool2d(__global const float* x, uint xo, __global float* y, uint yo,
                     __global float* argmax, uint ao, int has_argmax, int op,
                     WINDOW2D_PARAMS) {
    const uint g = get_global_id(0);
    if (g >= N * C * OH * OW) return;
    const uint ow = g % OW, oh = (g / OW) % OH, plane = g / (OW * OH);
    __global const float* xp = x + xo + plane * H * W;
    float best = 0.0f, sum = 0.0f;
    uint at = UINT_MAX, count = 0;
    for (uint i = 0; i < KH; ++i) {
        const uint hp = oh * SH + i * DH;
        if (hp < PT || hp - PT >= H) continue;
        for (uint j = 0; j < KW; ++j) {
            const uint wp = ow * SW + j * DW;
            if (wp < PL || wp - PL >= W) continue;
            const uint k = (hp - PT) * W + (wp - PL);
            const float v = xp[k];
            if (at == UINT_MAX || v > best) {
                best = v;
                at = k;
            }
            sum += v;
            ++count;
        }
    }
    if (op == 0) {
        y[yo + g] = best;
        if (has_argmax) argmax[ao + g] = (float)at;
    } else {
        y[yo + g] = sum / (float)count;
    }
}
