# cython: language_level=3, boundscheck=False, cdivision=True, initializedcheck=False
"""The "cython" backend: the kernels of minimobilebert/functional.py, same signatures, fused epilogues.

Compiled by `pip install` (setup.py) into `minimobilebert._cython_kernels`. Same design as the Numba
backend (minimobilebert/_numba_kernels.py), so the two can be compared one to one:

    linear_act    BLAS GEMM (NumPy's matmul), then ONE C pass: act(y + bias), in place
    linear_norm   BLAS GEMM, then ONE C pass: norm(y + bias + residual), in place
    attention     batched GEMM q @ k^T -> C pass: scale, mask, minus row max -> NumPy's SIMD exp
                  -> C pass: divide by the row sum -> batched GEMM probs @ v into [B, T, A]

Unlike the Numba backend (compiled for this CPU when it runs), this module is compiled once for any x86-64,
i.e. SSE2: there a polynomial exp fused into the row loop (as the Numba backend does) measured 1.9 ms for
an 8x128 attention against 1.3 ms with NumPy's exp, which picks AVX2/AVX-512 code at run time. gelu
(BERT's, all-MiniLM's), gelu_new and tanh run the engine's activation loops instead, compiled three times
and picked the same way (a libm erf or tanh call per element cost 12 ns; those loops 2.6 ns on the SSE2
build, 0.70 on AVX2, 0.51 on AVX-512, measured on 2048 x 1536 after the bias, 2026-11-26).

Why call back into NumPy for the GEMM instead of scipy.linalg.cython_blas: it is the same OpenBLAS, the
call overhead (a few microseconds) is small against a 128x512x128 GEMM (~100 us), and it keeps SciPy out of
the dependencies. A weight may be any strided [out, in] view (e.g. the transpose of a slice of a packed
[in, N] buffer): BLAS reads it in place. The C loops run without the GIL. (The whole-encoder engine that
replaces this per-op path when it covers the config lives in kernels/engine and minimobilebert/engine.py.)
"""

import numpy as np
cimport numpy as cnp
cimport cython
from libc.math cimport exp, fabs, fmax, fmin, log1p, sqrt, tanh
from libc.stdint cimport int32_t

from minimobilebert.functional import ACTIVATION_CODES

cnp.import_array()

cdef float[:, ::1] _EMPTY2 = np.zeros((1, 1), dtype=np.float32)


# gelu (BERT's, all-MiniLM's), gelu_new and tanh through the engine's own activation loops (rowops.h's
# act_row, via kernels/engine/isa.h): the reference's formulas (functional.py: erf by Abramowitz & Stegun
# 7.1.26; tanh(u) = sign(u) (1 - e) / (1 + e) with e = exp(-2|u|)) in float32 on a polynomial exp, in C that
# gcc vectorises, compiled for the baseline and, on x86, again for AVX2 and AVX-512 (the rest of this
# module is compiled for the baseline only: SSE2 on x86-64), picked by the CPU at run time by the engine's
# own test. One libm erf or tanh call per element cost 13 ns, 1.7x the GEMM before it (all-MiniLM's
# 2048 x 384 -> 1536, one thread, 2026-11-26).
cdef extern from *:
    """
    #pragma GCC diagnostic push
    #pragma GCC diagnostic ignored "-Wunused-function"  /* isa.h brings all of rowops.h; act_row is used */
    #include "engine/isa.h"
    #pragma GCC diagnostic pop
    static int mmb_act_isa = 0;  /* the path in use (MMB_ISA_*): 0 = not chosen yet (then mmb_detect_isa()) */
    /* y[j] = act(y[j]), act an MMB_ACT_* code */
    static void mmb_act_row(float *y, Py_ssize_t n, int act) {
        int isa = mmb_act_isa;
        if (isa == 0) mmb_act_isa = isa = mmb_detect_isa();  /* a benign race: every thread finds the same */
    #if MMB_X86
        if (isa == MMB_ISA_AVX512) { act_row_avx512(y, (int)n, act); return; }
        if (isa == MMB_ISA_AVX2) { act_row_avx2(y, (int)n, act); return; }
    #endif
        act_row_portable(y, (int)n, act);
    }
    """
    void mmb_act_row(float *y, Py_ssize_t n, int act) noexcept nogil
    int mmb_detect_isa() noexcept nogil
    int mmb_act_isa


