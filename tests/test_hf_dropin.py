"""Hugging Face inference code runs on minimobilebert by changing the import (docs/hf-compat.md).

Each test calls the API exactly as transformers code does: model outputs as ModelOutput, config keyword
arguments and attributes, from_pretrained overrides, save_pretrained read by transformers, and a whole
inference script run once with transformers and once with minimobilebert. HF's own MobileBERT tests
(tests/models/mobilebert/test_modeling_mobilebert.py, tests/test_configuration_common.py in
huggingface/transformers) are adapted at the end with NumPy inputs.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import warnings

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert import ConfigError, InputError, MobileBertConfig
from minimobilebert.outputs import BaseModelOutputWithPooling, MaskedLMOutput

from conftest import SMALL, assert_close, build_hf, random_batch

TINY = dict(SMALL, num_hidden_layers=1)
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def torch_inputs(torch, **arrays):
    return {k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items() if v is not None}


# ------------------------------------------------------------------------------------------------- outputs


def test_output_indexes_like_a_model_output():
    logits, hidden = np.ones((1, 3, 5), np.float32), (np.zeros((1, 3, 4)), np.ones((1, 3, 4)))
    out = MaskedLMOutput(logits=logits, hidden_states=hidden)
    assert out[0] is logits and out[1] is hidden and out[-1] is hidden  # None fields skipped
    assert out["logits"] is logits and out.logits is logits and out.loss is None
    with pytest.raises(KeyError):
        out["loss"]  # a None field is not a key, as in HF
    assert len(out) == 2 and list(out.keys()) == ["logits", "hidden_states"]
    assert list(out.values())[0] is logits and dict(out.items())["hidden_states"] is hidden
    assert "logits" in out and "loss" not in out and "attentions" not in out
    assert out.to_tuple() == (logits, hidden) and out[:1] == (logits,)
    first, second = out  # unpacking a dict gives its keys: HF's ModelOutput does the same
    assert (first, second) == ("logits", "hidden_states")
    (only,) = BaseModelOutputWithPooling(last_hidden_state=logits).to_tuple()
    assert only is logits
    out.loss = np.float32(2.0)  # setting a field makes it a key
    assert out["loss"] == 2.0 and len(out) == 3
    back = pickle.loads(pickle.dumps(out))
    assert type(back) is MaskedLMOutput and list(back.keys()) == ["loss", "logits", "hidden_states"]
    with pytest.raises(TypeError):
        out.pop("logits")


@pytest.mark.oracle
@pytest.mark.parametrize("present", [("logits",), ("loss", "logits"), ("logits", "attentions"),
                                     ("loss", "logits", "hidden_states", "attentions")])
def test_output_protocol_equals_transformers(oracle, present):
    """keys, len, integer and string indexing, membership: the same answers as HF's ModelOutput."""
    torch, transformers = oracle
    from transformers.modeling_outputs import MaskedLMOutput as HFMaskedLMOutput

    values = {"loss": np.float32(1.5), "logits": np.arange(6, dtype=np.float32).reshape(1, 2, 3),
              "hidden_states": (np.ones((1, 2, 3), np.float32),), "attentions": (np.zeros((1, 1, 2, 2), np.float32),)}
    ours = MaskedLMOutput(**{k: values[k] for k in present})
    theirs = HFMaskedLMOutput(**{k: (tuple(torch.as_tensor(a) for a in v) if isinstance(v, tuple)
                                     else torch.as_tensor(v)) for k, v in values.items() if k in present})
    assert list(ours.keys()) == list(theirs.keys()) and len(ours) == len(theirs)
    for name in ("loss", "logits", "hidden_states", "attentions"):
        assert (name in ours) == (name in theirs)
        if name not in present:
            with pytest.raises(KeyError):
                theirs[name]
            with pytest.raises(KeyError):
                ours[name]
    for i in range(len(theirs)):
        mine, ref = ours[i], theirs[i]
        if isinstance(ref, tuple):
            assert len(mine) == len(ref)
        else:
            np.testing.assert_array_equal(mine, ref.numpy())


# ------------------------------------------------------------------------------------------------- forward


def test_config_output_flags_are_forward_defaults():
    config = MobileBertConfig(**TINY, output_hidden_states=True)
    model = mm.MobileBertForMaskedLM(config)
    ids = np.array([[5, 6, 7]])
    out = model(ids)
    assert len(out.hidden_states) == config.num_hidden_layers + 1 and out.attentions is None
    assert model(ids, output_hidden_states=False).hidden_states is None  # the argument wins over the config
    config.output_attentions = True
    assert len(model(ids).attentions) == 1
    config.return_dict = False
    plain = model(ids)
    assert type(plain) is tuple and len(plain) == 3  # logits, hidden_states, attentions
    assert isinstance(model(ids, return_dict=True), MaskedLMOutput)
    np.testing.assert_array_equal(plain[0], model(ids, return_dict=True).logits)


@pytest.mark.oracle
@pytest.mark.parametrize("head_class, labels", [
    ("MobileBertModel", {}),
    ("MobileBertForSequenceClassification", {"labels": np.array([0, 2, 1])}),
    ("MobileBertForQuestionAnswering", {"start_positions": np.array([1, 2, 0]), "end_positions": np.array([3, 2, 4])}),
])
def test_return_dict_false_is_hfs_tuple(oracle, tmp_path, head_class, labels):
    torch, transformers = oracle
    hf = build_hf(transformers, torch, head_class, **dict(TINY, num_labels=3) if "Sequence" in head_class else TINY)
    hf.save_pretrained(tmp_path)
    ours = getattr(mm, head_class).from_pretrained(tmp_path)
    ids, mask, types = random_batch(np.random.default_rng(0), TINY["vocab_size"], 3, 9)
    with torch.no_grad():
        ref = hf(**torch_inputs(torch, input_ids=ids, attention_mask=mask, **labels), return_dict=False,
                 output_hidden_states=True)
    mine = ours(ids, attention_mask=mask, **labels, return_dict=False, output_hidden_states=True)
    assert type(mine) is tuple and len(mine) == len(ref)
    for a, b in zip(mine, ref):
        if isinstance(b, tuple):
            assert len(a) == len(b)
            assert_close(a[-1], b[-1].numpy())
        else:
            assert_close(a, b.numpy())


def test_forward_refuses_what_it_cannot_honour():
    model = mm.MobileBertModel(MobileBertConfig(**TINY))
    ids = np.array([[1, 2, 3]])
    assert model(ids, head_mask=None).last_hidden_state.shape == (1, 3, TINY["hidden_size"])
    with pytest.raises(InputError, match="unexpected argument 'input_idz'.*input_ids, attention_mask"):
        model(input_idz=ids)
    with pytest.raises(InputError, match="input_ids and inputs_embeds were both given"):
        model(ids, inputs_embeds=np.zeros((1, 3, TINY["embedding_size"]), np.float32))
    with pytest.raises(InputError, match="width 7.*embedding_size=%d" % TINY["embedding_size"]):
        model(inputs_embeds=np.zeros((1, 3, 7), np.float32))
    with pytest.raises(InputError, match="must be a rectangular array of floats, got dtype int64"):
        model(inputs_embeds=np.zeros((1, 3, TINY["embedding_size"]), np.int64))
    with pytest.raises(InputError, match=r"shape \(batch, seq, embedding_size\), got 2-D"):
        model(inputs_embeds=np.zeros((3, TINY["embedding_size"]), np.float32))
    with pytest.raises(InputError, match="attention_mask has shape .* but inputs_embeds has"):
        model(inputs_embeds=np.zeros((1, 3, TINY["embedding_size"])), attention_mask=np.ones((1, 4), int))
    with pytest.raises(InputError, match="head_mask"):
        model(ids, head_mask=np.ones((1, 4)))
    with pytest.raises(InputError, match="input_ids is required"):
        model(attention_mask=np.ones((1, 3), int))


