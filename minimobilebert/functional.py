"""The NumPy reference for every primitive MobileBERT is built from.

These functions are the readable definition of the math, and the "numpy" backend. The fast backends
(Numba, Cython; see `backend.py`) implement the *kernel* functions below with exactly the same signatures
and are tested against them. A dense layer's weights come as a sub-dict `dense = {"weight", "bias"}` and a
normalization's as `norm = {"weight", "bias"}`, exactly as they sit in the model's nested weights
(`p["query"]`, `p["output"]["LayerNorm"]`, ...):

    linear_act(x, dense, activation)                                      dense + activation
    linear_norm(x, dense, norm, residual, normalization_type, eps)        dense + residual + norm
    attention(query, key, value, mask_bias, num_heads)                    multi-head attention core

Conventions, as in HF/PyTorch checkpoints: a dense layer's `weight` is [out_features, in_features] and
is used as `x @ weight.T` (a view, never a transposed copy; the weight itself may be a strided view too).
Everything is float32: MobileBERT's activations reach 1e7-1e8, far beyond float16's 65504.
"""

from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------------------- activations


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, dtype=x.dtype)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise (NumPy has none).

    Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a1 t + a2 t^2 + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p|x|),
    odd in x. Its absolute error is below 1.5e-7, about float32's epsilon, so it is exact for our purpose.
    Evaluated in float64 and returned in the input's dtype.
    """
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly * np.exp(-z * z))).astype(x.dtype)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x) with Phi the standard normal CDF (HF "gelu")."""
    return (0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))).astype(x.dtype)


def gelu_new(x: np.ndarray) -> np.ndarray:
    """The tanh approximation of GELU used by GPT-2 and the original BERT code (HF "gelu_new")."""
    c = np.float32(math.sqrt(2.0 / math.pi))
    with np.errstate(over="ignore"):  # x**3 overflows float32 for |x| > 7e12; tanh saturates anyway
        inner = c * (x + np.float32(0.044715) * x * x * x)
    return (0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype)


def silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), also called swish."""
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative x: silu -> -0
        return (x / (1.0 + np.exp(-x))).astype(x.dtype)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), written so that exp only sees -|x| (no overflow)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def quick_gelu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(1.702 x), a cheaper GELU (CLIP's; HF "quick_gelu")."""
    return (x * sigmoid(np.float32(1.702) * x)).astype(x.dtype)


def gelu_10(x: np.ndarray) -> np.ndarray:
    """GELU clipped to [-10, 10] (HF "gelu_10", for quantization-friendly ranges)."""
    return np.clip(gelu(x), -10, 10).astype(x.dtype)


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6).astype(x.dtype)


def relu2(x: np.ndarray) -> np.ndarray:
    """relu(x) squared (HF "relu2", Primer's)."""
    return np.square(np.maximum(x, 0)).astype(x.dtype)


def leaky_relu(x: np.ndarray) -> np.ndarray:
    """x, or 0.01 x below zero (PyTorch's default slope)."""
    return np.where(x > 0, x, np.float32(0.01) * x).astype(x.dtype)


def hardswish(x: np.ndarray) -> np.ndarray:
    """x * relu6(x + 3) / 6 (MobileNetV3's)."""
    return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype)


def mish(x: np.ndarray) -> np.ndarray:
    """x * tanh(softplus(x)), softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return (x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))).astype(x.dtype)


def linear(x: np.ndarray) -> np.ndarray:
    return x


# Every activation transformers' ACT2FN names, but those with weights of their own (prelu, xielu) and the
# rarest (laplace, sqrtsoftplus): a config naming one of those is refused (config.py says which exist).
ACTIVATIONS = {
    "relu": relu,
    "gelu": gelu,
    "gelu_python": gelu,  # HF's Python version of the same formula
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": gelu_new,  # same formula, PyTorch's name for it
    "gelu_python_tanh": gelu_new,
    "gelu_accurate": gelu_new,  # HF's AccurateGELU: the same tanh formula
    "gelu_fast": gelu_new,  # x * c * (1 + 0.044715 x^2): the same polynomial, factored
    "tanh": tanh,
    "silu": silu,
    "swish": silu,
    "quick_gelu": quick_gelu,
    "gelu_10": gelu_10,
    "relu6": relu6,
    "relu2": relu2,
    "leaky_relu": leaky_relu,
    "hardswish": hardswish,
    "mish": mish,
    "sigmoid": sigmoid,
    "linear": linear,
}


# The one numbering of the activations that compiled code uses (the Numba and Cython kernels and the
# compiled engine all take it from here): a name's code selects the same formula as ACTIVATIONS[name].
# 0 is kept for "no activation" (a plain dense layer in the engine).
ACTIVATION_CODES = {
    "linear": 0,
    "relu": 1,
    "gelu": 2,
    "gelu_python": 2,
    "gelu_new": 3,
    "gelu_pytorch_tanh": 3,
    "gelu_python_tanh": 3,
    "gelu_accurate": 3,
    "gelu_fast": 3,
    "tanh": 4,
    "silu": 5,
    "swish": 5,
    "quick_gelu": 6,
    "relu6": 7,
    "sigmoid": 8,
    "gelu_10": 9,
    "leaky_relu": 10,
    "relu2": 11,
    "mish": 12,
    "hardswish": 13,
}


def activate(x: np.ndarray, activation: str) -> np.ndarray:
    return ACTIVATIONS[activation](x)


# ----------------------------------------------------------------------------------------- normalization


def no_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """MobileBERT's NoNorm: an elementwise affine map, x * weight + bias, with no mean or variance.

    The paper replaces LayerNorm with it because computing statistics is slow on phones. The price: nothing
    keeps the activations in range, and they grow to 1e7-1e8.
    """
    y = x * weight
    y += bias  # in place: one temporary array instead of two (the same arithmetic)
    return y


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias."""
    mean = x.mean(axis=-1, keepdims=True)  # [..., D] -> [..., 1]
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)  # biased variance, as PyTorch
    return centered / np.sqrt(var + np.float32(eps)) * weight + bias


