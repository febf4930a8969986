"""Tokenizer throughput: minimobilebert's WordPiece tokenizer vs Hugging Face's slow and fast BERT tokenizers.

    python kernels/bench_tokenizer.py              # ~3000 sentences, median of 3 timed passes
    python kernels/bench_tokenizer.py --quick      # fewer sentences and passes, a smoke test

kernels/benchmark.py runs this script (when it exists) and copies its standard output into its report, so
the output is a short plain-text table (a few lines, well under the 3000 characters benchmark.py keeps).
The exit status is 0 whenever the measurement ran, including when a tokenizer is missing: that is reported
as a row ("missing: why"), never as a crash.

All three use the same vocabulary, minimobilebert/data/vocab.txt (BERT uncased, shipped with the package):

    ours        minimobilebert.tokenizer.MobileBertTokenizer()
    HF slow     transformers.BertTokenizerLegacy(vocab_file=VOCAB)   pure Python
    HF fast     transformers.BertTokenizer(vocab=VOCAB)              Rust `tokenizers`

on the same corpus: sentences generated deterministically (seeded, no download) from English prose
fragments, with accented words (café, naïve, Zürich), CJK characters, digits, punctuation runs, quotes and
long rare words that split into many word pieces.

Two ways of calling each:

    batch        tok(texts): the whole corpus in one call, returning input_ids etc. (HF's convention).
                 HF fast may use several threads here (Rust/Rayon; TOKENIZERS_PARALLELISM).
    one by one   tok.tokenize(text) for each text in a Python loop: word pieces, no ids, one thread.

tokens/s counts word pieces, without [CLS]/[SEP] (the same count for every tokenizer that agrees with HF).
"agree" is the share of texts whose input_ids equal HF fast's, so a fast but wrong tokenizer shows.

A last line times one long text (the corpus joined, ~1 MB; --quick: ~170 KB) encoded with truncation=True,
max_length=512, as the pipelines call it: ours stops normalizing once 512 tokens exist, HF fast tokenizes
the whole text first. "same" says whether the two gave the same ids.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VOCAB = os.path.join(ROOT, "minimobilebert", "data", "vocab.txt")

# ------------------------------------------------------------------------------------------ corpus

PROSE = """the quick brown fox jumps over the lazy dog while a small bird sings in the old oak tree
researchers at the university announced on tuesday that the new model reduces latency by half
she walked along the river in the early morning and watched the fog lift from the water
the committee could not agree on the budget so the meeting was postponed until next week
after years of careful restoration the cathedral reopened to visitors in the spring
most mobile phones today have more computing power than the computers that guided the first moon landing
he said that the results were preliminary and that more experiments would be needed
the recipe calls for two cups of flour a pinch of salt and three eggs beaten until fluffy
in the nineteenth century the railway transformed trade between the coast and the interior
language models learn statistical patterns from very large collections of text
they argued about politics philosophy and whether pineapple belongs on pizza
the storm knocked out power to thousands of homes across the northern provinces
a transformer encoder maps a sequence of token embeddings to contextual representations
her grandmother kept a diary for sixty years describing every harvest and every wedding
the museum's collection includes paintings sculptures and manuscripts from five continents""".split("\n")

ACCENTED = ["café", "naïve", "résumé", "Zürich", "São Paulo", "Ångström", "jalapeño", "façade", "Dvořák",
            "Kraków", "crème brûlée", "El Niño", "Malmö", "Ærøskøbing", "Schrödinger", "coöperate", "Łódź",
            "Besançon", "déjà vu", "piñata"]
CJK = ["東京", "北京大学", "日本語の文章", "中文分词", "漢字", "한국어", "机器学习", "自然言語処理", "大阪", "上海"]
RARE = ["antidisestablishmentarianism", "electroencephalography", "pneumonoultramicroscopic", "hyperparameterization",
        "counterintuitively", "unbelievability", "photosynthesizing", "interdisciplinarity", "tokenization",
        "MobileBERT", "WordPiece", "OpenBLAS", "GitHub", "iPhone", "e-mail", "state-of-the-art", "COVID-19"]