@pytest.mark.oracle
def test_question_answering_with_other_than_two_labels_refuses_as_transformers(oracle, tmp_path):
    """transformers builds qa_outputs with num_labels outputs and fails in the forward ("too many values to
    unpack") unless there are two; we refused nothing before and returned columns 0 and 1 as start and end."""
    torch, transformers = oracle
    hf = build_hf(transformers, torch, "MobileBertForQuestionAnswering", **dict(TINY, num_labels=3))
    hf.save_pretrained(tmp_path)
    ids = np.array([[1, 2, 3]])
    with pytest.raises(ValueError):
        hf(torch.as_tensor(ids))
    ours = mm.MobileBertForQuestionAnswering.from_pretrained(tmp_path)
    assert ours.p["qa_outputs"]["weight"].shape[0] == 3
    with pytest.raises(ConfigError, match="needs num_labels=2 .* has 3; set num_labels=2"):
        ours(ids)


@pytest.mark.oracle
@pytest.mark.parametrize("head_class, tied, new_size", [
    ("MobileBertForMaskedLM", True, TINY["vocab_size"] + 7),
    ("MobileBertForMaskedLM", True, TINY["vocab_size"] - 10),
    ("MobileBertForMaskedLM", False, TINY["vocab_size"] + 3),
    ("MobileBertForPreTraining", True, TINY["vocab_size"] + 5),
    ("MobileBertModel", True, TINY["vocab_size"] + 2),
])
def test_resize_token_embeddings_as_transformers(oracle, tmp_path, head_class, tied, new_size):
    """Both libraries resize the same checkpoint and run ids that reach the new rows: the same outputs (HF's
    new rows carry noise of ~3e-5 of the spread around the mean, far below the tolerance), the same
    config, and transformers reads our resized folder back to the same logits."""
    torch, transformers = oracle
    hf = build_hf(transformers, torch, head_class, **dict(TINY, tie_word_embeddings=tied))
    hf.save_pretrained(tmp_path / "before")
    ours = getattr(mm, head_class).from_pretrained(tmp_path / "before")
    if hf.get_output_embeddings() is not None:  # the decoder as HF shows it: weight and bias
        for part in ("weight", "bias"):
            np.testing.assert_array_equal(getattr(ours.get_output_embeddings(), part),
                                          getattr(hf.get_output_embeddings(), part).detach().numpy())
    with torch.no_grad():  # untied, HF's forward adds the decoder's own bias, not cls.predictions.bias
        assert_close(ours(np.array([[3, 4, 5]]))[0], hf(torch.as_tensor([[3, 4, 5]]))[0].numpy(), "before")
    torch.manual_seed(0)
    hf.resize_token_embeddings(new_size)
    table = ours.resize_token_embeddings(new_size)
    if hf.get_output_embeddings() is not None:  # HF's test_resize_embeddings_untied asks this of both
        decoder = ours.get_output_embeddings()
        assert decoder.weight.shape[0] == decoder.bias.shape[0] == new_size == decoder.out_features
    assert table.weight.shape == (new_size, TINY["embedding_size"]) and ours.config.vocab_size == new_size
    assert hf.config.vocab_size == new_size
    ids = np.array([[2, new_size - 1, 5, new_size - 2, 1], [new_size - 3, 4, 3, 2, 0]])
    with torch.no_grad():
        ref = hf(torch.as_tensor(ids))
    mine = ours(ids)
    for key in mine.keys():
        assert_close(mine[key], ref[key].numpy(), key)
    ours.save_pretrained(tmp_path / "after")
    back = getattr(transformers, head_class).from_pretrained(tmp_path / "after").eval()
    with torch.no_grad():
        assert_close(mine[0], back(torch.as_tensor(ids))[0].numpy(), "reloaded by transformers", tol=1e-5)


def test_resize_token_embeddings_options():
    model = mm.MobileBertForMaskedLM(MobileBertConfig(**TINY), seed=1)
    before = {k: v.copy() for k, v in model.params.items()}
    assert model.resize_token_embeddings().weight is model.get_input_embeddings().weight  # nothing asked: unchanged
    model.resize_token_embeddings(pad_to_multiple_of=64)
    size = -(-TINY["vocab_size"] // 64) * 64
    assert model.config.vocab_size == size and model.params["cls.predictions.bias"].shape == (size,)
    model = mm.MobileBertForMaskedLM(MobileBertConfig(**TINY), seed=1)
    model.resize_token_embeddings(TINY["vocab_size"] + 4, mean_resizing=False)
    word = model.params["mobilebert.embeddings.word_embeddings.weight"]
    old = before["mobilebert.embeddings.word_embeddings.weight"]
    np.testing.assert_array_equal(word[: len(old)], old)  # old rows kept
    assert not np.allclose(word[len(old):], old.mean(0))  # drawn, not the mean
    np.testing.assert_array_equal(model.params["cls.predictions.bias"][len(old):], 0)
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(InputError, match="new_num_tokens must be a positive integer"):
            model.resize_token_embeddings(bad)
    with pytest.raises(ConfigError, match="vocab_size"):
        model.resize_token_embeddings(10**9)  # over the config's cap: nothing changed
    assert model.config.vocab_size == TINY["vocab_size"] + 4


def test_add_pooling_layer_false_builds_no_pooler(tmp_path):
    config = MobileBertConfig(**TINY)
    pooled = mm.MobileBertModel(config, seed=3)
    bare = mm.MobileBertModel(config, add_pooling_layer=False, seed=3)
    assert not any(k.startswith("pooler.") for k in bare.params) and "pooler.dense.weight" in pooled.params
    ids = np.array([[4, 5, 6, 7]])
    out = bare(ids)
    assert out.pooler_output is None and "pooler_output" not in out and len(out) == 1
    np.testing.assert_array_equal(out[0], pooled(ids)[0])
    assert mm.MobileBertModel(config, False).params.keys() == bare.params.keys()  # HF's positional form
    pooled.save_pretrained(tmp_path)
    loaded = mm.MobileBertModel.from_pretrained(tmp_path, add_pooling_layer=False)
    assert loaded(ids).pooler_output is None
    with pytest.raises(InputError, match="MobileBertModel only"):
        mm.MobileBertForMaskedLM(config, add_pooling_layer=False)


# ------------------------------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def hf_classifier_folder(tmp_path_factory, oracle):
    """A transformers MobileBertForSequenceClassification with named labels, saved as transformers saves it,
    with the BERT uncased vocabulary (so the tokenizers of both libraries can read the folder)."""
    torch, transformers = oracle
    folder = tmp_path_factory.mktemp("hf-classifier")
    config = dict(TINY, vocab_size=30522, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    hf = build_hf(transformers, torch, "MobileBertForSequenceClassification", seed=4, **config)
    hf.save_pretrained(folder)
    mm.MobileBertTokenizer().save_pretrained(folder)
    return str(folder)


@pytest.mark.oracle
def test_from_pretrained_overrides_like_transformers(oracle, hf_classifier_folder, tmp_path):
    torch, transformers = oracle
    kwargs = dict(output_hidden_states=True, classifier_dropout=0.2, problem_type="single_label_classification")
    ours = mm.MobileBertForSequenceClassification.from_pretrained(hf_classifier_folder, **kwargs)
    hf = transformers.MobileBertForSequenceClassification.from_pretrained(hf_classifier_folder, **kwargs)
    for name in ("output_hidden_states", "classifier_dropout", "problem_type", "num_labels", "id2label", "label2id"):
        assert getattr(ours.config, name) == getattr(hf.config, name), name
    ids = np.array([[101, 7592, 2088, 102]])
    assert len(ours(ids).hidden_states) == TINY["num_hidden_layers"] + 1
    # a new number of labels on a folder without a classifier: new LABEL_i names, the head newly initialised
    mm.MobileBertModel.from_pretrained(hf_classifier_folder).save_pretrained(tmp_path)
    with pytest.warns(mm.NewlyInitialisedWarning, match="newly initialised"):
        five = mm.MobileBertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    hf_five = transformers.MobileBertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    assert five.config.id2label == hf_five.config.id2label and five(ids).logits.shape == (1, 5)
    named = mm.MobileBertForSequenceClassification.from_pretrained(tmp_path, id2label={0: "no", 1: "yes"})
    assert named.config.label2id == {"no": 0, "yes": 1}
    # the classifier of a different size: HF's ignore_mismatched_sizes
    with pytest.warns(mm.NewlyInitialisedWarning, match=r"shapes did not match \(ignore_mismatched_sizes=True\): classifier.bias"):
        resized = mm.MobileBertForSequenceClassification.from_pretrained(hf_classifier_folder, num_labels=7,
                                                                         ignore_mismatched_sizes=True)
    assert resized.config.num_labels == 7 and resized.params["classifier.weight"].shape[0] == 7


def test_from_pretrained_subfolder_state_dict_and_dtype(tmp_path):
    model = mm.MobileBertForMaskedLM(MobileBertConfig(**TINY), seed=2)
    model.save_pretrained(tmp_path / "repo" / "mlm")
    ids = np.array([[3, 4, 5]])
    expected = model(ids).logits
    loaded = mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="mlm")
    np.testing.assert_array_equal(loaded(ids).logits, expected)
    assert loaded.config.name_or_path == str(tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="no subfolder 'nope'"):
        mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="nope")
    config = MobileBertConfig.from_pretrained(tmp_path / "repo", subfolder="mlm")
    assert config.architectures == ["MobileBertForMaskedLM"]
    from_state = mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="mlm",
                                                          state_dict=model.state_dict())
    np.testing.assert_array_equal(from_state(ids).logits, expected)
    with pytest.warns(UserWarning, match="float32 only"):
        half = mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="mlm", torch_dtype="float16")
    assert half.dtype == np.float32 and half.params["cls.predictions.bias"].dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 and "auto" are silent, as are the torch-only loading options
        mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="mlm", dtype="auto",
                                                 low_cpu_mem_usage=True, device_map="cpu", attn_implementation="eager")
        mm.MobileBertForMaskedLM.from_pretrained(tmp_path / "repo", subfolder="mlm", dtype=np.float32)


