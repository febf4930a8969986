"""Shared fixtures: the Hugging Face oracle, small configurations, checkpoint builders, tolerances.

The oracle (transformers on PyTorch, CPU) is a test-only dependency. Without it, oracle tests skip on a
developer machine but FAIL under CI (CI=true), so a broken install can never turn parity into a skip.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

# Stated once, used by every parity test: activations reach 1e7, so errors are measured relative to the
# tensor's scale, max|ours - ref| / max(max|ref|, 1), per tensor.
RELATIVE_TOLERANCE = 1e-4


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, f"shape {ours.shape} != reference {ref.shape}"
    assert np.isfinite(ours).all(), "non-finite values in our output"
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1.0))


def assert_close(ours, ref, name: str = "tensor", tol: float = RELATIVE_TOLERANCE) -> None:
    err = relative_error(ours, ref)
    assert err <= tol, f"{name}: relative error {err:.3g} > {tol:g}"


def _import_oracle():
    try:
        import torch
        import transformers
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"the torch/transformers oracle is required under CI but failed to import: {e}")
        pytest.skip(f"torch/transformers oracle not installed ({e}); pip install -e '.[test]'")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    return torch, transformers


@pytest.fixture(scope="session")
def oracle():
    """(torch, transformers), or skip (fail under CI)."""
    return _import_oracle()


# Small configurations covering every switch of MobileBertConfig. Each is a dict of HF config kwargs.
SMALL = dict(vocab_size=99, hidden_size=64, intra_bottleneck_size=32, embedding_size=16, intermediate_size=48,
             num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=40, type_vocab_size=3)
CONFIG_GRID = {
    "mobilebert": dict(SMALL),
    "tiny_bottleneck_attention": dict(SMALL, use_bottleneck_attention=True, key_query_shared_bottleneck=False,
                                      num_feedforward_networks=2),
    "both_bottleneck_switches": dict(SMALL, use_bottleneck_attention=True, key_query_shared_bottleneck=True),
    "no_bottleneck": dict(SMALL, use_bottleneck=False, num_attention_heads=8),
    "no_bottleneck_kq_shared_off": dict(SMALL, use_bottleneck=False, key_query_shared_bottleneck=False),
    "layer_norm_gelu": dict(SMALL, normalization_type="layer_norm", hidden_act="gelu"),
    "no_trigram": dict(SMALL, trigram_input=False),
    "no_trigram_full_embedding": dict(SMALL, trigram_input=False, embedding_size=64),
    "one_ffn_gelu_new": dict(SMALL, num_feedforward_networks=1, hidden_act="gelu_new"),
    "tanh": dict(SMALL, hidden_act="tanh"),
    "silu_pooler_off": dict(SMALL, hidden_act="silu", classifier_activation=False),
}


def perturb(hf_model, torch, seed: int = 0) -> None:
    """HF initialises norms to 1/0 and biases to 0; give them random values so every weight is exercised,
    keeping the [PAD] embedding row zero as HF does."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in hf_model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def build_hf(transformers, torch, head_class: str, seed: int = 0, **config_kwargs):
    """A random-weight HF model in eval mode, eager attention (so attentions can be returned)."""
    torch.manual_seed(seed)
    config = transformers.MobileBertConfig(**config_kwargs)
    config._attn_implementation = "eager"
    model = getattr(transformers, head_class)(config).eval()
    perturb(model, torch, seed)
    return model


def save_bin(hf_model, torch, folder: str) -> None:
    """A classic pytorch_model.bin checkpoint (transformers 5 only writes safetensors)."""
    os.makedirs(folder, exist_ok=True)
    hf_model.config.save_pretrained(folder)
    torch.save(hf_model.state_dict(), os.path.join(folder, "pytorch_model.bin"))


def random_batch(rng, vocab_size: int, batch: int, seq: int, type_vocab_size: int = 2, pad_id: int = 0):
    """Right-padded ids with a mask: row i keeps seq - i tokens (at least 2)."""
    ids = rng.integers(1, vocab_size, (batch, seq))
    mask = np.ones((batch, seq), dtype=np.int64)
    for i in range(batch):
        keep = max(2, seq - 3 * i)
        mask[i, keep:] = 0
        ids[i, keep:] = pad_id
    types = rng.integers(0, type_vocab_size, (batch, seq)) * mask
    return ids, mask, types
