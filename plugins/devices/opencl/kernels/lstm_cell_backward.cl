// One LSTM step backward (lstm.cell_backward of plexus/fused.hpp), one work-item per
// (row, unit), in the order of the CPU device's fused_recurrent.hpp.
__kernel void lstm_cell_backward(__global const float* gates, uint go,
                                 __global const float* c_prev, uint cpo,
                                 __global const float* c, uint co, __global const float* dh,
                                 uint dho, __global float* dc, uint dco, __global float* dgates,
                                 uint dgo, uint n, uint units, int a, int ra) {
    const uint i = get_global_id(0);
    if (i >= n * units) return;
    const uint row = i / units, j = i % units;
    __global const float* g = gates + go + row * 4 * units + j;
    __global float* d = dgates + dgo + row * 4 * units + j;
    const float gi = g[0], gf = g[units], gg = g[2 * units], o = g[3 * units];
    const float tc = plexus_activate(a, c[co + i]);
    const float dhj = dh[dho + i];
    d[3 * units] = plexus_activate_backward(ra, dhj * tc, o);
    const float dcj = dc[dco + i] + plexus_activate_backward(a, dhj * o, tc);
    d[0] = plexus_activate_backward(ra, dcj * gg, gi);
    d[2 * units] = plexus_activate_backward(a, dcj * gi, gg);
    d[units] = plexus_activate_backward(ra, dcj * c_prev[cpo + i], gf);
    dc[dco + i] = dcj * gf;
}
