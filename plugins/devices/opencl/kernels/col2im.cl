// The adjoint of im2col (plexus::Device::col2im) as a gather: one work-item per element of x
// [N, C, H, W] sums the col entries of every window that read it, so nothing races and no
// atomics are needed. The windows are visited in the CPU device's order (oh, then ow,
// ascending: the kernel taps i and j descending), so the float sums round alike.
__kernel void col2im(__global const float* col, uint co, __global float* x, uint xo,
                     WINDOW2D_PARAMS) {
    const uint g = get_global_id(0);
    if (g >= N * C * H * W) return;
    const uint w = g % W, h = (g / W) % H, c = (g / (W * H)) % C, n = g / (W * H * C);
    const uint patch = C * KH * KW;
    float sum = 0.0f;
    for (uint i = KH; i-- > 0;) {
        // Tap i of window oh reads padded row oh * SH + i * DH == h + PT.
        const uint hp = h + PT;
        if (hp < i * DH || (hp - i * DH) % SH) continue;
        const uint oh = (hp - i * DH) / SH;
        if (oh >= OH) continue;
        for (uint j = KW; j-- > 0;) {
            const uint wp = w + PL;
            if (wp < j * DW || (wp - j * DW) % SW) continue;
            const uint ow = (wp - j * DW) / SW;
            if (ow >= OW) continue;
            sum += col[co + ((n * OH + oh) * OW + ow) * patch + (c * KH + i) * KW + j];
        }
    }
    x[xo + g] = sum;
}
