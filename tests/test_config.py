"""MobileBertConfig: HF's names and defaults, config.json in both directions, clear errors, and hostile
values (issue 10): every wrong type or oversized value is a ConfigError naming the field."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert import ConfigError, MobileBertConfig
from minimobilebert.config import BOOLS, FLOATS, LIMITS, MAX_PARAMETERS, POSITIVE_INTS
from minimobilebert.params import parameter_budget

OURS_ONLY = {"embedding_and_output_norm_eps", "extra"}

# google/mobilebert-uncased's config.json as published (https://huggingface.co/google/mobilebert-uncased/blob/main/config.json).
PUBLISHED_JSON = """{"architectures": ["MobileBertForPreTraining"], "attention_probs_dropout_prob": 0.1,
 "classifier_activation": false, "embedding_size": 128, "hidden_act": "relu",
 "hidden_dropout_prob": 0.0, "hidden_size": 512, "initializer_range": 0.02, "intermediate_size": 512,
 "intra_bottleneck_size": 128, "key_query_shared_bottleneck": true, "layer_norm_eps": 1e-12,
 "max_position_embeddings": 512, "model_type": "mobilebert", "normalization_type": "no_norm",
 "num_attention_heads": 4, "num_feedforward_networks": 4, "num_hidden_layers": 24, "pad_token_id": 0,
 "trigram_input": true, "true_hidden_size": 128, "type_vocab_size": 2, "use_bottleneck": true,
 "use_bottleneck_attention": false, "vocab_size": 30522}"""


@pytest.mark.oracle
def test_defaults_equal_hf_defaults(oracle):
    _, transformers = oracle
    hf = transformers.MobileBertConfig()
    ours = MobileBertConfig()
    for field in dataclasses.fields(ours):
        if field.name not in OURS_ONLY:
            assert getattr(ours, field.name) == getattr(hf, field.name), field.name
    assert ours.true_hidden_size == hf.true_hidden_size == 128
    assert ours.num_labels == hf.num_labels


@pytest.mark.oracle
def test_every_hf_mobilebert_field_exists_here(oracle):
    _, transformers = oracle
    hf_fields = set(transformers.MobileBertConfig.__annotations__)
    ours = {f.name for f in dataclasses.fields(MobileBertConfig)}
    assert hf_fields - ours == set(), f"HF fields we lack: {hf_fields - ours}"


def test_published_config_file():
    config = MobileBertConfig.from_dict(json.loads(PUBLISHED_JSON))
    assert config == MobileBertConfig.published()
    assert config.classifier_activation is False and config.true_hidden_size == 128
    assert (config.hidden_size, config.embedding_size, config.num_hidden_layers, config.num_attention_heads,
            config.num_feedforward_networks) == (512, 128, 24, 4, 4)


@pytest.mark.oracle
def test_original_tf_release_config_fills_hf_defaults(oracle, tmp_path):
    """The TF release's file lacks true_hidden_size, use_bottleneck_attention and layer_norm_eps."""
    _, transformers = oracle
    tf_release = json.loads(PUBLISHED_JSON)
    for key in ("true_hidden_size", "use_bottleneck_attention", "layer_norm_eps", "model_type", "architectures",
                "pad_token_id"):
        del tf_release[key]
    (tmp_path / "config.json").write_text(json.dumps(tf_release))
    ours = MobileBertConfig.from_pretrained(tmp_path)
    hf = transformers.MobileBertConfig.from_json_file(str(tmp_path / "config.json"))
    for name in ("true_hidden_size", "use_bottleneck_attention", "layer_norm_eps", "pad_token_id",
                 "classifier_activation", "num_feedforward_networks"):
        assert getattr(ours, name) == getattr(hf, name), name


@pytest.mark.oracle
def test_config_json_round_trips_through_hf(oracle, tmp_path):
    _, transformers = oracle
    ours = MobileBertConfig(hidden_act="gelu", num_hidden_layers=3, id2label={0: "neg", 1: "neu", 2: "pos"},
                            problem_type="single_label_classification")
    ours.save_pretrained(tmp_path)
    hf = transformers.MobileBertConfig.from_pretrained(tmp_path)
    assert (hf.hidden_act, hf.num_hidden_layers, hf.num_labels, hf.id2label[2], hf.problem_type) == (
        "gelu", 3, 3, "pos", "single_label_classification")
    hf.save_pretrained(tmp_path / "back")
    back = MobileBertConfig.from_pretrained(tmp_path / "back")
    assert back == ours
    assert "transformers_version" in back.extra  # unknown keys are kept, not dropped


