"""Run a plain BERT checkpoint through the MobileBERT code path.

BERT is MobileBERT with every MobileBERT idea switched off: no bottlenecks (true_hidden_size =
hidden_size), no trigram input and a full-width embedding table (so no embedding transformation), one FFN,
LayerNorm instead of NoNorm, and a tanh pooler. Under those switches HF's MobileBERT modules have the same
weight names as BERT's, so converting is renaming `bert.` to `mobilebert.` and choosing the config. Both
happen on every load: `MobileBertConfig.from_dict` converts a config with model_type "bert"
(bert_config_dict), `checkpoint.reconcile` renames a BERT state dict (state_dict_from_bert), so
`from_pretrained`, the Auto classes, pipelines and the CLI take a BERT folder as they take a MobileBERT one.

One thing HF's MobileBertConfig cannot express: HF's MobileBERT builds two LayerNorms (after the
embeddings, and after each block's FFN output) without `eps=config.layer_norm_eps`, so they use PyTorch's
default 1e-5 where BERT uses its layer_norm_eps (1e-12). On all-MiniLM-L6-v2 that alone moves the
embedding output by 2e-3 (relative), above our 1e-4 parity tolerance: the embedding variance is small.
So our config has one field HF's lacks, `embedding_and_output_norm_eps` (default 1e-5, HF's behaviour),
and the conversion sets it to BERT's layer_norm_eps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import MobileBertConfig
from .errors import ConfigError

# transformers' BertConfig defaults, for a BERT config.json that leaves a field out (MobileBERT's differ)
BERT_DEFAULTS = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                 "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
                 "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0}
BERT_ONLY = ("model_type", "position_embedding_type", "use_cache", "gradient_checkpointing", "true_hidden_size")


def bert_config_dict(bert: dict[str, Any]) -> dict[str, Any]:
    """A BERT config.json's dict as the MobileBertConfig dict that computes the same model (see the module
    docstring). Every other key (id2label, label2id, problem_type, ...) is kept; architectures are renamed
    (BertForMaskedLM -> MobileBertForMaskedLM); `converted_from` records the origin."""
    if bert.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(f"BERT position_embedding_type={bert['position_embedding_type']!r} has no MobileBERT "
                          "equivalent: MobileBERT only has absolute position embeddings")
    if bert.get("is_decoder") or bert.get("add_cross_attention"):
        raise ConfigError("a BERT decoder / cross-attention checkpoint has no MobileBERT equivalent")
    data = dict(BERT_DEFAULTS)
    data.update({k: v for k, v in bert.items() if k not in BERT_ONLY})
    hidden = data["hidden_size"]
    architectures = data.get("architectures")
    if isinstance(architectures, list):
        data["architectures"] = [a.replace("Bert", "MobileBert", 1) if isinstance(a, str) and a.startswith("Bert")
                                 else a for a in architectures]
    data.update(
        embedding_size=hidden,
        intra_bottleneck_size=hidden,
        trigram_input=False,
        use_bottleneck=False,
        use_bottleneck_attention=False,
        key_query_shared_bottleneck=False,
        num_feedforward_networks=1,
        normalization_type="layer_norm",
        classifier_activation=True,
        embedding_and_output_norm_eps=data["layer_norm_eps"],
        converted_from=bert.get("_name_or_path", "bert"),
    )
    return data


# config keys only MobileBERT has: a config.json with none of them and no model_type may be an old BERT
MOBILEBERT_KEYS = frozenset({"embedding_size", "intra_bottleneck_size", "true_hidden_size", "trigram_input",
                             "use_bottleneck", "use_bottleneck_attention", "key_query_shared_bottleneck",
                             "num_feedforward_networks", "normalization_type", "classifier_activation"})


def untyped(raw: dict[str, Any]) -> bool:
    """A config.json with no model_type and none of MobileBERT's own keys: older BERT checkpoints (Google's
    BERT miniatures) look like this; transformers then guesses the type from the folder's name."""
    return "model_type" not in raw and not MOBILEBERT_KEYS & raw.keys()


def is_untyped_bert(raw: dict[str, Any], state: dict[str, Any]) -> bool:
    """An untyped config.json is a BERT's when its weights have none of MobileBERT's own tensors
    (bottlenecks, the embedding transformation), which MobileBERT's defaults would need."""
    return untyped(raw) and not any("bottleneck" in name or "embedding_transformation" in name for name in state)


def config_from_bert(bert: dict[str, Any]) -> MobileBertConfig:
    """A MobileBertConfig that computes exactly what a BERT config describes (see the module docstring).
    `MobileBertConfig.from_dict` / `from_pretrained` do the same for a dict with model_type "bert"."""
    return MobileBertConfig.from_dict(bert_config_dict(bert))


def state_dict_from_bert(state: dict[str, np.ndarray], config: MobileBertConfig) -> dict[str, np.ndarray]:
    """Rename a BERT state dict to MobileBERT's names: `bert.` -> `mobilebert.`; drop buffers; give the LM
    head its (empty) extra output rows, since with embedding_size == hidden_size there are none. A state
    dict with MobileBERT's names comes back as it is (checkpoint.reconcile calls this on every load)."""
    if not any(name.startswith("bert.") for name in state):
        return state
    out = {}
    for name, value in state.items():
        if name.endswith("position_ids"):
            continue
        if name.startswith("bert."):
            name = "mobilebert." + name[len("bert."):]
        out[name] = value
    if "cls.predictions.bias" in out or "cls.predictions.decoder.bias" in out:
        out.setdefault("cls.predictions.dense.weight",
                       np.zeros((config.hidden_size - config.embedding_size, config.vocab_size), np.float32))
        if config.tie_word_embeddings:
            out.pop("cls.predictions.decoder.weight", None)  # tied to the word embeddings, as in MobileBERT
    return out


def load_bert(folder: str, model_class):
    """A minimobilebert model of `model_class` holding the BERT checkpoint in `folder`; the same as
    `model_class.from_pretrained(folder)`, which reads BERT folders too."""
    return model_class.from_pretrained(folder)