_ISAS = ("portable", "avx2", "avx512")


def set_activation_isa(isa: str) -> str:
    """For the tests: run gelu / gelu_new / tanh on one instruction-set path ("portable" = this module's
    baseline build, "avx2", "avx512", or "auto" = the best this CPU has). A path the CPU lacks gives the
    best one below it. Returns the path now in use. Not thread-safe against running kernels."""
    if isa != "auto" and isa not in _ISAS:
        raise ValueError(f"isa must be 'auto' or one of {_ISAS}, not {isa!r}")
    global mmb_act_isa
    best = mmb_detect_isa()  # MMB_ISA_PORTABLE = 1, AVX2 = 2, AVX512 = 3
    mmb_act_isa = best if isa == "auto" else min(best, _ISAS.index(isa) + 1)
    return _ISAS[mmb_act_isa - 1]


cdef inline float _act(float v, int code) noexcept nogil:
    """One activation, by its code in functional.ACTIVATION_CODES (the formulas of functional.py), for codes
    5 to 13: _bias_act runs relu, linear, gelu, gelu_new and tanh in loops of their own."""
    if code == 5:  # silu, in double so exp(-x) cannot overflow
        return <float>(v / (1.0 + exp(-<double>v)))
    if code == 6:  # quick_gelu
        return <float>(v / (1.0 + exp(-1.702 * <double>v)))
    if code == 7:  # relu6
        return 0.0 if v < 0 else (6.0 if v > 6 else v)
    if code == 8:  # sigmoid
        return <float>(1.0 / (1.0 + exp(-<double>v)))
    if code == 10:  # leaky_relu
        return v if v > 0 else <float>(0.01 * v)
    if code == 11:  # relu2
        return 0.0 if v < 0 else v * v
    if code == 12:  # mish
        return <float>(v * tanh(fmax(<double>v, 0.0) + log1p(exp(-fabs(<double>v)))))
    # 13, hardswish, in float32 as the reference and torch (x * 6 overflows to inf above 5.7e37, as theirs)
    cdef float r = v + <float>3.0
    r = <float>0.0 if r < 0 else (<float>6.0 if r > 6 else r)
    return v * r / <float>6.0


# The loops below walk raw row pointers (rows are C-contiguous) so gcc sees plain 1-D loops it can vectorize.

@cython.wraparound(False)
cdef void _bias_act(float[:, ::1] y, const float[::1] bias, int code) noexcept nogil:
    cdef Py_ssize_t i, j, n = y.shape[1]
    cdef float* row
    cdef const float* b = &bias[0]
    cdef float v
    # relu (MobileBERT's) and linear in loops of their own, without branches, so the compiler vectorises
    # them: relu's `v > 0 or code == 0` was a branch per element, mispredicted on half of them (a third of
    # a kernel-per-op forward of the published config, 2026-11-26)
    if code == 0:
        for i in range(y.shape[0]):
            row = &y[i, 0]
            for j in range(n):
                row[j] = row[j] + b[j]
        return
    if code == 1:
        for i in range(y.shape[0]):
            row = &y[i, 0]
            for j in range(n):
                v = row[j] + b[j]
                row[j] = 0.0 if v < 0 else v  # NaN stays NaN, as np.maximum keeps it
        return
    if code == 2 or code == 3 or code == 4 or code == 9:  # gelu, gelu_new, tanh, gelu_10 (clipped)
        for i in range(y.shape[0]):
            row = &y[i, 0]
            for j in range(n):
                row[j] = row[j] + b[j]
            mmb_act_row(row, n, code)
        return
    for i in range(y.shape[0]):
        row = &y[i, 0]
        for j in range(n):
            row[j] = _act(row[j] + b[j], code)