@pytest.mark.parametrize("changes, message", [
    (dict(num_attention_heads=3), "not divisible by num_attention_heads=3"),
    (dict(use_bottleneck=False, hidden_size=100, num_attention_heads=8), "true_hidden_size=100"),
    (dict(normalization_type="batch_norm"), "normalization_type must be one of"),
    (dict(hidden_act="swiglu"), "hidden_act 'swiglu' is not supported"),
    (dict(num_hidden_layers=0), "num_hidden_layers must be a positive integer"),
    (dict(vocab_size=2.5), "vocab_size must be a positive integer"),
    (dict(key_query_shared_bottleneck=False), "set key_query_shared_bottleneck=True"),
    (dict(pad_token_id=40000), "pad_token_id=40000 is outside the vocabulary"),
    (dict(problem_type="ranking"), "problem_type must be one of"),
    (dict(layer_norm_eps=0.0), "layer_norm_eps must be > 0"),
])
def test_invalid_configs_name_the_problem(changes, message):
    with pytest.raises(ConfigError, match=message):  # a config.json's values
        MobileBertConfig.from_dict(changes)
    with pytest.raises(ConfigError, match=message):  # the constructor, or else the model built from it
        mm.MobileBertModel(MobileBertConfig(**changes))


@pytest.mark.parametrize("name", ["hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size",
                                  "intermediate_size", "embedding_size"])
def test_a_size_may_be_zero_until_a_model_is_built(name):
    """transformers' ConfigTester builds MobileBertConfig(hidden_size=0), MobileBertConfig(num_attention_heads=0)
    ... and reads the value back (create_and_test_config_common_properties); no model can have it."""
    config = MobileBertConfig(**{name: 0})
    assert getattr(config, name) == 0
    with pytest.raises(ConfigError, match=f"{name} must be a positive integer, got 0"):
        mm.MobileBertModel(config)
    with pytest.raises(ConfigError, match=f"{name} must be a positive integer, got 0"):
        MobileBertConfig.from_dict({name: 0})
    with pytest.raises(ConfigError, match=f"{name} must be a positive integer, got -1"):
        MobileBertConfig(**{name: -1})


def test_broken_config_files(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 512,')
    with pytest.raises(ConfigError, match="not valid JSON"):
        MobileBertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "roberta"}')
    with pytest.raises(ConfigError, match="model_type='roberta'.*'mobilebert' and 'bert'"):
        MobileBertConfig.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        MobileBertConfig.from_pretrained(tmp_path / "missing")
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="needs one"):
        MobileBertConfig.from_pretrained(tmp_path)


def test_num_labels_in_a_config_file_makes_labels():
    config = MobileBertConfig.from_dict({"num_labels": 5})
    assert config.num_labels == 5 and config.id2label[4] == "LABEL_4" and config.label2id["LABEL_0"] == 0


def test_replacing_labels_derives_their_mapping():
    config = MobileBertConfig().replace(id2label={0: "others", 1: "happy", 2: "sad"})
    assert config.label2id == {"others": 0, "happy": 1, "sad": 2} and config.num_labels == 3
    explicit = MobileBertConfig().replace(id2label={0: "a", 1: "b"}, label2id={"a": 0, "b": 1})
    assert explicit.label2id == {"a": 0, "b": 1}


# ------------------------------------------------------------------------------------------------- hostile values
# Issue 10: a config.json is hostile until checked. Every value of the wrong type is a ConfigError naming the
# field and the fix; no value may reach the model code as something else (a "false" read as True).


