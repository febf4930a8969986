"""Parity with Hugging Face transformers (PyTorch, CPU): every class, every config switch, both formats.

Each test builds a random-weight HF model (norm weights and biases randomised too), saves it as
model.safetensors (save_pretrained) or pytorch_model.bin (torch.save of the state dict), loads it with our
loader, runs both on the same padded batch, and compares every output tensor by relative error
(conftest.RELATIVE_TOLERANCE = 1e-4 on max|ours - ref| / max(max|ref|, 1)).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert import functional
from conftest import CONFIG_GRID, SMALL, assert_close, build_hf, random_batch, save_bin

pytestmark = pytest.mark.oracle

HEAD_CLASSES = [
    "MobileBertModel", "MobileBertForPreTraining", "MobileBertForMaskedLM", "MobileBertForNextSentencePrediction",
    "MobileBertForSequenceClassification", "MobileBertForMultipleChoice", "MobileBertForTokenClassification",
    "MobileBertForQuestionAnswering",
]


def load_both(oracle, tmp_path, head_class: str, fmt: str = "safetensors", seed: int = 0, **config_kwargs):
    torch, transformers = oracle
    hf = build_hf(transformers, torch, head_class, seed=seed, **config_kwargs)
    folder = str(tmp_path / f"{head_class}-{fmt}")
    if fmt == "safetensors":
        hf.save_pretrained(folder)
    else:
        save_bin(hf, torch, folder)
    return hf, getattr(mm, head_class).from_pretrained(folder)


def run_hf(hf, torch, **inputs):
    tensors = {k: None if v is None else torch.as_tensor(np.asarray(v)) for k, v in inputs.items()}
    with torch.no_grad():
        return hf(**tensors, output_hidden_states=True, output_attentions=True)


def compare_outputs(ours, ref) -> list[str]:
    """Assert every field of our output against HF's; return the names compared."""
    compared = []
    for field in dataclasses.fields(ours):
        mine, theirs = getattr(ours, field.name), getattr(ref, field.name, None)
        if mine is None:
            assert theirs is None, f"{field.name}: we returned None, HF returned a value"
            continue
        if isinstance(mine, tuple):
            assert len(mine) == len(theirs), f"{field.name}: {len(mine)} tensors vs HF's {len(theirs)}"
            for i, (a, b) in enumerate(zip(mine, theirs)):
                assert_close(a, b.numpy(), f"{field.name}[{i}]")
        else:
            assert_close(mine, theirs.numpy(), field.name)
        compared.append(field.name)
    return compared


def labelled_inputs(head_class: str, rng, config_kwargs: dict, batch: int = 3, seq: int = 12) -> dict:
    """A right-padded batch with token types and the labels this head takes."""
    ids, mask, types = random_batch(rng, config_kwargs["vocab_size"], batch, seq,
                                    config_kwargs.get("type_vocab_size", 2))
    inputs = dict(input_ids=ids, attention_mask=mask, token_type_ids=types)
    token_labels = np.where(rng.random((batch, seq)) < 0.3, rng.integers(0, config_kwargs["vocab_size"],
                                                                          (batch, seq)), -100)
    if head_class == "MobileBertForPreTraining":
        inputs.update(labels=token_labels, next_sentence_label=rng.integers(0, 2, batch))
    elif head_class == "MobileBertForMaskedLM":
        inputs.update(labels=token_labels)
    elif head_class in ("MobileBertForNextSentencePrediction", "MobileBertForSequenceClassification"):
        inputs.update(labels=rng.integers(0, 2, batch))
    elif head_class == "MobileBertForTokenClassification":
        inputs.update(labels=np.where(mask == 1, rng.integers(0, 2, (batch, seq)), -100))
    elif head_class == "MobileBertForQuestionAnswering":
        inputs.update(start_positions=np.array([1, 4, seq + 5])[:batch], end_positions=np.array([2, 9, 3])[:batch])
    elif head_class == "MobileBertForMultipleChoice":
        choices = 2
        stack = lambda a: np.stack([a, np.roll(a, 1, axis=0)], axis=1)  # noqa: E731  [B, T] -> [B, 2, T]
        inputs = {k: stack(v) for k, v in inputs.items()}
        inputs.update(labels=rng.integers(0, choices, batch))
    return inputs


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
@pytest.mark.parametrize("head_class", HEAD_CLASSES)
def test_every_class_matches_hf(oracle, tmp_path, head_class, fmt):
    torch, _ = oracle
    hf, ours = load_both(oracle, tmp_path, head_class, fmt, **SMALL)
    inputs = labelled_inputs(head_class, np.random.default_rng(1), SMALL)
    compared = compare_outputs(ours(**inputs, output_hidden_states=True, output_attentions=True),
                               run_hf(hf, torch, **inputs))
    assert "hidden_states" in compared and "attentions" in compared
    if head_class != "MobileBertModel":
        assert "loss" in compared, "the labelled call must produce a loss"