def test_unknown_options_name_the_supported_ones(tmp_path):
    model = mm.MobileBertModel(MobileBertConfig(**TINY))
    model.save_pretrained(tmp_path)
    with pytest.raises(InputError, match="unknown keyword argument.*num_labal.*config overrides"):
        mm.MobileBertModel.from_pretrained(tmp_path, num_labal=3)
    with pytest.raises(InputError, match="device_map='cuda'.*CPU"):
        mm.MobileBertModel.from_pretrained(tmp_path, device_map="cuda")
    with pytest.raises(InputError, match="from_tf is not supported"):
        mm.MobileBertModel.from_pretrained(tmp_path, from_tf=True)
    with pytest.raises(InputError, match="safe_serialization=False"):
        model.save_pretrained(tmp_path, safe_serialization=False)
    with pytest.raises(InputError, match="unknown keyword argument"):
        model.save_pretrained(tmp_path, shard=2)
    with pytest.raises(ConfigError, match="needs a MobileBertConfig"):
        mm.MobileBertModel({"hidden_size": 64})
    config, unused = MobileBertConfig.from_pretrained(tmp_path, hidden_act="gelu", foo=1, return_unused_kwargs=True)
    assert config.hidden_act == "gelu" and unused == {"foo": 1}


def test_model_methods_a_script_calls():
    config = MobileBertConfig(**TINY)
    model = mm.MobileBertForMaskedLM(config)
    assert model.eval() is model and model.to("cpu") is model and model.cpu() is model and not model.training
    assert model.config is config and model.device == "cpu" and model.dtype == np.float32
    embeddings = model.get_input_embeddings()
    assert embeddings.weight is model.params["mobilebert.embeddings.word_embeddings.weight"]
    assert (embeddings.num_embeddings, embeddings.embedding_dim) == (TINY["vocab_size"], TINY["embedding_size"])
    np.testing.assert_array_equal(embeddings(np.array([[2, 3]])), embeddings.weight[[[2, 3]]])
    total = sum(v.size for v in model.params.values())
    tables = sum(v.size for k, v in model.params.items() if k.endswith("_embeddings.weight"))
    assert model.num_parameters() == total and model.num_parameters(exclude_embeddings=True) == total - tables
    assert dict(model.named_parameters()).keys() == model.params.keys()
    ids = np.array([[2, 3, 4]])
    with pytest.warns(UserWarning, match="inference only"):
        assert model.train() is model and model.training  # recorded, as torch; no dropout is ever applied
    np.testing.assert_array_equal(model(ids).logits, model.eval()(ids).logits)
    assert not model.training and model.train(False) is model and not model.training
    with pytest.raises(InputError, match="CPU in float32 only"):
        model.to("cuda")


@pytest.mark.oracle
@pytest.mark.parametrize("head_class", ["MobileBertForMaskedLM", "MobileBertForTokenClassification",
                                        "MobileBertForPreTraining"])
def test_save_pretrained_is_loaded_by_transformers(oracle, tmp_path, head_class):
    torch, transformers = oracle
    config = MobileBertConfig(**dict(TINY, hidden_act="gelu"), id2label={0: "O", 1: "B-PER", 2: "I-PER"},
                              my_note="kept")
    ours = getattr(mm, head_class)(config, seed=7)
    rng = np.random.default_rng(1)
    ours.params.update({k: (v + 0.1 * rng.standard_normal(v.shape)).astype(np.float32)
                        for k, v in ours.params.items() if "LayerNorm" in k or k.endswith("bias")})
    ours.save_pretrained(tmp_path)
    hf = getattr(transformers, head_class).from_pretrained(tmp_path).eval()
    assert hf.config.id2label == config.id2label and hf.config.my_note == "kept" and hf.config.hidden_act == "gelu"
    ids, mask, types = random_batch(rng, TINY["vocab_size"], 2, 8)
    with torch.no_grad():
        ref = hf(**torch_inputs(torch, input_ids=ids, attention_mask=mask, token_type_ids=types))
    mine = getattr(mm, head_class).from_pretrained(tmp_path)(ids, attention_mask=mask, token_type_ids=types)
    assert list(mine.keys()) == list(ref.keys())
    for key in ref.keys():
        assert_close(mine[key], ref[key].numpy(), key)


# ------------------------------------------------------------------------------------------------- a whole script

