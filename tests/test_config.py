"""MobileBertConfig: HF's names and defaults, config.json in both directions, clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from minimobilebert import ConfigError, MobileBertConfig

OURS_ONLY = {"embedding_and_output_norm_eps", "extra"}

# google/mobilebert-uncased's config.json as published (../shared/reference/published-values.md).
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
    with pytest.raises(ConfigError, match=message):
        MobileBertConfig(**changes)


def test_broken_config_files(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 512,')
    with pytest.raises(ConfigError, match="not valid JSON"):
        MobileBertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ConfigError, match="config_from_bert"):
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
