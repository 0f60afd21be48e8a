// One GRU step backward (gru.cell_backward of plexus/fused.hpp), one work-item per
// (row, unit), in the order of the CPU device's fused_recurrent.hpp.
__kernel void gru_cell_backward(__global const float* gates, uint go,
                                __global const float* recurrent, uint ro,
                                __global const float* h_prev, uint hpo,
                                __global const float* dh, uint dho, __global float* dh_prev,
                                uint dhpo, __global float* dgates, uint dgo,
                                __global float* drecurrent, uint dro, uint n, uint units, int a,
                                int ra) {
    const uint i = get_global_id(0);
    if (i >= n * units) return;
    const uint row = i / units, j = i % units;
    const uint at = row * 3 * units + j;
    const float z = gates[go + at], r = gates[go + at + units], hh = gates[go + at + 2 * units];
    const float uh = recurrent[ro + at + 2 * units];
    const float dhj = dh[dho + i];
    const float t = dhj * z;
    dh_prev[dhpo + i] += t;
    const float dxh = plexus_activate_backward(a, dhj - t, hh);
    const float dz = plexus_activate_backward(ra, dhj * (h_prev[hpo + i] - hh), z);
    const float dr = plexus_activate_backward(ra, dxh * uh, r);
    dgates[dgo + at] = dz;
    dgates[dgo + at + units] = dr;
    dgates[dgo + at + 2 * units] = dxh;
    drecurrent[dro + at] = dz;
    drecurrent[dro + at + units] = dr;
    drecurrent[dro + at + 2 * units] = dxh * r;
}
