// The number of taps of a window along one axis that fall inside the input: the i in
// [0, size) with pad <= o * stride + i * dilation < pad + in.
uint pool_taps(uint o, uint size, uint stride, uint dilation, uint pad, uint in) {
    uint count = 0;
    for (uint i = 0; i < size; ++i) {
        const uint p = o * stride + i * dilation;
        count += p >= pad && p - pad < in;
    }
    return count;
}

// Gradient of pool2d (plexus::Device::pool2d_backward) as a gather: one work-item per
// element of dx [N, C, H, W] sums the dy of every window that covers it, so nothing races and
// no atomics are needed. Max (op 0) takes only the windows whose argmax is this element;
// avg (op 1) takes dy / (the window's in-bounds taps). Windows are visited in the CPU
// device's order (oh, then ow, ascending), so the float sums round alike.
__kernel void pool2d_backward(__global const float* dy, uint dyo, __global const float* argmax,
                              uint ao, __global float* dx, uint dxo, int op, WINDOW2D_PARAMS) {
    const uint g = get_global_id(0);
    if (g >= N * C * H * W) return;
    const uint w = g % W, h = (g / W) % H, plane = g / (W * H);
    const float self = (float)(h * W + w);
    const uint out0 = plane * OH * OW;
    float sum = 0.0f;
    for (uint i = KH; i-- > 0;) {
        const uint hp = h + PT;
        if (hp < i * DH || (hp - i * DH) % SH) continue;
        const uint oh = (hp - i * DH) / SH;
        if (oh >= OH) continue;
        const uint taps_h = op == 0 ? 0 : pool_taps(oh, KH, SH, DH, PT, H);
        for (uint j = KW; j-- > 0;) {
            const uint wp = w + PL;
            if (wp < j * DW || (wp - j * DW) % SW) continue;
            const uint ow = (wp - j * DW) / SW;
            if (ow >= OW) continue;
            const uint o = out0 + oh * OW + ow;
            if (op == 0) {
                if (argmax[ao + o] == self) sum += dy[dyo + o];
            } else {
                const uint taps = taps_h * pool_taps(ow, KW, SW, DW, PL, W);
                sum += dy[dyo + o] / (float)taps;
            }
        }
    }
    dx[dxo + g] = sum;
}