PUNCT = [",", ";", ":", "!", "?", "...", " -", " (see above)", ' "quoted"', " 'single'", " — a dash",
         " [citation needed]", " #hashtag", " @user", " 50%", " $3.99", " 3.14159", " 2020-04-02", " x^2+y^2"]


def corpus(n: int, seed: int = 0) -> list[str]:
    """n sentences, the same for the same (n, seed) on every machine and Python version."""
    rng = random.Random(seed)
    words = [line.split() for line in PROSE]
    texts = []
    for _ in range(n):
        base = rng.choice(words)
        start = rng.randrange(len(base))
        sentence = list(base[start:start + rng.randint(6, 16)]) or base[:8]
        for _ in range(rng.randint(0, 3)):  # sprinkle the harder cases into the prose
            kind = rng.random()
            pool = ACCENTED if kind < 0.35 else CJK if kind < 0.55 else RARE if kind < 0.8 else None
            piece = rng.choice(pool) if pool else str(rng.randint(0, 10 ** rng.randint(1, 7)))
            sentence.insert(rng.randrange(len(sentence) + 1), piece)
        text = " ".join(sentence)
        if rng.random() < 0.5:
            text = text[0].upper() + text[1:]
        text += rng.choice(PUNCT) if rng.random() < 0.6 else ""
        text += rng.choice([".", ".", ".", "!", "?", ""])
        if rng.random() < 0.15:  # now and then two sentences in one text
            text += " " + " ".join(rng.choice(words)[:rng.randint(3, 9)]).capitalize() + "."
        texts.append(text)
    return texts


# ------------------------------------------------------------------------------------------ tokenizers