def normalize(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, normalization_type: str, eps: float) -> np.ndarray:
    if normalization_type == "no_norm":
        return no_norm(x, weight, bias)
    return layer_norm(x, weight, bias, eps)


# ----------------------------------------------------------------------------------------- dense layers


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A dense layer: x @ weight.T + bias.   [..., in] -> [..., out]"""
    # As one [rows, in] @ [in, out] product: NumPy runs a [B, T, in] operand as B separate BLAS calls.
    y = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
    if bias is not None:
        y += bias
    return y


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically safe softmax: shift by the row maximum first, so exp never overflows."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)  # in place: saves allocating (and page-faulting) a third array
    return e


# ----------------------------------------------------------------------------------------- kernels


def linear_act(x: np.ndarray, dense: dict[str, np.ndarray], activation: str) -> np.ndarray:
    """KERNEL. Dense layer then activation: act(x @ weight.T + bias).   [..., in] -> [..., out]"""
    return activate(linear(x, **dense), activation)


def linear_norm(
    x: np.ndarray,
    dense: dict[str, np.ndarray],
    norm: dict[str, np.ndarray],
    residual: np.ndarray | None,
    normalization_type: str,
    eps: float,
) -> np.ndarray:
    """KERNEL. Dense layer, residual add, normalization: norm(x @ weight.T + bias + residual).

    Five places in a MobileBERT block have this shape: the input and attention bottlenecks (no residual),
    the attention output, each FFN's output, and the output bottleneck.   [..., in] -> [..., out]
    """
    y = linear(x, **dense)  # [..., in] -> [..., out]
    if residual is not None:
        y += residual  # [..., out]
    return normalize(y, norm["weight"], norm["bias"], normalization_type, eps)  # [..., out]


def attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    mask_bias: np.ndarray | None,
    num_heads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """KERNEL. Multi-head scaled dot-product attention on already-projected queries, keys and values.

    query, key, value: [B, T, A] with A = num_heads * head_size.
    mask_bias: [B, T] additive bias on the keys (0 to attend, the float32 minimum to ignore) or None.
    Returns the context [B, T, A] and the attention probabilities [B, heads, T, T].
    """
    B, T, A = query.shape
    d = A // num_heads
    q = query.reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, T, A] -> [B, h, T, d]
    k = key.reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, T, A] -> [B, h, T, d]
    v = value.reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)  # [B, T, A] -> [B, h, T, d]
    scores = q @ k.transpose(0, 1, 3, 2)  # [B, h, T, d] @ [B, h, d, T] -> [B, h, T, T]
    scores *= np.float32(d**-0.5)
    if mask_bias is not None:
        scores += mask_bias[:, None, None, :]  # [B, T] -> [B, 1, 1, T]: same bias for every head and query
    probs = softmax(scores, axis=-1)  # [B, h, T, T]
    context = probs @ v  # [B, h, T, T] @ [B, h, T, d] -> [B, h, T, d]
    return context.transpose(0, 2, 1, 3).reshape(B, T, A), probs  # -> [B, T, A]


def mask_bias_from_attention_mask(attention_mask: np.ndarray) -> np.ndarray:
    """[B, T] of 1 (attend) / 0 (padding) -> additive bias [B, T] of 0 / float32 minimum.

    Not -1e4 (BERT's old constant): MobileBERT's attention scores can exceed 1e4, and then -1e4 fails to
    silence padded keys. The dtype's minimum always does, and stays finite so softmax cannot produce NaN.
    """
    return np.where(attention_mask.astype(bool), np.float32(0.0), np.finfo(np.float32).min).astype(np.float32)


KERNELS = ("linear_act", "linear_norm", "attention")
