/* The whole encoder forward in one call: embeddings, then every layer's steps (mmb_op), with OpenMP threads
 * taking chunks of the B*T rows (claim_rows). Every step but attention reads only its own rows, so a chunk
 * goes through all the steps from one attention step to the next, and the only barrier is the one before
 * each attention step (keys and values of all rows must exist).
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

/* The barrier before each attention step, and the team that meets there.
 *
 * Not `#pragma omp barrier`: libgomp's spins for a long time (GOMP_SPINCOUNT, 300000 by default), so when
 * another process holds one core, the thread waiting on the free core keeps it busy and the descheduled
 * thread cannot move there. This one spins ~50 us (a quiet machine's imbalance), then sleeps on a futex
 * (Linux; elsewhere it yields), leaving the core free.
 *
 * A thread that shares its core with another process reaches every barrier late: it must wait for the
 * other process's time slice after each wake-up (~1.5 ms on the 2-core test machine, against ~1.1 ms of
 * work per thread between two barriers at 1x128). So the team drops a straggler: the last thread to
 * arrive measures how late it is (L, after the first arrival) against the work the others did since the
 * last release (W, per thread). With n threads, the others would absorb its rows in W / (n - 1) more
 * time per step, so when L exceeds about that (LATE_FACTOR, and MIN_LATE) at two barriers running, the
 * straggler retires: it leaves the forward, and from this barrier on the remaining threads take all rows
 * between them.
 * That is sound at any barrier, because every step between two barriers reads only its own rows, and at
 * a barrier every row of every earlier step is written. On a quiet machine L stays far below W. */
#define BARRIER_SPINS 2000
#define MAX_THREADS 64
#define MIN_LATE 2e-4 /* seconds */
#define LATE_FACTOR 0.75 /* fewer threads each do more rows per GEMM, more efficiently: at 1x128 one thread
                          * alone took 2.07 ms a layer, not 2 x the 1.1 ms each of two threads took */
typedef struct {
    int count;                  /* threads arrived in this phase (atomic) */
    int phase;                  /* generation number (atomic) */
    int n;                      /* threads in the team (changed by the last arriver, before release) */
    int member[MAX_THREADS];    /* their OpenMP thread numbers, in order */
    double arrived[MAX_THREADS];/* each thread's arrival time in this phase (by thread number) */
    double released;            /* time of the last release */
    int straggler, streak;      /* last arriver of the previous barrier that was late, and how often */
    int barriers, retire_at;    /* barriers passed; test hook: force a retirement at this one (0: never) */
    int retired, forced;        /* threads that left the team; of those, by the test hook */
    int finished;               /* members that finished the last layer (atomic) */
    ptrdiff_t claimed;          /* rows of the current segment handed out so far (atomic; 0 at each release) */
} mmb_team;

static double now(void) {
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return 0.0;
#endif
}

/* The last arriver's decision: does it leave the team? (Runs before the release, alone.) */
static int should_retire(mmb_team *tm, int tid, double t) {
    if (tm->n <= 1) return 0;
    if (tm->retire_at > 0 && tm->barriers + 1 == tm->retire_at) return ++tm->forced;
    double first = t;
    for (int i = 0; i < tm->n; i++)
        if (tm->member[i] != tid && tm->arrived[tm->member[i]] < first) first = tm->arrived[tm->member[i]];
    const double late = t - first, work = first - tm->released;
    if (late > MIN_LATE && late > LATE_FACTOR * work / (tm->n - 1)) {
        tm->streak = tm->straggler == tid ? tm->streak + 1 : 1;
        tm->straggler = tid;
    } else {
        tm->streak = 0;
    }
    return tm->streak >= 2;
}

