"""MobileBertConfig: the hyper-parameters of a MobileBERT, with Hugging Face's names and defaults.

Every field of `transformers.MobileBertConfig` is here under the same name with the same default, so a
`config.json` written by either library is read by the other, and the calls a transformers user makes on a
config work the same way (`MobileBertConfig(num_labels=3, output_hidden_states=True)`,
`config.num_labels = 5`, `from_pretrained(path, subfolder=..., **overrides)`, `to_dict()`,
`to_json_string()`, unknown keys kept as attributes). docs/hf-compat.md lists what is supported and where we
are stricter. Things to know:

* `true_hidden_size` is not a free parameter. HF derives it: it is `intra_bottleneck_size` when
  `use_bottleneck` is on (the 128-wide "inside" of a MobileBERT block) and `hidden_size` otherwise. A config
  file may carry it (the original TF release does not); a value that disagrees is refused.
* `classifier_activation` defaults to True here, as in HF's class, but the published checkpoint
  google/mobilebert-uncased says False (its pooler is just "take the [CLS] vector"). `MobileBertConfig.published()`
  gives that checkpoint's configuration.
* A config file is hostile until checked. Every field is checked for its type as transformers' strict
  dataclass checks it (a boolean must be a JSON boolean: `"false"` is refused, never read as True; an integer
  field refuses 2.5 and "3"; a float field accepts an integer), and for its size against `LIMITS` and
  `MAX_PARAMETERS` before anything is allocated. Every problem is a ConfigError naming the field and the fix.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from . import files
from .errors import ConfigError  # noqa: F401 - re-exported: minimobilebert.config.ConfigError
from .errors import InputError
from .functional import ACTIVATIONS

NORMALIZATION_TYPES = ("no_norm", "layer_norm")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")

# The most a config may ask for, checked before any weight is allocated (a hostile config.json must end in a
# ConfigError, not a MemoryError). Generous for the BERT family: MobileBERT has 24 layers of width 512 and
# 30522 words; BERT-large 24 layers of 1024 (FFN 4096); multilingual vocabularies reach 250k words.
LIMITS = {
    "vocab_size": 1_048_576,
    "hidden_size": 16_384,
    "embedding_size": 16_384,
    "intra_bottleneck_size": 16_384,
    "intermediate_size": 65_536,
    "num_hidden_layers": 256,
    "num_attention_heads": 1_024,
    "num_feedforward_networks": 64,
    "max_position_embeddings": 131_072,
    "type_vocab_size": 1_024,
    "num_labels": 100_000,
    "chunk_size_feed_forward": 131_072,
}
# Weights of the largest model class a config describes (encoder + pooler + its biggest head): 2**29, 2 GiB of
# float32. MobileBERT has 25M parameters, BERT-large 335M.
MAX_PARAMETERS = 2**29

POSITIVE_INTS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "max_position_embeddings", "type_vocab_size", "embedding_size", "intra_bottleneck_size",
                 "num_feedforward_networks")
BOOLS = ("trigram_input", "use_bottleneck", "use_bottleneck_attention", "key_query_shared_bottleneck",
         "classifier_activation", "tie_word_embeddings", "output_hidden_states", "output_attentions",
         "return_dict", "is_encoder_decoder")
FLOATS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps",
          "embedding_and_output_norm_eps", "classifier_dropout")
# transformers' common keys that are not fields here but mean something when present (kept in `extra`).
EXTRA_BOOLS = ("is_decoder", "add_cross_attention", "torchscript", "use_bfloat16", "tie_encoder_decoder")
IGNORED_FOR_INFERENCE = {  # key: (value that is harmless, why another value means nothing here)
    "is_decoder": (False, "MobileBERT is an encoder; minimobilebert runs it bidirectionally"),
    "add_cross_attention": (False, "MobileBERT has no cross-attention; minimobilebert builds none"),
    "is_encoder_decoder": (False, "MobileBERT is an encoder only"),
    "use_bfloat16": (False, "minimobilebert computes in float32 only"),
}
FLOAT32_NAMES = (None, "float32", "auto", "fp32")
DTYPE_NAMES = ("float32", "float16", "bfloat16", "float64", "auto", "fp32", "fp16", "bf16", "half", "float",
               "int8", "uint8", "float8_e4m3fn", "float8_e5m2")
# Keys of PreTrainedConfig and their defaults: to_json_string(use_diff=True) leaves them out at these values,
# as transformers' own diff does, so a config.json we write looks like one transformers writes.
HF_COMMON_DEFAULTS = {"output_hidden_states": False, "output_attentions": False, "return_dict": True, "dtype": None,
                      "chunk_size_feed_forward": 0, "is_encoder_decoder": False, "problem_type": None,
                      "architectures": None}
_FLOAT_TAG = "__float__"
_SPECIAL_FLOATS = {"Infinity": float("inf"), "-Infinity": float("-inf"), "NaN": float("nan")}


def _kind(value: Any) -> str:
    return type(value).__name__


def check_int(name: str, value: Any, low: int | None = 1, cap: int | None = None) -> int:
    """An integer field: a JSON integer (not a float, a string or a boolean), within [low, cap]."""
    what = "a positive integer" if low == 1 else "an integer" if low is None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            hint = f"; write {int(value)} without the decimal point"
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            hint = f"; write {value.strip()} without quotes"
        raise ConfigError(f"{name} must be {what}, got {value!r} ({_kind(value)}){hint}")
    if low is not None and value < low:
        raise ConfigError(f"{name} must be {what}, got {value}")
    cap = LIMITS.get(name) if cap is None else cap
    if cap is not None and value > cap:
        raise ConfigError(f"{name}={value:,} is over minimobilebert's limit of {cap:,} for this field (no BERT-family "
                          "model comes near it); is the config file the right one? The limits are listed in "
                          "docs/checkpoints.md")
    return value


def check_bool(name: str, value: Any) -> bool:
    """A boolean field: JSON true/false only. transformers refuses strings and 0/1 here too; "false" must
    never be read as True."""
    if not isinstance(value, bool):
        hint = ""
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            hint = f"; write {value.strip().lower()} without quotes"
        elif isinstance(value, int) and value in (0, 1):
            hint = f"; write {'true' if value else 'false'}"
        raise ConfigError(f"{name} must be true or false, got {value!r} ({_kind(value)}){hint}")
    return value


def check_float(name: str, value: Any, optional: bool = False) -> float | None:
    """A float field: a finite JSON number (an integer is accepted and made a float)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = ""
        if isinstance(value, str):
            try:
                float(value)
                hint = f"; write {value.strip()} without quotes"
            except ValueError:
                pass
        raise ConfigError(f"{name} must be a number{' or null' if optional else ''}, got {value!r} "
                          f"({_kind(value)}){hint}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices) -> Any:
    if not isinstance(value, str) and value is not None or value not in choices:
        shown = sorted(c for c in choices if c is not None) + (["null"] if None in choices else [])
        raise ConfigError(f"{name} must be one of {shown}, got {value!r} ({_kind(value)})")
    return value


def dtype_name(value: Any) -> str | None:
    """"float16" for "float16", torch.float16 or numpy's float16; None for None."""
    if value is None:
        return None
    if isinstance(value, str):
        name = value.removeprefix("torch.")
    else:
        text = str(value)
        if text.startswith("torch."):
            name = text.removeprefix("torch.")
        else:
            import numpy as np

            if not isinstance(value, (type, np.dtype)):
                raise ConfigError(f"dtype must name a floating-point type like 'float32', got {value!r}")
            try:
                name = np.dtype(value).name
            except (TypeError, ValueError):
                raise ConfigError(f"dtype must name a floating-point type like 'float32', got {value!r}") from None
    if name not in DTYPE_NAMES:
        raise ConfigError(f"dtype {value!r} is not a type a checkpoint is stored in; use 'float32' (minimobilebert "
                          "computes in float32)")
    # torch's names, so that transformers can read the config back (it looks the name up in torch); "auto"
    # (take the checkpoint's type) says nothing a config.json needs to keep
    return {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16",
            "auto": None}.get(name, name)


def _check_token_id(name: str, value: Any) -> Any:
    """bos/eos/sep/...: an int, null, or (as some configs write) a list of ints."""
    if value is None:
        return value
    if isinstance(value, list):
        for v in value:
            check_int(name, v, low=None, cap=None)
        return value
    return check_int(name, value, low=None, cap=None)


def label_maps(id2label: Any, label2id: Any, num_labels: Any) -> tuple[dict[int, str], dict[str, Any]]:
    """Checked (id2label, label2id). Labels are numbered 0..n-1: JSON writes the ids as strings "0", "1", ...;
    label2id may map to ints or, as transformers allows, to strings, and is derived from id2label if absent."""
    if num_labels is not None:
        num_labels = check_int("num_labels", num_labels)
    if id2label is None:
        n = 2 if num_labels is None else num_labels
        id2label = {i: f"LABEL_{i}" for i in range(n)}
    elif not isinstance(id2label, dict):
        raise ConfigError(f"id2label must be an object mapping ids to label names, like {{\"0\": \"NEGATIVE\", "
                          f"\"1\": \"POSITIVE\"}}, got a {_kind(id2label)}"
                          + ("; turn the list into {\"0\": first, \"1\": second, ...}" if isinstance(id2label, list)
                             else ""))
    else:
        check_int("num_labels", len(id2label))  # the cap, before anything is built from it
        if num_labels is not None and num_labels != len(id2label):
            warnings.warn(f"num_labels={num_labels} does not match id2label's {len(id2label)} labels; "
                          "id2label is kept (as transformers does)", stacklevel=4)
        checked = {}
        for key, value in id2label.items():
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise ConfigError(f"id2label key {key!r} is not a label id; ids are 0, 1, ... (\"0\", \"1\" in JSON)")
            try:
                i = int(key)
            except ValueError:
                raise ConfigError(f"id2label key {key!r} is not a label id; ids are 0, 1, ... (\"0\", \"1\" in "
                                  "JSON)") from None
            if not isinstance(value, str):
                raise ConfigError(f"id2label[{key!r}] must be a label name (a string), got {value!r} ({_kind(value)})")
            if i in checked:
                raise ConfigError(f"id2label gives label id {i} twice")
            checked[i] = value
        if set(checked) != set(range(len(checked))):
            raise ConfigError(f"id2label ids must be 0..{len(checked) - 1} (one per output of the classifier), got "
                              f"{sorted(checked)[:10]}; renumber the labels from 0")
        id2label = dict(sorted(checked.items()))
    if label2id is None:
        label2id = {v: k for k, v in id2label.items()}
    elif not isinstance(label2id, dict):
        raise ConfigError(f"label2id must be an object mapping label names to ids, got a {_kind(label2id)}; "
                          "or leave it out and it is derived from id2label")
    else:
        for key, value in label2id.items():
            if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ConfigError(f"label2id must map label names to ids, got {key!r}: {value!r}")
        label2id = dict(label2id)
    return id2label, label2id


def _decode_special_floats(obj: Any) -> Any:
    """transformers writes inf/NaN as {"__float__": "Infinity"}; read them back the same way."""
    if isinstance(obj, dict):
        if set(obj) == {_FLOAT_TAG} and obj[_FLOAT_TAG] in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[obj[_FLOAT_TAG]]
        return {k: _decode_special_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode_special_floats(v) for v in obj]
    return obj


def _json_ready(obj: Any) -> Any:
    """Tuples as lists, inf/NaN tagged as transformers tags them, NumPy scalars as Python numbers."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return {_FLOAT_TAG: "NaN" if math.isnan(obj) else "Infinity" if obj > 0 else "-Infinity"}
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if hasattr(obj, "item") and hasattr(obj, "dtype") and getattr(obj, "ndim", 1) == 0:
        return _json_ready(obj.item())
    return obj


def read_config_json(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object of a config.json, read as hostile input (files.read_json: a regular file of at most
    files.JSON_LIMIT bytes). A missing file is a FileNotFoundError (an OSError, as in transformers)."""
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no config.json at {os.fspath(path)}: a checkpoint folder needs one")
    return files.read_json(path, "config.json", ConfigError)


@dataclass(init=False)
class MobileBertConfig:
    # --- the model (HF MobileBertConfig, same names and defaults) ---
    vocab_size: int = 30522
    hidden_size: int = 512  # width of the residual stream between blocks ("inter-block hidden size")
    num_hidden_layers: int = 24
    num_attention_heads: int = 4
    intermediate_size: int = 512  # width of each FFN's hidden layer
    hidden_act: str = "relu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    embedding_size: int = 128  # width of a word-embedding row, before the trigram convolution
    trigram_input: bool = True
    use_bottleneck: bool = True
    intra_bottleneck_size: int = 128  # width inside a block ("intra-block hidden size")
    use_bottleneck_attention: bool = False
    key_query_shared_bottleneck: bool = True
    num_feedforward_networks: int = 4
    normalization_type: str = "no_norm"
    classifier_activation: bool = True
    classifier_dropout: float | None = None
    tie_word_embeddings: bool = True
    # --- minimobilebert's own (not in HF's class) ---
    # HF builds two norms (after the embeddings; after each block's FFN output) without
    # eps=layer_norm_eps, so they use PyTorch's default 1e-5. Kept as the default for parity; a BERT
    # converted to this code path sets it to its layer_norm_eps (see convert.py).
    embedding_and_output_norm_eps: float = 1e-5
    # --- transformers' PreTrainedConfig fields, same defaults ---
    output_hidden_states: bool = False  # forward's default when the argument is not given
    output_attentions: bool = False
    return_dict: bool = True  # False: forward returns a plain tuple, as transformers
    dtype: str | None = None  # the dtype a checkpoint was saved in; we compute in float32 whatever it says
    chunk_size_feed_forward: int = 0  # FFN chunking saves memory in torch; the result is the same, so unused
    is_encoder_decoder: bool = False
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    problem_type: str | None = None
    architectures: list[str] | None = None
    # Keys that are not fields (transformers_version, _name_or_path, a user's own keys, ...): kept as
    # transformers keeps them, readable as attributes, written back by to_dict() / save_pretrained().
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    model_type = "mobilebert"
    # What transformers' config tests ask of a config class: not composite, buildable without arguments.
    sub_configs = {}  # noqa: RUF012 - a class constant, as in transformers
    is_composition = False
    has_no_defaults_at_init = False
    base_model_tp_plan = base_model_pp_plan = base_model_ep_plan = None  # no tensor/pipeline/expert parallelism

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Keyword arguments only, as transformers: any field above, transformers' common keys (`num_labels`,
        `torch_dtype`, `name_or_path`, ...) and any other key, which is kept (see `extra`)."""
        if args:
            raise ConfigError(f"MobileBertConfig takes keyword arguments only (as transformers), got {len(args)} "
                              "positional; write MobileBertConfig(hidden_size=512, ...)")
        object.__setattr__(self, "_ready", False)
        extra = kwargs.pop("extra", None)
        if extra is not None and not isinstance(extra, dict):
            raise ConfigError(f"extra must be a dict of additional config keys, got {_kind(extra)}")
        extra = dict(extra or {})
        if "torch_dtype" in kwargs:  # transformers' old name; `dtype` wins when both are given
            torch_dtype = kwargs.pop("torch_dtype")
            if kwargs.get("dtype") is None:
                kwargs["dtype"] = torch_dtype
        num_labels = kwargs.pop("num_labels", None)
        if "name_or_path" in kwargs:
            extra["_name_or_path"] = str(kwargs.pop("name_or_path"))
        model_type = kwargs.pop("model_type", self.model_type)
        if model_type != self.model_type:
            raise ConfigError(
                f"config has model_type={model_type!r}, not 'mobilebert'; minimobilebert runs 'mobilebert' and "
                "'bert' checkpoints (a BERT config converts through MobileBertConfig.from_dict / from_pretrained "
                "or minimobilebert.convert.config_from_bert)"
            )
        true_hidden_size = kwargs.pop("true_hidden_size", None)
        for private in ("attn_implementation", "_attn_implementation", "_commit_hash", "experts_implementation"):
            kwargs.pop(private, None)  # attention is computed one way here; nothing to choose or record
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            if f.name in kwargs:
                value = kwargs.pop(f.name)
            else:
                value = f.default_factory() if f.default is dataclasses.MISSING else f.default
            object.__setattr__(self, f.name, self._checked(f.name, value, low=0))
        for key, value in kwargs.items():
            extra[key] = self._checked_extra(key, value)
        object.__setattr__(self, "extra", extra)
        id2label, label2id = label_maps(self.id2label, self.label2id, num_labels)
        object.__setattr__(self, "id2label", id2label)
        object.__setattr__(self, "label2id", label2id)
        if true_hidden_size is not None and check_int("true_hidden_size", true_hidden_size) != self.true_hidden_size:
            raise ConfigError(
                f"true_hidden_size={true_hidden_size} disagrees with the other fields, which make it "
                f"{self.true_hidden_size} (intra_bottleneck_size when use_bottleneck, else hidden_size); "
                "remove true_hidden_size or fix intra_bottleneck_size / use_bottleneck"
            )
        self._validate(low=0)  # sizes may be 0 here, as in transformers' config classes; a model needs >= 1
        if self.problem_type == "single_label_classification" and self.num_labels == 1:
            # checked when a config is made, as transformers does (not by validate(): HF's own tests set
            # problem_type and num_labels one at a time and build a model in between)
            raise ConfigError('problem_type="single_label_classification" needs num_labels > 1; use num_labels=2 '
                              'for a binary classifier, or problem_type="regression" for one output')
        self._warn_meaningless()
        object.__setattr__(self, "_ready", True)

    # ------------------------------------------------------------------ field checks
    @staticmethod
    def _checked(name: str, value: Any, low: int | None = 1) -> Any:
        """One field's value after its type and size checks; `low` is the sizes' lower bound (None: none, see
        __setattr__; 0 while a config is made, as transformers' config tests build MobileBertConfig(hidden_size=0))."""
        if name in POSITIVE_INTS:
            if low == 0 and type(value) is int and value == 0:
                return 0
            return check_int(name, value, low=1 if low == 0 else low)
        if name == "chunk_size_feed_forward":
            return check_int(name, value, low=0)
        if name in BOOLS:
            return check_bool(name, value)
        if name in FLOATS:
            return check_float(name, value, optional=name == "classifier_dropout")
        if name == "hidden_act":
            if not isinstance(value, str):
                raise ConfigError(f"hidden_act must be a string naming the activation, got {value!r} "
                                  f"({_kind(value)}); use one of {sorted(ACTIVATIONS)}")
            if value not in ACTIVATIONS:
                raise ConfigError(f"hidden_act {value!r} is not supported; use one of {sorted(ACTIVATIONS)}")
            return value
        if name == "normalization_type":
            return check_choice(name, value, NORMALIZATION_TYPES)
        if name == "problem_type":
            return check_choice(name, value, PROBLEM_TYPES)
        if name == "pad_token_id":
            return None if value is None else check_int(name, value, low=0, cap=None)
        if name == "dtype":
            return dtype_name(value)
        if name == "architectures":
            if value is not None and (not isinstance(value, list) or not all(isinstance(a, str) for a in value)):
                raise ConfigError(f"architectures must be a list of class names like [\"MobileBertForMaskedLM\"], "
                                  f"got {value!r}")
            return None if value is None else list(value)
        return value  # id2label / label2id: checked together by label_maps

    @staticmethod
    def _checked_extra(key: str, value: Any) -> Any:
        """A key that is not a field: kept as is, but checked where transformers gives it a meaning."""
        if key in EXTRA_BOOLS:
            return check_bool(key, value)
        if key.endswith("_token_id"):
            return _check_token_id(key, value)
        return value

    def _warn_meaningless(self) -> None:
        for key, (harmless, why) in IGNORED_FOR_INFERENCE.items():
            value = getattr(self, key, harmless)
            if value != harmless:
                warnings.warn(f"config {key}={value!r} has no effect here: {why}", stacklevel=3)
        if self.dtype not in FLOAT32_NAMES:
            warnings.warn(f"config dtype={self.dtype!r}: minimobilebert computes in float32 only (MobileBERT's "
                          "activations reach 1e7-1e8, past float16's range); the model stays float32",
                          stacklevel=3)
        if self.extra.get("pruned_heads"):
            warnings.warn("config pruned_heads is not applied: minimobilebert keeps every attention head",
                          stacklevel=3)

    def __setattr__(self, name: str, value: Any) -> None:
        """Setting an attribute checks its type and cap at once. Sizes that only make sense together
        (hidden_size and num_attention_heads, ...) are checked as a whole by validate(), which runs when a
        model is built or the config saved, so fields can be changed one at a time, as in transformers."""
        if not self.__dict__.get("_ready", False):
            object.__setattr__(self, name, value)
            return
        if name == "torch_dtype":
            name = "dtype"
        if name in self.__dataclass_fields__ and name != "extra":
            if name in ("id2label", "label2id"):
                id2label, label2id = label_maps(value if name == "id2label" else self.id2label,
                                                value if name == "label2id" else self.label2id, None)
                value = id2label if name == "id2label" else label2id
            else:
                value = self._checked(name, value, low=None)
            object.__setattr__(self, name, value)
        elif name in ("num_labels", "extra") or name.startswith("_") and name != "_name_or_path":
            object.__setattr__(self, name, value)  # the property's setter, or a private attribute
        elif name == "name_or_path":
            self.extra["_name_or_path"] = str(value)
        elif name == "true_hidden_size":
            if value != self.true_hidden_size:
                raise ConfigError("true_hidden_size is derived (intra_bottleneck_size when use_bottleneck, else "
                                  "hidden_size); set those instead")
        elif name == "model_type":
            if value != self.model_type:
                raise ConfigError(f"a MobileBertConfig has model_type 'mobilebert', not {value!r}")
        else:
            self.extra[name] = self._checked_extra(name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the keys kept in `extra` read as attributes, as in transformers.
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __iter__(self):
        return iter(self.to_dict())

    # ------------------------------------------------------------------ derived values
    @property
    def true_hidden_size(self) -> int:
        """Width of attention and the FFNs: the bottleneck width, or hidden_size without bottlenecks."""
        return self.intra_bottleneck_size if self.use_bottleneck else self.hidden_size

    @property
    def attention_head_size(self) -> int:
        return self.true_hidden_size // self.num_attention_heads

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, num_labels: int) -> None:
        """As transformers: a new count makes new labels LABEL_0..LABEL_{n-1}; the same count keeps the names."""
        num_labels = check_int("num_labels", num_labels)
        if num_labels != self.num_labels:
            id2label, label2id = label_maps(None, None, num_labels)
            object.__setattr__(self, "id2label", id2label)
            object.__setattr__(self, "label2id", label2id)

    @property
    def torch_dtype(self) -> str | None:
        return self.dtype

    @property
    def name_or_path(self) -> str:
        return self.extra.get("_name_or_path", "")

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict

    def get_text_config(self, *args: Any, **kwargs: Any) -> MobileBertConfig:
        return self

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ConfigError naming the field, the value and the fix, for any config HF could not run, or that
        asks for more than LIMITS / MAX_PARAMETERS. Runs before a model is built, when a config file is read,
        and before saving; on construction too, except that sizes may still be 0 there."""
        self._validate(low=1)

    def _validate(self, low: int) -> None:
        for name in self.__dataclass_fields__:
            if name not in ("extra", "id2label", "label2id"):
                self._checked(name, getattr(self, name), low=low)
        label_maps(self.id2label, self.label2id, None)
        if self.num_attention_heads and self.true_hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"attention width true_hidden_size={self.true_hidden_size} (intra_bottleneck_size when "
                f"use_bottleneck, else hidden_size) is not divisible by num_attention_heads="
                f"{self.num_attention_heads}; pick a head count that divides it"
            )
        if (self.use_bottleneck and not self.use_bottleneck_attention and not self.key_query_shared_bottleneck
                and self.hidden_size != self.intra_bottleneck_size):
            # HF builds query/key projections of width true_hidden_size but feeds them the unbottlenecked
            # hidden_size-wide states in this mode, and fails with a shape error at run time.
            raise ConfigError(
                "use_bottleneck without use_bottleneck_attention or key_query_shared_bottleneck feeds the "
                f"{self.hidden_size}-wide hidden states to {self.intra_bottleneck_size}-wide query/key "
                "projections; set key_query_shared_bottleneck=True (MobileBERT) or use_bottleneck_attention="
                "True (MobileBERT-TINY), or make hidden_size equal intra_bottleneck_size"
            )
        if self.pad_token_id is not None and (low or self.vocab_size) and not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"pad_token_id={self.pad_token_id} is outside the vocabulary [0, {self.vocab_size})")
        for name in ("layer_norm_eps", "embedding_and_output_norm_eps"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.initializer_range < 0:
            raise ConfigError(f"initializer_range must be >= 0 (the standard deviation of the random weights), got "
                              f"{self.initializer_range}")
        from .params import parameter_budget  # params imports this module

        total = parameter_budget(self)
        if total > MAX_PARAMETERS:
            sizes = ", ".join(f"{n}={getattr(self, n):,}" for n in ("vocab_size", "hidden_size", "intermediate_size",
                                                                     "num_hidden_layers", "num_feedforward_networks",
                                                                     "max_position_embeddings", "num_labels"))
            raise ConfigError(f"this config describes a model of {total:,} parameters, over minimobilebert's limit "
                              f"of {MAX_PARAMETERS:,} (2 GiB of float32; BERT-large has 335M): {sizes}. Is it the "
                              "right config file?")

    # ------------------------------------------------------------------ construction
    @classmethod
    def published(cls, **overrides: Any) -> MobileBertConfig:
        """The configuration google/mobilebert-uncased was released with (classifier_activation False)."""
        values = dict(classifier_activation=False, architectures=["MobileBertForPreTraining"])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any):
        """A config from a config.json's dict, as transformers' `from_dict`: missing fields take HF's defaults
        (so the original TF release's files, which lack true_hidden_size, use_bottleneck_attention and
        layer_norm_eps, load as HF loads them); unknown keys are kept. `kwargs` override the dict's values
        (`num_labels=3` makes new labels unless the dict already has 3); with `return_unused_kwargs=True`,
        returns (config, the kwargs that are not config keys), else those are ignored with a warning."""
        if not isinstance(config_dict, dict):
            raise ConfigError(f"a config must be a JSON object (a dict), got {_kind(config_dict)}")
        return_unused = kwargs.pop("return_unused_kwargs", False)
        for internal in ("_from_auto", "_from_pipeline"):
            kwargs.pop(internal, None)
        data = _decode_special_floats(dict(config_dict))
        if data.get("model_type") == "bert":  # BERT is MobileBERT with its ideas switched off (convert.py)
            from .convert import bert_config_dict  # convert imports this module

            data = bert_config_dict(data)
        extra = {"extra": data.pop("extra")} if "extra" in data else {}  # a file's own key named "extra"
        known = set(cls.__dataclass_fields__) | set(data) | {"num_labels", "torch_dtype", "dtype", "name_or_path",
                                                             "attn_implementation"}
        used = {k: v for k, v in kwargs.items() if k in known}
        unused = {k: v for k, v in kwargs.items() if k not in known}
        if "num_labels" in used and "id2label" not in used:
            current = data.get("id2label")
            if not isinstance(current, dict) or len(current) != used["num_labels"]:
                data.pop("id2label", None)
                data.pop("label2id", None)
        if "id2label" in used and "label2id" not in used:
            data.pop("label2id", None)
        data.update(used)
        config = cls(**data, extra=extra)
        config.validate()  # a file's sizes must make a model (the constructor alone lets 0 through)
        if return_unused:
            return config, unused
        if unused:
            warnings.warn(f"ignored {sorted(unused)}: not MobileBertConfig keys (fields: see MobileBertConfig; "
                          "any key already in the config file can be overridden)", stacklevel=2)
        return config

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> MobileBertConfig:
        """A config.json: a regular file of at most files.JSON_LIMIT bytes holding a JSON object. A missing file
        is a FileNotFoundError (an OSError, as in transformers); every other problem a ConfigError naming it."""
        return cls.from_file_data(path, read_config_json(path))

    @classmethod
    def from_file_data(cls, path: str | os.PathLike, data: dict[str, Any], **kwargs: Any):
        """from_dict of the object read from the config.json at `path` (read_config_json); its errors name
        the file."""
        try:
            return cls.from_dict(data, **kwargs)
        except ConfigError as e:
            raise ConfigError(f"{os.fspath(path)}: {e}") from None

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *, subfolder: str = "",
                        cache_dir: str | None = None, revision: str | None = None, local_files_only: bool = False,
                        **kwargs: Any):
        """A checkpoint folder's config.json (or a config.json path, or a hub id), as transformers:
        `subfolder=` for a folder inside it, other keyword arguments override the file's values (see
        from_dict; `return_unused_kwargs=True` too). Hub options we do not need (token, force_download,
        proxies, trust_remote_code) are accepted and ignored."""
        for ignored in ("force_download", "token", "use_auth_token", "proxies", "trust_remote_code",
                        "resume_download", "code_revision", "_configuration_file"):
            kwargs.pop(ignored, None)
        path = os.path.expanduser(os.fspath(pretrained_model_name_or_path))
        if os.path.isfile(path) and not subfolder:
            file = path
        else:
            folder = path
            if not os.path.isdir(path):
                from .hub import resolve_model_folder

                folder = resolve_model_folder(path, cache_dir=cache_dir, revision=revision,
                                              local_files_only=local_files_only)
            if subfolder:
                folder = os.path.join(folder, subfolder)
                if not os.path.isdir(folder):
                    raise FileNotFoundError(f"no subfolder {subfolder!r} in {path!r}")
            file = os.path.join(folder, "config.json")
        return cls.from_file_data(file, read_config_json(file), **kwargs)

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict[str, Any]:
        """Every key, as transformers' to_dict: the fields, the derived true_hidden_size, model_type, and the
        kept extra keys. Tuples become lists (what JSON gives back)."""
        data = copy.deepcopy(self.extra)
        for f in dataclasses.fields(self):
            if f.name != "extra":
                data[f.name] = copy.deepcopy(getattr(self, f.name))
        data["true_hidden_size"] = self.true_hidden_size
        data["model_type"] = self.model_type
        return {k: (_json_ready(v) if isinstance(v, tuple) else v) for k, v in sorted(data.items())}

    def to_diff_dict(self) -> dict[str, Any]:
        """to_dict() without transformers' common keys at their defaults (and the default two labels), as
        transformers writes config.json."""
        data = self.to_dict()
        for key, default in HF_COMMON_DEFAULTS.items():
            if key in data and data[key] == default:
                del data[key]
        if self.id2label == {0: "LABEL_0", 1: "LABEL_1"} and self.label2id == {"LABEL_0": 0, "LABEL_1": 1}:
            del data["id2label"], data["label2id"]
        data.pop("_name_or_path", None)
        return data

    def to_json_string(self, use_diff: bool = True) -> str:
        data = self.to_diff_dict() if use_diff else self.to_dict()
        return json.dumps(_json_ready(data), indent=2, sort_keys=True, default=str) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike, use_diff: bool = True) -> None:
        text = self.to_json_string(use_diff)
        with open(json_file_path, "w", encoding="utf-8") as f:
            f.write(text)

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> None:
        """Write save_directory/config.json (checked first, as transformers checks at save time)."""
        if push_to_hub:
            raise InputError("push_to_hub is not supported: save the folder, then upload it with huggingface_hub "
                             "(`hf upload`)")
        self.validate()
        os.makedirs(save_directory, exist_ok=True)
        self.to_json_file(os.path.join(save_directory, "config.json"))

    def update(self, config_dict: dict[str, Any]) -> None:
        for key, value in config_dict.items():
            setattr(self, key, value)

    def replace(self, **changes: Any) -> MobileBertConfig:
        """A copy with some fields changed (validated again). New labels without a new label2id get
        label2id derived from them, rather than keeping the old labels' mapping."""
        if "id2label" in changes and "label2id" not in changes:
            changes["label2id"] = None
        if "num_labels" in changes:
            n = changes.pop("num_labels")
            if n != self.num_labels and "id2label" not in changes:
                changes.update(id2label=None, label2id=None, num_labels=n)
            elif "id2label" in changes:
                changes["num_labels"] = n
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # this config's warnings were given when it was made
            return dataclasses.replace(self, **changes)
