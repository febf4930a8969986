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
an 8x128 attention against 1.3 ms with NumPy's exp, which picks AVX2/AVX-512 code at run time.

Why call back into NumPy for the GEMM instead of scipy.linalg.cython_blas: it is the same OpenBLAS, the
call overhead (a few microseconds) is small against a 128x512x128 GEMM (~100 us), and it keeps SciPy out of
the dependencies. A weight may be any strided [out, in] view (e.g. the transpose of a slice of a packed
[in, N] buffer): BLAS reads it in place. The C loops run without the GIL. (The whole-encoder engine that
replaces this per-op path when it covers the config lives in kernels/engine and minimobilebert/engine.py.)
"""

import numpy as np
cimport numpy as cnp
cimport cython
from libc.math cimport erf, exp, fabs, fmax, fmin, log1p, sqrt, tanh
from libc.stdint cimport int32_t

from minimobilebert.functional import ACTIVATION_CODES

cnp.import_array()

cdef float[:, ::1] _EMPTY2 = np.zeros((1, 1), dtype=np.float32)


cdef inline float _act(float v, int code) noexcept nogil:
    """One activation, by its code in functional.ACTIVATION_CODES (the formulas of functional.py; gelu with
    libc's exact erf), for codes 2 to 13: _bias_act runs relu and linear in a loop of their own."""
    if code == 2:
        return <float>(0.5 * v * (1.0 + erf(v * 0.7071067811865476)))
    if code == 3:
        return <float>(0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))))
    if code == 4:
        return <float>tanh(v)
    if code == 5:  # silu, in double so exp(-x) cannot overflow
        return <float>(v / (1.0 + exp(-<double>v)))
    if code == 6:  # quick_gelu
        return <float>(v / (1.0 + exp(-1.702 * <double>v)))
    if code == 7:  # relu6
        return 0.0 if v < 0 else (6.0 if v > 6 else v)
    if code == 8:  # sigmoid
        return <float>(1.0 / (1.0 + exp(-<double>v)))
    if code == 9:  # gelu_10
        return <float>fmin(fmax(0.5 * v * (1.0 + erf(v * 0.7071067811865476)), -10.0), 10.0)
    if code == 10:  # leaky_relu
        return v if v > 0 else <float>(0.01 * v)
    if code == 11:  # relu2
        return v * v if v > 0 else 0.0
    if code == 12:  # mish
        return <float>(v * tanh(fmax(<double>v, 0.0) + log1p(exp(-fabs(<double>v)))))
    return <float>(v * fmin(fmax(<double>v + 3.0, 0.0), 6.0) / 6.0)  # 13, hardswish


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
                row[j] = v if v > 0 else 0.0
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
