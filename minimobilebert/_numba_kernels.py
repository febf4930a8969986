"""The "numba" backend: the kernels of `functional.py`, same signatures, with fused epilogues.

Design, per kernel (the reference does one pass over memory per NumPy operation; these do one per GEMM):

    linear_act    BLAS GEMM, then ONE compiled pass: act(y + bias), in place
    linear_norm   BLAS GEMM, then ONE compiled pass: norm(y + bias + residual), in place
    attention     batched GEMM q @ k^T -> ONE compiled softmax per row, the row staying in L1: scale, mask
                  and row max; exp (a polynomial, vectorized) and row sum; divide
                  -> batched GEMM probs @ v written straight into the [B, T, A] output layout

The GEMMs stay in BLAS (NumPy's `matmul`, the same OpenBLAS for every backend): a hand-written GEMM in
Numba does not beat it, and calling NumPy instead of `np.dot` inside `@njit` keeps SciPy (which Numba's
`np.dot` needs) out of the dependencies. A weight may be any strided [out, in] view, e.g. the transpose of
a slice of a packed [in, N] buffer: `x @ weight.T` then reads that buffer in place, as one contiguous-row
GEMM (no copy per call). Everything elementwise that the reference does as separate NumPy passes (bias
add, residual add, NoNorm, activation, the five passes of softmax) is one compiled loop here.

Importing this module raises if Numba is missing or cannot load (e.g. built for an older NumPy);
`backend.py` catches that and falls back to NumPy with one warning. Compiled code is cached on disk
(cache=True), so only the first run in a fresh environment pays the JIT compile time.

No `parallel=True`: the cores are already used by the BLAS threads, and Numba's OpenMP workers
spin-waiting after a parallel region starve OpenBLAS's threads (measured: attention 20x slower).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .functional import ACTIVATION_CODES

# Let LLVM reorder the row max and row sum so they vectorize; NaN/inf semantics stay strict (no nnan/ninf).
_REDUCTIONS = {"reassoc", "nsz", "contract"}


# ----------------------------------------------------------------------------------------- scalar helpers


@njit(cache=True, inline="always")
def _act(v, code):
    """One activation on a float32 scalar, by its code in functional.ACTIVATION_CODES (the same formulas as
    functional.py), for the codes _bias_act has no vectorised loop of its own for: 6 to 13."""
    if code == 6:  # quick_gelu, in float64 so exp(-x) cannot overflow for float32 inputs
        return np.float32(v / (1.0 + math.exp(-1.702 * np.float64(v))))
    if code == 7:  # relu6
        return np.float32(min(max(v, np.float32(0.0)), np.float32(6.0)))
    if code == 8:  # sigmoid
        return np.float32(1.0 / (1.0 + math.exp(-np.float64(v))))
    if code == 9:  # gelu_10
        return np.float32(min(max(0.5 * v * (1.0 + math.erf(v * 0.7071067811865476)), -10.0), 10.0))
    if code == 10:  # leaky_relu
        return v if v > 0 else np.float32(0.01 * v)
    if code == 11:  # relu2
        return np.float32(0.0) if v < 0 else np.float32(v * v)
    if code == 12:  # mish
        d = np.float64(v)
        return np.float32(d * math.tanh(max(d, 0.0) + math.log1p(math.exp(-abs(d)))))
    # 13, hardswish, in float32 as the reference and torch (x * 6 overflows to inf above 5.7e37, as theirs)
    r = v + np.float32(3.0)
    r = np.float32(0.0) if r < 0 else (np.float32(6.0) if r > 6 else r)
    return v * r / np.float32(6.0)


@njit(cache=True, inline="always")
def _exp_shifted(x):
    """exp(x) in float32 for a softmax's shifted scores (x <= 0): NaN for NaN, exactly 0 below -87 (where
    float32's exp leaves the normal range; np.exp gives at most 1.6e-38 there). x = n ln2 + r with
    n = round(x / ln2) (by truncating x / ln2 - 1/2, as x <= 0) and |r| <= ln2/2; exp(r) by Cephes expf's
    polynomial (about 1 ulp); 2^n built in the exponent bits. Branch-free, so a loop of it vectorizes,
    unlike a libm call per element. The same steps as the Cython backend's."""
    xc = np.float32(-87.0) if x < np.float32(-87.0) else x  # a NaN fails the test and stays NaN
    t = xc * np.float32(1.4426950408889634) - np.float32(0.5)
    ni = np.int32(t) if t == t else np.int32(0)  # in [-126, 0]; for a NaN x, p below is NaN anyway
    n = np.float32(ni)
    r = xc - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)  # x - n ln2, ln2 split in two
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * (r * r) + r + np.float32(1.0)  # exp(r)
    two_n = np.int32((ni + np.int32(127)) << np.int32(23)).view(np.float32)  # 2^n
    return np.float32(0.0) if x < np.float32(-87.0) else p * two_n


