"""Bad input to a forward call: a ValueError that names the problem and the fix, before any math runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minimobilebert as mm
from conftest import SMALL

CONFIG = mm.MobileBertConfig(**dict(SMALL, num_hidden_layers=1))
MODEL = mm.MobileBertModel(CONFIG, seed=0)
IDS = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])


@pytest.mark.parametrize("call, message", [
    (lambda: MODEL(IDS.astype(np.float32)), r"integer ids, got dtype float32; convert with input_ids.astype"),
    (lambda: MODEL(IDS.astype(bool)), "integer ids, got dtype bool"),
    (lambda: MODEL(np.array([1, 2, 3])), r"add a batch axis with input_ids\[None, :\]"),
    (lambda: MODEL(IDS[None]), r"shape \(batch, seq\), got 3-D"),
    (lambda: MODEL([[1, 2], [3]]), "rectangular array"),
    (lambda: MODEL(np.array([[1, 99]])), r"holds 99 at position \(0, 1\), outside \[0, 99\) \(vocab_size=99\)"),
    (lambda: MODEL(np.array([[1, -1]])), r"holds -1 at position \(0, 1\)"),
    (lambda: MODEL(IDS, token_type_ids=np.full_like(IDS, 3)), r"token_type_ids holds 3 .*type_vocab_size=3"),
    (lambda: MODEL(np.ones((1, 41), int)), "longer than max_position_embeddings=40; truncate"),
    (lambda: MODEL(IDS, attention_mask=np.ones((2, 3))), r"attention_mask has shape \(2, 3\) but input_ids"),
    (lambda: MODEL(IDS, attention_mask=np.full((2, 4), 2)), "only 0 .* and 1"),
    (lambda: MODEL(IDS, token_type_ids=np.zeros((2, 5), int)), r"token_type_ids has shape \(2, 5\)"),
    (lambda: MODEL(IDS, position_ids=np.zeros((2, 5), int)), r"position_ids has shape \(2, 5\)"),
    (lambda: MODEL(IDS, position_ids=np.full((2, 4), 40)), "max_position_embeddings=40"),
    (lambda: MODEL(np.zeros((2, 0), int)), "every axis must be non-empty"),
    (lambda: mm.MobileBertForMultipleChoice(CONFIG)(IDS), r"shape \(batch, choices, seq\)"),
    (lambda: MODEL([[1, 10**20]]), "integers that fit in int64"),
    (lambda: MODEL([[1, "2"]]), "integer ids, got dtype <U21"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(mm.InputError, match=message):  # an InputError is a ValueError
        call()


def test_lists_and_other_int_dtypes_are_accepted():
    expected = MODEL(IDS).last_hidden_state
    np.testing.assert_array_equal(MODEL(IDS.tolist()).last_hidden_state, expected)
    np.testing.assert_array_equal(MODEL(IDS.astype(np.int32)).last_hidden_state, expected)
    np.testing.assert_array_equal(MODEL(IDS, attention_mask=np.ones((2, 4), bool)).last_hidden_state,
                                  MODEL(IDS, attention_mask=np.ones((2, 4), np.int64)).last_hidden_state)


@settings(max_examples=60, deadline=None)
@given(ids=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                      elements=st.integers(-5, 120)))
def test_fuzzed_ids_either_run_or_raise_value_error(ids):
    """Any integer array either is valid and gives finite outputs of the right shape, or raises ValueError."""
    try:
        out = MODEL(ids)
    except ValueError:
        valid = ids.ndim == 2 and ids.size > 0 and ids.min() >= 0 and ids.max() < CONFIG.vocab_size
        assert not valid, "a valid input was refused"
        return
    assert out.last_hidden_state.shape == (*ids.shape, CONFIG.hidden_size)
    assert np.isfinite(out.last_hidden_state).all()


@settings(max_examples=60, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
       dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int64, np.bool_, np.complex64]),
       width=st.sampled_from([CONFIG.embedding_size, CONFIG.embedding_size + 1]))
def test_fuzzed_inputs_embeds_either_run_or_raise_input_error(shape, dtype, width):
    """inputs_embeds of any shape and dtype: (batch, seq, embedding_size) real floats run and give the
    same as those vectors in float32; anything else is an InputError naming inputs_embeds."""
    shape = (*shape[:-1], width)
    embeds = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    valid = (len(shape) == 3 and width == CONFIG.embedding_size and 0 not in shape
             and shape[1] <= CONFIG.max_position_embeddings and np.dtype(dtype).kind == "f")
    if not valid:
        with pytest.raises(mm.InputError, match="inputs_embeds|sequence length"):
            MODEL(inputs_embeds=embeds)
        return
    out = MODEL(inputs_embeds=embeds).last_hidden_state
    assert out.shape == (*shape[:2], CONFIG.hidden_size) and out.dtype == np.float32
    np.testing.assert_array_equal(out, MODEL(inputs_embeds=embeds.astype(np.float32)).last_hidden_state)


@pytest.mark.parametrize("positions", [["1"], [1.5], ["start"]])
def test_qa_positions_that_are_not_integers_are_named(positions):
    """QA positions go through the same label check as class ids, before they are clipped to the sequence."""
    model = mm.MobileBertForQuestionAnswering(mm.MobileBertConfig(num_hidden_layers=1, vocab_size=99))
    with pytest.raises(mm.InputError, match="start_positions"):
        model(np.array([[1, 2, 3]]), start_positions=positions, end_positions=[1])
    out = model(np.array([[1, 2, 3]]), start_positions=[1], end_positions=[2])
    assert np.isfinite(out.loss)
