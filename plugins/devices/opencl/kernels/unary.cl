// y = op(x) elementwise; op is plexus::UnaryOp's value (plugin.cpp checks the numbering).
// Written as the CPU device's lambdas so NaNs and signed zeros come out alike.
__kernel void unary(__global const float* x, uint xo, __global float* y, uint yo, uint n, int op,
                    float alpha) {
    const uint i = get_global_id(0);
    if (i >= n) return;
    const float v = x[xo + i];
    float r;
    switch (op) {
        case 0: r = v; break;                                        // identity
        case 1: r = alpha * v; break;                                // scale
        case 2: r = v + alpha; break;                                // add_scalar
        case 3: r = -v; break;                                       // neg
        case 4: r = fabs(v); break;                                  // abs
        case 5: r = v * v; break;                                    // square
        case 6: r = sqrt(v); break;                                  // sqrt
        case 7: r = exp(v); break;                                   // exp
        case 8: r = log(v); break;                                   // log
        case 9: r = v > 0.0f ? v : 0.0f; break;                      // relu
        case 10: r = 1.0f / (1.0f + exp(-v)); break;                 // sigmoid
        case 11: r = tanh(v); break;                                 // tanh
        case 12: r = (float)(v > 0.0f) - (float)(v < 0.0f); break;   // sign
        case 13: r = v > 0.0f ? v : alpha * v; break;                // leaky_relu
        case 14: r = v > 0.0f ? v : alpha * expm1(v); break;         // elu
        case 15: r = v < -alpha ? -alpha : (alpha < v ? alpha : v); break;  // clip
        default: r = 1.0f / v; break;                                // reciprocal
    }
    y[yo + i] = r;
}
