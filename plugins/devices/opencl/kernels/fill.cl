// y = value everywhere.
__kernel void fill(__global float* y, uint yo, uint n, float value) {
    const uint i = get_global_id(0);
    if (i < n) y[yo + i] = value;
}
