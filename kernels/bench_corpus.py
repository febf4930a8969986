"""Corpus throughput: `minimobilebert map` on 1 and 2 Dask workers vs the single-process pipeline.

    python kernels/bench_corpus.py                  # 600 texts, the published 24-layer shape, classify
    python kernels/bench_corpus.py --texts 300 --layers 4      # a quick look

Every configuration runs in a fresh child process (so thread settings and peak memory are its own) on the
same corpus and the same random-weight checkpoint of the published configuration (sequence classification
head; random weights run exactly as fast as trained ones):

    single, N threads   pipeline("text-classification", folder, batch_size=32)(texts) in one process with
                        MINIMOBILEBERT_NUM_THREADS=N (BLAS and the engine); N = 1 and N = cores
    map, W workers      map_corpus(...) on a LocalCluster of W single-threaded worker processes, shaped by
                        corpus.cluster.local_cluster_shape (the CLI's rule); W = 1 and W = cores

texts/s is texts / the processing time: for single, the pipeline call (the model already loaded and run
once); for map, the run minus its startup (cluster start and model load are reported apart). CPU ms/text
is the CPU time of the process(es) doing the work (for map, the workers' CPU time inside their tasks) per
text: on a machine shared with other work it shows the cost per text apart from the share of the cores
the run got. Peak RSS is
each process's ru_maxrss: per worker for map, plus the client's. The padding line compares the real tokens
to the padded tokens of the batches, in input order (as the pipeline batches) and length-sorted within each
partition (as map batches).

Results go to kernels/results/corpus.json (with the UTC time of the run: the numbers depend on what else
runs on the machine) and a short table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "corpus.json")


def corpus(n: int, seed: int = 0) -> list[str]:
    """n English-like texts of 4 to 60 words (words drawn from the BERT vocabulary's whole words)."""
    import numpy as np

    import minimobilebert

    with open(os.path.join(minimobilebert.__path__[0], "data", "vocab.txt"), encoding="utf-8") as f:
        words = [w for w in f.read().split("\n")[1999:12000] if w.isalpha()]
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=int(rng.integers(4, 61)))) + "." for _ in range(n)]


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


# ------------------------------------------------------------------------------------------- children


def child_single(args) -> dict:
    from minimobilebert.pipelines import pipeline

    texts = [json.loads(line)["text"] for line in open(args.input, encoding="utf-8")]
    pipe = pipeline("text-classification", args.model, batch_size=args.batch_size)
    pipe(texts[: args.batch_size])  # warm-up: first-call costs (kernel loading, page faults) out of the timing
    started, cpu_started = time.perf_counter(), time.process_time()
    pipe(texts)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"texts": len(texts), "seconds": seconds, "texts_per_s": len(texts) / seconds,
            "cpu_ms_per_text": 1e3 * cpu / len(texts), "peak_rss": peak_rss()}


def child_map(args) -> dict:
    import logging

    from distributed import Client, LocalCluster

    from minimobilebert.corpus import map_corpus
    from minimobilebert.corpus.cluster import local_cluster_shape

    import dask

    started = time.perf_counter()
    with dask.config.set({"distributed.worker.profile.enabled": False}):  # as cluster.connect starts them
        cluster = LocalCluster(**local_cluster_shape(args.workers), dashboard_address=":0", scheduler_port=0,
                               silence_logs=logging.ERROR)
    client = Client(cluster)
    cluster_seconds = time.perf_counter() - started
    try:
        summary = map_corpus("classify", args.model, [args.input], args.output, client=client,
                             batch_size=args.batch_size, partition_size=args.partition_size, progress=False)
        rss = client.run(peak_rss)
    finally:
        client.close()
        cluster.close()
    busy = summary.seconds - summary.startup_seconds
    cpu = sum(w["cpu_s"] for w in summary.workers.values())
    return {"texts": summary.texts, "seconds": busy, "texts_per_s": summary.texts / busy,
            "cpu_ms_per_text": 1e3 * cpu / summary.texts,
            "cluster_start_s": cluster_seconds, "map_startup_s": summary.startup_seconds,
            "workers": {name: {**w, "peak_rss": rss.get(name)} for name, w in summary.workers.items()},
            "client_peak_rss": peak_rss()}


