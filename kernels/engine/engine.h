/* minimobilebert's compiled encoder engine: the C interface (see README.md in this folder).
 *
 * Conventions: float32 everywhere; every matrix is row-major with an explicit row stride ("ld", in
 * floats, >= its width); a dense layer's weight is read as B = W^T, a [in, out] row-major matrix, which
 * is exactly what minimobilebert/packing.py leaves in memory (HF's [out, in] weight is a transposed view
 * of a column block of that buffer).
 */
#ifndef MMB_ENGINE_H
#define MMB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Activation codes (the order of minimobilebert/engine.py's ACTIVATION_CODES). */
enum { MMB_ACT_NONE = 0, MMB_ACT_RELU = 1, MMB_ACT_GELU = 2, MMB_ACT_GELU_NEW = 3, MMB_ACT_TANH = 4,
       MMB_ACT_SILU = 5, MMB_ACT_QUICK_GELU = 6, MMB_ACT_RELU6 = 7, MMB_ACT_SIGMOID = 8, MMB_ACT_GELU_10 = 9,
       MMB_ACT_LEAKY_RELU = 10, MMB_ACT_RELU2 = 11, MMB_ACT_MISH = 12, MMB_ACT_HARDSWISH = 13 };

/* Instruction-set paths. MMB_ISA_AUTO = the best this CPU supports (detected at run time). */
enum { MMB_ISA_AUTO = 0, MMB_ISA_PORTABLE = 1, MMB_ISA_AVX2 = 2, MMB_ISA_AVX512 = 3 };

/* What the GEMM does to each output element before storing it, in this order:
 *   y = acc + bias[n];  y = act(y);  y = y + res[m, n];  y = y * scale[n] + shift[n]  (NoNorm)
 * Every pointer may be NULL (that step is skipped). `res` may alias the output C (same positions). */
typedef struct {
    const float *bias;
    int act;
    const float *res;
    ptrdiff_t ldr;
    const float *scale, *shift;
} mmb_epilogue;

/* Which path runs (MMB_ISA_*): mmb_set_isa returns the path actually selected, which is `isa` if the CPU
 * supports it, else the best supported one below it. Not thread-safe against running GEMMs. */
int mmb_set_isa(int isa);
int mmb_get_isa(void);
int mmb_cpu_isa(void);  /* best path this CPU supports */

/* Bytes of this core's L2 cache (the C library's answer, else 512 KB). */
ptrdiff_t mmb_l2_bytes(void);

/* Floats of scratch that mmb_gemm needs for an M x K left operand. */
size_t mmb_gemm_work_floats(ptrdiff_t M, ptrdiff_t K);

/* C[M, N] = epilogue(A[M, K] @ B[K, N]).  Single-threaded. `work` holds mmb_gemm_work_floats(M, K)
 * floats (A is packed there in panels of the micro-kernel's row count). K may be 0 (acc = 0). */
void mmb_gemm(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B,
              ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi, float *work);

/* The right operand of the GEMM that runs after this one: k rows of ldb floats from b (b NULL: none). A
 * hint: the GEMM fetches those k * ldb floats into cache, spread over its own run, so the next GEMM's
 * weights arrive from memory behind this one's arithmetic. Nothing is read through it but prefetches,
 * which never fault. */
typedef struct {
    const float *b;
    ptrdiff_t ldb, k;
} mmb_next;

/* mmb_gemm, fetching `next`'s operand meanwhile (next may be NULL: then it is mmb_gemm). */
void mmb_gemm_next(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda, const float *B,
                   ptrdiff_t ldb, float *C, ptrdiff_t ldc, const mmb_epilogue *epi, float *work,
                   const mmb_next *next);

/* Row operations, in place on X[M, N] (row stride ld). */
void mmb_layer_norm_rows(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w, const float *b,
                         float eps);
void mmb_no_norm_rows(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w, const float *b);
/* dst[c, r] = src[r, c] for r < rows, c < cols (row strides lds, ldd); src and dst do not overlap. */
void mmb_transpose(const float *src, ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols, float *dst, ptrdiff_t ldd);
/* Softmax numerators: S[i, j] <- exp(S[i, j] * scale + mask[j] - row max) (mask may be NULL);
 * sums[i] <- sum_j of the new S[i, j]. The caller divides whatever it multiplies S by by sums. */
