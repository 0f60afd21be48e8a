// C = alpha * op(A) * op(B) + beta * C, all row-major, M x N = (M x K)(K x N); with
// beta == 0, C is not read. Our own tiled kernel for GPUs (the device uses CLBlast instead
// where it is the better choice), blocked twice as in Nugteren's "Tutorial: OpenCL SGEMM
// tuning for Kepler" (kernels 6-7):
//   - a work-group of R x R work-items (R = GEMM_TS / GEMM_WPT) computes a GEMM_TS x GEMM_TS
//     tile of C, staging GEMM_TK-deep slices of op(A) and op(B) in local memory; while it
//     computes on one slice, each work-item's share of the next is already being loaded
//     into registers;
//   - each work-item keeps a GEMM_WPT x GEMM_WPT block of C in registers: GEMM_WPT / 4 runs of
//     4 consecutive rows (and columns), 4R apart, so it reads its operands from local memory
//     as float4 and neighbouring work-items read neighbouring float4s.
// Slices are loaded so that consecutive work-items read consecutive global addresses,
// whichever way the operand is transposed; elements outside the matrices load as zeros.
// GEMM_WPT is a multiple of 4 and GEMM_TS * GEMM_TK a multiple of R * R (the host sees to it).
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
#define GEMM_RUN (4 * GEMM_R)                          // distance between a work-item's runs
#define GEMM_ROW4 (GEMM_TS / 4 + 1)                    // float4s per local row, one of padding

// Where element e of a slice comes from: op(A)[m][k] is A[m*lda + k] (k runs fastest in
// memory, so it does across work-items) or A[k*lda + m] when transposed; op(B)[k][n] is
// B[k*ldb + n] or B[n*ldb + k].
#define GEMM_A_M(e) (ta ? (e) % GEMM_TS : (e) / GEMM_TK)
#define GEMM_A_K(e) (ta ? (e) / GEMM_TS : (e) % GEMM_TK)
#define GEMM_B_N(e) (tb ? (e) / GEMM_TK : (e) % GEMM_TS)
#define GEMM_B_K(e) (tb ? (e) % GEMM_TK : (e) / GEMM_TS)

// This work-item's share of the slice starting at depth K0, into next_a and next_b.
#define GEMM_LOAD_SLICE(K0)                                                                   \
    do {                                                                                      \
        for (int l = 0; l < GEMM_LOADS; ++l) {                                                \
            const uint e = tid + l * GEMM_THREADS;                                            \
            const uint gm = m0 + GEMM_A_M(e), gk = (K0) + GEMM_A_K(e);                        \
            next_a[l] = gm < M && gk < K                                                      \
                            ? A[ao + (ta ? (size_t)gk * lda + gm : (size_t)gm * lda + gk)]    \
                            : 0.0f;                                                           \
            const uint gn = n0 + GEMM_B_N(e), hk = (K0) + GEMM_B_K(e);                        \
            next_b[l] = gn < N && hk < K                                                      \
                            ? B[bo + (tb ? (size_t)gn * ldb + hk : (size_t)hk * ldb + gn)]    \
                            : 0.0f;                                                           \
        }                                                                                     \
    } while (0)

__kernel __attribute__((reqd_work_group_size(GEMM_R, GEMM_R, 1)))
void gemm(uint M, uint N, uint K, float alpha, __global const float* A, uint ao, uint lda,
          int ta, __global const float* B, uint bo, uint ldb, int tb, float beta,
          __global float* C, uint co, uint ldc) {
    // As[k][m] of op(A) and Bs[k][n] of op(B), declared as float4 so rows are 16-byte aligned.
    __local float4 As[GEMM_TK][GEMM_ROW4];
    __local float4 Bs[GEMM_TK][GEMM_ROW4];
    const uint tx = get_local_id(0), ty = get_local_id(1);
    const uint tid = ty * GEMM_R + tx;
    const uint m0 = get_group_id(1) * GEMM_TS, n0 = get_group_id(0) * GEMM_TS;

    float acc[GEMM_WPT][GEMM_WPT];
#pragma unroll
    for (int i = 0; i < GEMM_WPT; ++i)
#pragma unroll
        for (int j = 0; j < GEMM_WPT; ++j) acc[i][j] = 0.0f;

    float next_a[GEMM_LOADS], next_b[GEMM_LOADS];  // this work-item's share of the next slice
    GEMM_LOAD_SLICE(0);

    for (uint k0 = 0; k0 < K; k0 += GEMM_TK) {
#pragma unroll
        for (int l = 0; l < GEMM_LOADS; ++l) {
            const uint e = tid + l * GEMM_THREADS;
            ((__local float*)As[GEMM_A_K(e)])[GEMM_A_M(e)] = next_a[l];
            ((__local float*)Bs[GEMM_B_K(e)])[GEMM_B_N(e)] = next_b[l];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint k1 = k0 + GEMM_TK;
        if (k1 < K) GEMM_LOAD_SLICE(k1);
#pragma unroll
        for (int k = 0; k < GEMM_TK; ++k) {
            float a[GEMM_WPT], b[GEMM_WPT];
#pragma unroll
            for (int r = 0; r < GEMM_WPT / 4; ++r) {
                const float4 va = As[k][r * GEMM_R + ty], vb = Bs[k][r * GEMM_R + tx];
                a[4 * r] = va.x, a[4 * r + 1] = va.y, a[4 * r + 2] = va.z, a[4 * r + 3] = va.w;
                b[4 * r] = vb.x, b[4 * r + 1] = vb.y, b[4 * r + 2] = vb.z, b[4 * r + 3] = vb.w;
            }
#pragma unroll
            for (int i = 0; i < GEMM_WPT; ++i)
#pragma unroll
                for (int j = 0; j < GEMM_WPT; ++j) acc[i][j] = mad(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    // Row i of the block is m0 + (i / 4) * GEMM_RUN + 4 * ty + i % 4; columns likewise.
#pragma unroll
    for (int i = 0; i < GEMM_WPT; ++i) {
        const uint m = m0 + (i / 4) * GEMM_RUN + 4 * ty + i % 4;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < GEMM_WPT; ++j) {
            const uint n = n0 + (j / 4) * GEMM_RUN + 4 * tx + j % 4;
            if (n >= N) continue;
            const size_t at = co + (size_t)m * ldc + n;
            C[at] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * C[at];
        }
    }
}
