"""What a model returns: Hugging Face's ModelOutput, for NumPy arrays.

An output is a dataclass *and* an ordered dict of its fields that are not None, exactly as in transformers:

    out = model(ids)                      # MaskedLMOutput(loss=None, logits=[B, T, vocab], ...)
    out.logits                            # attribute access
    out["logits"]                         # dict access; a None field is not a key (KeyError)
    out[0]                                # tuple access over the fields that are not None: here logits
    len(out), list(out.keys()), "loss" in out, out.to_tuple()

Like HF's, iterating (or unpacking) an output goes over its keys, as for any dict; `out.to_tuple()` gives the
values, and `return_dict=False` (argument or `config.return_dict`) makes the model return that tuple directly.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

Arrays = tuple[np.ndarray, ...]


class ModelOutput(OrderedDict):
    """Base class of every output: subclasses are dataclasses whose fields default to None."""

    def __setattr__(self, name: str, value: Any) -> None:
        if value is not None and name in {f.name for f in fields(self)}:
            super().__setitem__(name, value)  # the dataclass __init__ sets fields in order: keys keep it
        super().__setattr__(name, value)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        super().__setattr__(key, value)

    def __getitem__(self, k: str | int | slice) -> Any:
        if isinstance(k, str):
            return dict(self.items())[k]  # KeyError for a field that is None, as in HF
        return self.to_tuple()[k]

    def to_tuple(self) -> tuple:
        """The fields that are not None, in order (what `return_dict=False` returns)."""
        return tuple(self[k] for k in self.keys())

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"a {type(self).__name__} cannot be changed this way; build a new one (as in transformers)")

    __delitem__ = setdefault = pop = update = popitem = _refuse  # type: ignore[assignment]

    def __reduce__(self):
        callable_, _args, *rest = super().__reduce__()
        return callable_, tuple(getattr(self, f.name) for f in fields(self)), *rest


@dataclass(eq=False)
class BaseModelOutputWithPooling(ModelOutput):
    last_hidden_state: np.ndarray | None = None  # [B, T, H]
    pooler_output: np.ndarray | None = None  # [B, H]; None without a pooling layer
    hidden_states: Arrays | None = None  # num_hidden_layers + 1 of [B, T, H]
    attentions: Arrays | None = None  # num_hidden_layers of [B, heads, T, T]


@dataclass(eq=False)
class MobileBertForPreTrainingOutput(ModelOutput):
    loss: np.float32 | None = None
    prediction_logits: np.ndarray | None = None  # [B, T, vocab]
    seq_relationship_logits: np.ndarray | None = None  # [B, 2]
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@dataclass(eq=False)
class MaskedLMOutput(ModelOutput):
    """logits [B, T, vocab]"""

    loss: np.float32 | None = None
    logits: np.ndarray | None = None
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@dataclass(eq=False)
class NextSentencePredictorOutput(MaskedLMOutput):
    """logits [B, 2]: index 0 = B continues A, 1 = B is random"""


@dataclass(eq=False)
class SequenceClassifierOutput(MaskedLMOutput):
    """logits [B, num_labels]"""


@dataclass(eq=False)
class MultipleChoiceModelOutput(MaskedLMOutput):
    """logits [B, num_choices]"""


@dataclass(eq=False)
class TokenClassifierOutput(MaskedLMOutput):
    """logits [B, T, num_labels]"""


@dataclass(eq=False)
class QuestionAnsweringModelOutput(ModelOutput):
    loss: np.float32 | None = None
    start_logits: np.ndarray | None = None  # [B, T]
    end_logits: np.ndarray | None = None  # [B, T]
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None