# A transformers-style inference script. Only IMPORTS differs between the two runs: the library, and what the
# tokenizer returns for that library's model (torch tensors for transformers, NumPy arrays for ours).
SCRIPT = '''
{imports}
import numpy as np

folder = FOLDER
config = MobileBertConfig.from_pretrained(folder)
config.output_hidden_states = True
model = MobileBertForSequenceClassification.from_pretrained(folder, config=config)
model.eval()
tokenizer = MobileBertTokenizer.from_pretrained(folder)

texts = ["The film was a delight from start to finish.", "I would not watch it again.", "It was fine."]
batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors=TENSORS)
outputs = model(**batch)

logits = np.asarray(outputs[0])
same_logits = np.asarray(outputs["logits"])
probs = np.exp(logits - logits.max(-1, keepdims=True))
probs = probs / probs.sum(-1, keepdims=True)
predictions = [model.config.id2label[int(i)] for i in probs.argmax(-1)]
label_ids = [model.config.label2id[p] for p in predictions]
hidden_states = outputs.hidden_states
cls_vectors = np.asarray(hidden_states[-1])[:, 0]
keys = list(outputs.keys())
plain = model(**batch, return_dict=False)

model.save_pretrained(SAVED)
tokenizer.save_pretrained(SAVED)
reloaded = MobileBertForSequenceClassification.from_pretrained(SAVED, output_attentions=True)
again = reloaded(**batch)
encoder = MobileBertModel.from_pretrained(SAVED, add_pooling_layer=False)
encoded = encoder(**batch)

RESULT = dict(
    probs=probs, same=bool(np.array_equal(logits, same_logits)), predictions=predictions, label_ids=label_ids,
    num_labels=model.config.num_labels, num_hidden=len(hidden_states), cls_vectors=cls_vectors, keys=keys,
    num_outputs=len(outputs), plain_len=len(plain), plain_logits=np.asarray(plain[0]),
    again_logits=np.asarray(again.logits), again_attentions=len(again.attentions),
    encoded=np.asarray(encoded[0]), encoded_keys=list(encoded.keys()), parameters=model.num_parameters(),
    input_ids=np.asarray(batch["input_ids"]),
)
'''
IMPORTS = {
    "transformers": "import torch\ntorch.set_grad_enabled(False)\nfrom transformers import MobileBertConfig, "
                    "MobileBertForSequenceClassification, MobileBertModel, MobileBertTokenizer\nTENSORS = 'pt'",
    "minimobilebert": "from minimobilebert import MobileBertConfig, MobileBertForSequenceClassification, "
                      "MobileBertModel, MobileBertTokenizer\nTENSORS = 'np'",
}


def run_script(library: str, folder: str, saved: str) -> dict:
    namespace = {"FOLDER": folder, "SAVED": saved}
    exec(compile(SCRIPT.format(imports=IMPORTS[library]), f"<inference script on {library}>", "exec"), namespace)
    return namespace["RESULT"]


@pytest.mark.oracle
def test_transformers_inference_script_runs_unchanged(oracle, hf_classifier_folder, tmp_path):
    torch, _ = oracle
    try:
        theirs = run_script("transformers", hf_classifier_folder, str(tmp_path / "theirs"))
    finally:
        torch.set_grad_enabled(True)
    ours = run_script("minimobilebert", hf_classifier_folder, str(tmp_path / "ours"))
    np.testing.assert_array_equal(ours["input_ids"], theirs["input_ids"])
    for key in ("same", "predictions", "label_ids", "num_labels", "num_hidden", "keys", "num_outputs", "plain_len",
                "again_attentions", "encoded_keys", "parameters"):
        assert ours[key] == theirs[key], key
    for key in ("probs", "cls_vectors", "plain_logits", "again_logits", "encoded"):
        assert_close(ours[key], theirs[key], key)
    assert set(ours["predictions"]) <= set(LABELS.values()) and ours["keys"] == ["logits", "hidden_states"]
    # each library reads the folder the other one saved
    import transformers

    hf_back = transformers.MobileBertForSequenceClassification.from_pretrained(tmp_path / "ours")
    mm_back = mm.MobileBertForSequenceClassification.from_pretrained(tmp_path / "theirs")
    ids = theirs["input_ids"]
    with torch.no_grad():
        ref = hf_back(torch.as_tensor(ids)).logits.numpy()
    assert_close(mm_back(ids).logits, ref, "cross-loaded logits")
    assert hf_back.config.id2label == mm_back.config.id2label == LABELS


# ------------------------------------------------------------------------------------------------- HF's own tests
# Adapted from huggingface/transformers tests/models/mobilebert/test_modeling_mobilebert.py (MobileBertModelTester):
# the same configuration and calls, NumPy inputs instead of torch tensors.

HF_TESTER = dict(vocab_size=99, hidden_size=64, embedding_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=37, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=16, is_decoder=False, initializer_range=0.02)
BATCH, SEQ, NUM_LABELS, NUM_CHOICES = 13, 7, 3, 4


@pytest.fixture
def tester_inputs():
    rng = np.random.default_rng(0)
    input_ids = rng.integers(0, 99, (BATCH, SEQ))
    input_mask = rng.integers(0, 2, (BATCH, SEQ))
    input_mask[:, -1] = 1  # HF's random_attention_mask keeps the last token
    token_type_ids = rng.integers(0, 16, (BATCH, SEQ))
    sequence_labels = rng.integers(0, 2, (BATCH,))
    token_labels = rng.integers(0, NUM_LABELS, (BATCH, SEQ))
    choice_labels = rng.integers(0, NUM_CHOICES, (BATCH,))
    return MobileBertConfig(**HF_TESTER), input_ids, token_type_ids, input_mask, sequence_labels, token_labels, \
        choice_labels


def test_hf_model_tester_calls(tester_inputs):
    config, input_ids, token_type_ids, input_mask, sequence_labels, token_labels, choice_labels = tester_inputs
    model = mm.MobileBertModel(config=config)
    model.eval()
    model(input_ids, attention_mask=input_mask, token_type_ids=token_type_ids)
    model(input_ids, token_type_ids=token_type_ids)
    result = model(input_ids)
    assert result.last_hidden_state.shape == (BATCH, SEQ, 64) and result.pooler_output.shape == (BATCH, 64)

    result = mm.MobileBertForMaskedLM(config=config).eval()(input_ids, attention_mask=input_mask,
                                                            token_type_ids=token_type_ids, labels=token_labels)
    assert result.logits.shape == (BATCH, SEQ, 99) and np.isfinite(result.loss)

    result = mm.MobileBertForNextSentencePrediction(config=config)(
        input_ids, attention_mask=input_mask, token_type_ids=token_type_ids, labels=sequence_labels)
    assert result.logits.shape == (BATCH, 2)

    result = mm.MobileBertForPreTraining(config=config)(
        input_ids, attention_mask=input_mask, token_type_ids=token_type_ids, labels=token_labels,
        next_sentence_label=sequence_labels)
    assert result.prediction_logits.shape == (BATCH, SEQ, 99) and result.seq_relationship_logits.shape == (BATCH, 2)

    result = mm.MobileBertForQuestionAnswering(config=config)(
        input_ids, attention_mask=input_mask, token_type_ids=token_type_ids, start_positions=sequence_labels,
        end_positions=sequence_labels)
    assert result.start_logits.shape == result.end_logits.shape == (BATCH, SEQ)

    config.num_labels = NUM_LABELS
    result = mm.MobileBertForSequenceClassification(config)(input_ids, attention_mask=input_mask,
                                                            token_type_ids=token_type_ids, labels=sequence_labels)
    assert result.logits.shape == (BATCH, NUM_LABELS)

    result = mm.MobileBertForTokenClassification(config=config)(input_ids, attention_mask=input_mask,
                                                                token_type_ids=token_type_ids, labels=token_labels)
    assert result.logits.shape == (BATCH, SEQ, NUM_LABELS)

    config.num_choices = NUM_CHOICES
    expand = lambda a: np.repeat(a[:, None, :], NUM_CHOICES, axis=1)  # noqa: E731 - unsqueeze(1).expand(...)
    result = mm.MobileBertForMultipleChoice(config=config)(
        expand(input_ids), attention_mask=expand(input_mask), token_type_ids=expand(token_type_ids),
        labels=choice_labels)
    assert result.logits.shape == (BATCH, NUM_CHOICES)
    assert config.to_dict()["num_choices"] == NUM_CHOICES  # an attribute HF's test sets is kept like any key


