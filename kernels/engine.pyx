# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""minimobilebert._engine: the Python binding of the compiled encoder engine (kernels/engine/*.c).

The readable driver is minimobilebert/engine.py: it packs nothing and computes nothing itself, it turns the
model's weights (already laid out by minimobilebert/packing.py) into a list of steps (`Plan`) and calls
`forward`, which runs embeddings through the last layer in ONE call without the GIL.

Also exposed, for the tests: `gemm` (the micro-kernel GEMM with its fused epilogue), `exp_rows` (attention's
softmax numerators) and `set_isa` / `isa` (force the AVX-512, AVX2 or portable path).
"""

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

cnp.import_array()

cdef extern from "engine/engine.h":
    ctypedef struct mmb_epilogue:
        const float *bias
        int act
        const float *res
        Py_ssize_t ldr
        const float *scale
        const float *shift
    ctypedef struct mmb_ref:
        int buf
        int col
    ctypedef struct mmb_op:
        int kind
        mmb_ref src, dst, res, aux
        Py_ssize_t K, N, ldb
        const float *w
        const float *bias
        int act, norm
        const float *norm_w
        const float *norm_b
        float eps
        int heads, head_dim
    ctypedef struct mmb_embeddings:
        const float *word
        Py_ssize_t vocab, E
        int trigram
        const float *tw
        const float *tb
        Py_ssize_t tldb
        const float *pos
        const float *types
        int norm
        const float *norm_w
        const float *norm_b
        float eps
    ctypedef struct mmb_forward_args:
        Py_ssize_t B, T, H
        const int64_t *ids
        const int64_t *types
        const int64_t *positions
        Py_ssize_t positions_batch_stride
        const int64_t *mask
        float **bufs
        const Py_ssize_t *lds
        int nbufs
        const mmb_embeddings *emb
        const mmb_op *ops
        int nops
        Py_ssize_t max_k
        int nthreads
        float *scratch
        size_t scratch_floats
        int retire_at
    int mmb_set_isa(int isa) nogil
    int mmb_get_isa() nogil
    int mmb_cpu_isa() nogil
    int mmb_has_openmp() nogil
    void mmb_set_chunking(Py_ssize_t chunk_min, Py_ssize_t chunk_div, Py_ssize_t *old_min, Py_ssize_t *old_div) nogil
    int mmb_set_pairs(int on) nogil
    void mmb_transpose(const float *src, Py_ssize_t lds, Py_ssize_t rows, Py_ssize_t cols, float *dst,
                       Py_ssize_t ldd) nogil
    int mmb_plan_pairs(const mmb_op *ops, int nops, char *pair) nogil
    size_t mmb_gemm_work_floats(Py_ssize_t M, Py_ssize_t K) nogil
    void mmb_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A, Py_ssize_t lda, const float *B,
                  Py_ssize_t ldb, float *C, Py_ssize_t ldc, const mmb_epilogue *epi, float *work) nogil
    void mmb_exp_rows(float *S, Py_ssize_t M, Py_ssize_t N, Py_ssize_t ld, float scale, const float *mask,
                      float *sums) nogil
    void mmb_layer_norm_rows(float *X, Py_ssize_t M, Py_ssize_t N, Py_ssize_t ld, const float *w,
                             const float *b, float eps) nogil
    int mmb_forward(const mmb_forward_args *a) nogil
    size_t mmb_forward_scratch_floats(const mmb_forward_args *a) nogil

ISA_NAMES = {0: "auto", 1: "portable", 2: "avx2", 3: "avx512"}
_ISA_CODES = {v: k for k, v in ISA_NAMES.items()}
OP_GEMM, OP_NORM, OP_ATTENTION = 1, 2, 3


def set_isa(name):
    """Force a GEMM / row-op path: "auto", "avx512", "avx2" or "portable". Returns the path now in use (a path
    this CPU lacks falls back to the best one it has)."""
    return ISA_NAMES[mmb_set_isa(_ISA_CODES[name])]


def isa():
    return ISA_NAMES[mmb_get_isa()]


def set_chunking(Py_ssize_t min_rows, Py_ssize_t divisor):
    """For tests and measurements: how a team of two or more threads takes rows between two barriers
    (forward.c, claim_rows). Chunks of (rows left) / (divisor x threads) rows, at least min_rows, at most an
    even share; divisor <= 0: even shares. A lone thread takes every row at once whatever these are.
    Returns the previous (min_rows, divisor). Not while a forward runs."""
    cdef Py_ssize_t old_min, old_div
    mmb_set_chunking(min_rows, divisor, &old_min, &old_div)
    return old_min, old_div


def set_pairs(bint on):
    """For tests and measurements: whether two GEMM steps that hand an intermediate only to each other (the
    FFN's two dense layers) run together, a block of rows at a time with the intermediate in scratch
    (forward.c, gemm_pair), or one after the other over all rows. The results are the same bit for bit.
    Returns the previous setting. Not while a forward runs."""
    return bool(mmb_set_pairs(on))


def cpu_isa():
    return ISA_NAMES[mmb_cpu_isa()]


def has_openmp():
    return bool(mmb_has_openmp())


cdef inline const float* _fptr(a) except? NULL:
    """Pointer to a float32 array's first element (None -> NULL). Rows may be strided; the last axis (or the
    first, for a transposed weight view) must be contiguous - the caller checks layouts."""
    if a is None:
        return NULL
    if not isinstance(a, np.ndarray) or (<cnp.ndarray>a).dtype != np.float32:
        raise TypeError("expected a float32 ndarray")
    return <const float*>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef Py_ssize_t _row_stride(a, int axis) except -1:
    """Row stride, in floats, of a 2-D float32 array whose other axis is contiguous."""
    s = a.strides
    if a.size == 0:
        return max(a.shape[1 - axis], 1)
    if s[1 - axis] != 4 and a.shape[1 - axis] > 1:
        raise ValueError(f"array with strides {s} is not contiguous along axis {1 - axis}")
    return max(s[axis] // 4, a.shape[1 - axis], 1)


def gemm(A, B, bias=None, int act=0, residual=None, scale=None, shift=None, out=None):
    """C = epilogue(A @ B) with the engine's micro-kernel: A [M, K], B [K, N] float32 with contiguous rows,
    bias/scale/shift [N], residual [M, N]; epilogue order bias, act (code), + residual, * scale + shift."""
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"shapes {A.shape} @ {B.shape} do not chain")
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = B.shape[1]
    if out is None:
        out = np.empty((M, N), dtype=np.float32)
    for v, n in ((bias, "bias"), (scale, "scale"), (shift, "shift")):
        if v is not None and (v.shape != (N,) or not v.flags.c_contiguous):
            raise ValueError(f"{n} must be a contiguous [N] vector")
    if (scale is None) != (shift is None):
        raise ValueError("scale and shift go together")
    if residual is not None and residual.shape != (M, N):
        raise ValueError("residual must be [M, N]")
    cdef mmb_epilogue ep
    ep.bias = _fptr(bias)
    ep.act = act
    ep.res = _fptr(residual)
    ep.ldr = _row_stride(residual, 0) if residual is not None else 0
    ep.scale = _fptr(scale)
    ep.shift = _fptr(shift)
    cdef Py_ssize_t lda = _row_stride(A, 0), ldb = _row_stride(B, 0), ldc = _row_stride(out, 0)
    work = np.empty(mmb_gemm_work_floats(M, K), dtype=np.float32)
    cdef const float *pa = _fptr(A)
    cdef const float *pb = _fptr(B)
    cdef float *pc = <float*>_fptr(out)
    cdef float *pw = <float*>_fptr(work)
    with nogil:
        mmb_gemm(M, N, K, pa, lda, pb, ldb, pc, ldc, &ep, pw)
    return out



def exp_rows(S, float scale, mask=None):
    """Softmax numerators in place, as attention uses them: S[i, j] <- exp(S[i, j] * scale + mask[j] - row max)
    for a float32 [M, N] S with contiguous rows and an optional contiguous [N] additive mask. Returns the
    row sums [M] (the caller divides by them)."""
    if not isinstance(S, np.ndarray) or S.ndim != 2 or S.dtype != np.float32 or not S.flags.writeable:
        raise ValueError("S must be a writeable float32 [M, N] array")
    cdef Py_ssize_t M = S.shape[0], N = S.shape[1]
    if mask is not None and (mask.shape != (N,) or mask.dtype != np.float32 or not mask.flags.c_contiguous):
        raise ValueError("mask must be a contiguous float32 [N] vector")
    sums = np.empty(M, dtype=np.float32)
    cdef Py_ssize_t ld = _row_stride(S, 0)
    cdef float *ps = <float*>_fptr(S)
    cdef const float *pm = _fptr(mask)
    cdef float *pu = <float*>_fptr(sums)
    with nogil:
        mmb_exp_rows(ps, M, N, ld, scale, pm, pu)
    return sums

def transpose(A, out=None):
    """out[c, r] = A[r, c] for a float32 [R, C] A with contiguous rows (any row stride), as attention lays out
    one head's keys. out: a writeable float32 [C, R] array with contiguous rows (new if None)."""
    if not isinstance(A, np.ndarray) or A.ndim != 2 or A.dtype != np.float32:
        raise ValueError("A must be a float32 [R, C] array")
    cdef Py_ssize_t R = A.shape[0], C = A.shape[1]
    if out is None:
        out = np.empty((C, R), dtype=np.float32)
    if (not isinstance(out, np.ndarray) or out.shape != (C, R) or out.dtype != np.float32
            or not out.flags.writeable):
        raise ValueError("out must be a writeable float32 [C, R] array")
    if np.shares_memory(A, out):
        raise ValueError("A and out must not overlap")
    cdef Py_ssize_t lds = _row_stride(A, 0), ldd = _row_stride(out, 0)
    cdef const float *ps = _fptr(A)
    cdef float *pd = <float*>_fptr(out)
    with nogil:
        mmb_transpose(ps, lds, R, C, pd, ldd)
    return out


