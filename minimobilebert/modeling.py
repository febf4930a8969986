"""The model classes a Hugging Face user knows, as thin wrappers over the free functions.

    model = MobileBertForMaskedLM.from_pretrained("path/to/checkpoint")
    out = model(input_ids, attention_mask=mask)          # NumPy int arrays [B, T]
    out.logits                                          # [B, T, vocab]

Each class owns a config and a flat dict of float32 weights named as in HF's state dict
(`model.params`); the math lives in model.py (encoder) and heads.py (heads), losses in losses.py.
Inference only: no dropout, no gradients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checkpoint, heads, losses, model
from .config import MobileBertConfig
from .hub import resolve_model_folder
from .params import HEADS, init_params, nest, parameter_shapes
from .validation import validate_inputs

Arrays = tuple[np.ndarray, ...]


# ------------------------------------------------------------------------------------------------- outputs


@dataclass
class BaseModelOutputWithPooling:
    last_hidden_state: np.ndarray  # [B, T, H]
    pooler_output: np.ndarray | None = None  # [B, H]
    hidden_states: Arrays | None = None  # num_hidden_layers + 1 of [B, T, H]
    attentions: Arrays | None = None  # num_hidden_layers of [B, heads, T, T]


@dataclass
class MobileBertForPreTrainingOutput:
    loss: np.float32 | None = None
    prediction_logits: np.ndarray | None = None  # [B, T, vocab]
    seq_relationship_logits: np.ndarray | None = None  # [B, 2]
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@dataclass
class _LogitsOutput:
    loss: np.float32 | None = None
    logits: np.ndarray | None = None
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


class MaskedLMOutput(_LogitsOutput):
    """logits [B, T, vocab]"""


class NextSentencePredictorOutput(_LogitsOutput):
    """logits [B, 2]: index 0 = B continues A, 1 = B is random"""


class SequenceClassifierOutput(_LogitsOutput):
    """logits [B, num_labels]"""


class MultipleChoiceModelOutput(_LogitsOutput):
    """logits [B, num_choices]"""


class TokenClassifierOutput(_LogitsOutput):
    """logits [B, T, num_labels]"""


@dataclass
class QuestionAnsweringModelOutput:
    loss: np.float32 | None = None
    start_logits: np.ndarray | None = None  # [B, T]
    end_logits: np.ndarray | None = None  # [B, T]
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


# ------------------------------------------------------------------------------------------------- base class


class MobileBertPreTrainedModel:
    head = "base"

    def __init__(self, config: MobileBertConfig | None = None, params: dict[str, np.ndarray] | None = None,
                 *, seed: int | None = 0, source: str | None = None):
        """A model with `params` (a flat {hf_name: array} dict, checked against the config), or with random
        weights drawn as HF initialises them when `params` is None. `source` names the weights in errors."""
        self.config = config if config is not None else MobileBertConfig()
        self.add_pooling_layer = HEADS[self.head][0]
        shapes = parameter_shapes(self.config, self.head)
        if params is None:
            params = init_params(self.config, shapes, seed)
        else:
            source = source or f"{type(self).__name__} params"
            params = checkpoint.reconcile(checkpoint.to_float32(params, source), shapes, self.config, source, seed)
        self.params = params
        self.p = nest(params)

    # ----------------------------------------------------------------------------- loading and saving
    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, config: MobileBertConfig | None = None,
                        cache_dir: str | None = None, revision: str | None = None,
                        local_files_only: bool = False, seed: int | None = 0):
        """Load a checkpoint folder (config.json + model.safetensors or pytorch_model.bin) or a hub id."""
        folder = resolve_model_folder(name_or_path, cache_dir=cache_dir, revision=revision,
                                      local_files_only=local_files_only)
        config = config if config is not None else MobileBertConfig.from_pretrained(folder)
        weights = checkpoint.find_weights_file(folder)
        return cls(config, checkpoint.load_state_dict(weights), seed=seed, source=weights)

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Write config.json and model.safetensors that both minimobilebert and transformers load."""
        os.makedirs(folder, exist_ok=True)
        self.config.replace(architectures=[HEADS[self.head][1]]).save_pretrained(folder)
        checkpoint.save_state_dict(self.params, os.path.join(folder, "model.safetensors"))

    def state_dict(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def num_parameters(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    # ----------------------------------------------------------------------------- running
    def __call__(self, *args: Any, **kwargs: Any):
        return self.forward(*args, **kwargs)

    @property
    def _base_params(self):
        return self.p if self.head == "base" else self.p["mobilebert"]

    def _encode(self, input_ids, attention_mask, token_type_ids, position_ids, output_hidden_states,
                output_attentions, rank: int = 2):
        """Validate, flatten multiple-choice inputs to [B*C, T], run the base model."""
        ids, mask, types, positions = validate_inputs(self.config, input_ids, attention_mask, token_type_ids,
                                                      position_ids, rank)
        if rank == 3:
            flat = lambda a: None if a is None else a.reshape(-1, a.shape[-1])  # noqa: E731
            ids, mask, types, positions = flat(ids), flat(mask), flat(types), flat(positions)
        sequence, pooled, hidden, probs = model.mobilebert(ids, mask, types, positions, self._base_params,
                                                           self.config, self.add_pooling_layer,
                                                           output_hidden_states, output_attentions)
        return sequence, pooled, None if hidden is None else tuple(hidden), None if probs is None else tuple(probs)


def _labels(name: str, value, shape: tuple[int, ...] | None = None) -> np.ndarray:
    labels = losses.class_ids(name, value)  # integer class ids, or InputError naming `name`
    if shape is not None and labels.size != int(np.prod(shape)):
        raise losses.InputError(f"{name} has shape {labels.shape}; expected {shape} (one class id per position, "
                                f"{losses.IGNORE_INDEX} where there is no label)")
    return labels


# ------------------------------------------------------------------------------------------------- classes


class MobileBertModel(MobileBertPreTrainedModel):
    """The encoder: last_hidden_state [B, T, 512] and pooler_output [B, 512]."""

    head = "base"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_hidden_states=False, output_attentions=False) -> BaseModelOutputWithPooling:
        seq, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                                 output_hidden_states, output_attentions)
        return BaseModelOutputWithPooling(seq, pooled, hidden, attn)