# Adapted from tests/test_configuration_common.py (ConfigTester(self, config_class=MobileBertConfig, hidden_size=37))
# and tests/utils/test_configuration_utils.py (config_common_kwargs).
CONFIG_COMMON_KWARGS = {
    "return_dict": False, "output_hidden_states": True, "output_attentions": True, "torchscript": True,
    "torch_dtype": "float16", "use_bfloat16": True, "tf_legacy_loss": True, "pruned_heads": {"a": 1},
    "tie_word_embeddings": False, "is_decoder": True, "cross_attention_hidden_size": 128, "add_cross_attention": True,
    "tie_encoder_decoder": True, "max_length": 50, "min_length": 3, "do_sample": True, "early_stopping": True,
    "num_beams": 3, "num_beam_groups": 3, "diversity_penalty": 0.5, "temperature": 2.0, "top_k": 10, "top_p": 0.7,
    "typical_p": 0.2, "repetition_penalty": 0.8, "length_penalty": 0.8, "no_repeat_ngram_size": 5,
    "encoder_no_repeat_ngram_size": 5, "bad_words_ids": [1, 2, 3], "num_return_sequences": 3,
    "chunk_size_feed_forward": 5, "output_scores": True, "return_dict_in_generate": True, "forced_bos_token_id": 2,
    "forced_eos_token_id": 3, "remove_invalid_values": True, "architectures": ["BertModel"],
    "finetuning_task": "translation", "id2label": {0: "label"}, "label2id": {"label": "0"},
    "tokenizer_class": "BertTokenizerFast", "prefix": "prefix", "bos_token_id": 6, "pad_token_id": 7,
    "eos_token_id": 8, "sep_token_id": 9, "decoder_start_token_id": 10, "exponential_decay_length_penalty": (5, 1.01),
    "suppress_tokens": [0, 1], "begin_suppress_tokens": 2, "task_specific_params": {"translation": "some_params"},
    "problem_type": "regression",
}


def test_hf_config_tester_common_tests(tmp_path):
    inputs = {"hidden_size": 37}
    config = MobileBertConfig(**inputs)
    for prop in ("hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size"):
        assert hasattr(config, prop)
    for idx, name in enumerate(["hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size"]):
        setattr(config, name, idx)  # one field at a time: checked as a whole when a model is built or saved
        assert getattr(config, name) == idx
    with pytest.raises(ConfigError, match="hidden_size must be a positive integer, got 0"):
        config.validate()
    for idx, name in enumerate(["hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size"]):
        # as transformers: MobileBertConfig(hidden_size=0) is made; a model of it is refused (test_config.py)
        assert getattr(MobileBertConfig(**{name: idx}), name) == idx

    config = MobileBertConfig(**inputs)
    obj = json.loads(config.to_json_string())
    assert all(obj[key] == value for key, value in inputs.items())

    config.to_json_file(tmp_path / "config.json")
    assert MobileBertConfig.from_json_file(tmp_path / "config.json").to_dict() == config.to_dict()

    config.save_pretrained(tmp_path / "saved")
    assert MobileBertConfig.from_pretrained(tmp_path / "saved").to_dict() == config.to_dict()
    with pytest.raises(OSError):
        MobileBertConfig.from_pretrained(f".{tmp_path / 'saved'}")

    config.save_pretrained(tmp_path / "repo" / "test")
    assert MobileBertConfig.from_pretrained(tmp_path / "repo", subfolder="test").to_dict() == config.to_dict()

    labelled = MobileBertConfig(**inputs, num_labels=5)
    assert len(labelled.id2label) == len(labelled.label2id) == 5
    labelled.num_labels = 3
    assert len(labelled.id2label) == len(labelled.label2id) == 3

    assert MobileBertConfig() is not None and not MobileBertConfig.has_no_defaults_at_init
    assert MobileBertConfig.sub_configs == {} and config.get_text_config() is config  # not a composite config
    assert MobileBertConfig(dtype="float16").dtype == "float16"  # transformers 5's name for torch_dtype

    with pytest.warns(UserWarning) as caught:
        common = MobileBertConfig(**copy.deepcopy(CONFIG_COMMON_KWARGS))
    wrong = [(k, getattr(common, k), v) for k, v in CONFIG_COMMON_KWARGS.items() if getattr(common, k) != v]
    assert wrong == []
    said = " ".join(str(w.message) for w in caught)  # what means nothing for inference is said so
    for key in ("is_decoder", "add_cross_attention", "use_bfloat16", "dtype='float16'", "pruned_heads"):
        assert key in said
    assert common.to_dict()["exponential_decay_length_penalty"] == [5, 1.01]
    common.save_pretrained(tmp_path / "common")
    assert MobileBertConfig.from_pretrained(tmp_path / "common").to_dict() == common.to_dict()


@pytest.mark.oracle
def test_config_json_we_write_reads_back_in_transformers_with_the_same_values(oracle, tmp_path):
    _, transformers = oracle
    ours = MobileBertConfig(**HF_TESTER, num_labels=4, output_hidden_states=True, chunk_size_feed_forward=0,
                            problem_type="multi_label_classification", custom_key=[1, 2])
    ours.save_pretrained(tmp_path)
    hf = transformers.MobileBertConfig.from_pretrained(tmp_path)
    for key, value in ours.to_dict().items():
        if key not in ("embedding_and_output_norm_eps", "dtype"):
            assert getattr(hf, key) == value, key
    hf.save_pretrained(tmp_path / "back")
    back = MobileBertConfig.from_pretrained(tmp_path / "back")
    assert back == ours and back.custom_key == [1, 2]
    assert os.path.exists(tmp_path / "back" / "config.json")


def test_constructors_refuse_what_they_do_not_take():
    with pytest.raises(ConfigError, match="keyword arguments only"):
        MobileBertConfig(30522, 512)
    with pytest.raises(InputError, match="unknown keyword argument.*hidden_size.*MobileBertConfig"):
        mm.MobileBertModel(MobileBertConfig(**TINY), hidden_size=32)


# Adapted from tests/test_modeling_common.py (ModelTesterMixin): the common tests that need no torch.
ALL_CLASSES = [mm.MobileBertModel, mm.MobileBertForMaskedLM, mm.MobileBertForMultipleChoice,
               mm.MobileBertForNextSentencePrediction, mm.MobileBertForPreTraining, mm.MobileBertForQuestionAnswering,
               mm.MobileBertForSequenceClassification, mm.MobileBertForTokenClassification]