@njit(cache=True, inline="always")
def _order_key(v):
    """float32 -> int32 with the same order (for non-NaN values; -0.0 < +0.0): non-negative floats keep their
    bits, negative ones get their magnitude bits flipped. Its own inverse. An integer max vectorizes where a
    float max cannot (LLVM needs no-NaNs to reorder a float max, and the reference's NaN meaning must stay)."""
    k = np.float32(v).view(np.int32)
    return k ^ ((k >> 31) & np.int32(0x7FFFFFFF))


# ----------------------------------------------------------------------------------------- epilogues


@njit(cache=True, fastmath={"arcp", "contract", "nsz"}, error_model="numpy")
def _bias_act(y, bias, code):
    """y[i] = act(y[i] + bias), in place. relu (MobileBERT's) and linear get loops of their own, which LLVM
    vectorises: behind _act's many branches it does not split the loop by `code` (40x slower, measured).
    So do gelu (BERT's), with the reference's own erf (Abramowitz & Stegun 7.1.26), gelu_new, tanh and
    silu, all on the polynomial exp of arguments <= 0, as the engine's rowops.h: gelu 43 us instead of
    567 for math.erf on 128 x 512 (measured). error_model="numpy": a division is not
    checked for zero (which stops vectorisation; these never divide by zero); "arcp"/"contract" let LLVM
    use reciprocals and FMAs (a few float32 ulps)."""
    n = y.shape[1]
    if code <= 1:
        for i in range(y.shape[0]):
            for j in range(n):
                v = y[i, j] + bias[j]
                y[i, j] = np.float32(0.0) if v < 0 and code == 1 else v  # NaN stays NaN (np.maximum's)
        return
    if code == 2:
        for i in range(y.shape[0]):
            for j in range(n):
                v = y[i, j] + bias[j]
                z = abs(v * np.float32(0.7071067811865476))
                t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * z)
                poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
                    np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
                erf_abs = np.float32(1.0) - poly * _exp_shifted(-z * z)
                y[i, j] = np.float32(0.5) * v * (np.float32(1.0) + (erf_abs if v >= 0 else -erf_abs))
        return
    if code in (3, 4):  # gelu_new, tanh: tanh(u) = sign(u) (1 - e) / (1 + e), e = exp(-2|u|)
        for i in range(y.shape[0]):
            for j in range(n):
                v = y[i, j] + bias[j]
                u = v if code == 4 else np.float32(0.7978845608028654) * (v + np.float32(0.044715) * v * v * v)
                e = _exp_shifted(np.float32(-2.0) * abs(u))
                th = (np.float32(1.0) - e) / (np.float32(1.0) + e)
                th = th if u >= 0 else -th
                y[i, j] = th if code == 4 else np.float32(0.5) * v * (np.float32(1.0) + th)
        return
    if code == 5:  # silu: x / (1 + exp(-x)), exp only of -|x|
        for i in range(y.shape[0]):
            for j in range(n):
                v = y[i, j] + bias[j]
                e = _exp_shifted(-abs(v))
                y[i, j] = v * e / (np.float32(1.0) + e) if v < 0 else v / (np.float32(1.0) + e)
        return
    for i in range(y.shape[0]):  # the rarer ones, per element
        for j in range(n):
            y[i, j] = _act(y[i, j] + bias[j], code)


@njit(cache=True)
def _bias_residual_norm(y, bias, residual, has_residual, weight, nbias, layer_norm, eps):
    """y[i] = norm(y[i] + bias + residual[i]), in place.
    NoNorm: (.) * weight + nbias, one pass. LayerNorm: biased variance, three passes over the (cached) row."""
    n = y.shape[1]
    for i in range(y.shape[0]):
        if not layer_norm:  # NoNorm: everything in one pass, in the reference's order of operations
            if has_residual:
                for j in range(n):
                    y[i, j] = ((y[i, j] + bias[j]) + residual[i, j]) * weight[j] + nbias[j]
            else:
                for j in range(n):
                    y[i, j] = (y[i, j] + bias[j]) * weight[j] + nbias[j]
            continue
        if has_residual:
            for j in range(n):
                y[i, j] = (y[i, j] + bias[j]) + residual[i, j]
        else:
            for j in range(n):
                y[i, j] = y[i, j] + bias[j]
        mean = np.float32(0.0)
        for j in range(n):
            mean += y[i, j]
        mean = np.float32(mean / n)
        var = np.float32(0.0)
        for j in range(n):
            c = y[i, j] - mean
            var += c * c
        var = np.float32(var / n)
        inv = np.float32(1.0 / math.sqrt(var + eps))
        for j in range(n):
            y[i, j] = (y[i, j] - mean) * inv * weight[j] + nbias[j]


