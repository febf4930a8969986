"""The notebooks' exercises: every reference solution passes its checker, every checker rejects wrong
answers (a checker that accepts anything teaches nothing), and every exercise is asked in its notebook."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from minimobilebert import exercises
from minimobilebert.exercises import EXERCISES, ExerciseFailed, check, solution

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _off_by(fn, delta=1e-2):
    return lambda *args: np.asarray(fn(*args)) + delta


def _raises(*args):
    raise RuntimeError("not implemented")


# Wrong answers a student could plausibly give, per exercise: each must be rejected.
WRONG = {
    "wordpiece": [lambda w, v: [w], lambda w, v: list(w),
                  lambda w, v: (exercises._solution_wordpiece(w, v) or ["[UNK]"]),  # [UNK] is the tokenizer's job
                  lambda w, v: [p.replace("##", "") for p in (exercises._solution_wordpiece(w, v) or [])] or None,
                  _raises, "not a function"],
    "trigram": [lambda x: np.concatenate([x, x, x], -1),
                lambda x: exercises._solution_trigram(x[:, ::-1])[:, ::-1],  # [previous | this | next]
                lambda x: np.concatenate([np.roll(x, -1, 1), x, np.roll(x, 1, 1)], -1),  # wraps around: no zeros
                _raises],
    "trigram_flip_taps": [lambda w: w, lambda w: w[:, ::-1].copy(), lambda w: -w, _raises],
    "ffn": [lambda x, p, c: exercises._solution_ffn(x, p, c) + x,  # the residual added after the norm
            lambda x, p, c: _no_norm_ffn(x, p, c),
            _off_by(exercises._solution_ffn), lambda x, p, c: x, _raises],
    "mha_ffn_ratio_one_ffn": [0.5, 2.0, 4.57, exercises.solution("mha_ffn_ratio_one_ffn") + 0.1, "1.14"],
    "release_mask": [lambda s, m: s + (1 - m[:, None, None, :]) * -6,  # forgot to multiply
                     lambda s, m: s * m[:, None, None, :] + (1 - m[:, None, None, :]) * -1e4,
                     lambda s, m: s * m[:, None, :, None] + (1 - m[:, None, :, None]) * -6,  # masks queries
                     _raises],
    "masks_that_silence_padding": [set(), {"-1e4", "float32 min"}, {"-6 (release)", "float32 min"}, set(exercises.MASKS),
                                   "float32 min"],
    "best_span": [lambda s, e, a, n: (int(np.argmax(s)), int(np.argmax(e))),
                  lambda s, e, a, n: (1, 1), _raises],
    "linear_relu": [lambda x, w, b: x @ w.T + b,  # no relu
                    lambda x, w, b: np.maximum(x @ w.T, 0),  # no bias
                    lambda x, w, b: np.maximum(x @ w.T + b, 0)[..., :128],  # wrong shape
                    _raises],
    "slower_activation": ["relu", "both", None],
    "model_size_mb": [{"fp32": 24.58, "int8": 24.58}, {"fp32": 98.33 * 1.048576, "int8": 24.58},
                      {"fp32": 98.33}, [98.33, 24.58], {"fp32": 98.33, "int8": 6.15}],
}


def _no_norm_ffn(x, p, config):
    from minimobilebert import functional as F

    h = F.relu(F.linear(x, p["intermediate"]["dense"]["weight"], p["intermediate"]["dense"]["bias"]))
    return F.linear(h, p["output"]["dense"]["weight"], p["output"]["dense"]["bias"]) + x  # the norm is missing


def test_every_exercise_has_wrong_answers_listed():
    assert set(WRONG) == set(EXERCISES), f"list wrong answers for {sorted(set(EXERCISES) - set(WRONG))}"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_solution_passes(name, capsys):
    check(name, solution(name))
    assert capsys.readouterr().out.strip() == f"{name}: correct"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_checker_rejects_wrong_answers(name):
    for wrong in WRONG[name]:
        with pytest.raises(ExerciseFailed) as failure:
            check(name, wrong)
        assert name in str(failure.value), "the message must say which exercise failed"


def test_unknown_exercise_is_named():
    with pytest.raises(KeyError, match="no exercise"):
        check("no-such-exercise", 1)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_each_exercise_is_asked_in_its_notebook(name):
    sources = list(NOTEBOOKS.glob(f"{EXERCISES[name].notebook}_*.py"))
    assert len(sources) == 1, f"exercise {name}: no notebook {EXERCISES[name].notebook}_*.py"
    text = sources[0].read_text(encoding="utf-8")
    assert re.search(rf"""check\(\s*["']{re.escape(name)}["']""", text), f"{sources[0].name} never checks {name!r}"


def test_every_notebook_has_an_exercise():
    numbers = {p.name[:2] for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")}
    asked = {e.notebook for e in EXERCISES.values()}
    # notebook 08 (sentence embeddings) is another part's; every other notebook must ask something
    assert numbers - {"08"} <= asked, f"notebooks without an exercise: {sorted(numbers - {'08'} - asked)}"