def common_inputs(model_class, rng, config):
    ids = rng.integers(0, config.vocab_size, (3, 7))
    inputs = dict(input_ids=ids, token_type_ids=rng.integers(0, config.type_vocab_size, (3, 7)),
                  attention_mask=np.ones((3, 7), np.int64))
    if model_class is mm.MobileBertForMultipleChoice:
        inputs = {k: np.repeat(v[:, None], 2, axis=1) for k, v in inputs.items()}
    return inputs


def test_hf_common_model_tests(tmp_path):
    import inspect

    rng = np.random.default_rng(0)
    for model_class in ALL_CLASSES:
        config = MobileBertConfig(**HF_TESTER)
        model = model_class(config)
        inputs = common_inputs(model_class, rng, config)
        # test_forward_signature / test_model_main_input_name
        assert list(inspect.signature(model.forward).parameters)[:1] == ["input_ids"] == [model.main_input_name]
        # test_determinism
        first, second = model(**inputs)[0], model(**inputs)[0]
        np.testing.assert_array_equal(first, second)
        # test_hidden_states_output: by argument, then from the config
        hidden = model(**inputs, output_hidden_states=True).hidden_states
        assert len(hidden) == config.num_hidden_layers + 1 and hidden[0].shape[-2:] == (7, config.hidden_size)
        config.output_hidden_states = True
        assert len(model(**inputs).hidden_states) == config.num_hidden_layers + 1
        # test_attention_outputs: from the config
        config.output_attentions = True
        attentions = model(**inputs).attentions
        assert len(attentions) == config.num_hidden_layers
        assert attentions[0].shape[-3:] == (config.num_attention_heads, 7, 7)
        # test_feed_forward_chunking: chunking changes nothing in the result
        config.chunk_size_feed_forward = 1  # (the compiled engine skips per-layer outputs: compare, not equal)
        assert_close(model(**inputs)[0], first, "chunked", tol=1e-5)
        # test_model_outputs_equivalence: the tuple holds the same values
        for a, b in zip(model(**inputs, return_dict=False), model(**inputs).to_tuple()):
            assert type(a) is type(b)
        # test_model_get_set_embeddings
        embeddings = model.get_input_embeddings()
        model.set_input_embeddings(embeddings.weight * 2)
        np.testing.assert_array_equal(model.get_input_embeddings().weight, embeddings.weight * 2)
        assert model.get_output_embeddings() is None or model.get_output_embeddings().weight.shape[0] == 99
        # test_inputs_embeds: the word vectors instead of the ids
        ids = inputs["input_ids"]
        vectors = dict(inputs, input_ids=None, inputs_embeds=model.get_input_embeddings()(ids))
        assert_close(model(**vectors)[0], model(**inputs)[0], "inputs_embeds", tol=1e-5)
        # test_resize_tokens_embeddings
        size = config.vocab_size
        cloned = model.resize_token_embeddings(size).weight.copy()
        table = model.resize_token_embeddings(size + 10)
        assert model.config.vocab_size == size + 10 == table.weight.shape[0] == model.vocab_size
        model(**inputs)
        table = model.resize_token_embeddings(size - 15)
        assert model.config.vocab_size == size - 15 == table.weight.shape[0]
        model(**dict(inputs, input_ids=np.minimum(ids, size - 16)))
        np.testing.assert_array_equal(table.weight, cloned[: size - 15])
        assert model.resize_token_embeddings(size + 13, pad_to_multiple_of=64).weight.shape[0] == 128
        assert model.resize_token_embeddings(128, pad_to_multiple_of=64).weight.shape[0] == 128
        with pytest.raises(ValueError, match="Asking to pad the embedding matrix to a multiple of `1.3`, which is not "
                                             "and integer. Please make sure to pass an integer"):
            model.resize_token_embeddings(size, pad_to_multiple_of=1.3)
        model.resize_token_embeddings(size)
        model.set_input_embeddings(embeddings.weight * 2)
        # test_save_load
        folder = tmp_path / model_class.__name__
        model.save_pretrained(folder)
        again = model_class.from_pretrained(folder)
        np.testing.assert_array_equal(again(**inputs)[0], model(**inputs)[0])
        # test_model_is_small
        assert model.num_parameters() < 1_000_000


def test_hf_problem_types():
    """tests/test_modeling_common.py test_problem_types, with NumPy labels."""
    config = MobileBertConfig(**HF_TESTER)
    rng = np.random.default_rng(1)
    inputs = common_inputs(mm.MobileBertForSequenceClassification, rng, config)
    for title, num_labels, dtype in [("multi_label_classification", 2, np.float32),
                                     ("single_label_classification", 1, np.int64), ("regression", 1, np.float32)]:
        config.problem_type = title
        config.num_labels = num_labels
        model = mm.MobileBertForSequenceClassification(config)
        labels = np.zeros(3, np.int64)  # what HF's _prepare_for_class(return_labels=True) gives
        if num_labels > 1:
            labels = np.repeat(labels[:, None], num_labels, axis=1)
        loss = model(**inputs, labels=labels.astype(dtype)).loss
        assert np.isfinite(loss), title


# The same with transformers' Auto classes, which most scripts use (minimobilebert.auto).
AUTO_SCRIPT = '''
{imports}
import numpy as np

tokenizer = AutoTokenizer.from_pretrained(FOLDER)
model = AutoModelForSequenceClassification.from_pretrained(FOLDER, output_hidden_states=True)
model.eval()
batch = tokenizer(["a good film", "a bad film, really"], padding=True, return_tensors=TENSORS)
outputs = model(**batch)
logits = np.asarray(outputs.logits)
config = AutoConfig.from_pretrained(FOLDER)
encoder = AutoModel.from_pretrained(FOLDER)
RESULT = dict(logits=logits, labels=[config.id2label[int(i)] for i in logits.argmax(-1)],
              hidden=len(outputs.hidden_states), encoded=np.asarray(encoder(**batch).last_hidden_state),
              random_shape=np.asarray(AutoModelForMaskedLM.from_config(config)(**batch)[0]).shape)
'''
AUTO_IMPORTS = {
    "transformers": "import torch\ntorch.set_grad_enabled(False)\nfrom transformers import AutoConfig, AutoModel, "
                    "AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer\nTENSORS = 'pt'",
    "minimobilebert": "from minimobilebert.auto import AutoConfig, AutoModel, AutoModelForMaskedLM, "
                      "AutoModelForSequenceClassification, AutoTokenizer\nTENSORS = 'np'",
}


@pytest.mark.oracle
def test_auto_class_script_runs_unchanged(oracle, hf_classifier_folder):
    torch, _ = oracle
    results = {}
    for library in ("transformers", "minimobilebert"):
        namespace = {"FOLDER": hf_classifier_folder}
        try:
            exec(compile(AUTO_SCRIPT.format(imports=AUTO_IMPORTS[library]), f"<auto script on {library}>", "exec"),
                 namespace)
        finally:
            torch.set_grad_enabled(True)
        results[library] = namespace["RESULT"]
    ours, theirs = results["minimobilebert"], results["transformers"]
    assert ours["labels"] == theirs["labels"] and ours["hidden"] == theirs["hidden"]
    assert ours["random_shape"] == theirs["random_shape"]
    assert_close(ours["logits"], theirs["logits"], "logits")
    assert_close(ours["encoded"], theirs["encoded"], "encoded")


