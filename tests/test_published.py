"""Opt-in: the values published for the real checkpoints (../shared/reference/published-values.md).

No machine here can download them, so these run only when you point an environment variable at a local
copy of the checkpoint folder (config.json + weights), and never download anything:

    MINIMOBILEBERT_CHECKPOINT=/path/to/google-mobilebert-uncased   pytest tests/test_published.py
    MINIMOBILEBERT_SQUAD_CHECKPOINT=/path/to/csarron-mobilebert-uncased-squad-v2
    MINIMOBILEBERT_EMO_CHECKPOINT=/path/to/lordtt13-emo-mobilebert
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import minimobilebert as mm

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
    model = mm.MobileBertForMaskedLM.from_pretrained(checkpoint("MINIMOBILEBERT_CHECKPOINT"))
    tokens = ids_of("[CLS] the man worked as a [MASK] . [SEP]")
    ids = np.zeros((1, 512), np.int64)
    ids[0, : len(tokens)] = tokens
    mask = (ids != 0).astype(np.int64)
    logits = model(ids, attention_mask=mask).logits[0, tokens.index(103)]
    top5 = list(np.argsort(-logits)[:5])
    assert top5 == ids_of("carpenter waiter mechanic teacher clerk")


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


@pytest.mark.parametrize("ids, label, loss", [
    ([101, 7592, 1010, 2026, 3899, 2003, 10140, 102], "others", 4.72),  # "Hello, my dog is cute", label 1
])
def test_emotion_classifier_doc_example(ids, label, loss):
    model = mm.MobileBertForSequenceClassification.from_pretrained(checkpoint("MINIMOBILEBERT_EMO_CHECKPOINT"))
    out = model(np.array([ids]), labels=np.array([1]))
    assert model.config.id2label[int(out.logits[0].argmax())] == label
    assert abs(float(out.loss) - loss) <= 0.005
