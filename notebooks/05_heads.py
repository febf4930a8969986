# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. The heads: what sits on top of the encoder
#
# MobileBERT is *task-agnostic*: *"it can be generically applied to various downstream NLP tasks via
# simple fine-tuning"* (Sun et al., 2020, abstract). Each task adds a small head to the same encoder.
# minimobilebert has Hugging Face's eight classes; we run each on the small random model and look at
# shapes, losses and how a prediction is read off the logits.
#
# **The weights are random** (unless `MINIMOBILEBERT_CHECKPOINT` is set), so the predictions are
# meaningless; the point is the plumbing. A fine-tuned checkpoint gives real answers through exactly the
# same calls.

# %%
import os

os.environ.setdefault("MINIMOBILEBERT_BACKEND", "numpy")

import numpy as np

from minimobilebert import (
    MobileBertConfig,
    MobileBertForMaskedLM,
    MobileBertForMultipleChoice,
    MobileBertForNextSentencePrediction,
    MobileBertForPreTraining,
    MobileBertForQuestionAnswering,
    MobileBertForSequenceClassification,
    MobileBertForTokenClassification,
)
from minimobilebert.cli import token_name
from minimobilebert.params import head_shapes
from minimobilebert.pipelines import best_spans, softmax

CHECKPOINT = os.environ.get("MINIMOBILEBERT_CHECKPOINT")
config = MobileBertConfig.from_pretrained(CHECKPOINT) if CHECKPOINT else MobileBertConfig.published(num_hidden_layers=2)


def load(cls, cfg=None):
    """The checkpoint's weights when given (missing head weights are drawn at random, with a warning, as
    in HF), else random weights (seed 0)."""
    if CHECKPOINT:
        return cls.from_pretrained(CHECKPOINT, config=cfg)
    return cls(cfg or config, seed=0)


def words(ids):
    return [token_name(int(i), config.vocab_size) for i in ids]


print("weights:", CHECKPOINT or "random (seed 0)")

# %% [markdown]
# The inputs are token ids from the BERT uncased vocabulary (notebook 01 turns text into them):

# %%
mask_ids = np.array([[101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102]])  # the capital of france is [MASK] .
pair_ids = np.array([[101, 2040, 2001, 3958, 27227, 1029, 102, 3958, 27227, 2001, 1037, 3835, 13997, 102]])
pair_types = np.array([[0] * 7 + [1] * 7])  # segment A = the question, segment B = the context
print(words(mask_ids[0]))
print([f"{w}/{int(t)}" for w, t in zip(words(pair_ids[0]), pair_types[0])])  # token/segment

# %% [markdown]
# ## Masked LM
#
# The head transforms each 512-wide vector (dense, activation, a real LayerNorm) and multiplies by a
# 512 x vocab output matrix. MobileBERT's matrix is the 128-wide word-embedding table (tied, used
# transposed) stacked on an extra `cls.predictions.dense.weight` of 384 rows:

# %%
for name, shape in head_shapes(config, "masked_lm").items():
    print(f"  {name:36s} {shape}")

mlm = load(MobileBertForMaskedLM)
labels = np.full_like(mask_ids, -100)  # -100: not scored
labels[0, 6] = 3000  # "paris" (line 3001 of vocab.txt, id 3000)
assert token_name(3000, config.vocab_size) == "paris"
out = mlm(mask_ids, labels=labels)
print("logits:", out.logits.shape, "| loss at the mask:", float(out.loss))
probs = softmax(out.logits[0, 6])
top = np.argsort(-probs)[:5]
print("top-5 at [MASK]:", [(token_name(int(i), config.vocab_size), round(float(probs[i]), 5)) for i in top])
print(f"with random weights the loss is about ln(vocab) = {np.log(config.vocab_size):.2f}")

# %% [markdown]
# ## Next-sentence prediction (and pre-training)
#
# The NSP head reads the pooled output. The published config has `classifier_activation=False`, so the
# "pooler" is just the `[CLS]` vector, no dense/tanh. Logit 0 means "B follows A", 1 means "B is random".
# `MobileBertForPreTraining` carries both heads; its loss adds the two.

# %%
nsp = load(MobileBertForNextSentencePrediction)
out = nsp(pair_ids, token_type_ids=pair_types, labels=np.array([0]))
print("NSP logits:", out.logits, "| P(B follows A) =", float(softmax(out.logits[0])[0]), "| loss", float(out.loss))

pre = load(MobileBertForPreTraining)
out = pre(pair_ids, token_type_ids=pair_types, labels=np.full_like(pair_ids, -100) + (pair_ids == 3835) * (3835 + 100),
          next_sentence_label=np.array([0]))
print("pre-training:", out.prediction_logits.shape, out.seq_relationship_logits.shape, "loss", float(out.loss))