def test_hf_correct_missing_keys_and_base_model(tmp_path):
    """tests/test_modeling_common.py test_correct_missing_keys: a head class loading its base model's weights
    reports the head's weights as missing; `base_model` shares the weights."""
    config = MobileBertConfig(**HF_TESTER)
    for model_class in ALL_CLASSES[1:]:
        model = model_class(config)
        base = model.base_model
        assert type(base) is mm.MobileBertModel
        assert np.shares_memory(base.params["encoder.layer.0.output.dense.weight"],
                                model.params["mobilebert.encoder.layer.0.output.dense.weight"])
        folder = tmp_path / model_class.__name__
        base.save_pretrained(folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the newly initialised head
            loaded, info = model_class.from_pretrained(folder, output_loading_info=True)
        assert isinstance(loaded, model_class) and len(info["missing_keys"]) > 0
        assert all(not k.startswith("mobilebert.encoder.") for k in info["missing_keys"])
        assert info["mismatched_keys"] == set() and info["error_msgs"] == []
    model = mm.MobileBertForMaskedLM(config)
    model.save_pretrained(tmp_path / "mlm")
    _, info = mm.MobileBertModel.from_pretrained(tmp_path / "mlm", output_loading_info=True)
    assert info["missing_keys"] == {"pooler.dense.weight", "pooler.dense.bias"}
    assert info["unexpected_keys"] and all(k.startswith("cls.") for k in info["unexpected_keys"])


@pytest.mark.oracle
@pytest.mark.parametrize("saved, loading", [("MobileBertForMaskedLM", "MobileBertModel"),
                                            ("MobileBertForMaskedLM", "MobileBertForSequenceClassification"),
                                            ("MobileBertModel", "MobileBertForQuestionAnswering")])
def test_loading_info_equals_transformers(oracle, tmp_path, saved, loading):
    torch, transformers = oracle
    build_hf(transformers, torch, saved, **HF_TESTER).save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, theirs = getattr(transformers, loading).from_pretrained(tmp_path, output_loading_info=True)
        _, ours = getattr(mm, loading).from_pretrained(tmp_path, output_loading_info=True)
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        assert isinstance(ours[key], type(theirs[key])) and ours[key] == theirs[key], key  # sets in transformers 5
    assert ours["error_msgs"] == [] and ours["mismatched_keys"] == [] and ours["mismatched_keys"] == set()  # 4's lists


@pytest.mark.oracle
def test_incomplete_and_mismatched_checkpoints_load_as_in_transformers(oracle, tmp_path):
    """transformers' loading rules, each compared with transformers on the same files: weights the checkpoint
    lacks are drawn at random and names the model does not use are left out (a file holding nothing of the
    model still loads: HF's test_model_weights_reload_no_missing_tied_weights); another shape is a
    RuntimeError unless ignore_mismatched_sizes=True, for any weight (a new vocab_size too); and
    from_pretrained(None, config=, state_dict=) builds the model from the dict."""
    from safetensors.numpy import save_file

    from minimobilebert.errors import CheckpointShapeError, MissingWeightsWarning

    torch, transformers = oracle
    config = MobileBertConfig(**HF_TESTER)
    hf = build_hf(transformers, torch, "MobileBertForSequenceClassification", **HF_TESTER)
    hf.save_pretrained(tmp_path / "cls")
    junk = tmp_path / "junk"
    hf.save_pretrained(junk)
    save_file({"tensor": np.array([1.0, 2.0], np.float32)}, str(junk / "model.safetensors"), metadata={"format": "pt"})
    for name in ("MobileBertModel", "MobileBertForMaskedLM", "MobileBertForSequenceClassification"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours, info = getattr(mm, name).from_pretrained(junk, output_loading_info=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, theirs = getattr(transformers, name).from_pretrained(junk, output_loading_info=True)
        assert info == theirs and info["unexpected_keys"] == {"tensor"}, name
        assert any(issubclass(w.category, MissingWeightsWarning) for w in caught), name
        assert np.isfinite(ours(np.array([[1, 2, 3]])).last_hidden_state if name == "MobileBertModel"
                           else ours(np.array([[1, 2, 3]])).logits).all()

    with pytest.raises(RuntimeError):
        transformers.MobileBertForSequenceClassification.from_pretrained(tmp_path / "cls", num_labels=42)
    with pytest.raises(CheckpointShapeError, match="classifier.weight: checkpoint \\(2, 64\\), model \\(42, 64\\)"):
        mm.MobileBertForSequenceClassification.from_pretrained(tmp_path / "cls", num_labels=42)
    for cls, changes in (("MobileBertForSequenceClassification", dict(num_labels=42)),
                         ("MobileBertModel", dict(vocab_size=10)), ("MobileBertForMaskedLM", dict(vocab_size=10))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, info = getattr(mm, cls).from_pretrained(tmp_path / "cls", ignore_mismatched_sizes=True,
                                                          output_loading_info=True, **changes)
            _, theirs = getattr(transformers, cls).from_pretrained(tmp_path / "cls", ignore_mismatched_sizes=True,
                                                                   output_loading_info=True, **changes)
        assert info == theirs, (cls, changes)
        assert info["mismatched_keys"]
        assert ours.num_parameters() == sum(v.numel() for k, v in getattr(transformers, cls)(
            transformers.MobileBertConfig(**dict(HF_TESTER, **changes))).state_dict().items()
            if k not in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")), cls

    model = mm.MobileBertForSequenceClassification(config, seed=3)
    again = mm.MobileBertForSequenceClassification.from_pretrained(None, config=config, state_dict=model.state_dict())
    ids = np.array([[5, 6, 7, 8]])
    np.testing.assert_array_equal(again(ids).logits, model(ids).logits)
    hf_again = transformers.MobileBertForSequenceClassification.from_pretrained(
        None, config=transformers.MobileBertConfig(**HF_TESTER),
        state_dict={k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    with torch.no_grad():
        assert_close(again(ids).logits, hf_again(torch.from_numpy(ids)).logits.numpy(), 1e-5)
    with pytest.raises(InputError, match="needs config="):
        mm.MobileBertModel.from_pretrained(None)
    # transformers' own state_dict(), torch tensors (bfloat16 too), as a script passes it
    with torch.no_grad():
        expected = hf.eval()(torch.from_numpy(ids)).logits.numpy()
    from_torch = mm.MobileBertForSequenceClassification.from_pretrained(None, config=config, state_dict=hf.state_dict())
    assert_close(from_torch(ids).logits, expected, 1e-5)
    half = {k: v.to(torch.bfloat16) for k, v in hf.state_dict().items()}
    assert mm.MobileBertForSequenceClassification(config, half)(ids).logits.dtype == np.float32
    with pytest.raises(mm.CheckpointError, match="must be a dict"):
        mm.MobileBertModel(config, [1, 2])


@pytest.mark.oracle
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("drop", [["cls.predictions.bias"], ["cls.predictions.decoder.bias"],
                                  ["cls.predictions.bias", "cls.predictions.decoder.bias"],
                                  ["mobilebert.embeddings.word_embeddings.weight"], ["cls.predictions.decoder.weight"]])
def test_masked_lm_checkpoints_missing_a_tied_tensor(oracle, tmp_path, tied, drop):
    """transformers writes both names of each tied pair (word table / decoder weight, bias / decoder bias);
    a file with either one gives both, as in transformers: same loading info, same logits."""
    from safetensors.numpy import save_file

    torch, transformers = oracle
    hf = build_hf(transformers, torch, "MobileBertForMaskedLM", **dict(HF_TESTER, tie_word_embeddings=tied))
    hf.save_pretrained(tmp_path)
    state = {k: v.detach().numpy().copy() for k, v in hf.state_dict().items() if k not in drop}
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, info = mm.MobileBertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
        theirs, hf_info = transformers.MobileBertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info == hf_info
    if not info["missing_keys"]:
        ids = np.array([[1, 5, 9, 2]])
        with torch.no_grad():
            assert_close(ours(ids).logits, theirs.eval()(torch.from_numpy(ids)).logits.numpy(), 1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("tied", [True, False])
def test_what_transformers_tests_read_off_a_model(oracle, tied):
    """The attributes HF's common model tests read (test_tied_weights_keys, test_keep_in_fp32_modules,
    test_correct_missing_keys, test_model_get_set_embeddings, ...), each equal to transformers' on the same
    config: tied names, state_dict keys (tied tensors listed under both names, as the same array), buffers,
    `.mobilebert` on the head classes only, and get/set_input_embeddings returning the object set."""
    torch, transformers = oracle
    config = dict(HF_TESTER, tie_word_embeddings=tied)
    for model_class in ALL_CLASSES:
        ours = model_class(MobileBertConfig(**config))
        hf = getattr(transformers, model_class.__name__)(transformers.MobileBertConfig(**config))
        name = model_class.__name__
        assert ours._tied_weights_keys == hf._tied_weights_keys, name
        assert ours.all_tied_weights_keys == dict(hf.all_tied_weights_keys), name
        for attribute in ("_keep_in_fp32_modules", "_keep_in_fp32_modules_strict", "_no_split_modules",
                          "_keys_to_ignore_on_load_missing", "_keys_to_ignore_on_load_unexpected"):
            assert getattr(ours, attribute) == getattr(hf, attribute) == set(), attribute  # None on the class
        assert ours.config.base_model_tp_plan is hf.config.base_model_tp_plan is None
        assert type(model_class._from_config(ours.config, attn_implementation="eager")) is model_class
        params = dict(ours.named_parameters())
        assert params.keys() == dict(hf.named_parameters()).keys() - {"cls.predictions.decoder.bias"} and all(
            v.flags.c_contiguous for v in params.values()), name  # (HF's untied head has two biases, we keep one)
        assert hasattr(ours, "mobilebert") == hasattr(hf, "mobilebert"), name
        # named_children / named_modules: the encoder a head holds, by the name transformers gives it (its
        # layers are weights here, not objects, so HF's other children have no counterpart)
        hf_children = {k: type(v).__name__ for k, v in hf.named_children()}
        ours_children = {k: type(v).__name__ for k, v in ours.named_children()}
        assert ours_children.items() <= hf_children.items() and (
            ours_children == {"mobilebert": "MobileBertModel"} if hasattr(hf, "mobilebert") else not ours_children)
        for child_name, child in ours.named_children():
            assert child.state_dict().keys() == dict(hf.named_children())[child_name].state_dict().keys()
        modules = list(ours.named_modules())
        assert modules[0] == ("", ours) and [n for n, _ in modules[1:]] == list(ours_children)
        assert list(ours.modules()) == [m for _, m in modules] and list(ours.children()) == [
            c for _, c in ours.named_children()]
        ours_state, hf_state = ours.state_dict(), hf.state_dict()
        assert ours_state.keys() == hf_state.keys(), name
        assert all(ours_state[k].shape == tuple(hf_state[k].shape) for k in hf_state), name
        for tied_name, source in ours.all_tied_weights_keys.items():
            assert ours_state[tied_name] is ours_state[source], (name, tied_name)
        buffers = dict(ours.named_buffers())
        hf_buffers = dict(hf.named_buffers())
        assert buffers.keys() == hf_buffers.keys(), name
        assert all(np.array_equal(buffers[k], hf_buffers[k].numpy()) for k in buffers), name
        embeddings = ours.get_input_embeddings()
        assert embeddings is ours.get_input_embeddings()
        new = torch.nn.Embedding(10, 10)  # HF's test: any module is taken, and given back
        ours.set_input_embeddings(new)
        hf.set_input_embeddings(new)
        assert ours.get_input_embeddings() is new and hf.get_input_embeddings() is new
        with pytest.raises(InputError, match=r"word-embedding table is \(10, 10\)"):
            ours(np.array([[1, 2]]))
    model = mm.MobileBertModel(MobileBertConfig(**config))
    table = model.get_input_embeddings().weight * 2
    model.set_input_embeddings(table)
    assert model.get_input_embeddings().weight is model.params["embeddings.word_embeddings.weight"]
    np.testing.assert_array_equal(model.get_input_embeddings().weight, table)
    assert model(np.array([[1, 2]])).last_hidden_state.shape == (1, 2, HF_TESTER["hidden_size"])


def test_state_dict_written_by_safetensors_reads_back_equal(tmp_path):
    """Dense weights are held as transposed views of packed buffers; safetensors.numpy.save_file writes a
    non-contiguous array's memory in the wrong order without a word, so state_dict() must hand out
    contiguous arrays with HF's values."""
    from safetensors.numpy import load_file, save_file

    import minimobilebert

    model = minimobilebert.MobileBertForMaskedLM(minimobilebert.MobileBertConfig(num_hidden_layers=2, vocab_size=99))
    assert any(not v.flags.c_contiguous for v in model.params.values()), "no packed view to test"
    state = model.state_dict()
    assert all(v.flags.c_contiguous for v in state.values())
    save_file(state, str(tmp_path / "w.safetensors"))
    back = load_file(str(tmp_path / "w.safetensors"))
    assert back.keys() == state.keys() == set(model.params) | {"cls.predictions.decoder.weight",
                                                              "cls.predictions.decoder.bias"}
    for name, value in model.params.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)
    save_file(dict(model.named_parameters()), str(tmp_path / "p.safetensors"))  # HF's test_load_contiguous_weights
    back = load_file(str(tmp_path / "p.safetensors"))
    assert back.keys() == model.params.keys()
    for name, value in model.params.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)


def test_auto_classes_import_from_the_package():
    import minimobilebert

    assert minimobilebert.AutoModelForSequenceClassification.__module__ == "minimobilebert.auto"
    assert {"AutoConfig", "AutoModel", "AutoTokenizer"} <= set(minimobilebert.__all__)


@pytest.mark.oracle
def test_transformers_tokenizer_names_import_from_the_package(oracle):
    """`from transformers import MobileBertTokenizerFast, BertTokenizer, BertTokenizerFast, AddedToken` changes
    to an import from minimobilebert: one tokenizer under those names, equal to transformers' on a text with
    an added token."""
    _, transformers = oracle
    import minimobilebert

    for name in ("MobileBertTokenizerFast", "BertTokenizer", "BertTokenizerFast", "AddedToken"):
        assert name in minimobilebert.__all__ and hasattr(minimobilebert, name), name
    ours = minimobilebert.BertTokenizerFast(vocab_file=minimobilebert.tokenizer.VOCAB_FILE)
    theirs = transformers.BertTokenizerFast(vocab=minimobilebert.tokenizer.VOCAB_FILE)
    for tokenizer, added in ((ours, minimobilebert.AddedToken), (theirs, transformers.AddedToken)):
        tokenizer.add_tokens([added("<x>", lstrip=True)])
    assert ours("a  <x> b")["input_ids"] == theirs("a  <x> b")["input_ids"]
    assert minimobilebert.MobileBertTokenizerFast is minimobilebert.MobileBertTokenizer
