"""Opt-in: the values published for the real checkpoints (docs/facts.md lists each with its public source).

No machine here can download them, so these run only when you point an environment variable at a local
copy of the checkpoint folder (config.json + weights), and never download anything:

    MINIMOBILEBERT_CHECKPOINT=/path/to/google-mobilebert-uncased   pytest tests/test_published.py
    MINIMOBILEBERT_SQUAD_CHECKPOINT=/path/to/csarron-mobilebert-uncased-squad-v2
    MINIMOBILEBERT_EMO_CHECKPOINT=/path/to/lordtt13-emo-mobilebert
    MINIMOBILEBERT_NER_CHECKPOINT=/path/to/mrm8488-mobilebert-finetuned-ner

Text goes through our tokenizer and pipelines (the folder's vocab.txt, else the shipped BERT uncased one).
tests/test_published_paths.py runs this file against random checkpoints of the same shapes, so that every
test here is known to reach its assertion on the published value.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert.pipelines import load_tokenizer

VOCAB_PATH = os.path.join(os.path.dirname(mm.__file__), "data", "vocab.txt")


def checkpoint(variable: str) -> str:
    folder = os.environ.get(variable)
    if not folder:
        pytest.skip(f"set {variable} to a local checkpoint folder to check the published values")
    if not os.path.isdir(folder):
        pytest.fail(f"{variable}={folder!r} is not a folder")
    return folder


def ids_of(tokens: str) -> list[int]:
    """Ids of whitespace-separated vocabulary entries (all published sentences here are whole words)."""
    with open(VOCAB_PATH, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    return [vocab[t] for t in tokens.split()]


def test_base_model_slice():
    model = mm.MobileBertModel.from_pretrained(checkpoint("MINIMOBILEBERT_CHECKPOINT"))
    out = model(np.array([[101, 7110, 1005, 1056, 2023, 11333, 17413, 1029, 102]])).last_hidden_state
    assert out.shape == (1, 9, 512)
    expected = np.array([[[-2.4736526e07, 8.2691656e04, 1.6521838e05],
                          [-5.7541704e-01, 3.9056022e00, 4.4011507e00],
                          [2.6047359e00, 1.5677652e00, -1.7324188e-01]]])
    ratio = expected / out[:, :3, :3]
    assert np.all((ratio >= 0.999) & (ratio <= 1.001)), f"ratios {ratio}"


def test_pretraining_logits_slice():
    model = mm.MobileBertForPreTraining.from_pretrained(checkpoint("MINIMOBILEBERT_CHECKPOINT"))
    logits = model(np.array([[0, 1, 2, 3, 4, 5]])).prediction_logits
    assert logits.shape == (1, 6, 30522)
    expected = np.array([[[-4.5919547, -9.248295, -9.645256],
                          [-6.7306175, -6.440284, -6.6052837],
                          [-7.2743506, -6.7847915, -6.024673]]])
    np.testing.assert_allclose(logits[:, :3, :3], expected, atol=1e-4)


def test_fill_mask_top5_padded_to_512():
    folder = checkpoint("MINIMOBILEBERT_CHECKPOINT")
    model, tokenizer = mm.MobileBertForMaskedLM.from_pretrained(folder), load_tokenizer(folder)
    batch = tokenizer("the man worked as a [MASK].", padding="max_length", max_length=512, return_tensors="np")
    assert batch["input_ids"].shape == (1, 512) and batch["attention_mask"].sum() == 9
    position = int(np.flatnonzero(batch["input_ids"][0] == tokenizer.mask_token_id)[0])
    logits = model(**batch).logits[0, position]
    top5 = tokenizer.convert_ids_to_tokens(np.argsort(-logits)[:5])
    assert top5 == ["carpenter", "waiter", "mechanic", "teacher", "clerk"]


def test_fill_mask_pipeline_says_paris():
    fill = mm.pipeline("fill-mask", checkpoint("MINIMOBILEBERT_CHECKPOINT"))
    assert fill("The capital of France is [MASK].", top_k=1)[0]["token_str"] == "paris"


def test_mobile_port_example_at_sequence_length_384():
    """"Paris is the [MASK] of France." padded to 384 tokens -> "paris is the capital of france."."""
    folder = checkpoint("MINIMOBILEBERT_CHECKPOINT")
    model, tokenizer = mm.MobileBertForMaskedLM.from_pretrained(folder), load_tokenizer(folder)
    batch = tokenizer("Paris is the [MASK] of France.", padding="max_length", max_length=384, return_tensors="np")
    ids = batch["input_ids"][0].copy()
    masked = ids == tokenizer.mask_token_id
    ids[masked] = model(**batch).logits[0].argmax(-1)[masked]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "paris is the capital of france."


def test_fill_mask_paris_and_its_loss():
    model = mm.MobileBertForMaskedLM.from_pretrained(checkpoint("MINIMOBILEBERT_CHECKPOINT"))
    ids = np.array([[101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102]])  # published tokenizer ids
    labels = np.full_like(ids, -100)
    labels[0, 6] = ids_of("paris")[0]
    out = model(ids, labels=labels)
    assert int(out.logits[0, 6].argmax()) == ids_of("paris")[0]
    assert abs(float(out.loss) - 0.57) <= 0.005


def test_question_answering_doc_example():
    model = mm.MobileBertForQuestionAnswering.from_pretrained(checkpoint("MINIMOBILEBERT_SQUAD_CHECKPOINT"))
    ids = np.array([[101, 2040, 2001, 3958, 27227, 1029, 102, 3958, 27227, 2001, 1037, 3835, 13997, 102]])
    types = np.array([[0] * 7 + [1] * 7])
    out = model(ids, token_type_ids=types, start_positions=[12], end_positions=[13])
    start, end = int(out.start_logits[0].argmax()), int(out.end_logits[0].argmax())
    assert ids[0, start : end + 1].tolist() == ids_of("a nice puppet")
    assert abs(float(out.loss) - 3.98) <= 0.005


def test_question_answering_pipeline():
    qa = mm.pipeline("question-answering", checkpoint("MINIMOBILEBERT_SQUAD_CHECKPOINT"))
    assert qa("Who was Jim Henson?", "Jim Henson was a nice puppet")["answer"] == "a nice puppet"
    # The model card's example (question and context as the card gives them; answer and score published).
    answer = qa(question="What day was the game played on?",
                context="The game was played on February 7, 2016 at Levi's Stadium in the San Francisco Bay Area at "
                        "Santa Clara, California.")
    assert answer["answer"] == "February 7, 2016" and abs(answer["score"] - 0.7143) <= 1e-4, answer


def test_token_classification_doc_example():
    folder = checkpoint("MINIMOBILEBERT_NER_CHECKPOINT")
    model, tokenizer = mm.MobileBertForTokenClassification.from_pretrained(folder), load_tokenizer(folder)
    batch = tokenizer("HuggingFace is a company based in Paris and New York", add_special_tokens=False,
                      return_tensors="np")
    predicted = model(**batch).logits[0].argmax(-1)
    labels = [model.config.id2label[int(i)] for i in predicted]
    assert labels == "I-ORG I-ORG O O O O O I-LOC O I-LOC I-LOC".split()
    loss = model(**batch, labels=predicted[None]).loss
    assert abs(float(loss) - 0.03) <= 0.005


def test_emotion_pipeline_doc_example():
    classify = mm.pipeline("text-classification", checkpoint("MINIMOBILEBERT_EMO_CHECKPOINT"))
    best = classify("I've never had such a bad day in my life")[0]
    assert best["label"] == "sad" and abs(best["score"] - 0.9315) <= 1e-4, best


@pytest.mark.parametrize("ids, label, loss", [
    ([101, 7592, 1010, 2026, 3899, 2003, 10140, 102], "others", 4.72),  # "Hello, my dog is cute", label 1
])
def test_emotion_classifier_doc_example(ids, label, loss):
    model = mm.MobileBertForSequenceClassification.from_pretrained(checkpoint("MINIMOBILEBERT_EMO_CHECKPOINT"))
    out = model(np.array([ids]), labels=np.array([1]))
    assert model.config.id2label[int(out.logits[0].argmax())] == label
    assert abs(float(out.loss) - loss) <= 0.005