@pytest.mark.parametrize("name", sorted(functional.ACTIVATIONS))
def test_every_activation_matches_hf(oracle, tmp_path, name):
    """Each hidden_act we accept: the formula against transformers' ACT2FN in float64, element by element
    over [-40, 40] and beyond, then a model with it against HF's (every backend: CI runs this file once
    per backend)."""
    torch, _ = oracle
    from transformers.activations import ACT2FN

    x = np.concatenate([np.linspace(-40, 40, 4001), [-1e30, -100, -87.5, 87.5, 100, 1e30, 0.0]]).astype(np.float32)
    ref = ACT2FN[name](torch.tensor(x, dtype=torch.float64)).numpy().astype(np.float32)  # 1e30 ** 2: inf
    ours = functional.ACTIVATIONS[name](x)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=1e-6, err_msg=name)
    hf, model = load_both(oracle, tmp_path, "MobileBertModel", **dict(SMALL, hidden_act=name))
    inputs = labelled_inputs("MobileBertModel", np.random.default_rng(4), SMALL)
    compare_outputs(model(**inputs, output_hidden_states=True, output_attentions=True), run_hf(hf, torch, **inputs))
    assert_close(model(**inputs).last_hidden_state, run_hf(hf, torch, **inputs).last_hidden_state.numpy(),
                 "fused (the engine under cython)")


@pytest.mark.parametrize("head_class", HEAD_CLASSES)
def test_inputs_embeds_matches_hf(oracle, tmp_path, head_class):
    """Word vectors given instead of ids (HF's inputs_embeds), not equal to any row of the table, through
    every class with its labels; and the table's own rows give what the ids give."""
    torch, _ = oracle
    hf, ours = load_both(oracle, tmp_path, head_class, **SMALL)
    rng = np.random.default_rng(2)
    inputs = labelled_inputs(head_class, rng, SMALL)
    ids = inputs.pop("input_ids")
    looked_up = ours.get_input_embeddings()(ids)  # [B, (C,) T, E]
    embeds = looked_up + 0.05 * rng.standard_normal(looked_up.shape).astype(np.float32)
    compared = compare_outputs(ours(inputs_embeds=embeds, **inputs, output_hidden_states=True,
                                    output_attentions=True),
                               run_hf(hf, torch, inputs_embeds=embeds, **inputs))
    assert "hidden_states" in compared and "attentions" in compared
    from_ids, from_vectors = ours(ids, **inputs), ours(inputs_embeds=looked_up.astype(np.float64), **inputs)
    for field in from_ids.keys():
        assert_close(from_vectors[field], from_ids[field], field, tol=1e-5)


# With embedding_size == hidden_size, HF's masked-LM head builds a zero-width extra dense layer, and torch
# says initialising it is a no-op: expected for that configuration, not a problem of ours.
@pytest.mark.parametrize("name", sorted(CONFIG_GRID))
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_config_grid_matches_hf(oracle, tmp_path, name):
    """Every switch of MobileBertConfig, through the pre-training heads (MLM + NSP + pooler)."""
    torch, _ = oracle
    kwargs = CONFIG_GRID[name]
    hf, ours = load_both(oracle, tmp_path, "MobileBertForPreTraining", **kwargs)
    inputs = labelled_inputs("MobileBertForPreTraining", np.random.default_rng(2), kwargs, batch=4, seq=15)
    compare_outputs(ours(**inputs, output_hidden_states=True, output_attentions=True), run_hf(hf, torch, **inputs))


