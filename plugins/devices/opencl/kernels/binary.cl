// y = op(a, b) elementwise; op is plexus::BinaryOp's value. b is read elementwise (mode 0),
// as one row broadcast over every row of a (mode 1, `cols` wide) or as a scalar (mode 2).
__kernel void binary(__global const float* a, uint ao, __global const float* b, uint bo,
                     __global float* y, uint yo, uint n, uint cols, int mode, int op,
                     float alpha) {
    const uint i = get_global_id(0);
    if (i >= n) return;
    const float u = a[ao + i];
    const float v = b[bo + (mode == 0 ? i : mode == 1 ? i % cols : 0u)];
    float r;
    switch (op) {
        case 0: r = u + v; break;                                    // add
        case 1: r = u - v; break;                                    // sub
        case 2: r = u * v; break;                                    // mul
        case 3: r = u / v; break;                                    // div
        case 4: r = u > v ? u : v; break;                            // max
        case 5: r = u < v ? u : v; break;                            // min
        case 6: r = u == v ? 1.0f : 0.0f; break;                     // equal
        case 7: r = v > 0.0f ? u : 0.0f; break;                      // relu_backward
        case 8: r = v > 0.0f ? u : alpha * u; break;                 // leaky_relu_backward
        case 9: r = v > 0.0f ? u : u * alpha * exp(v); break;        // elu_backward
        case 10: r = u * v * (1.0f - v); break;                      // sigmoid_backward
        case 11: r = u * (1.0f - v * v); break;                      // tanh_backward
        default: r = u > v ? 1.0f : 0.0f; break;                     // greater
    }
    y[yo + i] = r;
}
