/* The engine's compute kernels: the GEMM (three micro-kernels, chosen at run time) and the row operations.
 *
 *   AVX-512   12 x 32 register tile: 24 zmm accumulators, 2 zmm of B per k, A broadcast from a packed panel
 *   AVX2/FMA   6 x 16 tile: 12 ymm accumulators
 *   portable   4 x 16 tile in plain C (vectorised by the compiler for the baseline instruction set)
 *
 * Nothing here is compiled with -march: each path carries its own target attribute, and mmb_set_isa /
 * the first call picks the best path __builtin_cpu_supports reports. See README.md for the contracts.
 */
#include "engine.h"

#include <math.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

/* the instruction sets, and rowops.h's generic code once per instruction set (isa.h) */
#define MMB_OWN_EXP_ROWS_X86
#include "isa.h"

/* Bytes of this core's L2 cache (sysconf where the C library knows it; else 512 KB, a small L2). */
ptrdiff_t mmb_l2_bytes(void) {
    static ptrdiff_t cached;  /* 0 until known; a benign race: every thread finds the same */
    if (cached == 0) {
        long v = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        cached = v > 0 ? (ptrdiff_t)v : 512 * 1024;
    }
    return cached;
}

/* ------------------------------------------------------------------------------- portable micro-kernel */
#define MR_P 4
#define NR_P 16
static void kern_portable(ptrdiff_t K, const float *Ap, const float *B, ptrdiff_t ldb, int mr, int nr, float *C,
                          ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e) {
    float c[MR_P][NR_P];
    memset(c, 0, sizeof c);
    if (nr == NR_P) {
        for (ptrdiff_t k = 0; k < K; k++, Ap += MR_P, B += ldb)
            for (int i = 0; i < MR_P; i++)
                for (int j = 0; j < NR_P; j++) c[i][j] += Ap[i] * B[j];
    } else {
        for (ptrdiff_t k = 0; k < K; k++, Ap += MR_P, B += ldb)
            for (int i = 0; i < MR_P; i++)
                for (int j = 0; j < nr; j++) c[i][j] += Ap[i] * B[j];
    }
    epi_store_portable(&c[0][0], NR_P, mr, nr, C, ldc, row0, col0, e);
}

#if MMB_X86
/* ------------------------------------------------------------------------------- AVX2 micro-kernel */
#define MR_2 6
#define NR_2 16
#define PF_2 4
/* The 6 x 16 kernel (12 ymm accumulators, 2 of B, 1 broadcast: 15 of the 16 registers), written once, as
 * the AVX-512 one below is: DIRECT = 1 reads the 6 rows of A in place (row stride lda), DIRECT = 0 a
 * packed [K][6] panel of which only the first ROWS rows (2, 4 or 6) are computed. FULL = 1: nr == 16, B
 * read with plain loads (a masked load per k step cost ~10% of the kernel); FULL = 0 masks both halves.
 * Prefetches as in the AVX-512 kernel: B PF_2 rows ahead into L1, and `far_n` pairs of lines of the next
 * GEMM's weights spread over the k loop. PF_2 is 4, not 16: a 16-wide panel is one cache line per k, and
 * with B's row stride a multiple of 2 KB (the FFN's [128, 512] weights) every line of the panel falls in
 * the same two L1 sets, 16 lines in all, so lines fetched 16 rows ahead evicted the ones about to be read
 * (120 x 128 x 512: 75-94 GFLOP/s at 16 rows ahead, 105-107 at 2 or 4, against 108-111 for AVX-512).
 * The epilogue runs in registers for FULL tiles with no activation or relu, else through the tile buffer
 * (rowops.h's epi_store). */
