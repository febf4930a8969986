"""Every weight of a MobileBERT, by its Hugging Face state-dict name, with its shape.

`parameter_shapes(config, head)` is the single source of truth: the loader checks checkpoints against it,
`init_params` draws random weights from it (HF's initialisation), and the notebooks count parameters
with it. Weights live in a flat dict `{hf_name: array}`; the forward pass reads them through `nest()`,
which turns dotted names into nested dicts and lists (`p["encoder"]["layer"][3]["attention"]...`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import MobileBertConfig
from .errors import ConfigError

Shapes = dict[str, tuple[int, ...]]

BASE_MODEL_PREFIX = "mobilebert"

# Which head sits on top of the base model, whether that class builds the pooler, and the HF class name.
HEADS: dict[str, tuple[bool, str]] = {
    "base": (True, "MobileBertModel"),
    "pretraining": (True, "MobileBertForPreTraining"),
    "masked_lm": (False, "MobileBertForMaskedLM"),
    "next_sentence": (True, "MobileBertForNextSentencePrediction"),
    "sequence_classification": (True, "MobileBertForSequenceClassification"),
    "multiple_choice": (True, "MobileBertForMultipleChoice"),
    "token_classification": (False, "MobileBertForTokenClassification"),
    "question_answering": (False, "MobileBertForQuestionAnswering"),
}


def _dense(name: str, out_features: int, in_features: int, bias: bool = True) -> Shapes:
    shapes = {f"{name}.weight": (out_features, in_features)}
    if bias:
        shapes[f"{name}.bias"] = (out_features,)
    return shapes


def _norm(name: str, features: int) -> Shapes:
    # NoNorm and LayerNorm both store weight and bias under the attribute name "LayerNorm".
    return {f"{name}.LayerNorm.weight": (features,), f"{name}.LayerNorm.bias": (features,)}


def uses_embedding_transformation(config: MobileBertConfig) -> bool:
    return config.trigram_input or config.embedding_size != config.hidden_size


def embedding_shapes(config: MobileBertConfig) -> Shapes:
    c = config
    shapes = {
        "embeddings.word_embeddings.weight": (c.vocab_size, c.embedding_size),
        "embeddings.position_embeddings.weight": (c.max_position_embeddings, c.hidden_size),
        "embeddings.token_type_embeddings.weight": (c.type_vocab_size, c.hidden_size),
    }
    if uses_embedding_transformation(c):
        width = c.embedding_size * (3 if c.trigram_input else 1)
        shapes.update(_dense("embeddings.embedding_transformation", c.hidden_size, width))
    shapes.update(_norm("embeddings", c.hidden_size))
    return shapes


def layer_shapes(config: MobileBertConfig, i: int) -> Shapes:
    c, d = config, config.true_hidden_size
    p = f"encoder.layer.{i}"
    value_in = d if c.use_bottleneck_attention else c.hidden_size
    shapes: Shapes = {}
    if c.use_bottleneck:
        shapes.update(_dense(f"{p}.bottleneck.input.dense", c.intra_bottleneck_size, c.hidden_size))
        shapes.update(_norm(f"{p}.bottleneck.input", c.intra_bottleneck_size))
        if c.key_query_shared_bottleneck:
            shapes.update(_dense(f"{p}.bottleneck.attention.dense", c.intra_bottleneck_size, c.hidden_size))
            shapes.update(_norm(f"{p}.bottleneck.attention", c.intra_bottleneck_size))
    shapes.update(_dense(f"{p}.attention.self.query", d, d))
    shapes.update(_dense(f"{p}.attention.self.key", d, d))
    shapes.update(_dense(f"{p}.attention.self.value", d, value_in))
    shapes.update(_dense(f"{p}.attention.output.dense", d, d))
    shapes.update(_norm(f"{p}.attention.output", d))
    for j in range(c.num_feedforward_networks - 1):
        shapes.update(_dense(f"{p}.ffn.{j}.intermediate.dense", c.intermediate_size, d))
        shapes.update(_dense(f"{p}.ffn.{j}.output.dense", d, c.intermediate_size))
        shapes.update(_norm(f"{p}.ffn.{j}.output", d))
    shapes.update(_dense(f"{p}.intermediate.dense", c.intermediate_size, d))
    shapes.update(_dense(f"{p}.output.dense", d, c.intermediate_size))
    shapes.update(_norm(f"{p}.output", d))
    if c.use_bottleneck:
        shapes.update(_dense(f"{p}.output.bottleneck.dense", c.hidden_size, d))
        shapes.update(_norm(f"{p}.output.bottleneck", c.hidden_size))
    return shapes


def pooler_shapes(config: MobileBertConfig) -> Shapes:
    # Without classifier_activation the pooler is "take the first token" and has no weights.
    return _dense("pooler.dense", config.hidden_size, config.hidden_size) if config.classifier_activation else {}


def base_model_shapes(config: MobileBertConfig, add_pooling_layer: bool = True) -> Shapes:
    shapes = embedding_shapes(config)
    for i in range(config.num_hidden_layers):
        shapes.update(layer_shapes(config, i))
    if add_pooling_layer:
        shapes.update(pooler_shapes(config))
    return shapes


def _lm_head_shapes(config: MobileBertConfig) -> Shapes:
    c = config
    if c.embedding_size > c.hidden_size:
        raise ConfigError(
            f"the masked-LM head needs embedding_size <= hidden_size (its output matrix is the "
            f"{c.embedding_size}-wide embedding table plus {c.hidden_size} - {c.embedding_size} extra rows); "
            f"got embedding_size={c.embedding_size}, hidden_size={c.hidden_size}"
        )
    shapes = _dense("cls.predictions.transform.dense", c.hidden_size, c.hidden_size)
    shapes.update(_norm("cls.predictions.transform", c.hidden_size))
    shapes["cls.predictions.dense.weight"] = (c.hidden_size - c.embedding_size, c.vocab_size)
    shapes["cls.predictions.bias"] = (c.vocab_size,)
    if not c.tie_word_embeddings:
        shapes["cls.predictions.decoder.weight"] = (c.vocab_size, c.embedding_size)
    return shapes


def head_shapes(config: MobileBertConfig, head: str) -> Shapes:
    c = config
    if head == "base":
        return {}
    if head == "pretraining":
        return {**_lm_head_shapes(c), **_dense("cls.seq_relationship", 2, c.hidden_size)}
    if head == "masked_lm":
        return _lm_head_shapes(c)
    if head == "next_sentence":
        return _dense("cls.seq_relationship", 2, c.hidden_size)
    if head in ("sequence_classification", "token_classification"):
        return _dense("classifier", c.num_labels, c.hidden_size)
    if head == "multiple_choice":
        return _dense("classifier", 1, c.hidden_size)
    if head == "question_answering":
        return _dense("qa_outputs", c.num_labels, c.hidden_size)
    raise ValueError(f"unknown head {head!r}; choose one of {list(HEADS)}")


def parameter_shapes(config: MobileBertConfig, head: str = "base", add_pooling_layer: bool | None = None) -> Shapes:
    """All weights of the model class `head`, under the names its HF class uses in a state dict.
    `add_pooling_layer` overrides the class's choice (HF's `MobileBertModel(config, add_pooling_layer=False)`)."""
    if add_pooling_layer is None:
        add_pooling_layer = HEADS[head][0] if head in HEADS else True
    base = base_model_shapes(config, add_pooling_layer)
    if head == "base":
        return base
    return {**{f"{BASE_MODEL_PREFIX}.{k}": v for k, v in base.items()}, **head_shapes(config, head)}


def is_initialisable(name: str) -> bool:
    """Is this a weight a checkpoint may well lack, to be drawn at random with a plain warning? Heads (cls.,
    classifier, qa_outputs) and the pooler: a base-model checkpoint has none of them. A missing weight of the
    encoder itself is drawn at random too, as transformers does, but with checkpoint.MissingWeightsWarning.
    """
    name = name.removeprefix(BASE_MODEL_PREFIX + ".")
    return name.startswith(("cls.", "classifier.", "qa_outputs.", "pooler."))


def init_params(config: MobileBertConfig, shapes: Shapes, seed: int | None = 0) -> dict[str, np.ndarray]:
    """Random weights as HF initialises them: dense and embedding weights ~ N(0, initializer_range),
    biases 0, norm weights 1, and the [PAD] row of the word embeddings 0."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        if ".LayerNorm.weight" in name:
            value = np.ones(shape, np.float32)
        elif name.endswith("bias"):
            value = np.zeros(shape, np.float32)
        else:
            value = rng.normal(0.0, config.initializer_range, size=shape).astype(np.float32)
            if name.endswith("word_embeddings.weight") and config.pad_token_id is not None:
                value[config.pad_token_id] = 0.0
        params[name] = value
    return params


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"encoder.layer.0.output.dense.weight": w} -> {"encoder": {"layer": [{"output": {"dense": {"weight": w}}}]}}"""
    root: dict[str, Any] = {}
    for name, value in flat.items():
        node = root
        *path, leaf = name.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return _lists_from_numbered_dicts(root)


def _lists_from_numbered_dicts(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    children = {k: _lists_from_numbered_dicts(v) for k, v in node.items()}
    if children and all(k.isdigit() for k in children):
        return [children[str(i)] for i in range(len(children))]
    return children


def count_parameters(shapes: Shapes) -> int:
    return sum(math.prod(s) for s in shapes.values())


def parameter_budget(config: MobileBertConfig) -> int:
    """The most weights any model class holds for this config: the encoder with its pooler, plus the largest
    head. MobileBertConfig.validate() compares it with MAX_PARAMETERS before anything is allocated (the caps
    on each field, checked first, keep this count itself cheap)."""
    heads = []
    for head in ("pretraining", "sequence_classification", "question_answering"):
        try:
            heads.append(count_parameters(head_shapes(config, head)))
        except ValueError:  # no masked-LM head when embedding_size > hidden_size; the base model still works
            pass
    return count_parameters(base_model_shapes(config, add_pooling_layer=True)) + max(heads)