def padding(texts: list[str], batch_size: int, partition_size: int) -> dict:
    from minimobilebert import MobileBertTokenizer

    lengths = [len(ids) for ids in MobileBertTokenizer()(texts, truncation=True, max_length=512)["input_ids"]]

    def padded(order):
        return sum(max(lengths[i] for i in order[b : b + batch_size]) * len(order[b : b + batch_size])
                   for b in range(0, len(order), batch_size))

    in_order = padded(list(range(len(texts))))
    sorted_total = 0
    for p in range(0, len(texts), partition_size):
        part = list(range(p, min(p + partition_size, len(texts))))
        sorted_total += padded(sorted(part, key=lambda i: len(texts[i])))
    real = sum(lengths)
    return {"real_tokens": real, "padded_in_order": in_order, "padded_sorted": sorted_total,
            "efficiency_in_order": real / in_order, "efficiency_sorted": real / sorted_total}


# --------------------------------------------------------------------------------------------- parent


def run_child(kind: str, extra: list[str], env: dict[str, str], common: list[str]) -> dict:
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, *common, *extra],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"{kind} {extra} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--partition-size", type=int, default=100)
    parser.add_argument("--child", choices=["single", "map"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true", help="do not write kernels/results/corpus.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_single(args) if args.child == "single" else child_map(args)))
        return

    import minimobilebert as mm
    from minimobilebert.backend import cores_available

    cores = cores_available()
    started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        config = mm.MobileBertConfig.published(num_hidden_layers=args.layers)
        mm.MobileBertForSequenceClassification(config, seed=0).save_pretrained(model)
        mm.MobileBertTokenizer().save_pretrained(model)
        texts = corpus(args.texts)
        data = os.path.join(tmp, "texts.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": t}) + "\n" for t in texts)
        common = ["--model", model, "--input", data, "--batch-size", str(args.batch_size),
                  "--partition-size", str(args.partition_size)]
        rows = {}
        for threads in sorted({1, cores}):
            rows[f"single, {threads} thread{'s' * (threads > 1)}"] = run_child(
                "single", [], {"MINIMOBILEBERT_NUM_THREADS": str(threads)}, common)
        for workers in sorted({1, cores}):
            rows[f"map, {workers} worker{'s' * (workers > 1)}"] = run_child(
                "map", ["--workers", str(workers), "--output", os.path.join(tmp, f"out{workers}")], {}, common)
        pad = padding(texts, args.batch_size, args.partition_size)

    load = os.getloadavg()
    report = {"started_utc": started_utc, "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "cores": cores, "load_average_at_end": load, "texts": args.texts, "layers": args.layers,
              "batch_size": args.batch_size, "partition_size": args.partition_size, "rows": rows, "padding": pad}
    print(f"{args.texts} texts, {args.layers}-layer published shape, classify, batch {args.batch_size}, "
          f"partitions of {args.partition_size}; {cores} cores; run {started_utc}, load average at end "
          f"{load[0]:.1f}")
    base = rows["single, 1 thread"]["texts_per_s"]
    for name, r in rows.items():
        memory = (f"peak RSS {r['peak_rss'] / 2**20:.0f} MiB" if "peak_rss" in r else
                  "peak RSS per worker " + ", ".join(f"{w['peak_rss'] / 2**20:.0f}" for w in r["workers"].values())
                  + f" MiB, client {r['client_peak_rss'] / 2**20:.0f} MiB")
        startup = f", startup {r['cluster_start_s'] + r['map_startup_s']:.1f} s" if "workers" in r else ""
        print(f"  {name:<20} {r['texts_per_s']:7.1f} texts/s ({r['texts_per_s'] / base:.2f}x), CPU "
              f"{r['cpu_ms_per_text']:.0f} ms/text{startup}; {memory}")
    print(f"  padding: real/padded tokens {pad['efficiency_in_order']:.2f} in input order, "
          f"{pad['efficiency_sorted']:.2f} length-sorted per partition")
    if not args.no_save:
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
