// One GRU step, reset gate after the recurrent product (gru.cell_forward of
// plexus/fused.hpp), one work-item per (row, unit), in the order of the CPU device's
// fused_recurrent.hpp.
__kernel void gru_cell_forward(__global float* gates, uint go, __global const float* bias,
                               uint bo, int has_bias, __global float* recurrent, uint ro,
                               __global const float* recurrent_bias, uint rbo,
                               int has_recurrent_bias, __global const float* h_prev, uint hpo,
                               __global float* h, uint ho, uint n, uint units, int a, int ra) {
    const uint i = get_global_id(0);
    if (i >= n * units) return;
    const uint row = i / units, j = i % units;
    __global float* x = gates + go + row * 3 * units + j;
    __global float* u = recurrent + ro + row * 3 * units + j;
    float xz = x[0], xr = x[units], xh = x[2 * units];
    float uz = u[0], ur = u[units], uh = u[2 * units];
    if (has_bias) {
        xz += bias[bo + j];
        xr += bias[bo + units + j];
        xh += bias[bo + 2 * units + j];
    }
    if (has_recurrent_bias) {
        uz += recurrent_bias[rbo + j];
        ur += recurrent_bias[rbo + units + j];
        uh += recurrent_bias[rbo + 2 * units + j];
        u[0] = uz;
        u[units] = ur;
        u[2 * units] = uh;
    }
    const float z = plexus_activate(ra, xz + uz);
    const float r = plexus_activate(ra, xr + ur);
    const float hh = plexus_activate(a, xh + r * uh);
    x[0] = z;
    x[units] = r;
    x[2 * units] = hh;
    h[ho + i] = hh + z * (h_prev[hpo + i] - hh);
}
