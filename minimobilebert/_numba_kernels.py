"""The "numba" backend: the kernels of `functional.py`, same signatures, with fused epilogues.

Design, per kernel (the reference does one pass over memory per NumPy operation; these do one per GEMM):

    linear_act    BLAS GEMM, then ONE compiled pass: act(y + bias), in place
    linear_norm   BLAS GEMM, then ONE compiled pass: norm(y + bias + residual), in place
    ffn           GEMM -> pass act(h + b_in) -> GEMM -> pass norm(y + b_out + x)
    attention     batched GEMM q @ k^T -> one pass: scale, mask, minus row max -> NumPy's SIMD exp
                  -> one pass: divide by the row sum
                  -> batched GEMM probs @ v written straight into the [B, T, A] output layout

The GEMMs stay in BLAS (NumPy's `matmul`, the same OpenBLAS for every backend): a hand-written GEMM in
Numba does not beat it, and calling NumPy instead of `np.dot` inside `@njit` keeps SciPy (which Numba's
`np.dot` needs) out of the dependencies. Everything elementwise that the reference does as separate NumPy
passes (bias add, residual add, NoNorm, activation, the five passes of softmax) is one compiled loop here.

Importing this module raises if Numba is missing or cannot load (e.g. built for an older NumPy);
`backend.py` catches that and falls back to NumPy with one warning. Compiled code is cached on disk
(cache=True), so only the first run in a fresh environment pays the JIT compile time.

No `parallel=True`: the 2 cores are already used by the BLAS threads, and Numba's OpenMP workers
spin-waiting after a parallel region starve OpenBLAS's threads (measured: attention 20x slower).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import functional as ref

# Let LLVM reorder the row max and row sum so they vectorize; NaN/inf semantics stay strict (no nnan/ninf).
_REDUCTIONS = {"reassoc", "nsz", "contract"}

# Activation codes for the compiled loops.
ACT_CODES = {"relu": 0, "gelu": 1, "gelu_new": 2, "gelu_pytorch_tanh": 2, "tanh": 3, "silu": 4, "swish": 4}


# ----------------------------------------------------------------------------------------- scalar helpers


@njit(cache=True, inline="always")
def _act(v, code):
    """One activation on a float32 scalar (the same formulas as functional.py; gelu with the exact erf)."""
    if code == 0:
        return v if v > 0 else np.float32(0.0)
    if code == 1:
        return np.float32(0.5 * v * (1.0 + math.erf(v * 0.7071067811865476)))
    if code == 2:
        inner = 0.7978845608028654 * (v + 0.044715 * v * v * v)
        return np.float32(0.5 * v * (1.0 + math.tanh(inner)))
    if code == 3:
        return np.float32(math.tanh(v))
    # silu: x / (1 + exp(-x)), in float64 so exp(-x) cannot overflow for float32 inputs
    return np.float32(v / (1.0 + math.exp(-np.float64(v))))


# ----------------------------------------------------------------------------------------- epilogues


@njit(cache=True)
def _bias_act_rows(y, bias, code, lo, hi):
    n = y.shape[1]
    for i in range(lo, hi):
        for j in range(n):
            y[i, j] = _act(y[i, j] + bias[j], code)


@njit(cache=True)
def _bias_act(y, bias, code):
    _bias_act_rows(y, bias, code, 0, y.shape[0])


@njit(cache=True)
def _bias_residual_norm_rows(y, bias, residual, has_residual, weight, nbias, layer_norm, eps, lo, hi):
    """y[i] = norm(y[i] + bias + residual[i]) for rows lo..hi, in place.
    NoNorm: (.) * weight + nbias, one pass. LayerNorm: biased variance, three passes over the (cached) row."""
    n = y.shape[1]
    for i in range(lo, hi):
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


@njit(cache=True)
def _bias_residual_norm(y, bias, residual, has_residual, weight, nbias, layer_norm, eps):
    _bias_residual_norm_rows(y, bias, residual, has_residual, weight, nbias, layer_norm, eps, 0, y.shape[0])


@njit(cache=True, inline="always")
def _order_key(v):
    """float32 -> int32 with the same order (for non-NaN values; -0.0 < +0.0): non-negative floats keep their
    bits, negative ones get their magnitude bits flipped. Its own inverse. An integer max vectorizes where a
    float max cannot (LLVM needs no-NaNs to reorder a float max, and the reference's NaN meaning must stay)."""
    k = np.float32(v).view(np.int32)
    return k ^ ((k >> 31) & np.int32(0x7FFFFFFF))


@njit(cache=True, fastmath=_REDUCTIONS, error_model="numpy")
def _scale_mask_shift(scores, mask_bias, has_mask, scale):
    """scores: [B*h, T, S]. Each row becomes scale*s + mask - max(row), in place (the row stays in L1 between
    its two loops). The row max is taken on order-preserving integer keys, so it vectorizes: the same max
    for finite and infinite values, and a (positive) NaN wins as in NumPy; a row holding any NaN ends up all
    NaN either way, as in the reference. A fully masked row holds scale*s + float32.min everywhere: finite,
    so the max-shift keeps it finite and softmax makes it uniform, as the reference does (never NaN)."""
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
            for j in range(S):
                scores[g, t, j] = scores[g, t, j] - m


@njit(cache=True, fastmath=_REDUCTIONS, error_model="numpy")
def _normalize_rows(e):
    """e: [B*h, T, S] of exp(shifted scores); divide each row by its sum, in place. error_model="numpy":
    IEEE division (no ZeroDivisionError when a row of -inf scores sums to 0: NaN, as the reference)."""
    BH, T, S = e.shape
    for g in range(BH):
        for t in range(T):
            total = np.float32(0.0)
            for j in range(S):
                total += e[g, t, j]
            for j in range(S):
                e[g, t, j] = e[g, t, j] / total


# ----------------------------------------------------------------------------------------- helpers


_EMPTY2 = np.zeros((1, 1), dtype=np.float32)


def _f32(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _rows(a: np.ndarray) -> np.ndarray:
    """[..., n] -> a C-contiguous float32 [rows, n] (a view when possible)."""
    return np.ascontiguousarray(_f32(a)).reshape(-1, a.shape[-1])


def _gemm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """[..., in] @ weight.T -> C-contiguous float32 [rows, out], by BLAS."""
    x2 = _f32(x).reshape(-1, x.shape[-1])
    return np.matmul(x2, _f32(weight).T)


def _epilogue_act(y, bias, activation):
    _bias_act(y, _f32(bias), ACT_CODES[activation])


def _epilogue_norm(y, bias, residual, norm_weight, norm_bias, normalization_type, eps):
    res = _EMPTY2 if residual is None else _rows(residual)
    _bias_residual_norm(y, _f32(bias), res, residual is not None, _f32(norm_weight), _f32(norm_bias),
                        normalization_type != "no_norm", np.float32(eps))


# ----------------------------------------------------------------------------------------- kernels


def linear_act(x, weight, bias, activation):
    y = _gemm(x, weight)  # [rows, in] -> [rows, out]
    _epilogue_act(y, bias, activation)
    return y.reshape(*x.shape[:-1], weight.shape[0])


def linear_norm(x, weight, bias, norm_weight, norm_bias, residual, normalization_type, eps):
    y = _gemm(x, weight)
    _epilogue_norm(y, bias, residual, norm_weight, norm_bias, normalization_type, eps)
    return y.reshape(*x.shape[:-1], weight.shape[0])


def ffn(x, w_in, b_in, w_out, b_out, norm_weight, norm_bias, activation, normalization_type, eps):
    h = _gemm(x, w_in)  # [rows, 128] -> [rows, 512]
    _epilogue_act(h, b_in, activation)
    y = np.matmul(h, _f32(w_out).T)  # [rows, 512] -> [rows, 128]
    _epilogue_norm(y, b_out, x, norm_weight, norm_bias, normalization_type, eps)
    return y.reshape(x.shape)


def attention(query, key, value, mask_bias, num_heads):
    B, T, A = query.shape
    d = A // num_heads
    q = _f32(query).reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, h, T, d] (a view)
    k = _f32(key).reshape(B, T, num_heads, d).transpose(0, 2, 3, 1)  # [B, h, d, T] (a view)
    v = _f32(value).reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, h, T, d] (a view)
    scores = np.empty((B, num_heads, T, T), dtype=np.float32)  # C-contiguous, so the reshapes below are views
    np.matmul(q, k, out=scores)  # [B, h, T, d] @ [B, h, d, T] -> [B, h, T, T]
    has_mask = mask_bias is not None
    mask = np.ascontiguousarray(_f32(mask_bias)) if has_mask else _EMPTY2
    flat = scores.reshape(B * num_heads, T, T)
    _scale_mask_shift(flat, mask, has_mask, np.float32(d**-0.5))  # one pass: scale, mask, minus row max
    np.exp(scores, out=scores)  # NumPy's SIMD exp beats a scalar libm call per element
    _normalize_rows(flat)  # one pass: divide by the row sum
    context = np.empty((B, T, num_heads, d), dtype=np.float32)
    np.matmul(scores, v, out=context.transpose(0, 2, 1, 3))  # [B, h, T, d] into [B, T, h, d]
    return context.reshape(B, T, A), scores


# Kernels this backend does not implement come from the reference.
def __getattr__(name: str):
    return getattr(ref, name)