TGT_AVX2 static inline __attribute__((always_inline)) void kern_avx2_core(
    const int DIRECT, const int ROWS, const int FULL, ptrdiff_t K, const float *Ap, ptrdiff_t lda,
    const float *B, ptrdiff_t ldb, int mr, int nr, float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0,
    const mmb_epilogue *e, const float *far, ptrdiff_t far_n) {
    const float *a0 = Ap, *a3 = Ap + 3 * lda;
    const ptrdiff_t far_every = far_n > 0 && K > far_n ? K / far_n : 1;
    ptrdiff_t far_wait = 2;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i k0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    const __m256i k1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    /* One k step: B row `bp`, A column `o` (in place: element o of each row; packed: o * 6 on). */
#define AELEM2(n, o) (DIRECT ? ((n) < 3 ? a0[(n) * lda + (o)] : a3[((n) - 3) * lda + (o)]) : Ap[(o) * MR_2 + (n)])
#define ROW2(i, o)                                                                                              \
    if ((i) < ROWS) {                                                                                           \
        a = _mm256_set1_ps(AELEM2(i, o));                                                                       \
        c##i##0 = _mm256_fmadd_ps(a, b0, c##i##0);                                                              \
        c##i##1 = _mm256_fmadd_ps(a, b1, c##i##1);                                                              \
    }
#define STEP2(bp, o)                                                                                            \
    {                                                                                                           \
        __m256 b0, b1, a;                                                                                       \
        if (FULL) { b0 = _mm256_loadu_ps(bp); b1 = _mm256_loadu_ps((bp) + 8); }                                 \
        else { b0 = _mm256_maskload_ps(bp, k0); b1 = _mm256_maskload_ps((bp) + 8, k1); }                        \
        _mm_prefetch((const char *)((bp) + PF_2 * ldb), _MM_HINT_T0);                                           \
        ROW2(0, o) ROW2(1, o) ROW2(2, o) ROW2(3, o) ROW2(4, o) ROW2(5, o)                                       \
    }
    /* Two k steps per iteration: at 12 FMAs a step, the loop's own instructions (pointer updates, the
     * prefetch countdown, the branch) otherwise cost the front end as much as the arithmetic. */
    ptrdiff_t k = 0;
    for (; k + 2 <= K; k += 2, B += 2 * ldb) {
        if (far_n > 0 && (far_wait -= 2) <= 0) {
            _mm_prefetch((const char *)far, _MM_HINT_T0);
            _mm_prefetch((const char *)(far + 16), _MM_HINT_T0);
            far += 32;
            far_n--;
            far_wait = far_every;
        }
        STEP2(B, 0)
        STEP2(B + ldb, 1)
        if (DIRECT) { a0 += 2; a3 += 2; } else { Ap += 2 * MR_2; }
    }
    if (k < K) STEP2(B, 0)
#undef STEP2
#undef ROW2
#undef AELEM2
    if (FULL && (e == NULL || e->act == MMB_ACT_NONE || e->act == MMB_ACT_RELU)) {
        /* The epilogue in registers: bias, relu, residual, NoNorm, for the valid rows. */
        const __m256 zero = _mm256_setzero_ps();
        const int has_bias = e && e->bias, relu = e && e->act == MMB_ACT_RELU, has_res = e && e->res,
                  has_norm = e && e->scale;
#define OUT2(i)                                                                                                 \
    if ((i) < ROWS && (i) < mr) {                                                                               \
        __m256 v0 = c##i##0, v1 = c##i##1;                                                                      \
        if (has_bias) {                                                                                         \
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(e->bias + col0));                                            \
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(e->bias + col0 + 8));                                        \
        }                                                                                                       \
        if (relu) { v0 = _mm256_max_ps(zero, v0); v1 = _mm256_max_ps(zero, v1); } /* NaN: the 2nd operand */  \
        if (has_res) {                                                                                          \
            const float *r = e->res + (row0 + (i)) * e->ldr + col0;                                             \
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(r));                                                         \
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(r + 8));                                                     \
        }                                                                                                       \
        if (has_norm) {                                                                                         \
            v0 = _mm256_add_ps(_mm256_mul_ps(v0, _mm256_loadu_ps(e->scale + col0)),                             \
                               _mm256_loadu_ps(e->shift + col0));                                               \
            v1 = _mm256_add_ps(_mm256_mul_ps(v1, _mm256_loadu_ps(e->scale + col0 + 8)),                         \
                               _mm256_loadu_ps(e->shift + col0 + 8));                                           \
        }                                                                                                       \
        _mm256_storeu_ps(C + (i) * ldc, v0);                                                                    \
        _mm256_storeu_ps(C + (i) * ldc + 8, v1);                                                                \
    }
        OUT2(0) OUT2(1) OUT2(2) OUT2(3) OUT2(4) OUT2(5)
#undef OUT2
        return;
    }
    float t[MR_2 * NR_2];
