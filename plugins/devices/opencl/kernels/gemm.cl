// C = alpha * op(A) * op(B) + beta * C, all row-major, M x N = (M x K)(K x N); with
// beta == 0, C is not read. Our own tiled kernel (the device uses CLBlast instead where it
// is the better choice). A work-group of GEMM_TS x GEMM_TS/GEMM_WPT work-items computes a
// GEMM_TS x GEMM_TS tile of C, each work-item GEMM_WPT rows of one column, from tiles of
// op(A) and op(B) staged in local memory. Each operand is staged so that consecutive
// work-items read consecutive addresses, whichever way it is transposed.
#ifndef GEMM_TS
#define GEMM_TS 32
#endif
#ifndef GEMM_WPT
#define GEMM_WPT 4
#endif
#define GEMM_RTS (GEMM_TS / GEMM_WPT)

__kernel __attribute__((reqd_work_group_size(GEMM_TS, GEMM_RTS, 1)))
void gemm(uint M, uint N, uint K, float alpha, __global const float* A, uint ao, uint lda,
          int ta, __global const float* B, uint bo, uint ldb, int tb, float beta,
          __global float* C, uint co, uint ldc) {
    __local float As[GEMM_TS][GEMM_TS + 1];  // As[m][k], padded against bank conflicts
    __local float Bs[GEMM_TS][GEMM_TS + 1];  // Bs[k][n]
    const uint tx = get_local_id(0), ty = get_local_id(1);
    const uint m0 = get_group_id(1) * GEMM_TS, n0 = get_group_id(0) * GEMM_TS;
    float acc[GEMM_WPT];
    for (int w = 0; w < GEMM_WPT; ++w) acc[w] = 0.0f;

    for (uint k0 = 0; k0 < K; k0 += GEMM_TS) {
        for (int w = 0; w < GEMM_WPT; ++w) {
            const uint slow = ty + w * GEMM_RTS;
            // op(A)[m][k]: A[m*lda + k], or A[k*lda + m] transposed (then m runs along tx).
            const uint am = ta ? tx : slow, ak = ta ? slow : tx;
            const uint gm = m0 + am, gk = k0 + ak;
            As[am][ak] = gm < M && gk < K ? A[ao + (ta ? (size_t)gk * lda + gm
                                                       : (size_t)gm * lda + gk)]
                                          : 0.0f;
            // op(B)[k][n]: B[k*ldb + n], or B[n*ldb + k] transposed (then k runs along tx).
            const uint bk = tb ? tx : slow, bn = tb ? slow : tx;
            const uint hk = k0 + bk, gn = n0 + bn;
            Bs[bk][bn] = hk < K && gn < N ? B[bo + (tb ? (size_t)gn * ldb + hk
                                                       : (size_t)hk * ldb + gn)]
                                          : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint k = 0; k < GEMM_TS; ++k) {
            const float b = Bs[k][tx];
            for (int w = 0; w < GEMM_WPT; ++w) acc[w] = mad(As[ty + w * GEMM_RTS][k], b, acc[w]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    const uint n = n0 + tx;
    if (n >= N) return;
    for (int w = 0; w < GEMM_WPT; ++w) {
        const uint m = m0 + ty + w * GEMM_RTS;
        if (m >= M) continue;
        const size_t at = co + (size_t)m * ldc + n;
        C[at] = beta == 0.0f ? alpha * acc[w] : alpha * acc[w] + beta * C[at];
    }
}