@njit(cache=True, fastmath=_REDUCTIONS, error_model="numpy")
def _softmax_rows(scores, mask_bias, has_mask, scale):
    """scores: [B*h, T, S] -> softmax(scale * scores + mask) over the last axis, in place, one row at a time
    (the row stays in L1 across its three loops).

    The row max is taken on order-preserving integer keys, so it vectorizes: the same max for finite and
    infinite values, and a (positive) NaN wins as in NumPy, so a row holding a NaN becomes all NaN, as in
    the reference; so does a row whose max is +inf (inf - inf) or whose every score is -inf (-inf + inf).
    A fully masked row holds scale*s + float32.min everywhere: finite, so the max-shift keeps it finite and
    the softmax makes it uniform, as the reference does (never NaN). error_model="numpy": IEEE division
    (a row summing to 0 is NaN, not a ZeroDivisionError)."""
    BH, T, S = scores.shape
    heads = BH // mask_bias.shape[0] if has_mask else 1
    for g in range(BH):
        b = g // heads
        for t in range(T):
            km = np.int32(-2147483648)
            if has_mask:
                for j in range(S):
                    v = scores[g, t, j] * scale + mask_bias[b, j]
                    scores[g, t, j] = v
                    km = max(km, _order_key(v))
            else:
                for j in range(S):
                    v = scores[g, t, j] * scale
                    scores[g, t, j] = v
                    km = max(km, _order_key(v))
            km = km ^ ((km >> 31) & np.int32(0x7FFFFFFF))  # back to the float's bits
            m = np.int32(km).view(np.float32)
            total = np.float32(0.0)
            for j in range(S):
                e = _exp_shifted(scores[g, t, j] - m)
                scores[g, t, j] = e
                total += e
            inv = np.float32(1.0) / total
            for j in range(S):
                scores[g, t, j] = scores[g, t, j] * inv


# ----------------------------------------------------------------------------------------- helpers


_EMPTY2 = np.zeros((1, 1), dtype=np.float32)


def _f32(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _rows(a: np.ndarray) -> np.ndarray:
    """[..., n] -> a C-contiguous float32 [rows, n] (a view when possible)."""
    return np.ascontiguousarray(_f32(a)).reshape(-1, a.shape[-1])


def _gemm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """[..., in] @ weight.T -> C-contiguous float32 [rows, out], by BLAS. `weight` may be any strided view."""
    return np.matmul(_f32(x).reshape(-1, x.shape[-1]), _f32(weight).T)


# ----------------------------------------------------------------------------------------- kernels


def linear_act(x, dense, activation):
    """KERNEL (see functional.linear_act). act(x @ weight.T + bias).   [..., in] -> [..., out]"""
    weight = dense["weight"]
    y = _gemm(x, weight)  # [rows, in] -> [rows, out]
    _bias_act(y, _f32(dense["bias"]), ACTIVATION_CODES[activation])
    return y.reshape(*x.shape[:-1], weight.shape[0])


def linear_norm(x, dense, norm, residual, normalization_type, eps):
    """KERNEL (see functional.linear_norm). norm(x @ weight.T + bias + residual).   [..., in] -> [..., out]"""
    weight = dense["weight"]
    y = _gemm(x, weight)  # [rows, in] -> [rows, out]
    res = _EMPTY2 if residual is None else _rows(residual)
    _bias_residual_norm(y, _f32(dense["bias"]), res, residual is not None, _f32(norm["weight"]),
                        _f32(norm["bias"]), normalization_type != "no_norm", np.float32(eps))
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
    has_mask = mask_bias is not None
    mask = np.ascontiguousarray(_f32(mask_bias)) if has_mask else _EMPTY2
    _softmax_rows(scores.reshape(B * num_heads, T, T), mask, has_mask, np.float32(d**-0.5))  # -> probs
    context = np.empty((B, T, num_heads, d), dtype=np.float32)
    np.matmul(scores, v, out=context.transpose(0, 2, 1, 3))  # [B, h, T, d] into [B, T, h, d]
    return context.reshape(B, T, A), scores