def test_explicit_position_ids_match_hf(oracle, tmp_path):
    torch, _ = oracle
    hf, ours = load_both(oracle, tmp_path, "MobileBertModel", **SMALL)
    rng = np.random.default_rng(3)
    ids, mask, types = random_batch(rng, SMALL["vocab_size"], 2, 9)
    positions = rng.integers(0, SMALL["max_position_embeddings"], (2, 9))
    compare_outputs(ours(ids, mask, types, positions, output_hidden_states=True, output_attentions=True),
                    run_hf(hf, torch, input_ids=ids, attention_mask=mask, token_type_ids=types, position_ids=positions))
    # A single row of positions broadcasts over the batch, as in HF.
    compare_outputs(ours(ids, mask, types, positions[:1], output_hidden_states=True, output_attentions=True),
                    run_hf(hf, torch, input_ids=ids, attention_mask=mask, token_type_ids=types,
                           position_ids=positions[:1]))


@pytest.mark.parametrize("problem", ["regression", "single_label_classification", "multi_label_classification"])
def test_sequence_classification_losses_match_hf(oracle, tmp_path, problem):
    torch, _ = oracle
    rng = np.random.default_rng(4)
    num_labels = 1 if problem == "regression" else 3
    kwargs = dict(SMALL, num_labels=num_labels)
    hf, ours = load_both(oracle, tmp_path, "MobileBertForSequenceClassification", **kwargs)
    ids, mask, types = random_batch(rng, SMALL["vocab_size"], 3, 8)
    if problem == "regression":
        labels = rng.normal(size=3).astype(np.float32)
    elif problem == "single_label_classification":
        labels = rng.integers(0, num_labels, 3)
    else:
        labels = (rng.random((3, num_labels)) < 0.5).astype(np.float32)
    ref = run_hf(hf, torch, input_ids=ids, attention_mask=mask, labels=labels)
    assert hf.config.problem_type == problem  # HF inferred the same kind of problem from the labels
    out = ours(ids, attention_mask=mask, labels=labels)
    assert ours.problem_type(labels) == problem
    assert_close(out.loss, ref.loss.numpy(), "loss")
    assert_close(out.logits, ref.logits.numpy(), "logits")