def layer_norm_rows(X, w, b, float eps):
    """LayerNorm of each row of a float32 [M, N] X with contiguous rows, in place, as the engine runs it
    after a GEMM: (x - mean) / sqrt(var + eps) * w + b, the sums in double. w, b: contiguous float32 [N]."""
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != np.float32 or not X.flags.writeable:
        raise ValueError("X must be a writeable float32 [M, N] array")
    cdef Py_ssize_t M = X.shape[0], N = X.shape[1]
    for v, n in ((w, "w"), (b, "b")):
        if not isinstance(v, np.ndarray) or v.shape != (N,) or v.dtype != np.float32 or not v.flags.c_contiguous:
            raise ValueError(f"{n} must be a contiguous float32 [N] vector")
    cdef Py_ssize_t ld = _row_stride(X, 0)
    cdef float *px = <float*>_fptr(X)
    cdef const float *pw = _fptr(w)
    cdef const float *pb = _fptr(b)
    with nogil:
        mmb_layer_norm_rows(px, M, N, ld, pw, pb, eps)


cdef class Plan:
    """The C form of an engine plan (built by minimobilebert/engine.py): the embedding step, every layer's
    steps, and the activation buffers' widths. Holds raw pointers into the model's params, which the caller
    keeps alive while a call runs (it checks that they still exist before each call), and into the arrays
    `keep` (those made for the plan alone: copies, side-by-side biases), which the plan owns, so they live
    as long as any thread still runs it."""
    cdef mmb_op *ops
    cdef int nops
    cdef mmb_embeddings emb
    cdef public object widths
    cdef public Py_ssize_t max_k
    cdef public int H
    cdef public list pool  # reusable (rows, activation buffers but the output, scratch) of recent calls
    cdef public long retired  # threads that left a forward's team as stragglers, all calls together
    cdef readonly tuple keep  # arrays the plan points into that are not the params' own

    def __cinit__(self):
        self.ops = NULL
        self.nops = 0

    def __dealloc__(self):
        free(self.ops)

    def pair_steps(self):
        """Indices i of the steps that run together with step i + 1 (forward.c, gemm_pair)."""
        cdef char *flags = <char*>malloc(self.nops if self.nops > 0 else 1)
        if flags == NULL:
            raise MemoryError()
        try:
            mmb_plan_pairs(self.ops, self.nops, flags)
            return [i for i in range(self.nops) if flags[i]]
        finally:
            free(flags)

    def __init__(self, emb, steps, widths, int H, keep=()):
        """emb: dict(word, trigram, tw, tb, pos, types, norm, norm_w, norm_b, eps); steps: list of dicts
        (kind, src, dst, res, aux as (buf, col) or None, w, bias, act, norm, norm_w, norm_b, eps, heads,
        head_dim, K, N); widths: row width of each activation buffer; keep: arrays made for this plan."""
        self.keep = tuple(keep)
        self.widths = list(widths)
        self.H = H
        self.pool = []
        self.retired = 0
        word = emb["word"]
        self.emb.word = _fptr(word)
        self.emb.vocab = word.shape[0]
        self.emb.E = word.shape[1]
        self.emb.trigram = bool(emb["trigram"])
        tw = emb["tw"]
        self.emb.tw = _fptr(tw)
        self.emb.tldb = _row_stride(tw, 0) if tw is not None else 0
        self.emb.tb = _fptr(emb["tb"])
        self.emb.pos = _fptr(emb["pos"])
        self.emb.types = _fptr(emb["types"])
        self.emb.norm = emb["norm"]
        self.emb.norm_w = _fptr(emb["norm_w"])
        self.emb.norm_b = _fptr(emb["norm_b"])
        self.emb.eps = emb["eps"]
        self.ops = <mmb_op*>malloc(max(1, len(steps)) * sizeof(mmb_op))
        if self.ops == NULL:
            raise MemoryError()
        self.nops = len(steps)
        self.max_k = 1
        cdef mmb_op *op
        for i, s in enumerate(steps):
            op = &self.ops[i]
            op.kind = s["kind"]
            for name in ("src", "dst", "res", "aux"):
                ref = s.get(name)
                b, c = (-1, 0) if ref is None else ref
                if name == "src":
                    op.src.buf, op.src.col = b, c
                elif name == "dst":
                    op.dst.buf, op.dst.col = b, c
                elif name == "res":
                    op.res.buf, op.res.col = b, c
                else:
                    op.aux.buf, op.aux.col = b, c
            w = s.get("w")
            op.w = _fptr(w)
            op.ldb = _row_stride(w, 0) if w is not None else 0
            op.K = s.get("K", 0)
            op.N = s.get("N", 0)
            op.bias = _fptr(s.get("bias"))
            op.act = s.get("act", 0)
            op.norm = s.get("norm", 0)
            op.norm_w = _fptr(s.get("norm_w"))
            op.norm_b = _fptr(s.get("norm_b"))
            op.eps = s.get("eps", 0.0)
            op.heads = s.get("heads", 0)
            op.head_dim = s.get("head_dim", 0)
            if op.K > self.max_k:
                self.max_k = op.K