#define ST2(i)                                                                                                  \
    _mm256_storeu_ps(t + (i) * NR_2, c##i##0);                                                                  \
    _mm256_storeu_ps(t + (i) * NR_2 + 8, c##i##1);
    ST2(0) ST2(1) ST2(2) ST2(3) ST2(4) ST2(5)
#undef ST2
    epi_store_avx2(t, NR_2, mr < ROWS ? mr : ROWS, nr, C, ldc, row0, col0, e);
}

/* Full 6-row panels, A read in place. */
TGT_AVX2 static void kern_avx2_direct(ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                                      int nr, float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0,
                                      const mmb_epilogue *e, const float *far, ptrdiff_t far_n) {
    if (nr == NR_2) kern_avx2_core(1, 6, 1, K, A, lda, B, ldb, MR_2, nr, C, ldc, row0, col0, e, far, far_n);
    else kern_avx2_core(1, 6, 0, K, A, lda, B, ldb, MR_2, nr, C, ldc, row0, col0, e, far, far_n);
}

/* A packed partial panel of mr < 6 rows: for a full-width tile the 2-, 4- or 6-row copy, the smallest that
 * covers mr; an edge tile (nr < 16, masked loads) takes the 6-row copy. */
TGT_AVX2 static void kern_avx2(ptrdiff_t K, const float *Ap, const float *B, ptrdiff_t ldb, int mr, int nr,
                               float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e,
                               const float *far, ptrdiff_t far_n) {
    if (nr == NR_2) {
        if (mr <= 2) kern_avx2_core(0, 2, 1, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
        else if (mr <= 4) kern_avx2_core(0, 4, 1, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
        else kern_avx2_core(0, 6, 1, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
    } else {
        kern_avx2_core(0, 6, 0, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
    }
}

/* ------------------------------------------------------------------------------- AVX-512 micro-kernel */
#define MR_512 12
#define NR_512 32
#define PF_512 16
/* The 12 x 32 kernel, written once. DIRECT = 1 reads the 12 rows of A in place (row stride lda): full row
 * panels are never packed. DIRECT = 0 reads a packed panel ([K][12], the last partial panel, zero rows
 * added) and computes only its first ROWS rows (4, 8 or 12): a 4-row remainder costs a third of a full
 * panel instead of a whole one. Both are compile-time constants of the always-inlined copies below; the
 * dead rows' code is removed.
 * Prefetches (they never fault, past the end of an array included): this B panel PF_512 rows ahead, into
 * L1; and `far_n` pairs of cache lines from `far` on (the next GEMM's weights, in memory order), spread
 * evenly over the k loop. */
TGT_AVX512 static inline __attribute__((always_inline)) void kern_avx512_core(
    const int DIRECT, const int ROWS, ptrdiff_t K, const float *Ap, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
    int mr, int nr, float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e,
    const float *far, ptrdiff_t far_n) {
    const float *a0 = Ap, *a3 = Ap + 3 * lda, *a6 = Ap + 6 * lda, *a9 = Ap + 9 * lda;
    const ptrdiff_t far_every = far_n > 0 && K > far_n ? K / far_n : 1;
    ptrdiff_t far_wait = 1;
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00,
           c80 = c00, c81 = c00, c90 = c00, c91 = c00, cA0 = c00, cA1 = c00, cB0 = c00, cB1 = c00;
    for (ptrdiff_t k = 0; k < K; k++, B += ldb) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, B), b1 = _mm512_maskz_loadu_ps(m1, B + 16);
        /* Prefetches never fault, past the end of an array included. */
        _mm_prefetch((const char *)(B + PF_512 * ldb), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + PF_512 * ldb + 16), _MM_HINT_T0);
        if (far_n > 0 && --far_wait == 0) {
            _mm_prefetch((const char *)far, _MM_HINT_T0);
            _mm_prefetch((const char *)(far + 16), _MM_HINT_T0);
            far += 32;
            far_n--;
            far_wait = far_every;
        }
        __m512 a;
#define AELEM(n) (DIRECT ? ((n) < 3 ? a0[(n) * lda] : (n) < 6 ? a3[((n) - 3) * lda] : (n) < 9 ? a6[((n) - 6) * lda] \
                                                                                  : a9[((n) - 9) * lda])        \
                         : Ap[n])
#define ROW5(i, n)                                                                                              \
    if ((n) < ROWS) {                                                                                           \
        a = _mm512_set1_ps(AELEM(n));                                                                           \
        c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0);                                                              \
        c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);                                                              \
    }
        ROW5(0, 0) ROW5(1, 1) ROW5(2, 2) ROW5(3, 3) ROW5(4, 4) ROW5(5, 5)
        ROW5(6, 6) ROW5(7, 7) ROW5(8, 8) ROW5(9, 9) ROW5(A, 10) ROW5(B, 11)
#undef ROW5
#undef AELEM
        if (DIRECT) { a0++; a3++; a6++; a9++; } else { Ap += MR_512; }
    }
    if (e == NULL || e->act == MMB_ACT_NONE || e->act == MMB_ACT_RELU) {
        /* The epilogue in registers: bias, relu, residual, NoNorm, masked store of the valid part. */
        const __m512 zero = _mm512_setzero_ps();
        __m512 bb0 = zero, bb1 = zero, s0 = zero, s1 = zero, h0 = zero, h1 = zero;
        const int has_bias = e && e->bias, relu = e && e->act == MMB_ACT_RELU, has_res = e && e->res,
                  has_norm = e && e->scale;
        if (has_bias) {
            bb0 = _mm512_maskz_loadu_ps(m0, e->bias + col0);
            bb1 = _mm512_maskz_loadu_ps(m1, e->bias + col0 + 16);
        }
        if (has_norm) {
            s0 = _mm512_maskz_loadu_ps(m0, e->scale + col0);
            s1 = _mm512_maskz_loadu_ps(m1, e->scale + col0 + 16);
            h0 = _mm512_maskz_loadu_ps(m0, e->shift + col0);
            h1 = _mm512_maskz_loadu_ps(m1, e->shift + col0 + 16);
        }
#define OUT5(i, n)                                                                                              \
    if ((n) < ROWS && (n) < mr) {                                                                               \
        __m512 v0 = c##i##0, v1 = c##i##1;                                                                      \
        if (has_bias) { v0 = _mm512_add_ps(v0, bb0); v1 = _mm512_add_ps(v1, bb1); }                            \
        if (relu) { v0 = _mm512_max_ps(zero, v0); v1 = _mm512_max_ps(zero, v1); } /* NaN: the 2nd operand */  \
        if (has_res) {                                                                                          \
            const float *r = e->res + (row0 + n) * e->ldr + col0;                                               \
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, r));                                               \
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, r + 16));                                          \
        }                                                                                                       \
        if (has_norm) {                                                                                         \
            v0 = _mm512_add_ps(_mm512_mul_ps(v0, s0), h0);                                                      \
            v1 = _mm512_add_ps(_mm512_mul_ps(v1, s1), h1);                                                      \
        }                                                                                                       \
        _mm512_mask_storeu_ps(C + n * ldc, m0, v0);                                                             \
        _mm512_mask_storeu_ps(C + n * ldc + 16, m1, v1);                                                        \
    }
        OUT5(0, 0) OUT5(1, 1) OUT5(2, 2) OUT5(3, 3) OUT5(4, 4) OUT5(5, 5)
        OUT5(6, 6) OUT5(7, 7) OUT5(8, 8) OUT5(9, 9) OUT5(A, 10) OUT5(B, 11)
