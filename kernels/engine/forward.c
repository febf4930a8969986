/* The whole encoder forward in one call: embeddings, then every layer's steps (mmb_op), with OpenMP threads
 * each owning a contiguous range of the B*T rows. Every step but attention reads only its own rows, so
 * the only barrier is the one before each attention step (keys and values of all rows must exist).
 * Keys and values of consecutive layers live in different buffers (the plan alternates them, see
 * minimobilebert/engine.py), so a thread may start layer l+1 while another still reads layer l's. */
#include "engine.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MMB_PAUSE() _mm_pause()
#else
#define MMB_PAUSE() ((void)0)
#endif
#include <sched.h>

#define QB 64  /* query rows per attention block */
#define EC 120 /* embedding rows per block */

int mmb_has_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* The barrier before each attention step. Not `#pragma omp barrier`: libgomp's spins for a long time
 * (GOMP_SPINCOUNT, 300000 by default), so when another process holds one core, the thread waiting on
 * the free core keeps it busy and the descheduled thread cannot move there. This one spins ~50 us (a
 * quiet machine's imbalance), then sleeps on a futex (Linux; elsewhere it yields), leaving the core free. */
#define BARRIER_SPINS 2000
typedef struct {
    int count;  /* threads arrived in this phase (atomic) */
    int phase;  /* generation number (atomic) */
} mmb_barrier;

static void barrier_wait(mmb_barrier *b, int n) {
    if (n <= 1) return;
    const int phase = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->phase, phase + 1, __ATOMIC_RELEASE);
#if defined(__linux__)
        syscall(SYS_futex, &b->phase, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
        return;
    }
    for (int i = 0; i < BARRIER_SPINS; i++) {
        if (__atomic_load_n(&b->phase, __ATOMIC_ACQUIRE) != phase) return;
        MMB_PAUSE();
    }
    while (__atomic_load_n(&b->phase, __ATOMIC_ACQUIRE) == phase) {
#if defined(__linux__)
        syscall(SYS_futex, &b->phase, FUTEX_WAIT_PRIVATE, phase, NULL, NULL, 0);
#else
        sched_yield();
#endif
    }
}

typedef struct {
    float *work;  /* GEMM packing */
    float *emb;   /* EC rows of the (trigram) embedding input */
    float *kt;    /* one head's keys, transposed [head_dim, T] */
    float *s;     /* QB x T scores */
    float *sums;  /* QB */
    float *mask;  /* T */
} scratch;

static void apply_norm(float *X, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ld, int norm, const float *w,
                       const float *b, float eps) {
    if (norm == MMB_NORM_NO_NORM) mmb_no_norm_rows(X, m, n, ld, w, b);
    else if (norm == MMB_NORM_LAYER_NORM) mmb_layer_norm_rows(X, m, n, ld, w, b, eps);
}

static void embeddings(const mmb_forward_args *a, ptrdiff_t r0, ptrdiff_t r1, scratch *sc) {
    const mmb_embeddings *e = a->emb;
    const ptrdiff_t T = a->T, H = a->H, E = e->E, ld = a->lds[0];
    float *X = a->bufs[0];
    const ptrdiff_t width = e->trigram ? 3 * E : E;
    for (ptrdiff_t c0 = r0; c0 < r1; c0 += EC) {
        ptrdiff_t c1 = c0 + EC < r1 ? c0 + EC : r1;
        for (ptrdiff_t r = c0; r < c1; r++) {
            ptrdiff_t b = r / T, t = r % T;
            const float *word = e->word + a->ids[r] * E;
            float *dst = e->tw ? sc->emb + (r - c0) * width : X + r * ld;
            if (e->trigram) {  /* [next token, this token, previous token], zeros beyond the ends */
                if (t + 1 < T) memcpy(dst, e->word + a->ids[b * T + t + 1] * E, E * sizeof(float));
                else memset(dst, 0, E * sizeof(float));
                memcpy(dst + E, word, E * sizeof(float));
                if (t > 0) memcpy(dst + 2 * E, e->word + a->ids[b * T + t - 1] * E, E * sizeof(float));
                else memset(dst + 2 * E, 0, E * sizeof(float));
            } else {
                memcpy(dst, word, E * sizeof(float));
            }
        }
        if (e->tw) {
            mmb_epilogue ep = {e->tb, MMB_ACT_NONE, NULL, 0, NULL, NULL};
            mmb_gemm(c1 - c0, H, width, sc->emb, width, e->tw, e->tldb, X + c0 * ld, ld, &ep, sc->work);
        }
        for (ptrdiff_t r = c0; r < c1; r++) {
            ptrdiff_t b = r / T, t = r % T;
            float *x = X + r * ld;
            const float *pos = e->pos + a->positions[b * a->positions_batch_stride + t] * H;
            const float *typ = e->types + a->types[r] * H;
            for (ptrdiff_t j = 0; j < H; j++) x[j] += pos[j];
            for (ptrdiff_t j = 0; j < H; j++) x[j] += typ[j];
        }
        apply_norm(X + c0 * ld, c1 - c0, H, ld, e->norm, e->norm_w, e->norm_b, e->eps);
    }
}

