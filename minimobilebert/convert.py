"""Run a plain BERT checkpoint through the MobileBERT code path.

BERT is MobileBERT with every MobileBERT idea switched off: no bottlenecks (true_hidden_size =
hidden_size), no trigram input and a full-width embedding table (so no embedding transformation), one FFN,
LayerNorm instead of NoNorm, and a tanh pooler. Under those switches HF's MobileBERT modules have the same
weight names as BERT's, so converting is renaming `bert.` to `mobilebert.` and choosing the config.

One thing HF's MobileBertConfig cannot express: HF's MobileBERT builds two LayerNorms (after the
embeddings, and after each block's FFN output) without `eps=config.layer_norm_eps`, so they use PyTorch's
default 1e-5 where BERT uses its layer_norm_eps (1e-12). On all-MiniLM-L6-v2 that alone moves the
embedding output by 2e-3 (relative), above our 1e-4 parity tolerance: the embedding variance is small.
So our config has one field HF's lacks, `embedding_and_output_norm_eps` (default 1e-5, HF's behaviour),
and the conversion sets it to BERT's layer_norm_eps.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .checkpoint import find_weights_file, load_state_dict
from .config import MobileBertConfig
from .errors import ConfigError
from .files import read_json

BERT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "hidden_act", "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
               "pad_token_id")


def config_from_bert(bert: dict[str, Any]) -> MobileBertConfig:
    """A MobileBertConfig that computes exactly what a BERT config describes (see the module docstring)."""
    if bert.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(f"BERT position_embedding_type={bert['position_embedding_type']!r} has no MobileBERT "
                          "equivalent: MobileBERT only has absolute position embeddings")
    if bert.get("is_decoder") or bert.get("add_cross_attention"):
        raise ConfigError("a BERT decoder / cross-attention checkpoint has no MobileBERT equivalent")
    fields = {k: bert[k] for k in BERT_FIELDS if k in bert}
    hidden = fields.get("hidden_size", 768)
    return MobileBertConfig(
        **fields,
        embedding_size=hidden,
        intra_bottleneck_size=hidden,
        trigram_input=False,
        use_bottleneck=False,
        use_bottleneck_attention=False,
        key_query_shared_bottleneck=False,
        num_feedforward_networks=1,
        normalization_type="layer_norm",
        classifier_activation=True,
        embedding_and_output_norm_eps=fields.get("layer_norm_eps", 1e-12),
        extra={"converted_from": bert.get("_name_or_path", "bert")},
    )


def state_dict_from_bert(state: dict[str, np.ndarray], config: MobileBertConfig) -> dict[str, np.ndarray]:
    """Rename a BERT state dict to MobileBERT's names: `bert.` -> `mobilebert.`; drop buffers; give the LM
    head its (empty) extra output rows, since with embedding_size == hidden_size there are none."""
    out = {}
    for name, value in state.items():
        if name.endswith("position_ids"):
            continue
        if name.startswith("bert."):
            name = "mobilebert." + name[len("bert."):]
        out[name] = value
    if "cls.predictions.bias" in out or "cls.predictions.decoder.bias" in out:
        out["cls.predictions.dense.weight"] = np.zeros((0, config.vocab_size), np.float32)
        out.pop("cls.predictions.decoder.weight", None)  # tied to the word embeddings, as in MobileBERT
    return out


def load_bert(folder: str, model_class):
    """A minimobilebert model of `model_class` holding the BERT checkpoint in `folder`."""
    config = config_from_bert(read_json(os.path.join(folder, "config.json"), "BERT config.json", ConfigError))
    state = state_dict_from_bert(load_state_dict(find_weights_file(folder)), config)
    return model_class(config, state, source=folder)