#undef OUT5
        return;
    }
    float t[MR_512 * NR_512];
#define ST5(i, n)                                                                                               \
    if ((n) < ROWS) {                                                                                           \
        _mm512_storeu_ps(t + n * NR_512, c##i##0);                                                              \
        _mm512_storeu_ps(t + n * NR_512 + 16, c##i##1);                                                         \
    }
    ST5(0, 0) ST5(1, 1) ST5(2, 2) ST5(3, 3) ST5(4, 4) ST5(5, 5)
    ST5(6, 6) ST5(7, 7) ST5(8, 8) ST5(9, 9) ST5(A, 10) ST5(B, 11)
#undef ST5
    epi_store_avx512(t, NR_512, mr, nr, C, ldc, row0, col0, e);
}

/* A packed partial panel of mr < 12 rows: the 4-, 8- or 12-row copy, the smallest that covers mr. */
TGT_AVX512 static void kern_avx512(ptrdiff_t K, const float *Ap, const float *B, ptrdiff_t ldb, int mr, int nr,
                                   float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e,
                                   const float *far, ptrdiff_t far_n) {
    if (mr <= 4) kern_avx512_core(0, 4, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
    else if (mr <= 8) kern_avx512_core(0, 8, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
    else kern_avx512_core(0, 12, K, Ap, 0, B, ldb, mr, nr, C, ldc, row0, col0, e, far, far_n);
}

TGT_AVX512 static void kern_avx512_direct(ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                                          int nr, float *C, ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0,
                                          const mmb_epilogue *e, const float *far, ptrdiff_t far_n) {
    kern_avx512_core(1, 12, K, A, lda, B, ldb, MR_512, nr, C, ldc, row0, col0, e, far, far_n);
}

/* Softmax numerators, AVX-512 (rowops.h's exp_rows, written with intrinsics: gcc's vectorisation of that
 * loop nest ran at ~2.8 cycles per element, 6% of a 1x384 forward). Two passes over each row, which is
 * in L1: (1) s = s * scale + mask, and the row maximum; (2) s = exp(s - max), and the row sum. exp is
 * exp_poly's algorithm and constants (rowops.h's MMB_EXP_*), 16 lanes at a time, with
 * _mm512_roundscale_ps for floor and _mm512_scalef_ps for the multiplication by 2^n. */
TGT_AVX512 static inline __m512 exp16_avx512(__m512 x) {
    const __m512 low = _mm512_set1_ps(MMB_EXP_LOW);
    const __mmask16 under = _mm512_cmp_ps_mask(x, low, _CMP_LE_OQ);
    x = _mm512_max_ps(low, x);  /* NaN stays NaN: max_ps returns its 2nd operand then */
    const __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(MMB_EXP_LOG2E), _mm512_set1_ps(0.5f)),
                                           _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(MMB_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(MMB_EXP_LN2_LO), r);
    __m512 y = _mm512_set1_ps(MMB_EXP_P0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MMB_EXP_P1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MMB_EXP_P2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MMB_EXP_P3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MMB_EXP_P4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MMB_EXP_P5));
    y = _mm512_add_ps(_mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps((__mmask16)~under, _mm512_scalef_ps(y, fx));
}

TGT_AVX512 static void exp_rows_avx512(float *S, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, float scale,
                                         const float *mask, float *sums) {
    const __m512 vscale = _mm512_set1_ps(scale);
    for (ptrdiff_t i = 0; i < M; i++) {
        float *s = S + i * ld;
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        for (ptrdiff_t j = 0; j < N; j += 16) {
            const __mmask16 k = N - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (N - j)) - 1u);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, s + j), vscale);
            if (mask) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, mask + j));
            _mm512_mask_storeu_ps(s + j, k, v);
            vmax = _mm512_mask_max_ps(vmax, k, vmax, v);
        }
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
        __m512 vsum = _mm512_setzero_ps();
        for (ptrdiff_t j = 0; j < N; j += 16) {
            const __mmask16 k = N - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (N - j)) - 1u);
            const __m512 e = _mm512_maskz_mov_ps(k, exp16_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), m)));
            _mm512_mask_storeu_ps(s + j, k, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        sums[i] = _mm512_reduce_add_ps(vsum);
    }
}