static void attention(const mmb_forward_args *a, const mmb_op *op, ptrdiff_t r0, ptrdiff_t r1, scratch *sc) {
    const ptrdiff_t T = a->T, d = op->head_dim;
    const ptrdiff_t ldq = a->lds[op->src.buf], ldk = a->lds[op->res.buf], ldv = a->lds[op->aux.buf],
                    ldc = a->lds[op->dst.buf];
    const float *Q = a->bufs[op->src.buf] + op->src.col, *Kb = a->bufs[op->res.buf] + op->res.col,
                *V = a->bufs[op->aux.buf] + op->aux.col;
    float *Ctx = a->bufs[op->dst.buf] + op->dst.col;
    const float scale = (float)pow((double)d, -0.5);
    for (ptrdiff_t r = r0; r < r1;) {
        ptrdiff_t b = r / T, rend = (b + 1) * T < r1 ? (b + 1) * T : r1;
        const float *mask = NULL;
        if (a->mask) {
            for (ptrdiff_t j = 0; j < T; j++) sc->mask[j] = a->mask[b * T + j] ? 0.0f : -FLT_MAX;
            mask = sc->mask;
        }
        for (int h = 0; h < op->heads; h++) {
            const float *K = Kb + b * T * ldk + h * d;
            for (ptrdiff_t j = 0; j < T; j++)
                for (ptrdiff_t k = 0; k < d; k++) sc->kt[k * T + j] = K[j * ldk + k];
            for (ptrdiff_t q0 = r; q0 < rend; q0 += QB) {
                ptrdiff_t qb = rend - q0 < QB ? rend - q0 : QB;
                mmb_gemm(qb, T, d, Q + q0 * ldq + h * d, ldq, sc->kt, T, sc->s, T, NULL, sc->work);
                mmb_exp_rows(sc->s, qb, T, T, scale, mask, sc->sums);
                float *ctx = Ctx + q0 * ldc + h * d;
                mmb_gemm(qb, d, T, sc->s, T, V + b * T * ldv + h * d, ldv, ctx, ldc, NULL, sc->work);
                for (ptrdiff_t i = 0; i < qb; i++)
                    for (ptrdiff_t k = 0; k < d; k++) ctx[i * ldc + k] /= sc->sums[i];
            }
        }
        r = rend;
    }
}

static void gemm_step(const mmb_forward_args *a, const mmb_op *op, ptrdiff_t r0, ptrdiff_t r1, scratch *sc) {
    const ptrdiff_t m = r1 - r0;
    if (m <= 0) return;
    const ptrdiff_t lds = a->lds[op->src.buf], ldd = a->lds[op->dst.buf];
    float *dst = a->bufs[op->dst.buf] + r0 * ldd + op->dst.col;
    if (op->kind == MMB_OP_GEMM) {
        mmb_epilogue ep = {op->bias, op->act, NULL, 0, NULL, NULL};
        if (op->res.buf >= 0) {
            ep.ldr = a->lds[op->res.buf];
            ep.res = a->bufs[op->res.buf] + r0 * ep.ldr + op->res.col;
        }
        if (op->norm == MMB_NORM_NO_NORM) { ep.scale = op->norm_w; ep.shift = op->norm_b; }
        const float *src = a->bufs[op->src.buf] + r0 * lds + op->src.col;
        mmb_next next = {NULL, 0, 0};  /* the plan's next GEMM step (after norm or attention steps) */
        for (const mmb_op *nx = op + 1; nx < a->ops + a->nops; nx++)
            if (nx->kind == MMB_OP_GEMM) { next.b = nx->w; next.ldb = nx->ldb; next.k = nx->K; break; }
        mmb_gemm_next(m, op->N, op->K, src, lds, op->w, op->ldb, dst, ldd, &ep, sc->work, &next);
        if (op->norm == MMB_NORM_LAYER_NORM) mmb_layer_norm_rows(dst, m, op->N, ldd, op->norm_w, op->norm_b, op->eps);
    } else {
        apply_norm(dst, m, op->N, ldd, op->norm, op->norm_w, op->norm_b, op->eps);
    }
}