void mmb_exp_rows(float *S, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, float scale, const float *mask,
                  float *sums);

/* ------------------------------------------------------------------------------------------ forward */

enum { MMB_OP_GEMM = 1, MMB_OP_NORM = 2, MMB_OP_ATTENTION = 3 };
enum { MMB_NORM_NONE = 0, MMB_NORM_NO_NORM = 1, MMB_NORM_LAYER_NORM = 2 };

/* A place in one of the forward's activation buffers: buffer id and first column. */
typedef struct { int buf, col; } mmb_ref;

/* One step of a layer, run by the threads on the chunks of rows they take.
 *   GEMM:      dst[:, :N] = norm(epilogue(src[:, :K] @ w)) with w [K, N] row stride ldb; res = residual.
 *   NORM:      dst[:, :N] = norm(dst[:, :N])  (a segment of a fused GEMM's output).
 *   ATTENTION: dst[:, :heads*head_dim] = multi-head attention of queries src, keys res, values aux
 *              (all threads meet at a barrier first: keys and values of every row must be written). */
typedef struct {
    int kind;
    mmb_ref src, dst, res, aux;  /* res.buf / aux.buf = -1: none */
    ptrdiff_t K, N, ldb;
    const float *w, *bias;
    int act, norm;
    const float *norm_w, *norm_b;
    float eps;
    int heads, head_dim;
} mmb_op;

typedef struct {
    const float *word; ptrdiff_t vocab, E;   /* [vocab, E] row-major (contiguous) */
    int trigram;
    const float *tw, *tb; ptrdiff_t tldb;    /* embedding_transformation as [E or 3E, H], or tw NULL */
    const float *pos, *types;                /* [max_positions, H], [type_vocab, H] contiguous */
    int norm; const float *norm_w, *norm_b; float eps;
} mmb_embeddings;

typedef struct {
    ptrdiff_t B, T, H;
    const int64_t *ids, *types, *positions;  /* [B, T], [B, T], [B or 1, T] */
    ptrdiff_t positions_batch_stride;        /* T, or 0 for [1, T] */
    const int64_t *mask;                     /* [B, T] 1 attend / 0 padding, or NULL */
    float **bufs; const ptrdiff_t *lds; int nbufs;  /* activation buffers [B*T, ld]; bufs[0] = hidden out */
    const mmb_embeddings *emb;
    const mmb_op *ops; int nops;             /* all layers' steps in order */
    ptrdiff_t max_k;                         /* largest K of any GEMM step (for scratch sizing) */
    int nthreads;
    float *scratch; size_t scratch_floats;   /* optional: mmb_forward_scratch_floats(args) floats, else malloc */
    int retire_at;                           /* test hook: at this barrier (1 = first) the last thread to
                                              * arrive leaves the team, late or not; 0 = only stragglers do */
} mmb_forward_args;

/* Floats of scratch mmb_forward needs (all threads together) for these args. */
size_t mmb_forward_scratch_floats(const mmb_forward_args *a);

/* Embeddings through the last layer in one call (OpenMP threads take chunks of the B*T rows; GEMMs inside are
 * single-threaded). Returns how many threads left the team as stragglers (forward.c: 0 on a quiet
 * machine), or -1 if scratch memory could not be allocated. Call without the GIL. */
int mmb_forward(const mmb_forward_args *a);
int mmb_has_openmp(void);
void mmb_set_chunking(ptrdiff_t chunk_min, ptrdiff_t chunk_div, ptrdiff_t *old_min, ptrdiff_t *old_div); /* test hook, forward.c */
int mmb_set_pairs(int on); /* test hook, forward.c: 0 runs GEMM pairs as two steps (bit-identical); returns the old */
/* pair[i] = 1 where ops[i] and ops[i + 1] run as one step (forward.c, gemm_pair); returns how many. */
int mmb_plan_pairs(const mmb_op *ops, int nops, char *pair);

#endif