/* The same two passes on AVX2: 8 lanes, _mm256_floor_ps for floor and 2^n built in the exponent bits (AVX2
 * has no scalef), the last N % 8 columns of a row by rowops.h's scalar exp_poly. gcc's vectorisation of
 * rowops.h's loops ran at 0.75-0.95 ns per element (T = 384 / 128) against AVX-512's 0.37-0.56. */
TGT_AVX2 static inline __m256 exp8_avx2(__m256 x) {
    const __m256 low = _mm256_set1_ps(MMB_EXP_LOW);
    const __m256 under = _mm256_cmp_ps(x, low, _CMP_LE_OQ);
    x = _mm256_max_ps(low, x);  /* NaN stays NaN: max_ps returns its 2nd operand then */
    const __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(MMB_EXP_LOG2E), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(MMB_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(MMB_EXP_LN2_LO), r);
    __m256 y = _mm256_set1_ps(MMB_EXP_P0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MMB_EXP_P1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MMB_EXP_P2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MMB_EXP_P3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MMB_EXP_P4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MMB_EXP_P5));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i n = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));  /* fx in [-126, 0] */
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(n, 23))));
}

TGT_AVX2 static void exp_rows_avx2(float *S, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, float scale,
                                   const float *mask, float *sums) {
    const __m256 vscale = _mm256_set1_ps(scale);
    const ptrdiff_t N8 = N - N % 8;
    for (ptrdiff_t i = 0; i < M; i++) {
        float *s = S + i * ld;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        for (ptrdiff_t j = 0; j < N8; j += 8) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale);
            if (mask) v = _mm256_add_ps(v, _mm256_loadu_ps(mask + j));
            _mm256_storeu_ps(s + j, v);
            vmax = _mm256_max_ps(vmax, v);
        }
        float m = -INFINITY, lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
        for (ptrdiff_t j = N8; j < N; j++) {
            s[j] = s[j] * scale + (mask ? mask[j] : 0.0f);
            m = s[j] > m ? s[j] : m;
        }
        const __m256 vm = _mm256_set1_ps(m);
        __m256 vsum = _mm256_setzero_ps();
        for (ptrdiff_t j = 0; j < N8; j += 8) {
            const __m256 e = exp8_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
            _mm256_storeu_ps(s + j, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        _mm256_storeu_ps(lanes, vsum);
        float total = 0.0f;
        for (int l = 0; l < 8; l++) total += lanes[l];
        for (ptrdiff_t j = N8; j < N; j++) {
            s[j] = exp_poly_avx2(s[j] - m);
            total += s[j];
        }
        sums[i] = total;
    }
}


/* Transposes: dst[c, r] = src[r, c] for r < rows, c < cols (row strides lds, ldd). Attention's keys, one
 * head at a time ([T, head_dim] with the row stride of the key buffer -> [head_dim, T]). In register tiles
 * (16 x 16 on AVX-512, 8 x 8 on AVX2): interleave 32-bit then 64-bit elements within 128-bit lanes, then
 * move the lanes. Rows past the end are zeros, never stored; columns past the end are neither loaded nor
 * stored (masks). The scalar loop it replaces took ~3 cycles an element, ~1% of an 8x128 forward. */
/* The first two stages of both, the same code for either vector width P (_mm512, _mm256) and N rows:
 * interleave 32-bit elements of row pairs (t: per 128-bit lane, r[2i][c], r[2i+1][c] for c = 0, 1 from
 * unpacklo, c = 2, 3 from unpackhi), then 64-bit pairs, so that u[4i + j], lane L, holds rows 4i .. 4i + 3
 * of column 4L + j. What remains is moving whole 128-bit lanes. */
#define TRANSPOSE_IN_LANES(P, N, r, t, u)                                                                      \
    do {                                                                                                        \
        for (int i_ = 0; i_ < (N) / 2; i_++) {                                                                  \
            t[2 * i_] = P##_unpacklo_ps(r[2 * i_], r[2 * i_ + 1]);                                              \
            t[2 * i_ + 1] = P##_unpackhi_ps(r[2 * i_], r[2 * i_ + 1]);                                          \
        }                                                                                                       \
        for (int i_ = 0; i_ < (N) / 4; i_++) {                                                                  \
            u[4 * i_] = P##_shuffle_ps(t[4 * i_], t[4 * i_ + 2], 0x44);                                         \
            u[4 * i_ + 1] = P##_shuffle_ps(t[4 * i_], t[4 * i_ + 2], 0xEE);                                     \
            u[4 * i_ + 2] = P##_shuffle_ps(t[4 * i_ + 1], t[4 * i_ + 3], 0x44);                                 \
            u[4 * i_ + 3] = P##_shuffle_ps(t[4 * i_ + 1], t[4 * i_ + 3], 0xEE);                                 \
        }                                                                                                       \
    } while (0)

