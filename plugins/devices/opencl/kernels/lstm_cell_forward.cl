// One LSTM step (lstm.cell_forward of plexus/fused.hpp), one work-item per (row, unit): the
// four gates of unit j in row n, in the order of the CPU device's fused_recurrent.hpp.
__kernel void lstm_cell_forward(__global float* gates, uint go, __global const float* bias,
                                uint bo, int has_bias, __global const float* c_prev, uint cpo,
                                __global float* c, uint co, __global float* h, uint ho, uint n,
                                uint units, int a, int ra) {
    const uint i = get_global_id(0);
    if (i >= n * units) return;
    const uint row = i / units, j = i % units;
    __global float* z = gates + go + row * 4 * units + j;
    float zi = z[0], zf = z[units], zc = z[2 * units], zo = z[3 * units];
    if (has_bias) {
        zi += bias[bo + j];
        zf += bias[bo + units + j];
        zc += bias[bo + 2 * units + j];
        zo += bias[bo + 3 * units + j];
    }
    const float gi = plexus_activate(ra, zi), gf = plexus_activate(ra, zf);
    const float gg = plexus_activate(a, zc), o = plexus_activate(ra, zo);
    const float cj = gf * c_prev[cpo + i] + gi * gg;
    z[0] = gi;
    z[units] = gf;
    z[2 * units] = gg;
    z[3 * units] = o;
    c[co + i] = cj;
    h[ho + i] = o * plexus_activate(a, cj);
}