/* Wait until every member has arrived. Returns 1 if the caller has left the team (it must stop). */
static int barrier_wait(mmb_team *tm, int tid) {
    const int n = __atomic_load_n(&tm->n, __ATOMIC_RELAXED);
    if (n <= 1) {  /* alone (from the start, or the others left): the next segment's rows are all its own */
        __atomic_store_n(&tm->claimed, 0, __ATOMIC_RELAXED);
        return 0;
    }
    const int phase = __atomic_load_n(&tm->phase, __ATOMIC_ACQUIRE);
    const double t = now();
    tm->arrived[tid] = t;  /* published by the add below (release) */
    if (__atomic_add_fetch(&tm->count, 1, __ATOMIC_ACQ_REL) == n) {
        const int leave = should_retire(tm, tid, t);
        if (leave) {
            int j = 0;
            for (int i = 0; i < n; i++)
                if (tm->member[i] != tid) tm->member[j++] = tm->member[i];
            __atomic_store_n(&tm->n, n - 1, __ATOMIC_RELAXED);  /* published by the release below */
            tm->retired++;
            tm->streak = 0;
        }
        tm->barriers++;
        tm->released = now();
        __atomic_store_n(&tm->claimed, 0, __ATOMIC_RELAXED);  /* every member is here: none is claiming */
        __atomic_store_n(&tm->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&tm->phase, phase + 1, __ATOMIC_RELEASE);
#if defined(__linux__)
        syscall(SYS_futex, &tm->phase, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
        return leave;
    }
    for (int i = 0; i < BARRIER_SPINS; i++) {
        if (__atomic_load_n(&tm->phase, __ATOMIC_ACQUIRE) != phase) return 0;
        MMB_PAUSE();
    }
    while (__atomic_load_n(&tm->phase, __ATOMIC_ACQUIRE) == phase) {
#if defined(__linux__)
        syscall(SYS_futex, &tm->phase, FUTEX_WAIT_PRIVATE, phase, NULL, NULL, 0);
#else
        sched_yield();
#endif
    }
    return 0;
}

/* The team size of the next forwards, after a straggler left. The thread that left will be as late in
 * the next call, and the calling thread (OpenMP's master) may be that one: then the call also waits for
 * it to be scheduled at the start and at the end of the parallel region (4-9 ms each measured at 1x128,
 * a whole layer's work). So the next calls run with the team that finished, and a full team is tried
 * again some time after the last departure: it stays if no thread leaves it. That time doubles with each
 * probe that loses a thread again (a CPU hog that stays: fewer probes, each a slow call), from
 * PROBE_FIRST after a first departure (the host descheduling a core twice in a row, which passes: the
 * smaller team costs a call or two, not a quarter second of them) up to PROBE_LAST. Measured on the
 * 2-core VM at 1x128, 2 threads, against a fixed 0.25 s (rounds of 3 s alternating in one process, 120 s
 * each): quiet 30.4-34.6 against 30.8-35.5 ms a call on average, under a hog on core 0 56.0-56.9 against
 * 57.7-58.4. Requiring three late barriers instead of two cost 3-9% under the hog; never leaving 14%. */
#define PROBE_FIRST 0.03 /* seconds */
#define PROBE_LAST 1.0   /* seconds */
static int g_cap;        /* 0: none, else the team size that finished after the last departure (atomic) */
static int64_t g_cap_us; /* when, in microseconds of now() (atomic) */
static int64_t g_wait_us = (int64_t)(PROBE_FIRST * 1e6); /* how long the cap holds (atomic) */

static int team_size(int wanted) {
    const int cap = __atomic_load_n(&g_cap, __ATOMIC_RELAXED);
    if (cap <= 0 || cap >= wanted) return wanted;
    const int64_t since = __atomic_load_n(&g_cap_us, __ATOMIC_RELAXED);
    return (int64_t)(now() * 1e6) - since >= __atomic_load_n(&g_wait_us, __ATOMIC_RELAXED) ? wanted : cap;
}

static void remember_team(int wanted, int started, int stragglers) {
    if (stragglers > 0) {
        if (started == wanted) {  /* a full team lost a thread: a first departure, or a probe that failed */
            const int64_t first = (int64_t)(PROBE_FIRST * 1e6), last = (int64_t)(PROBE_LAST * 1e6);
            const int64_t w = __atomic_load_n(&g_cap, __ATOMIC_RELAXED) > 0
                                  ? 2 * __atomic_load_n(&g_wait_us, __ATOMIC_RELAXED) : first;
            __atomic_store_n(&g_wait_us, w < last ? w : last, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&g_cap_us, (int64_t)(now() * 1e6), __ATOMIC_RELAXED);
        __atomic_store_n(&g_cap, started - stragglers, __ATOMIC_RELAXED);
    } else if (started == wanted) {
        __atomic_store_n(&g_cap, 0, __ATOMIC_RELAXED);
    }
}

/* A thread that left the team sleeps here until the members have finished. Not in the implicit barrier
 * at the end of the parallel region: libgomp spins there (see above), on a core the members may need. */
static void wait_for_members(mmb_team *tm) {
    for (;;) {
        const int done = __atomic_load_n(&tm->finished, __ATOMIC_ACQUIRE);
        if (done >= __atomic_load_n(&tm->n, __ATOMIC_RELAXED)) return;
#if defined(__linux__)
        syscall(SYS_futex, &tm->finished, FUTEX_WAIT_PRIVATE, done, NULL, NULL, 0);
#else
        sched_yield();
#endif
    }
}

static void member_finished(mmb_team *tm) {
    __atomic_add_fetch(&tm->finished, 1, __ATOMIC_ACQ_REL);
#if defined(__linux__)
    if (tm->retired) syscall(SYS_futex, &tm->finished, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
}

/* The next chunk of rows [*c0, *c1) of the current segment for the caller, or 0 when all are handed out.
 *
 * Chunks are taken, not assigned. On a VM the host often slows one core and not the other (two single-
 * threaded 4x128 forwards started together, 2-core VM: one took 1.3-1.5x the other's time in a third of
 * 20 tries): with fixed halves the fast thread then waits at every barrier; here it takes more chunks.
 * Guided sizes: the remaining rows / (2 x threads), rounded up to whole row panels (12 rows), at least
 * CHUNK_MIN rows but never more than an even share. So the first chunks are half a share (a GEMM step
 * still streams its weights for many rows at once), the last ones small (little to wait for at the
 * barrier), and at 1x128 on 2 threads (a share of 64 rows) the chunks are the two halves, as before.
 * One thread alone takes every row at once: there is nothing to balance, and chunks cost it (one thread,
 * chunks against all rows, call by call: 1x128 1.015x the time, 1x384 1.05x, 8x128 0.97x).
 * Measured 8x128 at 2 threads, against fixed halves in the same process, call by call: under a busy
 * loop on core 0 for 3 ms of every 9, 0.79-0.89x the time; on the quiet VM 0.98-0.99 (medians), 0.91 in
 * a slow period of the host. The chunk a row falls in does not change its result: every step computes
 * each row the same way whatever rows it comes with (bit-identical outputs). */
#define CHUNK_MIN 64
#define CHUNK_DIV 2
static ptrdiff_t g_chunk_min = CHUNK_MIN, g_chunk_div = CHUNK_DIV;
static int claim_rows(mmb_team *tm, ptrdiff_t rows, ptrdiff_t *c0, ptrdiff_t *c1) {
    ptrdiff_t start = __atomic_load_n(&tm->claimed, __ATOMIC_RELAXED);
    for (;;) {
        if (start >= rows) return 0;
        const ptrdiff_t rem = rows - start, n = __atomic_load_n(&tm->n, __ATOMIC_RELAXED);
        const ptrdiff_t share = (rows + n - 1) / n;
        ptrdiff_t size = share;
        if (g_chunk_div > 0 && n > 1) {
            size = (rem + g_chunk_div * n - 1) / (g_chunk_div * n);
            size = (size + 11) / 12 * 12;
            if (size < g_chunk_min) size = g_chunk_min;
            if (size > share) size = share;
        }
        if (size > rem) size = rem;
        if (__atomic_compare_exchange_n(&tm->claimed, &start, start + size, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            *c0 = start;
            *c1 = start + size;
            return 1;
        }
    }
}

/* Test hook: chunk sizes of a team of two or more (chunk_div <= 0: even shares, the fixed halves of earlier
 * versions; a lone thread takes every row whatever they are); the old ones in *old_min, *old_div. Not for
 * use while a forward runs. */
void mmb_set_chunking(ptrdiff_t chunk_min, ptrdiff_t chunk_div, ptrdiff_t *old_min, ptrdiff_t *old_div) {
    *old_min = g_chunk_min;
    *old_div = g_chunk_div;
    g_chunk_min = chunk_min > 1 ? chunk_min : 1;
    g_chunk_div = chunk_div;
}

typedef struct {
    float *work;  /* GEMM packing */
    float *inner; /* PAIR_ROWS rows of a GEMM pair's intermediate (gemm_pair) */
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
            mmb_transpose(K, ldk, T, d, sc->kt, T);  /* kt [d, T] */
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

/* The GEMM of `op` on rows [r0, r1): C = epilogue(A @ w), A and C given (row r0 first), the residual from
 * the plan's buffers; `next` the weights to fetch meanwhile (or NULL). LayerNorm after the GEMM. */
static void gemm_rows(const mmb_forward_args *a, const mmb_op *op, ptrdiff_t r0, ptrdiff_t r1, const float *A,
                      ptrdiff_t lda, float *C, ptrdiff_t ldc, const mmb_next *next, scratch *sc) {
    mmb_epilogue ep = {op->bias, op->act, NULL, 0, NULL, NULL};
    if (op->res.buf >= 0) {
        ep.ldr = a->lds[op->res.buf];
        ep.res = a->bufs[op->res.buf] + r0 * ep.ldr + op->res.col;
    }
    if (op->norm == MMB_NORM_NO_NORM) { ep.scale = op->norm_w; ep.shift = op->norm_b; }
    mmb_gemm_next(r1 - r0, op->N, op->K, A, lda, op->w, op->ldb, C, ldc, &ep, sc->work, next);
    if (op->norm == MMB_NORM_LAYER_NORM) mmb_layer_norm_rows(C, r1 - r0, op->N, ldc, op->norm_w, op->norm_b, op->eps);
}

/* The weights of the first GEMM step after ops[i] (after norm or attention steps), or none. */
static mmb_next next_weights(const mmb_forward_args *a, int i) {
    mmb_next next = {NULL, 0, 0};
    for (const mmb_op *nx = a->ops + i + 1; nx < a->ops + a->nops; nx++)
        if (nx->kind == MMB_OP_GEMM) { next.b = nx->w; next.ldb = nx->ldb; next.k = nx->K; break; }
    return next;
}

static void gemm_step(const mmb_forward_args *a, int i, ptrdiff_t r0, ptrdiff_t r1, scratch *sc) {
    const mmb_op *op = &a->ops[i];
    if (r1 <= r0) return;
    const ptrdiff_t lds = a->lds[op->src.buf], ldd = a->lds[op->dst.buf];
    float *dst = a->bufs[op->dst.buf] + r0 * ldd + op->dst.col;
    if (op->kind == MMB_OP_GEMM) {
        const mmb_next next = next_weights(a, i);
        gemm_rows(a, op, r0, r1, a->bufs[op->src.buf] + r0 * lds + op->src.col, lds, dst, ldd, &next, sc);
    } else {
        apply_norm(dst, r1 - r0, op->N, ldd, op->norm, op->norm_w, op->norm_b, op->eps);
    }
}

/* A GEMM pair: ops[i] writes an intermediate that only ops[i + 1] reads (the FFN: 128 -> 512, relu, then
 * 512 -> 128). Run as one step, PAIR_ROWS rows at a time, the intermediate in this thread's scratch
 * instead of the plan's buffer: [rows, 512] for 1024 rows is 2 MB, the whole L2 of the test machine, so
 * the first GEMM's output went out to L3 and the second read it back; a block's 48 x 512 floats (96 KB)
 * stay in L2 with both weights (512 KB together). Each block's second GEMM fetches its share of the
 * next step's weights. pair_ok says when a pair may run so. */
#define PAIR_ROWS 48
/* The intermediate's row stride: rows a multiple of 1 KB long get 16 floats more (as the packed weights,
 * packing.row_pad), else the second GEMM's 12 rows of A fall into two L1 sets (GEMM alone at K = 512:
 * 2-4% faster padded). */
static ptrdiff_t pair_ld(ptrdiff_t n) { return n % 256 == 0 ? n + 16 : n; }
static int g_pairs = 1; /* test hook: 0 runs every GEMM step on its own (mmb_set_pairs) */

int mmb_set_pairs(int on) {
    const int old = g_pairs;
    g_pairs = on != 0;
    return old;
}

static void gemm_pair(const mmb_forward_args *a, int i, ptrdiff_t r0, ptrdiff_t r1, scratch *sc) {
    const mmb_op *p = &a->ops[i], *q = &a->ops[i + 1];
    if (r1 <= r0) return;
    const ptrdiff_t lds = a->lds[p->src.buf], ldd = a->lds[q->dst.buf], blocks = (r1 - r0 + PAIR_ROWS - 1) / PAIR_ROWS;
    const ptrdiff_t ldi = pair_ld(p->N);
    const mmb_next after = next_weights(a, i + 1);
    const ptrdiff_t share = after.b ? (after.k + blocks - 1) / blocks : 0;  /* rows of `after` per block */
    for (ptrdiff_t b0 = r0, blk = 0; b0 < r1; b0 += PAIR_ROWS, blk++) {
        const ptrdiff_t b1 = b0 + PAIR_ROWS < r1 ? b0 + PAIR_ROWS : r1;
        const mmb_next first = {blk == 0 ? q->w : NULL, q->ldb, q->K};
        mmb_next second = {NULL, after.ldb, 0};
        if (after.b && blk * share < after.k) {
            second.b = after.b + blk * share * after.ldb;
            second.k = after.k - blk * share < share ? after.k - blk * share : share;
        }
        gemm_rows(a, p, b0, b1, a->bufs[p->src.buf] + b0 * lds + p->src.col, lds, sc->inner, ldi, &first, sc);
        gemm_rows(a, q, b0, b1, sc->inner, ldi, a->bufs[q->dst.buf] + b0 * ldd + q->dst.col, ldd, &second, sc);
    }
}

/* May ops[i], ops[i + 1] run as gemm_pair? Both GEMMs, the second reading exactly the first's output (and
 * not as its residual), that output read by no later step before a step overwrites it, and both weights
 * within half the L2 (with the blocks' activations, the rest). */
static int pair_ok(const mmb_op *ops, int nops, int i) {
    if (i + 1 >= nops) return 0;
    const mmb_op *p = &ops[i], *q = &ops[i + 1];
    if (p->kind != MMB_OP_GEMM || q->kind != MMB_OP_GEMM) return 0;
    if (q->src.buf != p->dst.buf || q->src.col != p->dst.col || q->K != p->N) return 0;
    if (q->res.buf == p->dst.buf || q->dst.buf == p->dst.buf) return 0;
    if ((p->K * p->ldb + q->K * q->ldb) * (ptrdiff_t)sizeof(float) > mmb_l2_bytes() / 2) return 0;
    const int buf = p->dst.buf;
    const ptrdiff_t c0 = p->dst.col, c1 = p->dst.col + p->N;
    for (int j = i + 2; j < nops; j++) {
        const mmb_op *o = &ops[j];
        const ptrdiff_t width = o->kind == MMB_OP_ATTENTION ? (ptrdiff_t)o->heads * o->head_dim : o->K;
        /* a read of the intermediate's columns: not private */
        if ((o->src.buf == buf && o->src.col < c1 && o->src.col + width > c0) ||
            (o->kind != MMB_OP_GEMM && o->dst.buf == buf && o->dst.col < c1 && o->dst.col + o->N > c0) ||
            (o->res.buf == buf) || (o->aux.buf == buf))
            return 0;
        /* a GEMM (or attention) that overwrites all of them: later reads see its values */
        if (o->kind != MMB_OP_NORM && o->dst.buf == buf && o->dst.col <= c0 &&
            o->dst.col + (o->kind == MMB_OP_ATTENTION ? (ptrdiff_t)o->heads * o->head_dim : o->N) >= c1)
            return 1;
    }
    return 1;
}

int mmb_plan_pairs(const mmb_op *ops, int nops, char *pair) {
    int n = 0;
    for (int i = 0; i < nops; i++) {
        pair[i] = g_pairs && !(i > 0 && pair[i - 1]) && pair_ok(ops, nops, i);
        n += pair[i];
    }
    return n;
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
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    *threads = nt;
    return mmb_gemm_work_floats(EC, maxk) + (size_t)PAIR_ROWS * (maxk + 16) + (size_t)EC * width + (size_t)d * T +
           (size_t)QB * T + QB + T + 64;
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
    const size_t nwork = mmb_gemm_work_floats(EC, maxk), ninner = (size_t)PAIR_ROWS * (maxk + 16), nemb = (size_t)EC * width, nkt = (size_t)d * T,
                 ns = (size_t)QB * T;
    float *owned = NULL, *mem = a->scratch;
    if (mem == NULL || a->scratch_floats < per * nt) {
        owned = mem = (float *)malloc(per * nt * sizeof(float));
        if (mem == NULL) return -1;
    }
    /* pair[i]: ops[i] and ops[i + 1] run as one gemm_pair */
    char *pair = (char *)malloc(a->nops > 0 ? (size_t)a->nops : 1);
    if (pair == NULL) { free(owned); return -1; }
    mmb_plan_pairs(a->ops, a->nops, pair);
    const int wanted = nt;
    nt = team_size(wanted);
    scratch sc[MAX_THREADS];
    mmb_team team_ = {0}, *team = &team_;  /* on this stack, shared by the parallel region below */
    team->n = nt;
    for (int t = 0; t < nt; t++) team->member[t] = t;
    team->retire_at = a->retire_at;
    team->released = now();
    team->claimed = 0;
    for (int t = 0; t < nt; t++) {
        float *p = mem + per * t;
        sc[t].work = p; p += nwork;
        sc[t].inner = p; p += ninner;
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
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        /* OpenMP may grant fewer threads (a call from inside another parallel region): every thread
         * stores the same count, each before it first reads it. */
        __atomic_store_n(&team->n, omp_get_num_threads(), __ATOMIC_RELAXED);
#endif
        int left = 0;
        scratch *s = &sc[tid];
        /* Segments: the steps from one attention step (or the start) up to the next attention step. Between
         * two barriers every step reads only its own rows, so a chunk of rows goes through the whole
         * segment; attention reads other rows (its sequence's keys and values), all written before the
         * barrier in front of it. */
        for (int begin = 0;;) {
            int end = begin + (begin < a->nops && a->ops[begin].kind == MMB_OP_ATTENTION);
            while (end < a->nops && a->ops[end].kind != MMB_OP_ATTENTION) end++;
            ptrdiff_t c0, c1;
            while (claim_rows(team, rows, &c0, &c1)) {
                if (begin == 0) embeddings(a, c0, c1, s);
                for (int i = begin; i < end; i++) {
                    const mmb_op *op = &a->ops[i];
                    if (op->kind == MMB_OP_ATTENTION) attention(a, op, c0, c1, s);
                    else if (pair[i] && i + 1 < end) gemm_pair(a, i++, c0, c1, s);
                    else gemm_step(a, i, c0, c1, s);
                }
            }
            if (end >= a->nops) break;
            if (barrier_wait(team, tid)) { left = 1; break; }
            begin = end;
        }
        if (left) wait_for_members(team);
        else member_finished(team);
    }
    remember_team(wanted, nt, team->retired - team->forced);
    free(pair);
    free(owned);
    return team->retired;
}