TGT_AVX512 static void transpose_avx512(const float *src, ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols, float *dst,
                                        ptrdiff_t ldd) {
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += 16) {
        const int nr = (int)(rows - r0 < 16 ? rows - r0 : 16);
        const __mmask16 mr = (__mmask16)((1u << nr) - 1u);
        for (ptrdiff_t c0 = 0; c0 < cols; c0 += 16) {
            const int nc = (int)(cols - c0 < 16 ? cols - c0 : 16);
            const __mmask16 mc = (__mmask16)((1u << nc) - 1u);
            __m512 r[16], t[16], u[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < nr ? _mm512_maskz_loadu_ps(mc, src + (r0 + i) * lds + c0) : _mm512_setzero_ps();
            TRANSPOSE_IN_LANES(_mm512, 16, r, t, u);
            for (int j = 0; j < 4; j++) {  /* column 4L + j: lane L of u[j], u[4 + j], u[8 + j], u[12 + j] */
                const __m512 x0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), x1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
                const __m512 y0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88),
                             y1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
                r[j] = _mm512_shuffle_f32x4(x0, y0, 0x88);
                r[4 + j] = _mm512_shuffle_f32x4(x1, y1, 0x88);
                r[8 + j] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
                r[12 + j] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
            }
            for (int c = 0; c < nc; c++) _mm512_mask_storeu_ps(dst + (c0 + c) * ldd + r0, mr, r[c]);
        }
    }
}

TGT_AVX2 static void transpose_avx2(const float *src, ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols, float *dst,
                                    ptrdiff_t ldd) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += 8) {
        const int nr = (int)(rows - r0 < 8 ? rows - r0 : 8);
        const __m256i mr = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
        for (ptrdiff_t c0 = 0; c0 < cols; c0 += 8) {
            const int nc = (int)(cols - c0 < 8 ? cols - c0 : 8);
            const __m256i mc = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
            __m256 r[8], t[8], u[8];
            for (int i = 0; i < 8; i++)
                r[i] = i < nr ? _mm256_maskload_ps(src + (r0 + i) * lds + c0, mc) : _mm256_setzero_ps();
            TRANSPOSE_IN_LANES(_mm256, 8, r, t, u);
            for (int j = 0; j < 4; j++) {
                r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
                r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
            }
            for (int c = 0; c < nc; c++) _mm256_maskstore_ps(dst + (c0 + c) * ldd + r0, mr, r[c]);
        }
    }
}

/* The x86 GEMM, one driver for both instruction sets (`blocked_isa`: the tile, the kernels, the packing).
 * Two loop orders over the micro-kernel's tiles:
 *  - B at most half the L2 (every weight of the published config's FFNs, attention output and query/key;
 *    B is then read from L2 by every row panel) and at least 4 column panels: row panels outer. A tile's
 *    row panel of A stays in L1 across the columns, and the output and residual rows are swept left to
 *    right, which the prefetchers follow: column panels outer walked down 2 KB-strided rows one or two
 *    cache lines at a time, with those rows out of L2 when they were last touched several steps earlier.
 *    Measured in one process, engine builds alternating (8 rounds, 2026-11-26): forwards 0.955-0.985x the
 *    time on the AVX2 path, 0.978-0.996x on AVX-512, no shape slower; with B up to the whole L2 (the
 *    fused 512 -> 384, 786 KB) 1.004-1.016x.
 *    Each tile first fetches the next tile's output and residual lines: with rows of 512 floats those
 *    lines were last touched steps ago and sit in L3, and the epilogue of a 12-row tile otherwise
 *    stalled on 24-48 of them at once (the output bottleneck, residual and output both the 512-wide
 *    hidden state: 88 -> 101 GFLOP/s at 8x128 on AVX-512; forwards 0.984x the time at 8x128 on one and
 *    two threads, 0.988x at 1x384, 0.990x on the AVX2 path, 16-20 interleaved rounds; no change at
 *    1x128, where everything is in L2). The same fetch in the other loop order (the fused 512 -> 384)
 *    did not pay: 0.985x for both together against 0.962x for this one alone (12 rounds).
 *  - otherwise: row blocks of at most `mc` rows (so the rows of A that every column panel reads stay in
 *    L2), balanced and a multiple of the tile's rows but the last; in a block, for each column panel of
 *    B, every row panel.
 * Full row panels read A in place, a last partial one is packed into `work`.
 * `next` is the GEMM that runs after this one: its whole right operand is fetched into cache during this
 * one, in memory order, an equal share of its lines by each micro-kernel call. Weights are read from
 * memory once per forward (98 MB, more than the L3); without this the first row panel to touch each
 * cache line of B waits for it (measured: -4% for a 1x128 forward on one thread, interleaved A/B). */