def forward(Plan plan, input_ids, token_type_ids, position_ids, attention_mask, int nthreads,
            int retire_at=0):
    """Embeddings through the last layer: returns the float32 [B, T, H] sequence output. The id arrays are
    C-contiguous int64 [B, T] (position_ids [1, T] or [B, T]; attention_mask [B, T] or None), already
    validated (every id inside its table). Activation buffers and scratch of a previous call of the same
    size are reused (taken from plan.pool, so concurrent calls never share them); the output is new.
    A thread that keeps arriving late at the per-layer barrier (its core is shared with another process)
    leaves the team and the others take its rows; plan.retired counts those. retire_at (tests): force
    one retirement at that barrier, 1 = the first layer's."""
    cdef Py_ssize_t B = input_ids.shape[0], T = input_ids.shape[1]
    cdef Py_ssize_t rows = B * T
    try:
        item = plan.pool.pop()  # atomic under the GIL
    except IndexError:
        item = None
    if item is None or item[0] != rows:
        item = (rows, [np.empty((rows, w), dtype=np.float32) for w in plan.widths[1:]], None)
    bufs = [np.empty((B, T, plan.H), dtype=np.float32)] + item[1]
    scratch = item[2]
    cdef int nb = len(bufs)
    cdef float **pbufs = <float**>malloc(nb * sizeof(float*))
    cdef Py_ssize_t *lds = <Py_ssize_t*>malloc(nb * sizeof(Py_ssize_t))
    if pbufs == NULL or lds == NULL:
        free(pbufs)
        free(lds)
        raise MemoryError()
    cdef mmb_forward_args a
    cdef int rc
    cdef size_t need
    try:
        for i in range(nb):
            pbufs[i] = <float*>_fptr(bufs[i])
            lds[i] = plan.widths[i]
        a.B, a.T, a.H = B, T, plan.H
        a.ids = <const int64_t*>cnp.PyArray_DATA(input_ids)
        a.types = <const int64_t*>cnp.PyArray_DATA(token_type_ids)
        a.positions = <const int64_t*>cnp.PyArray_DATA(position_ids)
        a.positions_batch_stride = 0 if position_ids.shape[0] == 1 else T
        a.mask = NULL
        if attention_mask is not None:
            a.mask = <const int64_t*>cnp.PyArray_DATA(attention_mask)
        a.bufs = pbufs
        a.lds = lds
        a.nbufs = nb
        a.emb = &plan.emb
        a.ops = plan.ops
        a.nops = plan.nops
        a.max_k = plan.max_k
        a.nthreads = nthreads
        a.retire_at = retire_at
        need = mmb_forward_scratch_floats(&a)
        if scratch is None or scratch.size < need:
            scratch = np.empty(need, dtype=np.float32)
        a.scratch = <float*>_fptr(scratch)
        a.scratch_floats = scratch.size
        with nogil:
            rc = mmb_forward(&a)
    finally:
        free(pbufs)
        free(lds)
    if rc < 0:
        raise MemoryError("the engine could not allocate its scratch memory")
    plan.retired += rc
    plan.pool.append((rows, bufs[1:], scratch))
    if len(plan.pool) > 2:  # keep the two most recent
        del plan.pool[0]
    return bufs[0]
