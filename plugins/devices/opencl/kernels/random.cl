// Fills y from a distribution, element i taking lane i % 4 of Philox block i / 4, exactly as
// the CPU device: dist 0 uniform on [a, b) (top = the largest float below b), 1 normal with
// mean a and standard deviation b (Box-Muller on lane pairs), 2 bernoulli with p = a.
__kernel void random(__global float* y, uint yo, uint n, ulong seed, ulong counter, int dist,
                     float a, float b, float top) {
    const uint block = get_global_id(0);
    const uint base = block * 4u;
    if (base >= n) return;
    const uint4 r = plexus_philox(block, counter, seed);
    const uint bits[4] = {r.x, r.y, r.z, r.w};
    float v[4];
    if (dist == 1) {
        for (int pair = 0; pair < 2; ++pair) {
            const float u1 = (float)((bits[2 * pair] >> 8) + 1u) * 0x1p-24f;  // (0, 1]
            const float radius = sqrt(-2.0f * log(u1));
            const float theta = 6.28318530717958647692f * plexus_unit(bits[2 * pair + 1]);
            v[2 * pair] = a + b * (radius * cos(theta));
            v[2 * pair + 1] = a + b * (radius * sin(theta));
        }
    } else {
        const float width = b - a;
        for (int j = 0; j < 4; ++j) {
            const float u = plexus_unit(bits[j]);
            if (dist == 0) {
                const float w = a + width * u;
                v[j] = top < w ? top : w;
            } else {
                v[j] = u < a ? 1.0f : 0.0f;
            }
        }
    }
    const uint take = n - base < 4u ? n - base : 4u;
    for (uint j = 0; j < take; ++j) y[yo + base + j] = v[j];
}
