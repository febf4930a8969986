"""Properties of the forward pass that hold without an oracle: padding, masks, capture, float16."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert import functional as F
from conftest import SMALL, assert_close

CONFIG = mm.MobileBertConfig(**SMALL)


def big_activation_model(seed: int = 0) -> mm.MobileBertModel:
    """Random weights scaled so activations grow large, as in the real checkpoint."""
    model = mm.MobileBertModel(CONFIG, seed=seed)
    for name, value in model.params.items():
        if "LayerNorm.weight" in name:
            value *= 10.0
    return model


@settings(max_examples=15, deadline=None)
@given(length=st.integers(2, 12), pad=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_padded_equals_unpadded(length, pad, seed):
    """Right padding with a mask does not change the real tokens' outputs (the [PAD] row is zero)."""
    model = mm.MobileBertForSequenceClassification(CONFIG, seed=seed % 7)
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, CONFIG.vocab_size, (1, length))
    padded = np.concatenate([ids, np.zeros((1, pad), ids.dtype)], axis=1)
    mask = (padded != 0).astype(np.int64)
    alone = model(ids, output_hidden_states=True)
    batched = model(padded, attention_mask=mask, output_hidden_states=True)
    for a, b in zip(alone.hidden_states, batched.hidden_states):
        assert_close(b[:, :length], a, "hidden state")
    assert_close(batched.logits, alone.logits, "logits")


def test_trigram_leaks_a_nonzero_pad_row_into_the_last_token():
    """The known pitfall: the trigram embedding looks at the next token, so padding is only invisible
    while the [PAD] embedding row is zero."""
    model = mm.MobileBertModel(CONFIG, seed=1)
    ids = np.array([[5, 6, 7]])
    padded, mask = np.array([[5, 6, 7, 0, 0]]), np.array([[1, 1, 1, 0, 0]])
    before = model(padded, attention_mask=mask).last_hidden_state[:, :3]
    model.params["embeddings.word_embeddings.weight"][0] = 1.0  # a trained checkpoint may have any [PAD] row
    after = model(padded, attention_mask=mask).last_hidden_state[:, :3]
    np.testing.assert_allclose(before, model(ids).last_hidden_state, rtol=1e-5, atol=1e-5)
    assert not np.allclose(after[:, 2], before[:, 2]), "the last real token should see the [PAD] row"


def test_minus_1e4_mask_fails_where_the_dtype_minimum_holds():
    """With scores of order 1e5 (MobileBERT reaches them), -1e4 does not silence a padded key."""
    scores_scale = np.float32(1e5)
    q = np.ones((1, 3, 4), np.float32) * scores_scale ** 0.5
    k = np.stack([np.ones(4), np.ones(4), 2 * np.ones(4)])[None].astype(np.float32) * scores_scale ** 0.5
    v = np.eye(3, 4, dtype=np.float32)[None]
    mask = np.array([[1, 1, 0]])
    _, probs = F.attention(q, k, v, F.mask_bias_from_attention_mask(mask), num_heads=1)
    assert probs[0, 0, :, 2].max() == 0.0  # the padded key gets exactly no weight
    old_bias = ((1 - mask) * -1e4).astype(np.float32)
    _, old_probs = F.attention(q, k, v, old_bias, num_heads=1)
    assert old_probs[0, 0, :, 2].min() > 0.99  # with -1e4 the padded key wins


def test_fully_masked_rows_are_finite():
    model = mm.MobileBertModel(CONFIG, seed=2)
    out = model(np.array([[3, 4, 5]]), attention_mask=np.zeros((1, 3), int), output_attentions=True)
    assert np.isfinite(out.last_hidden_state).all()
    np.testing.assert_allclose(out.attentions[0], 1 / 3, rtol=1e-6)  # uniform, as in HF


def test_capture_records_every_block_without_changing_outputs():
    model = mm.MobileBertForMaskedLM(CONFIG, seed=3)
    ids = np.array([[2, 3, 4, 5, 6]])
    plain = model(ids).logits
    with mm.capture() as acts:
        captured = model(ids).logits
    if mm.backend.engine_status(model.config) == "engine":
        # The compiled engine keeps no intermediates: under capture() the same math runs kernel by kernel.
        assert_close(captured, plain, "logits under capture()", tol=1e-5)
    else:
        np.testing.assert_array_equal(plain, captured)
    layer0 = "encoder.layer.0."
    expected_shapes = {
        "embeddings.word": (1, 5, 16),
        "embeddings.trigram": (1, 5, 48),
        "embeddings.output": (1, 5, 64),
        layer0 + "bottleneck.input": (1, 5, 32),
        layer0 + "bottleneck.attention": (1, 5, 32),
        layer0 + "attention.self.value": (1, 5, 32),
        layer0 + "attention.self.probs": (1, 4, 5, 5),
        layer0 + "attention.output": (1, 5, 32),
        layer0 + "ffn.2.output": (1, 5, 32),
        layer0 + "intermediate": (1, 5, 48),
        layer0 + "output.ffn_output": (1, 5, 32),
        layer0 + "output": (1, 5, 64),
    }
    for name, shape in expected_shapes.items():
        assert acts[name].shape == shape, name
    assert "encoder.layer.1.output" in acts and not any(k.startswith("encoder.layer.2") for k in acts)
    with mm.capture() as nothing_else:
        pass
    assert nothing_else == {}


def test_hidden_states_and_attentions_count():
    out = mm.MobileBertModel(CONFIG)(np.array([[1, 2]]), output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == CONFIG.num_hidden_layers + 1
    assert len(out.attentions) == CONFIG.num_hidden_layers
    np.testing.assert_array_equal(out.hidden_states[-1], out.last_hidden_state)
    np.testing.assert_allclose(out.attentions[0].sum(-1), 1.0, rtol=1e-5)
    assert mm.MobileBertModel(CONFIG)(np.array([[1, 2]])).hidden_states is None


def test_activations_grow_far_beyond_float16():
    """Why minimobilebert refuses to compute in float16: NoNorm lets activations grow without bound."""
    model = big_activation_model()
    out = model(np.array([[1, 5, 9, 13, 2]])).last_hidden_state
    assert np.abs(out).max() > np.finfo(np.float16).max
    with np.errstate(over="ignore"):
        assert not np.isfinite(out.astype(np.float16)).all()


def test_erf_is_accurate():
    import math

    x = np.linspace(-6, 6, 2001).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in x])
    assert np.abs(F.erf(x) - exact).max() < 2e-7