@cython.wraparound(False)
cdef void _bias_residual_norm(float[:, ::1] y, const float[::1] bias, const float[:, ::1] residual,
                              bint has_residual, const float[::1] weight, const float[::1] nbias,
                              bint layer_norm, float eps) noexcept nogil:
    """y[i] = norm(y[i] + bias + residual[i]), in place; NoNorm or LayerNorm (biased variance)."""
    cdef Py_ssize_t i, j, n = y.shape[1]
    cdef float mean, var, c, inv
    cdef float* row
    cdef const float* res
    cdef const float* b = &bias[0]
    cdef const float* w = &weight[0]
    cdef const float* nb = &nbias[0]
    for i in range(y.shape[0]):
        row = &y[i, 0]
        if not layer_norm:  # NoNorm: everything in one pass, in the reference's order of operations
            if has_residual:
                res = &residual[i, 0]
                for j in range(n):
                    row[j] = ((row[j] + b[j]) + res[j]) * w[j] + nb[j]
            else:
                for j in range(n):
                    row[j] = (row[j] + b[j]) * w[j] + nb[j]
            continue
        if has_residual:
            res = &residual[i, 0]
            for j in range(n):
                row[j] = (row[j] + b[j]) + res[j]
        else:
            for j in range(n):
                row[j] = row[j] + b[j]
        mean = 0.0
        for j in range(n):
            mean += row[j]
        mean = mean / n
        var = 0.0
        for j in range(n):
            c = row[j] - mean
            var += c * c
        var = var / n
        inv = <float>(1.0 / sqrt(var + eps))
        for j in range(n):
            row[j] = (row[j] - mean) * inv * w[j] + nb[j]


cdef union FloatBits:
    float f
    int32_t i


cdef inline int32_t _order_key(float v) noexcept nogil:
    """float32 -> int32 with the same order (for non-NaN values; -0.0 < +0.0): non-negative floats keep their
    bits, negative ones get their magnitude bits flipped. Its own inverse. An integer max vectorizes where a
    float max does not (gcc needs -ffinite-math-only to reorder a float max, and NaN must keep its meaning)."""
    cdef FloatBits u
    u.f = v
    return u.i ^ ((u.i >> 31) & 0x7FFFFFFF)