# %% [markdown]
# ## Sequence classification
#
# A dense layer on the pooled vector to `num_labels` logits. The loss follows HF's rule: integer labels
# -> cross-entropy, one label -> regression (MSE), float multi-hot labels -> binary cross-entropy.
# `replace(id2label=...)` derives the matching `label2id` (see the note at the end).

# %%
emotions = {0: "others", 1: "happy", 2: "sad", 3: "angry"}
cls_config = config.replace(id2label=emotions)
clf = load(MobileBertForSequenceClassification, cls_config)
out = clf(pair_ids, token_type_ids=pair_types, labels=np.array([2]))
p = softmax(out.logits[0])
print("logits:", out.logits.shape, "| prediction:", emotions[int(p.argmax())], f"({p.max():.3f})",
      "| cross-entropy loss", float(out.loss))
multi = clf(pair_ids, token_type_ids=pair_types, labels=np.array([[0.0, 1.0, 0.0, 1.0]]))
print("multi-label (float multi-hot labels) -> binary cross-entropy:", float(multi.loss))

# %% [markdown]
# ## Multiple choice
#
# Inputs are `[batch, choices, seq]`; each (prompt, choice) pair is encoded separately, scored by a
# 512 -> 1 classifier, and the scores are compared across choices.

# %%
choices = np.stack([pair_ids, pair_ids[:, ::-1]], axis=1)  # [1, 2, T]: the pair, and the same ids reversed
mc = load(MobileBertForMultipleChoice)
out = mc(choices, labels=np.array([0]))
print("input", choices.shape, "-> logits", out.logits.shape, "| loss", float(out.loss))

# %% [markdown]
# ## Token classification
#
# A label per token (NER). The labels below are the CoNLL-style tags of
# mrm8488/mobilebert-finetuned-ner; with random weights the tags are noise.

# %%
ner_labels = {0: "O", 1: "B-MISC", 2: "I-MISC", 3: "B-PER", 4: "I-PER", 5: "B-ORG", 6: "I-ORG", 7: "B-LOC", 8: "I-LOC"}
ner_config = config.replace(id2label=ner_labels)
ner = load(MobileBertForTokenClassification, ner_config)
gold = np.full_like(pair_ids, -100)
gold[0, [3, 4, 7, 8]] = 4  # "jim henson" twice: I-PER
out = ner(pair_ids, token_type_ids=pair_types, labels=gold)
print("logits:", out.logits.shape, "| loss on the 4 labelled tokens:", float(out.loss))
print([f"{w}/{ner_labels[int(t)]}" for w, t in zip(words(pair_ids[0]), out.logits[0].argmax(-1))])

# %% [markdown]
# ## Question answering: from start/end logits to a span
#
# `qa_outputs` maps every token to two numbers, a start logit and an end logit. An answer is a span
# (s, e) of the **context** with s <= e, no longer than `max_answer_len`; its score is
# p_start(s) * p_end(e), each a softmax over the allowed tokens. `[CLS]` at position 0 stands for
# "no answer". `minimobilebert.pipelines.best_spans` does this selection.

# %%
qa = load(MobileBertForQuestionAnswering)
out = qa(pair_ids, token_type_ids=pair_types, start_positions=np.array([12]), end_positions=np.array([13]))
print("start/end logits:", out.start_logits.shape, out.end_logits.shape, "| loss for span 12..13:", float(out.loss))

allowed = (pair_types[0] == 1).astype(np.int64)  # context tokens ...
allowed[-1] = 0  # ... but not the final [SEP]
allowed[0] = 1  # and [CLS] = "no answer"
spans, null_score = best_spans(out.start_logits[0], out.end_logits[0], allowed, top_k=3, max_answer_len=15)
for s, e, score in spans:
    print(f"span {s}..{e}  score {score:.4f}  -> {' '.join(words(pair_ids[0, s:e + 1]))}")
print(f"no-answer score {null_score:.4f}")
print("naive argmax (may end before it starts or fall in the question):",
      int(out.start_logits[0].argmax()), int(out.end_logits[0].argmax()))

# %% [markdown]
# The question-answering pipeline does all of the above from text:
# tokenising the pair, windows over long contexts, span selection, and mapping tokens back to
# characters of the context.

# %%
from minimobilebert import pipeline

answer = pipeline("question-answering", qa)(question="Who was Jim Henson?", context="Jim Henson was a nice puppet")
print(answer)
fill = pipeline("fill-mask", mlm)
print(fill("The capital of France is [MASK].", top_k=3))

# %% [markdown]
# ### A note on `config.replace(id2label=...)`
#
# `MobileBertConfig.replace` builds a new, validated config. New labels without a new `label2id` get
# `label2id` derived from them (a plain `dataclasses.replace` would have kept the *old* labels' mapping,
# and the two would disagree):

# %%
relabelled = config.replace(id2label=emotions)
print("id2label:", relabelled.id2label, "\nlabel2id:", relabelled.label2id)
assert all(relabelled.label2id[label] == i for i, label in relabelled.id2label.items())
