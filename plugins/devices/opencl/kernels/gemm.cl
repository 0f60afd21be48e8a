// C = alpha * op(A) * op(B) + beta * C, all row-major, M x N = (M x K)(K x N); with
// beta == 0, C is not read. Our own tiled kernel for GPUs (the device uses CLBlast instead
// where it is the better choice), blocked twice as in Nugteren's "Tutorial: OpenCL SGEMM
// tuning for Kepler" (kernel 6):
//   - a work-group of (GEMM_TS / GEMM_WPT)^2 work-items computes a GEMM_TS x GEMM_TS tile of
//     C, staging GEMM_TK-deep slices of op(A) and op(B) in local memory;
//   - each work-item keeps a GEMM_WPT x GEMM_WPT block of C in registers, rows ty + i * R and
//     columns tx + j * R (R work-items per side), so neighbouring work-items read
//     neighbouring local addresses and write neighbouring columns of C.
// Each slice is loaded so that consecutive work-items read consecutive global addresses,
// whichever way the operand is transposed; elements outside the matrices load as zeros.
#ifndef GEMM_TS
#define GEMM_TS 128
#endif
#ifndef GEMM_WPT
#define GEMM_WPT 8
#endif
#ifndef GEMM_TK
#define GEMM_TK 16
#endif
#define GEMM_R (GEMM_TS / GEMM_WPT)                    // work-items per side of the group
#define GEMM_THREADS (GEMM_R * GEMM_R)
#define GEMM_LOADS (GEMM_TS * GEMM_TK / GEMM_THREADS)  // elements of each slice per work-item

__kernel __attribute__((reqd_work_group_size(GEMM_R, GEMM_R, 1)))
void gemm(uint M, uint N, uint K, float alpha, __global const float* A, uint ao, uint lda,
          int ta, __global const float* B, uint bo, uint ldb, int tb, float beta,
          __global float* C, uint co, uint ldc) {
    __local float As[GEMM_TK][GEMM_TS + 1];  // As[k][m] of op(A); padded against bank conflicts
    __local float Bs[GEMM_TK][GEMM_TS + 1];  // Bs[k][n] of op(B)
    const uint tx = get_local_id(0), ty = get_local_id(1);
    const uint tid = ty * GEMM_R + tx;
    const uint m0 = get_group_id(1) * GEMM_TS, n0 = get_group_id(0) * GEMM_TS;

    float acc[GEMM_WPT][GEMM_WPT];
#pragma unroll
    for (int i = 0; i < GEMM_WPT; ++i)
#pragma unroll
        for (int j = 0; j < GEMM_WPT; ++j) acc[i][j] = 0.0f;

    for (uint k0 = 0; k0 < K; k0 += GEMM_TK) {
#pragma unroll
        for (int l = 0; l < GEMM_LOADS; ++l) {
            const uint e = tid + l * GEMM_THREADS;  // element of the slice
            // op(A)[m][k] is A[m*lda + k] (k runs fastest in memory) or A[k*lda + m].
            const uint am = ta ? e % GEMM_TS : e / GEMM_TK, ak = ta ? e / GEMM_TS : e % GEMM_TK;
            const uint gm = m0 + am, gk = k0 + ak;
            As[ak][am] = gm < M && gk < K
                             ? A[ao + (ta ? (size_t)gk * lda + gm : (size_t)gm * lda + gk)]
                             : 0.0f;
            // op(B)[k][n] is B[k*ldb + n] (n runs fastest) or B[n*ldb + k].
            const uint bn = tb ? e / GEMM_TK : e % GEMM_TS, bk = tb ? e % GEMM_TK : e / GEMM_TS;
            const uint gn = n0 + bn, hk = k0 + bk;
            Bs[bk][bn] = gn < N && hk < K
                             ? B[bo + (tb ? (size_t)gn * ldb + hk : (size_t)hk * ldb + gn)]
                             : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int k = 0; k < GEMM_TK; ++k) {
            float a[GEMM_WPT], b[GEMM_WPT];
#pragma unroll
            for (int i = 0; i < GEMM_WPT; ++i) a[i] = As[k][ty + i * GEMM_R];
#pragma unroll
            for (int j = 0; j < GEMM_WPT; ++j) b[j] = Bs[k][tx + j * GEMM_R];
#pragma unroll
            for (int i = 0; i < GEMM_WPT; ++i)
#pragma unroll
                for (int j = 0; j < GEMM_WPT; ++j) acc[i][j] = mad(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < GEMM_WPT; ++i) {
        const uint m = m0 + ty + i * GEMM_R;
        if (m >= M) break;
#pragma unroll
        for (int j = 0; j < GEMM_WPT; ++j) {
            const uint n = n0 + tx + j * GEMM_R;
            if (n >= N) break;
            const size_t at = co + (size_t)m * ldc + n;
            C[at] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * C[at];
        }
    }
}