typedef struct {
    int mr, nr;
    ptrdiff_t mc;
    void (*direct)(ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb, int nr, float *C,
                   ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e, const float *far,
                   ptrdiff_t far_n);
    void (*packed)(ptrdiff_t K, const float *Ap, const float *B, ptrdiff_t ldb, int mr, int nr, float *C,
                   ptrdiff_t ldc, ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e, const float *far,
                   ptrdiff_t far_n);
    void (*pack)(const float *A, ptrdiff_t lda, ptrdiff_t M, ptrdiff_t K, int MR, float *out);
} blocked_isa;

static const blocked_isa AVX512 = {MR_512, NR_512, 192, kern_avx512_direct, kern_avx512, pack_a_avx512};
static const blocked_isa AVX2 = {MR_2, NR_2, 192, kern_avx2_direct, kern_avx2, pack_a_avx2};

/* Fetch into L1 the output lines (for writing) and residual lines of the tile at rows [i, i + MR),
 * columns [j, j + 32): two cache lines a row, a whole tile's width on AVX-512 (on AVX2, whose tile is 16
 * wide, also the tile after it). */
static inline __attribute__((always_inline)) void prefetch_tile(float *C, ptrdiff_t ldc, const mmb_epilogue *e,
                                                                ptrdiff_t M, ptrdiff_t MR, ptrdiff_t i,
                                                                ptrdiff_t j) {
    const ptrdiff_t rows = M - i < MR ? M - i : MR;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const char *c = (const char *)(C + (i + r) * ldc + j);
        __builtin_prefetch(c, 1, 3);
        __builtin_prefetch(c + 64, 1, 3);
        if (e && e->res) {
            const char *q = (const char *)(e->res + (i + r) * e->ldr + j);
            __builtin_prefetch(q, 0, 3);
            __builtin_prefetch(q + 64, 0, 3);
        }
    }
}

static inline __attribute__((always_inline)) void gemm_blocked(
    const blocked_isa *x, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B,
    ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi, float *work, const mmb_next *next) {
    const ptrdiff_t MR = x->mr, NR = x->nr, full = M / MR * MR;
    if (full < M) x->pack(A + full * lda, lda, M - full, K, (int)MR, work);
    const ptrdiff_t blocks = (M + x->mc - 1) / x->mc;
    const ptrdiff_t mc = ((M + blocks - 1) / blocks + MR - 1) / MR * MR;
    const float *far = next && next->b ? next->b : NULL;
    const float *far_end = far ? far + next->k * next->ldb : NULL;
    const ptrdiff_t calls = (M + MR - 1) / MR * ((N + NR - 1) / NR);
    const ptrdiff_t far_per_call = far ? (next->k * next->ldb / 32 + calls - 1) / calls : 0; /* line pairs */
    if (K * ldb * (ptrdiff_t)sizeof(float) <= mmb_l2_bytes() / 2 && N >= 4 * NR) {
        /* The order below with row blocks of one panel visits the same tiles in the same order, but made
         * the AVX2 path's 1x128 forward 1.02-1.05x slower (gcc 12): a loop of its own. */
        for (ptrdiff_t i = 0; i < M; i += MR)
            for (ptrdiff_t j = 0; j < N; j += NR) {
                const int nr = (int)(N - j < NR ? N - j : NR);
                if (j + NR < N) prefetch_tile(C, ldc, epi, M, MR, i, j + NR);  /* the next tile's */
                else if (i + MR < M) prefetch_tile(C, ldc, epi, M, MR, i + MR, 0);
                const float *f = far < far_end ? far : NULL;
                const ptrdiff_t fn = f ? far_per_call : 0;
                far += fn * 32;
                if (i < full)
                    x->direct(K, A + i * lda, lda, B + j, ldb, nr, C + i * ldc + j, ldc, i, j, epi, f, fn);
                else
                    x->packed(K, work, B + j, ldb, (int)(M - full), nr, C + full * ldc + j, ldc, full, j, epi, f, fn);
            }
        return;
    }
    for (ptrdiff_t m0 = 0; m0 < M; m0 += mc) {
        const ptrdiff_t m1 = m0 + mc < M ? m0 + mc : M, f1 = m1 < full ? m1 : full;
        for (ptrdiff_t j = 0; j < N; j += NR) {
            const int nr = (int)(N - j < NR ? N - j : NR);
            for (ptrdiff_t i = m0; i < m1; i += MR) {
                const float *f = far < far_end ? far : NULL;
                const ptrdiff_t fn = f ? far_per_call : 0;
                far += fn * 32;
                if (i < f1)
                    x->direct(K, A + i * lda, lda, B + j, ldb, nr, C + i * ldc + j, ldc, i, j, epi, f, fn);
                else
                    x->packed(K, work, B + j, ldb, (int)(M - full), nr, C + full * ldc + j, ldc, full, j, epi, f, fn);
            }
        }
    }
}

/* One copy of the driver per instruction set, so that the constant tables fold and the kernels inline
 * into their loop (through the function pointers they did not: +0.4-1.1% on a 1x128 forward). */
