"""MobileBertConfig: the hyper-parameters of a MobileBERT, with Hugging Face's names and defaults.

Every field of `transformers.MobileBertConfig` is here under the same name with the same default, so a
`config.json` written by either library is read by the other. Two things to know:

* `true_hidden_size` is not a free parameter. HF derives it: it is `intra_bottleneck_size` when
  `use_bottleneck` is on (the 128-wide "inside" of a MobileBERT block) and `hidden_size` otherwise. A config
  file may carry it (the original TF release does not); we always recompute it, as HF does.
* `classifier_activation` defaults to True here, as in HF's class, but the published checkpoint
  google/mobilebert-uncased says False (its pooler is just "take the [CLS] vector"). `MobileBertConfig.published()`
  gives that checkpoint's configuration.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError  # noqa: F401 - re-exported: minimobilebert.config.ConfigError
from .functional import ACTIVATIONS

NORMALIZATION_TYPES = ("no_norm", "layer_norm")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")


@dataclass
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
    # --- fields every HF config has that the heads use ---
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    problem_type: str | None = None
    architectures: list[str] | None = None
    # Keys of a config.json that are not MobileBERT fields (e.g. transformers_version, _name_or_path),
    # kept so that writing the file back loses nothing.
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    model_type = "mobilebert"

    def __post_init__(self) -> None:
        if self.id2label is None:
            self.id2label = {0: "LABEL_0", 1: "LABEL_1"}
        self.id2label = {int(k): str(v) for k, v in self.id2label.items()}
        if self.label2id is None:
            self.label2id = {v: k for k, v in self.id2label.items()}
        self.label2id = {str(k): int(v) for k, v in self.label2id.items()}
        self.validate()

    # ------------------------------------------------------------------ derived sizes
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

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ConfigError naming the field, the value and the fix, for any config HF could not run."""
        positive = (
            "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size", "embedding_size", "intra_bottleneck_size",
            "num_feedforward_networks",
        )
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.normalization_type not in NORMALIZATION_TYPES:
            raise ConfigError(
                f"normalization_type must be one of {NORMALIZATION_TYPES}, got {self.normalization_type!r}"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(
                f"hidden_act {self.hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}"
            )
        if self.true_hidden_size % self.num_attention_heads:
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
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"pad_token_id={self.pad_token_id} is outside the vocabulary [0, {self.vocab_size})")
        if self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type must be one of {PROBLEM_TYPES}, got {self.problem_type!r}")
        for name in ("layer_norm_eps", "embedding_and_output_norm_eps"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def published(cls, **overrides: Any) -> MobileBertConfig:
        """The configuration google/mobilebert-uncased was released with (classifier_activation False)."""
        values = dict(classifier_activation=False, architectures=["MobileBertForPreTraining"])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MobileBertConfig:
        """Read a config.json's dict. Missing fields take HF's defaults (so the original TF release's files,
        which lack true_hidden_size, use_bottleneck_attention and layer_norm_eps, load as HF loads them);
        unknown keys are kept in `extra`."""
        if data.get("model_type", "mobilebert") != "mobilebert":
            raise ConfigError(
                f"config has model_type={data['model_type']!r}, not 'mobilebert'. For a BERT checkpoint use "
                "minimobilebert.convert.config_from_bert()"
            )
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k not in ("model_type", "true_hidden_size")}
        if "num_labels" in extra and "id2label" not in known:
            known["id2label"] = {i: f"LABEL_{i}" for i in range(int(extra.pop("num_labels")))}
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> MobileBertConfig:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"no config.json at {path}: a checkpoint folder needs one") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON ({e}); the file is corrupt or truncated") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
        return cls.from_dict(data)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike) -> MobileBertConfig:
        return cls.from_json_file(os.path.join(folder, "config.json"))

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name != "extra":
                data[f.name] = getattr(self, f.name)
        data["id2label"] = {str(k): v for k, v in self.id2label.items()}
        data["true_hidden_size"] = self.true_hidden_size
        data["model_type"] = self.model_type
        if data["architectures"] is None:
            del data["architectures"]
        return dict(sorted(data.items()))

    def to_json_file(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        os.makedirs(folder, exist_ok=True)
        self.to_json_file(os.path.join(folder, "config.json"))

    def replace(self, **changes: Any) -> MobileBertConfig:
        """A copy with some fields changed (validated again). New labels without a new label2id get
        label2id derived from them, rather than keeping the old labels' mapping."""
        if "id2label" in changes and "label2id" not in changes:
            changes["label2id"] = None
        return dataclasses.replace(self, **changes)
