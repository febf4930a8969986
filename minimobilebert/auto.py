"""transformers' Auto classes, for the one architecture minimobilebert runs.

Most transformers inference scripts say `AutoTokenizer` and `AutoModelForSequenceClassification`, not the
MobileBERT class names; these let them run by changing the import:

    from minimobilebert.auto import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

Each `from_pretrained` is the MobileBERT class's (same options, same errors); `from_config(config)` builds a
model with random weights, as transformers' does. A checkpoint of another model type is refused by
MobileBertConfig with a ConfigError that names what to do instead (a BERT: minimobilebert.convert).
"""

from __future__ import annotations

import os
from typing import Any

from .config import MobileBertConfig
from .modeling import (
    MobileBertForMaskedLM,
    MobileBertForMultipleChoice,
    MobileBertForNextSentencePrediction,
    MobileBertForPreTraining,
    MobileBertForQuestionAnswering,
    MobileBertForSequenceClassification,
    MobileBertForTokenClassification,
    MobileBertModel,
    MobileBertPreTrainedModel,
)


class AutoConfig:
    """`AutoConfig.from_pretrained(path, **overrides)`: the folder's MobileBertConfig."""

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any):
        return MobileBertConfig.from_pretrained(pretrained_model_name_or_path, **kwargs)

    @staticmethod
    def for_model(model_type: str = "mobilebert", **kwargs: Any) -> MobileBertConfig:
        return MobileBertConfig(model_type=model_type, **kwargs)


class _AutoModel:
    model_class: type[MobileBertPreTrainedModel]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any):
        return cls.model_class.from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    @classmethod
    def from_config(cls, config: MobileBertConfig, **kwargs: Any):
        return cls.model_class(config, **kwargs)


class AutoModel(_AutoModel):
    model_class = MobileBertModel


class AutoModelForPreTraining(_AutoModel):
    model_class = MobileBertForPreTraining


class AutoModelForMaskedLM(_AutoModel):
    model_class = MobileBertForMaskedLM


class AutoModelForNextSentencePrediction(_AutoModel):
    model_class = MobileBertForNextSentencePrediction


class AutoModelForSequenceClassification(_AutoModel):
    model_class = MobileBertForSequenceClassification


class AutoModelForMultipleChoice(_AutoModel):
    model_class = MobileBertForMultipleChoice


class AutoModelForTokenClassification(_AutoModel):
    model_class = MobileBertForTokenClassification


class AutoModelForQuestionAnswering(_AutoModel):
    model_class = MobileBertForQuestionAnswering


class AutoTokenizer:
    """`AutoTokenizer.from_pretrained(path, **options)`: the folder's MobileBertTokenizer (BERT WordPiece)."""

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any):
        from .tokenizer import MobileBertTokenizer

        return MobileBertTokenizer.from_pretrained(pretrained_model_name_or_path, *args, **kwargs)


__all__ = ["AutoConfig", "AutoModel", "AutoModelForMaskedLM", "AutoModelForMultipleChoice",
           "AutoModelForNextSentencePrediction", "AutoModelForPreTraining", "AutoModelForQuestionAnswering",
           "AutoModelForSequenceClassification", "AutoModelForTokenClassification", "AutoTokenizer"]