@pytest.mark.parametrize("data, message", [
    ({"classifier_activation": "false"}, "classifier_activation must be true or false, got 'false'.*without quotes"),
    ({"trigram_input": "true"}, "trigram_input must be true or false"),
    ({"use_bottleneck": 1}, "use_bottleneck must be true or false, got 1.*write true"),
    ({"tie_word_embeddings": "no"}, "tie_word_embeddings must be true or false"),
    ({"output_hidden_states": "false"}, "output_hidden_states must be true or false"),
    ({"is_decoder": "false"}, "is_decoder must be true or false"),
    ({"hidden_act": ["relu"]}, "hidden_act must be a string.*got \\['relu'\\] \\(list\\)"),
    ({"layer_norm_eps": "1e-12"}, "layer_norm_eps must be a number, got '1e-12'.*without quotes"),
    ({"id2label": ["neg", "pos"]}, "id2label must be an object.*got a list"),
    ({"id2label": {"0": "a", "2": "b"}}, "id2label ids must be 0..1.*got \\[0, 2\\]"),
    ({"id2label": {"zero": "a"}}, "id2label key 'zero' is not a label id"),
    ({"id2label": {"0": ["a"]}}, "id2label\\['0'\\] must be a label name"),
    ({"label2id": ["a", "b"]}, "label2id must be an object"),
    ({"pad_token_id": "0"}, "pad_token_id must be an integer.*got '0'.*without quotes"),
    ({"bos_token_id": "1"}, "bos_token_id must be an integer"),
    ({"vocab_size": 30522.0}, "vocab_size must be a positive integer, got 30522.0.*without the decimal point"),
    ({"num_hidden_layers": "24"}, "num_hidden_layers must be a positive integer.*without quotes"),
    ({"num_attention_heads": True}, "num_attention_heads must be a positive integer, got True"),
    ({"num_labels": 2.5}, "num_labels must be a positive integer"),
    ({"hidden_dropout_prob": None}, "hidden_dropout_prob must be a number"),
    ({"initializer_range": -0.02}, "initializer_range must be >= 0"),
    ({"layer_norm_eps": {"__float__": "NaN"}}, "layer_norm_eps must be a finite number"),
    ({"normalization_type": ["no_norm"]}, "normalization_type must be one of"),
    ({"architectures": "MobileBertModel"}, "architectures must be a list"),
    ({"dtype": "float17"}, "dtype 'float17' is not a type"),
    ({"true_hidden_size": 512}, "true_hidden_size=512 disagrees"),
    ({"problem_type": "single_label_classification", "num_labels": 1}, "needs num_labels > 1"),
])
def test_wrong_values_are_refused_naming_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        MobileBertConfig.from_dict(data)


def test_what_json_writes_for_a_float_or_a_label_map_is_accepted():
    config = MobileBertConfig.from_dict({"layer_norm_eps": 1, "hidden_dropout_prob": 0, "classifier_dropout": None,
                                         "id2label": {"1": "pos", "0": "neg"}, "label2id": {"neg": "0", "pos": "1"}})
    assert config.layer_norm_eps == 1.0 and isinstance(config.layer_norm_eps, float)
    assert config.id2label == {0: "neg", 1: "pos"} and list(config.id2label) == [0, 1]
    assert config.label2id == {"neg": "0", "pos": "1"}  # kept as given, as transformers keeps it


@pytest.mark.oracle
@pytest.mark.parametrize("field", ["classifier_activation", "trigram_input", "use_bottleneck",
                                   "use_bottleneck_attention", "key_query_shared_bottleneck", "tie_word_embeddings"])
@pytest.mark.parametrize("value", ["false", "true", 0, 1])
def test_boolean_strings_are_refused_as_transformers_refuses_them(oracle, field, value):
    """transformers' strict config refuses "false", "true", 0 and 1 for a bool field; so do we."""
    _, transformers = oracle
    with pytest.raises(Exception):
        transformers.MobileBertConfig(**{field: value})
    with pytest.raises(ConfigError, match=f"{field} must be true or false"):
        MobileBertConfig(**{field: value})


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_each_cap_is_a_config_error_naming_the_field(name):
    with pytest.raises(ConfigError, match=f"{name}={LIMITS[name] + 1:,} is over minimobilebert's limit"):
        MobileBertConfig(**{name: LIMITS[name] + 1})


@pytest.mark.parametrize("data", [
    {"num_hidden_layers": 10**6}, {"num_feedforward_networks": 10**7}, {"num_labels": 10**9}, {"vocab_size": 10**12},
    {"hidden_size": 10**18}, {"max_position_embeddings": 2**63}, {"id2label": {str(i): "x" for i in range(100_001)}},
])
def test_issue_10_memory_bombs_fail_before_allocating(data):
    with pytest.raises(ConfigError, match="over minimobilebert's limit"):
        MobileBertConfig.from_dict(data)


def test_total_parameter_cap_admits_real_models_only():
    from minimobilebert.convert import config_from_bert

    bert_large = config_from_bert(dict(vocab_size=30522, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                       intermediate_size=4096, max_position_embeddings=512, type_vocab_size=2))
    multilingual = config_from_bert(dict(vocab_size=250002, hidden_size=768, num_hidden_layers=12,
                                         num_attention_heads=12, intermediate_size=3072))
    for config in (MobileBertConfig.published(), bert_large, multilingual):
        assert parameter_budget(config) <= MAX_PARAMETERS
    assert 330e6 < parameter_budget(bert_large) < 340e6  # BERT-large with its MLM head: 335M published
    with pytest.raises(ConfigError, match=r"describes a model of [\d,]+ parameters, over .* limit of 536,870,912"):
        MobileBertConfig(use_bottleneck=False, hidden_size=4096, num_attention_heads=16, intermediate_size=16384)


