// C = alpha * op(A) * op(B) + beta * C, as gemm.cl, for CPU devices (PoCL): no local memory
// and no barriers, which a CPU implementation runs as plain loops, and explicit float4
// arithmetic, which it maps onto SIMD registers. Work-item (i, j) computes the 4x4 block of C
// at rows 4j.., columns 4i..; blocks that stick out of C take the scalar path.
__kernel void gemm_direct(uint M, uint N, uint K, float alpha, __global const float* A, uint ao,
                          uint lda, int ta, __global const float* B, uint bo, uint ldb, int tb,
                          float beta, __global float* C, uint co, uint ldc) {
    const uint n0 = get_global_id(0) * 4, m0 = get_global_id(1) * 4;
    if (n0 >= N || m0 >= M) return;
    // op(A)[m][k] = a[m * a_m + k * a_k]; op(B)[k][n] = b[k * b_k + n * b_n].
    const size_t a_m = ta ? 1 : lda, a_k = ta ? lda : 1;
    const size_t b_k = tb ? 1 : ldb, b_n = tb ? ldb : 1;
    __global const float* a = A + ao + m0 * a_m;
    __global const float* b = B + bo + n0 * b_n;
    if (m0 + 4 <= M && n0 + 4 <= N) {
        float4 acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
        for (uint k = 0; k < K; ++k) {
            __global const float* bk = b + k * b_k;
            const float4 row = tb ? (float4)(bk[0], bk[b_n], bk[2 * b_n], bk[3 * b_n]) : vload4(0, bk);
            __global const float* ak = a + k * a_k;
            acc0 = mad((float4)(ak[0]), row, acc0);
            acc1 = mad((float4)(ak[a_m]), row, acc1);
            acc2 = mad((float4)(ak[2 * a_m]), row, acc2);
            acc3 = mad((float4)(ak[3 * a_m]), row, acc3);
        }
        const float4 acc[4] = {acc0, acc1, acc2, acc3};
        for (int r = 0; r < 4; ++r) {
            __global float* c = C + co + (size_t)(m0 + r) * ldc + n0;
            vstore4(beta == 0.0f ? alpha * acc[r] : alpha * acc[r] + beta * vload4(0, c), 0, c);
        }
        return;
    }
    const uint rows = M - m0 < 4 ? M - m0 : 4, cols = N - n0 < 4 ? N - n0 : 4;
    for (uint r = 0; r < rows; ++r)
        for (uint j = 0; j < cols; ++j) {
            float acc = 0.0f;
            for (uint k = 0; k < K; ++k) acc = mad(a[r * a_m + k * a_k], b[k * b_k + j * b_n], acc);
            const size_t at = co + (size_t)(m0 + r) * ldc + n0 + j;
            C[at] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[at];
        }
}