@cython.wraparound(False)
cdef void _scale_mask_shift(float[:, :, ::1] scores, const float[:, ::1] mask_bias, bint has_mask,
                            float scale) noexcept nogil:
    """Each row of scores [B*h, T, S] becomes scale*s + mask - max(row). The max is taken on order-preserving
    integer keys so that it vectorizes; a (positive) NaN wins as in NumPy, and a row holding any NaN ends up
    all NaN either way, as in the reference. A fully masked row stays finite (float32.min is finite), so
    softmax makes it uniform, never NaN."""
    cdef Py_ssize_t g, t, j, heads
    cdef Py_ssize_t BH = scores.shape[0], T = scores.shape[1], S = scores.shape[2]
    cdef float v
    cdef int32_t k, km
    cdef FloatBits u
    cdef float* row
    cdef const float* mask = NULL
    heads = BH // mask_bias.shape[0] if has_mask else 1
    for g in range(BH):
        if has_mask:
            mask = &mask_bias[g // heads, 0]
        for t in range(T):
            row = &scores[g, t, 0]
            km = -2147483648
            if has_mask:
                for j in range(S):
                    v = row[j] * scale + mask[j]
                    row[j] = v
                    k = _order_key(v)
                    km = k if k > km else km
            else:
                for j in range(S):
                    v = row[j] * scale
                    row[j] = v
                    k = _order_key(v)
                    km = k if k > km else km
            u.i = km ^ ((km >> 31) & 0x7FFFFFFF)  # back to the float's bits
            for j in range(S):
                row[j] = row[j] - u.f


@cython.wraparound(False)
cdef void _normalize_rows(float[:, :, ::1] e) noexcept nogil:
    cdef Py_ssize_t g, t, j, S = e.shape[2]
    cdef float total
    cdef float* row
    for g in range(e.shape[0]):
        for t in range(e.shape[1]):
            row = &e[g, t, 0]
            total = 0.0
            for j in range(S):
                total += row[j]
            total = 1.0 / total
            for j in range(S):
                row[j] = row[j] * total


# ----------------------------------------------------------------------------------------- Python side


def _f32(a):
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _vec(a):
    return np.ascontiguousarray(_f32(a)).reshape(-1)


def _rows(a):
    return np.ascontiguousarray(_f32(a)).reshape(-1, a.shape[-1])


def _gemm(x, weight):
    """[..., in] @ weight.T -> C-contiguous float32 [rows, out], by BLAS. `weight` may be any strided view."""
    return np.matmul(_f32(x).reshape(-1, x.shape[-1]), _f32(weight).T)


def linear_act(x, dense, activation):
    """KERNEL (see functional.linear_act). act(x @ weight.T + bias).   [..., in] -> [..., out]"""
    weight = dense["weight"]
    y = _gemm(x, weight)
    cdef float[:, ::1] yv = y
    cdef const float[::1] bv = _vec(dense["bias"])
    cdef int code = ACTIVATION_CODES[activation]
    with nogil:
        _bias_act(yv, bv, code)
    return y.reshape(*x.shape[:-1], weight.shape[0])


def linear_norm(x, dense, norm, residual, normalization_type, eps):
    """KERNEL (see functional.linear_norm). norm(x @ weight.T + bias + residual).   [..., in] -> [..., out]"""
    weight = dense["weight"]
    y = _gemm(x, weight)
    cdef float[:, ::1] yv = y
    cdef const float[::1] bv = _vec(dense["bias"])
    cdef const float[:, ::1] rv = _EMPTY2 if residual is None else _rows(residual)
    cdef const float[::1] wv = _vec(norm["weight"])
    cdef const float[::1] nbv = _vec(norm["bias"])
    cdef bint has_residual = residual is not None
    cdef bint layer_norm = normalization_type != "no_norm"
    cdef float e = eps
    with nogil:
        _bias_residual_norm(yv, bv, rv, has_residual, wv, nbv, layer_norm, e)
    return y.reshape(*x.shape[:-1], weight.shape[0])


def attention(query, key, value, mask_bias, num_heads):
    """KERNEL (see functional.attention). -> context [B, T, A], probs [B, heads, T, T]"""
    B, T, A = query.shape
    d = A // num_heads
    q = _f32(query).reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, h, T, d] (a view)
    k = _f32(key).reshape(B, T, num_heads, d).transpose(0, 2, 3, 1)  # [B, h, d, T] (a view)
    v = _f32(value).reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, h, T, d] (a view)
    scores = np.empty((B, num_heads, T, T), dtype=np.float32)  # C-contiguous, so the reshape below is a view
    np.matmul(q, k, out=scores)  # [B, h, T, d] @ [B, h, d, T] -> [B, h, T, T]
    cdef float[:, :, ::1] sv = scores.reshape(B * num_heads, T, T)
    cdef bint has_mask = mask_bias is not None
    cdef const float[:, ::1] mv = _rows(mask_bias) if has_mask else _EMPTY2
    cdef float scale = d ** -0.5
    with nogil:
        _scale_mask_shift(sv, mv, has_mask, scale)  # one pass: scale, mask, minus row max
    np.exp(scores, out=scores)  # NumPy's exp, SIMD for this CPU (picked at run time; ours is built for any x86-64)
    with nogil:
        _normalize_rows(sv)  # one pass: divide by the row sum -> probs
    context = np.empty((B, T, num_heads, d), dtype=np.float32)
    np.matmul(scores, v, out=context.transpose(0, 2, 1, 3))  # [B, h, T, d] into [B, T, h, d]
    return context.reshape(B, T, A), scores