def test_setting_attributes_checks_types_and_caps_at_once_and_sizes_before_a_model():
    from minimobilebert import MobileBertModel

    config = MobileBertConfig(vocab_size=99, hidden_size=32, intra_bottleneck_size=16, embedding_size=8,
                              intermediate_size=24, num_hidden_layers=1)
    with pytest.raises(ConfigError, match="classifier_activation must be true or false"):
        config.classifier_activation = "false"
    with pytest.raises(ConfigError, match="num_hidden_layers=100,000 is over"):
        config.num_hidden_layers = 100_000
    with pytest.raises(ConfigError, match="num_labels must be a positive integer"):
        config.num_labels = "3"
    config.num_attention_heads = 3  # may be fixed by the next assignment, so only checked as a whole
    with pytest.raises(ConfigError, match="not divisible by num_attention_heads=3"):
        MobileBertModel(config)
    with pytest.raises(ConfigError, match="not divisible"):
        config.save_pretrained("/nonexistent/never-written")
    config.num_attention_heads = 4
    assert MobileBertModel(config).config is config
    config.user_note = "anything"  # unknown attributes are kept, as in transformers
    assert config.user_note == "anything" and config.to_dict()["user_note"] == "anything"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6)
    | st.sampled_from(["true", "false", "1e-12", "relu", "0", "no_norm", "float16", "regression"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6)
CONFIG_KEYS = sorted(set(MobileBertConfig.__dataclass_fields__) - {"extra"}) + [
    "num_labels", "torch_dtype", "true_hidden_size", "model_type", "is_decoder", "bos_token_id", "extra",
    "_name_or_path", "transformers_version"]


@given(st.dictionaries(st.sampled_from(CONFIG_KEYS), json_values, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_json_values_give_a_valid_config_or_a_config_error(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            config = MobileBertConfig.from_dict(data)
        except ConfigError:
            return
        for name in BOOLS:
            assert type(getattr(config, name)) is bool, name
        for name in POSITIVE_INTS:
            value = getattr(config, name)
            assert type(value) is int and 1 <= value <= LIMITS[name], name
        for name in FLOATS:
            value = getattr(config, name)
            assert value is None and name == "classifier_dropout" or type(value) is float and math.isfinite(value)
        assert list(config.id2label) == list(range(config.num_labels))
        again = MobileBertConfig.from_dict(json.loads(config.to_json_string()))
    assert again == config


@given(st.sampled_from(POSITIVE_INTS + BOOLS + FLOATS),
       st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(), st.integers()),
                 st.floats().filter(lambda x: not float(x).is_integer())))
@settings(max_examples=200, deadline=None)
def test_a_value_of_the_wrong_type_is_always_refused(name, value):
    if name in FLOATS and isinstance(value, float) and math.isfinite(value) and not (
            name == "layer_norm_eps" and value <= 0 or name == "initializer_range" and value < 0):
        return  # a float is the right type for a float field
    with pytest.raises(ConfigError, match=name):
        MobileBertConfig.from_dict({name: value})


def test_config_files_are_read_as_hostile(tmp_path):
    """config.json goes through files.read_json: regular files only, bounded size, errors name the file."""
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "config.json")
    with pytest.raises(ConfigError, match="is a FIFO"):
        MobileBertConfig.from_pretrained(fifo)
    zero = tmp_path / "zero"
    zero.mkdir()
    os.symlink("/dev/zero", zero / "config.json")
    with pytest.raises(ConfigError, match="is a device"):
        MobileBertConfig.from_pretrained(zero)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_bytes(b'{"hidden_act": "\xff"}')
    with pytest.raises(ConfigError, match=r"config.json.*not UTF-8"):
        MobileBertConfig.from_pretrained(bad)
    (bad / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="should hold a JSON object"):
        MobileBertConfig.from_pretrained(bad)
    (bad / "config.json").write_text('{"num_hidden_layers": 1e6}')
    with pytest.raises(ConfigError, match=f"^{bad / 'config.json'}: num_hidden_layers must be a positive integer"):
        MobileBertConfig.from_pretrained(bad)