class MobileBertForPreTraining(MobileBertPreTrainedModel):
    """Masked-LM and next-sentence heads; loss = MLM + NSP when both labels and next_sentence_label given."""

    head = "pretraining"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                next_sentence_label=None, output_hidden_states=False,
                output_attentions=False) -> MobileBertForPreTrainingOutput:
        seq, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                                 output_hidden_states, output_attentions)
        word_embeddings = self.p["mobilebert"]["embeddings"]["word_embeddings"]["weight"]
        logits = heads.lm_prediction_head(seq, self.p["cls"]["predictions"], word_embeddings, self.config)
        nsp = heads.seq_relationship(pooled, self.p["cls"]["seq_relationship"])
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = np.float32(losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
                              + losses.cross_entropy(nsp, _labels("next_sentence_label", next_sentence_label)))
        return MobileBertForPreTrainingOutput(loss, logits, nsp, hidden, attn)


class MobileBertForMaskedLM(MobileBertPreTrainedModel):
    """Masked-LM head; labels [B, T] with -100 where no prediction is scored."""

    head = "masked_lm"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> MaskedLMOutput:
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions)
        word_embeddings = self.p["mobilebert"]["embeddings"]["word_embeddings"]["weight"]
        logits = heads.lm_prediction_head(seq, self.p["cls"]["predictions"], word_embeddings, self.config)
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
        return MaskedLMOutput(loss, logits, hidden, attn)