/* Per-thread scratch sizes for these args (floats), and the thread count the forward will use. */
static size_t scratch_per_thread(const mmb_forward_args *a, int *threads) {
    const ptrdiff_t rows = a->B * a->T, T = a->T;
    ptrdiff_t maxk = a->max_k, d = 1;
    ptrdiff_t width = a->emb->trigram ? 3 * a->emb->E : a->emb->E;
    if (width > maxk) maxk = width;
    if (T > maxk) maxk = T;
    for (int i = 0; i < a->nops; i++)
        if (a->ops[i].kind == MMB_OP_ATTENTION && a->ops[i].head_dim > d) d = a->ops[i].head_dim;
    if (d > maxk) maxk = d;
    int nt = a->nthreads < 1 ? 1 : a->nthreads;
    if (nt > rows) nt = rows > 0 ? (int)rows : 1;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt > 64) nt = 64;
    *threads = nt;
    return mmb_gemm_work_floats(EC, maxk) + (size_t)EC * width + (size_t)d * T + (size_t)QB * T + QB + T + 64;
}

size_t mmb_forward_scratch_floats(const mmb_forward_args *a) {
    int nt;
    size_t per = scratch_per_thread(a, &nt);
    return per * nt;
}

int mmb_forward(const mmb_forward_args *a) {
    const ptrdiff_t rows = a->B * a->T, T = a->T;
    if (rows <= 0) return 0;
    int nt;
    const size_t per = scratch_per_thread(a, &nt);
    ptrdiff_t d = 1, width = a->emb->trigram ? 3 * a->emb->E : a->emb->E;
    for (int i = 0; i < a->nops; i++)
        if (a->ops[i].kind == MMB_OP_ATTENTION && a->ops[i].head_dim > d) d = a->ops[i].head_dim;
    ptrdiff_t maxk = a->max_k;
    if (width > maxk) maxk = width;
    if (T > maxk) maxk = T;
    if (d > maxk) maxk = d;
    const size_t nwork = mmb_gemm_work_floats(EC, maxk), nemb = (size_t)EC * width, nkt = (size_t)d * T,
                 ns = (size_t)QB * T;
    float *owned = NULL, *mem = a->scratch;
    if (mem == NULL || a->scratch_floats < per * nt) {
        owned = mem = (float *)malloc(per * nt * sizeof(float));
        if (mem == NULL) return -1;
    }
    scratch sc[64];
    mmb_barrier barrier = {0, 0};
    for (int t = 0; t < nt; t++) {
        float *p = mem + per * t;
        sc[t].work = p; p += nwork;
        sc[t].emb = p; p += nemb;
        sc[t].kt = p; p += nkt;
        sc[t].s = p; p += ns;
        sc[t].sums = p; p += QB;
        sc[t].mask = p;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
        int tid = 0, n = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        n = omp_get_num_threads();
#endif
        const ptrdiff_t r0 = rows * tid / n, r1 = rows * (tid + 1) / n;
        scratch *s = &sc[tid];
        embeddings(a, r0, r1, s);
        for (int i = 0; i < a->nops; i++) {
            const mmb_op *op = &a->ops[i];
            if (op->kind == MMB_OP_ATTENTION) {
                barrier_wait(&barrier, n);
                attention(a, op, r0, r1, s);
            } else {
                gemm_step(a, op, r0, r1, s);
            }
        }
    }
    free(owned);
    return 0;
}