TGT_AVX512 static void gemm_avx512(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                                   const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi,
                                   float *work, const mmb_next *next) {
    gemm_blocked(&AVX512, M, N, K, A, lda, B, ldb, C, ldc, epi, work, next);
}

TGT_AVX2 static void gemm_avx2(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                               const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi,
                               float *work, const mmb_next *next) {
    gemm_blocked(&AVX2, M, N, K, A, lda, B, ldb, C, ldc, epi, work, next);
}
#endif

/* ------------------------------------------------------------------------------- dispatch */

static int g_isa = MMB_ISA_AUTO;

int mmb_cpu_isa(void) { return mmb_detect_isa(); }

int mmb_set_isa(int isa) {
    int best = mmb_cpu_isa();
    g_isa = (isa == MMB_ISA_AUTO || isa > best) ? best : (isa < MMB_ISA_PORTABLE ? MMB_ISA_PORTABLE : isa);
    return g_isa;
}

int mmb_get_isa(void) {
    if (g_isa == MMB_ISA_AUTO) mmb_set_isa(MMB_ISA_AUTO);
    return g_isa;
}

#define MC 120 /* rows of A packed at a time by the portable path (a multiple of its MR) */

size_t mmb_gemm_work_floats(ptrdiff_t M, ptrdiff_t K) {
    ptrdiff_t m = M < MC ? M : MC;
    ptrdiff_t panels = (m + 11) / 4 + 3;  /* enough for MR = 4, 6 or 12 */
    return (size_t)(panels * 4 + 12) * (size_t)(K > 0 ? K : 1) + 16;
}

void mmb_gemm(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B,
              ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi, float *work) {
    mmb_gemm_next(M, N, K, A, lda, B, ldb, C, ldc, epi, work, NULL);
}

void mmb_gemm_next(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B,
                   ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi, float *work,
                   const mmb_next *next) {
    if (M <= 0 || N <= 0) return;
#if MMB_X86
    const int isa = mmb_get_isa();
    if (isa == MMB_ISA_AVX512) { gemm_avx512(M, N, K, A, lda, B, ldb, C, ldc, epi, work, next); return; }
    if (isa == MMB_ISA_AVX2) { gemm_avx2(M, N, K, A, lda, B, ldb, C, ldc, epi, work, next); return; }
#else
    (void)next;
#endif
    for (ptrdiff_t m0 = 0; m0 < M; m0 += MC) {
        ptrdiff_t mc = M - m0 < MC ? M - m0 : MC;
        if (K > 0) pack_a_portable(A + m0 * lda, lda, mc, K, MR_P, work);
        for (ptrdiff_t j = 0; j < N; j += NR_P) {
            int nr = (int)(N - j < NR_P ? N - j : NR_P);
            for (ptrdiff_t i = 0; i < mc; i += MR_P) {
                int mr = (int)(mc - i < MR_P ? mc - i : MR_P);
                kern_portable(K, work + (i / MR_P) * MR_P * K, B + j, ldb, mr, nr, C + (m0 + i) * ldc + j, ldc,
                              m0 + i, j, epi);
            }
        }
    }
}

void mmb_layer_norm_rows(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w, const float *b,
                         float eps) {
#if MMB_X86
    int isa = mmb_get_isa();
    if (isa == MMB_ISA_AVX512) { layer_norm_rows_avx512(X, M, N, ld, w, b, eps); return; }
    if (isa == MMB_ISA_AVX2) { layer_norm_rows_avx2(X, M, N, ld, w, b, eps); return; }
#endif
    layer_norm_rows_portable(X, M, N, ld, w, b, eps);
}

void mmb_no_norm_rows(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w, const float *b) {
#if MMB_X86
    int isa = mmb_get_isa();
    if (isa == MMB_ISA_AVX512) { no_norm_rows_avx512(X, M, N, ld, w, b); return; }
    if (isa == MMB_ISA_AVX2) { no_norm_rows_avx2(X, M, N, ld, w, b); return; }
#endif
    no_norm_rows_portable(X, M, N, ld, w, b);
}

void mmb_transpose(const float *src, ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols, float *dst, ptrdiff_t ldd) {
#if MMB_X86
    int isa = mmb_get_isa();
    if (isa == MMB_ISA_AVX512) { transpose_avx512(src, lds, rows, cols, dst, ldd); return; }
    if (isa == MMB_ISA_AVX2) { transpose_avx2(src, lds, rows, cols, dst, ldd); return; }
#endif
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}

void mmb_exp_rows(float *S, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, float scale, const float *mask,
                  float *sums) {
#if MMB_X86
    int isa = mmb_get_isa();
    if (isa == MMB_ISA_AVX512) { exp_rows_avx512(S, M, N, ld, scale, mask, sums); return; }
    if (isa == MMB_ISA_AVX2) { exp_rows_avx2(S, M, N, ld, scale, mask, sums); return; }
#endif
    exp_rows_portable(S, M, N, ld, scale, mask, sums);
}