def load_tokenizers() -> tuple[dict, dict]:
    """name -> (tokenizer, seconds to construct); name -> why it is missing."""
    makers = {}
    try:
        sys.path.insert(0, ROOT)
        from minimobilebert.tokenizer import MobileBertTokenizer

        makers["ours"] = MobileBertTokenizer
    except Exception as e:  # noqa: BLE001 - not written yet, or broken: report, do not crash
        makers["ours"] = e
    try:
        import transformers

        makers["HF slow"] = lambda: transformers.BertTokenizerLegacy(vocab_file=VOCAB)
        makers["HF fast"] = lambda: transformers.BertTokenizer(vocab=VOCAB)
    except Exception as e:  # noqa: BLE001
        makers["HF slow"] = makers["HF fast"] = e
    loaded, missing = {}, {}
    for name, make in makers.items():
        if isinstance(make, Exception):
            missing[name] = f"{type(make).__name__}: {make}"
            continue
        try:
            t = time.perf_counter()
            tok = make()
            loaded[name] = (tok, time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001
            missing[name] = f"{type(e).__name__}: {e}"
    return loaded, missing


def special_ids(tok) -> set:
    ids = set()
    for attr in ("cls_token_id", "sep_token_id", "pad_token_id"):
        value = getattr(tok, attr, None)
        if isinstance(value, int):
            ids.add(value)
    return ids or {0, 101, 102}


def median_seconds(fn, passes: int) -> float:
    fn()  # warm-up: caches, lazy imports
    times = []
    for _ in range(passes):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(name: str, tok, texts: list[str], passes: int, reference_ids) -> dict:
    out = {}
    try:
        encoded = tok(texts)
        ids = [list(map(int, row)) for row in encoded["input_ids"]]
        specials = special_ids(tok)
        out["tokens"] = sum(sum(1 for i in row if i not in specials) for row in ids)
        out["ids"] = ids
        if reference_ids is not None:
            out["agree"] = sum(a == b for a, b in zip(ids, reference_ids)) / len(texts)
        out["batch_s"] = median_seconds(lambda: tok(texts), passes)
    except Exception as e:  # noqa: BLE001 - one broken call should not hide the other numbers
        out["batch_error"] = f"{type(e).__name__}: {e}"
    try:
        pieces = sum(len(tok.tokenize(t)) for t in texts)
        out.setdefault("tokens", pieces)
        out["one_s"] = median_seconds(lambda: [tok.tokenize(t) for t in texts], passes)
        out["one_tokens"] = pieces
    except Exception as e:  # noqa: BLE001
        out["one_error"] = f"{type(e).__name__}: {e}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 sentences, 1 timed pass")
    ap.add_argument("--sentences", type=int, default=3000)
    ap.add_argument("--passes", type=int, default=3, help="timed passes per measurement (median reported)")
    args = ap.parse_args()
    n, passes = (500, 1) if args.quick else (args.sentences, args.passes)
    texts = corpus(n)
    chars = sum(map(len, texts))
    loaded, missing = load_tokenizers()
    reference_ids = None
    results = {}
    for name in ["HF fast", "HF slow", "ours"]:  # HF fast first: its ids are the agreement reference
        if name not in loaded:
            continue
        tok, build_s = loaded[name]
        results[name] = measure(name, tok, texts, passes, reference_ids)
        results[name]["build_s"] = build_s
        if name == "HF fast" and "ids" in results[name]:
            reference_ids = results[name]["ids"]
    print(f"corpus: {n} texts, {chars} characters, generated (seed 0); vocab {os.path.relpath(VOCAB, ROOT)}; "
          f"median of {passes} pass(es); TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', 'unset')}")
    print(f"{'tokenizer':<10}{'batch tok/s':>13}{'texts/s':>10}{'1-by-1 tok/s':>14}{'texts/s':>10}"
          f"{'agree':>8}{'build ms':>10}")
    for name in ["ours", "HF slow", "HF fast"]:
        if name in missing:
            print(f"{name:<10} missing: {missing[name][:200]}")
            continue
        r = results[name]
        cells = []
        for time_key, token_key, width in (("batch_s", "tokens", 13), ("one_s", "one_tokens", 14)):
            s, tokens = r.get(time_key), r.get(token_key)
            cells.append(f"{tokens / s:{width},.0f}" if s and tokens else f"{'error':>{width}}")
            cells.append(f"{n / s:10,.0f}" if s else f"{'-':>10}")
        agree = f"{100 * r['agree']:7.1f}%" if "agree" in r else f"{'(ref)' if name == 'HF fast' else '-':>8}"
        print(f"{name:<10}{''.join(cells)}{agree}{1000 * r['build_s']:10.1f}")
        for key in ("batch_error", "one_error"):
            if key in r:
                print(f"{'':<10} {key.split('_')[0]} call failed: {r[key][:200]}")
    long_text = " ".join(corpus(2000 if args.quick else 12000, seed=1))
    cells, long_ids = [], {}
    for name in ["ours", "HF fast"]:
        if name not in loaded:
            continue
        tok = loaded[name][0]
        try:
            long_ids[name] = list(tok(long_text, truncation=True, max_length=512)["input_ids"])
            s = median_seconds(lambda: tok(long_text, truncation=True, max_length=512), passes)
            cells.append(f"{name} {1000 * s:.1f} ms")
        except Exception as e:  # noqa: BLE001
            cells.append(f"{name} failed: {type(e).__name__}: {str(e)[:100]}")
    same = "" if len(long_ids) < 2 else f"; same ids: {long_ids['ours'] == long_ids['HF fast']}"
    print(f"one {len(long_text) / 1e6:.2f} MB text, truncation=True, max_length=512: {', '.join(cells)}{same}")
    if "ours" in results and "HF fast" in results and "HF slow" in results:
        ours, slow, fast = (results[k].get("batch_s") for k in ("ours", "HF slow", "HF fast"))
        if ours and slow and fast:
            print(f"batch time, ours vs HF slow: {ours / slow:.2f}x, vs HF fast: {ours / fast:.2f}x "
                  "(lower is faster)")


if __name__ == "__main__":
    main()