class MobileBertForNextSentencePrediction(MobileBertPreTrainedModel):
    """Next-sentence head on the pooled [CLS] vector; labels [B] of 0 (continuation) / 1 (random)."""

    head = "next_sentence"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> NextSentencePredictorOutput:
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions)
        logits = heads.seq_relationship(pooled, self.p["cls"]["seq_relationship"])
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels))
        return NextSentencePredictorOutput(loss, logits, hidden, attn)


class MobileBertForSequenceClassification(MobileBertPreTrainedModel):
    """Classifier on the pooled vector. The loss follows config.problem_type, or, when unset, HF's rule:
    1 label -> regression (MSE); integer labels -> single-label (cross-entropy); else multi-label (BCE)."""

    head = "sequence_classification"

    def problem_type(self, labels: np.ndarray) -> str:
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if np.issubdtype(labels.dtype, np.integer):
            return "single_label_classification"
        return "multi_label_classification"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> SequenceClassifierOutput:
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions)
        logits = heads.classifier(pooled, self.p["classifier"])  # [B, 512] -> [B, num_labels]
        loss = None
        if labels is not None:
            labels = np.asarray(labels)
            kind = self.problem_type(labels)
            if kind == "regression":
                loss = losses.mse(logits.squeeze() if self.config.num_labels == 1 else logits, labels.squeeze()
                                  if self.config.num_labels == 1 else labels)
            elif kind == "single_label_classification":
                loss = losses.cross_entropy(logits, labels)
            else:
                loss = losses.binary_cross_entropy_with_logits(logits, labels)
        return SequenceClassifierOutput(loss, logits, hidden, attn)


class MobileBertForMultipleChoice(MobileBertPreTrainedModel):
    """Scores each (context, choice) pair: inputs [B, C, T] -> logits [B, C]; labels [B] = the right choice."""

    head = "multiple_choice"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> MultipleChoiceModelOutput:
        num_choices = np.shape(input_ids)[1] if np.ndim(input_ids) == 3 else None
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions, rank=3)
        logits = heads.classifier(pooled, self.p["classifier"]).reshape(-1, num_choices)  # [B*C, 1] -> [B, C]
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels))
        return MultipleChoiceModelOutput(loss, logits, hidden, attn)


class MobileBertForTokenClassification(MobileBertPreTrainedModel):
    """A label per token (e.g. NER); labels [B, T] with -100 on positions not scored."""

    head = "token_classification"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states=False, output_attentions=False) -> TokenClassifierOutput:
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions)
        logits = heads.classifier(seq, self.p["classifier"])  # [B, T, 512] -> [B, T, num_labels]
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
        return TokenClassifierOutput(loss, logits, hidden, attn)


class MobileBertForQuestionAnswering(MobileBertPreTrainedModel):
    """Extractive QA: start/end logits per token. The loss averages start and end cross-entropy;
    positions outside the sequence are clamped to T and ignored, as in HF."""

    head = "question_answering"

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None, output_hidden_states=False,
                output_attentions=False) -> QuestionAnsweringModelOutput:
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions)
        start_logits, end_logits = heads.qa_outputs(seq, self.p["qa_outputs"])  # [B, T], [B, T]
        loss = None
        if start_positions is not None and end_positions is not None:
            T = seq.shape[1]
            start = np.clip(np.asarray(start_positions).reshape(-1), 0, T)
            end = np.clip(np.asarray(end_positions).reshape(-1), 0, T)
            loss = np.float32((losses.cross_entropy(start_logits, start, ignore_index=T)
                               + losses.cross_entropy(end_logits, end, ignore_index=T)) / 2)
        return QuestionAnsweringModelOutput(loss, start_logits, end_logits, hidden, attn)


MODEL_CLASSES = {cls.head: cls for cls in (
    MobileBertModel, MobileBertForPreTraining, MobileBertForMaskedLM, MobileBertForNextSentencePrediction,
    MobileBertForSequenceClassification, MobileBertForMultipleChoice, MobileBertForTokenClassification,
    MobileBertForQuestionAnswering,
)}