def test_sdpa_attention_matches_too(oracle, tmp_path):
    """HF's default attention kernel (SDPA) agrees with its eager one, and with us."""
    torch, transformers = oracle
    hf, ours = load_both(oracle, tmp_path, "MobileBertModel", **SMALL)
    folder = str(tmp_path / "sdpa")
    hf.save_pretrained(folder)
    sdpa = transformers.MobileBertModel.from_pretrained(folder, attn_implementation="sdpa").eval()
    ids, mask, types = random_batch(np.random.default_rng(5), SMALL["vocab_size"], 3, 10)
    with torch.no_grad():
        ref = sdpa(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    assert_close(ours(ids, mask, types).last_hidden_state, ref.last_hidden_state.numpy(), "last_hidden_state")


def test_published_configuration_matches_hf(oracle, tmp_path):
    """The full 24-layer published configuration (random weights), padded batch, through the MLM/NSP heads."""
    torch, transformers = oracle
    published = mm.MobileBertConfig.published().to_dict()
    kwargs = {k: v for k, v in published.items() if k in transformers.MobileBertConfig().to_dict()
              and k not in ("architectures", "id2label", "label2id", "true_hidden_size")}
    hf, ours = load_both(oracle, tmp_path, "MobileBertForPreTraining", **kwargs)
    assert ours.config.num_hidden_layers == 24 and ours.config.classifier_activation is False
    inputs = labelled_inputs("MobileBertForPreTraining", np.random.default_rng(6), kwargs, batch=2, seq=24)
    compare_outputs(ours(**inputs, output_hidden_states=True, output_attentions=True), run_hf(hf, torch, **inputs))


def test_base_model_loads_head_checkpoint_and_back(oracle, tmp_path):
    """HF's prefix rule: MobileBertModel reads a ForPreTraining checkpoint (drops cls.*), and a head class
    reads a bare MobileBertModel checkpoint (its head is newly initialised, with a warning)."""
    torch, _ = oracle
    hf, _ = load_both(oracle, tmp_path, "MobileBertForPreTraining", **SMALL)
    folder = str(tmp_path / "pretraining")
    hf.save_pretrained(folder)
    base = mm.MobileBertModel.from_pretrained(folder)
    ids, mask, _ = random_batch(np.random.default_rng(7), SMALL["vocab_size"], 2, 8)
    ref = run_hf(hf.mobilebert, torch, input_ids=ids, attention_mask=mask)
    assert_close(base(ids, mask).last_hidden_state, ref.last_hidden_state.numpy(), "last_hidden_state")

    base_folder = str(tmp_path / "base")
    hf.mobilebert.save_pretrained(base_folder)
    with pytest.warns(mm.NewlyInitialisedWarning, match="newly initialised"):
        qa = mm.MobileBertForQuestionAnswering.from_pretrained(base_folder)
    assert set(k for k in qa.params if not k.startswith("mobilebert.")) == {"qa_outputs.weight", "qa_outputs.bias"}


def test_our_save_pretrained_loads_in_transformers(oracle, tmp_path):
    """Round trip the other way: a checkpoint we write is a valid HF checkpoint with the same outputs."""
    torch, transformers = oracle
    ours = mm.MobileBertForMaskedLM(mm.MobileBertConfig(**SMALL), seed=3)
    folder = str(tmp_path / "ours")
    ours.save_pretrained(folder)
    hf = transformers.MobileBertForMaskedLM.from_pretrained(folder, attn_implementation="eager").eval()
    ids, mask, _ = random_batch(np.random.default_rng(8), SMALL["vocab_size"], 2, 8)
    compare_outputs(ours(ids, mask, output_hidden_states=True, output_attentions=True),
                    run_hf(hf, torch, input_ids=ids, attention_mask=mask))


@pytest.fixture
def engine_calls(monkeypatch):
    """Run under the cython backend and count the compiled engine's encode() calls (the engine must load:
    skipped on a machine without it, a failure under CI)."""
    import os

    from minimobilebert import backend

    if "cython" not in mm.available_backends():
        pytest.skip(f"the cython backend is not built: {backend.unavailable_backends().get('cython')}")
    why = backend.unavailable_backends(mm.MobileBertConfig(**SMALL)).get("engine")
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the compiled engine must load under CI: {why}")
        pytest.skip(f"the compiled engine is not available: {why}")
    engine, calls = backend.engine(), []
    real = engine.encode

    def spy(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "encode", spy)
    with mm.use_backend("cython"):
        yield calls


# Every switch of the config through the compiled engine (backend "cython", no hidden states or attentions
# asked for, so the model hands the whole encoder to it), on a padded batch, against HF.
@pytest.mark.parametrize("name", sorted(CONFIG_GRID))
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_engine_path_matches_hf(oracle, tmp_path, engine_calls, name):
    torch, _ = oracle
    kwargs = CONFIG_GRID[name]
    hf, ours = load_both(oracle, tmp_path, "MobileBertForPreTraining", **kwargs)
    inputs = labelled_inputs("MobileBertForPreTraining", np.random.default_rng(9), kwargs, batch=3, seq=13)
    out = ours(**inputs)
    assert len(engine_calls) == 1, "the forward did not take the engine path"
    ref = run_hf(hf, torch, **inputs)
    for field in ("loss", "prediction_logits", "seq_relationship_logits"):
        assert_close(getattr(out, field), getattr(ref, field).numpy(), f"{name} {field}")
    assert out.hidden_states is None and out.attentions is None


def test_engine_path_every_head_matches_hf(oracle, tmp_path, engine_calls):
    torch, _ = oracle
    for head_class in HEAD_CLASSES:
        hf, ours = load_both(oracle, tmp_path, head_class, **SMALL)
        inputs = labelled_inputs(head_class, np.random.default_rng(10), SMALL)
        before = len(engine_calls)
        out = ours(**inputs)
        assert len(engine_calls) == before + 1, f"{head_class} did not take the engine path"
        ref = run_hf(hf, torch, **inputs)
        for field in dataclasses.fields(out):
            mine = getattr(out, field.name)
            if mine is not None and not isinstance(mine, tuple):
                assert_close(mine, getattr(ref, field.name).numpy(), f"{head_class} {field.name}")
