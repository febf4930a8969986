"""Benchmark: minimobilebert's backends vs Hugging Face transformers (torch eager) vs ONNX Runtime fp32.

    python kernels/benchmark.py            # the full run (~8 minutes on 2 cores)
    python kernels/benchmark.py --quick    # fewer repeats, for a smoke test

A script, not a test. One run does everything side by side on the same machine and the same random
weights (the published MobileBERT configuration, minimobilebert's random init, saved once as a checkpoint
that every engine loads):

* latency: median over repeated forwards after warm-up (the lower median of 2 sweeps over all engines), at (batch, seq) = (1, 128), (8, 128), (1, 384),
  with 1 and 2 threads (threadpoolctl for NumPy's BLAS, torch.set_num_threads, ORT intra_op_num_threads;
  our Numba kernels have no parallel regions, so Numba's own thread count does not apply), for every backend
  that loads, torch eager and ONNX Runtime;
* for every timed cell, the CPU time that OTHER processes used meanwhile (from /proc/stat, minus this
  child's own), as a share of the machine: a cell above 5% is marked "busy" in the table. 2-thread cells are
  the fragile ones: OpenBLAS's two threads meet at a barrier after every small GEMM, so a competing process
  on either core stalls every matrix product (seen here: a 1x128 forward at 2 threads took 507 ms instead of
  ~52 ms while a test suite ran on the other core);
* each engine runs in its own child process, once with the machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
  and once with both removed from that child's environment only (they pick OpenBLAS's kernel);
* ratios to ONNX Runtime and to torch eager, achieved GFLOP/s, and which BLAS kernel ran (threadpoolctl);
* peak RSS of a forward: in the engine's child, after loading and one warm-up forward, the kernel's peak-RSS
  counter (VmHWM) is reset through /proc/self/clear_refs, one forward runs, and VmHWM is read again: the
  peak resident size of the whole process during that forward (interpreter, libraries and weights
  included), compared with the weight bytes; the forward's own increment over the RSS before it is also
  reported;
* a per-block profile (embeddings, bottlenecks, attention, FFNs, output, LM head) for the best backend;
* tokenizer throughput, by running kernels/bench_tokenizer.py if it exists.

Writes kernels/results/benchmark.json and docs/img/benchmark.png.

FLOP count (stated once, used for every GFLOP/s): 2 x multiply-adds of every matrix product of the
encoder, i.e. the embedding transformation, each layer's dense layers (input, shared key/query and
value bottlenecks, query, key, attention output, the stacked FFNs, intermediate, output and output
bottleneck) and the two attention products (QK^T, PV); no LM head, no elementwise work. That is 5.39
GFLOP per sequence of 128 tokens at the published configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "benchmark.json")
PLOT = os.path.join(ROOT, "docs", "img", "benchmark.png")
SHAPES = [(1, 128), (8, 128), (1, 384)]
THREADS = [1, 2]
OURS = ["numpy", "numba", "cython"]
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ------------------------------------------------------------------------------------------ FLOPs


def encoder_flops(config, seq: int) -> int:
    """2 x multiply-adds of every matrix product, per sequence (see the module docstring)."""
    c = config
    H, D, I, T = c.hidden_size, c.true_hidden_size, c.intermediate_size, seq
    macs = 0
    if c.trigram_input or c.embedding_size != c.hidden_size:
        macs += T * c.embedding_size * (3 if c.trigram_input else 1) * H
    per_layer = 0
    if c.use_bottleneck:
        per_layer += T * H * D  # input bottleneck
        if c.key_query_shared_bottleneck and not c.use_bottleneck_attention:
            per_layer += T * H * D  # shared key/query bottleneck
    qk_in = D if c.use_bottleneck and (c.use_bottleneck_attention or c.key_query_shared_bottleneck) else H
    v_in = D if c.use_bottleneck and c.use_bottleneck_attention else H
    per_layer += 2 * T * qk_in * D + T * v_in * D  # query, key, value
    per_layer += 2 * T * T * D  # QK^T and PV over all heads
    per_layer += T * D * D  # attention output
    per_layer += c.num_feedforward_networks * 2 * T * D * I  # stacked FFNs incl. the last one
    if c.use_bottleneck:
        per_layer += T * D * H  # output bottleneck
    macs += c.num_hidden_layers * per_layer
    return 2 * macs


# ------------------------------------------------------------------------------------------ child: one engine


def _rss_status():
    """(VmRSS, VmHWM) of this process in bytes, from /proc/self/status (Linux)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy ticks of the whole machine, ticks of this process, number of CPUs) from /proc (Linux), or zeros."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # minus idle and iowait
        with open("/proc/self/stat") as f:
            stat = f.read()
        own = stat[stat.rindex(")") + 2:].split()
        return busy, int(own[11]) + int(own[12]), os.cpu_count() or 1  # utime + stime, all threads
    except (OSError, ValueError, IndexError):
        return 0, 0, 1


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux >= 4.0: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def _make_runner(engine: str, folder: str, onnx_path: str):
    """Returns (run(ids, mask), set_threads(n), blas_info())."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    def set_blas_threads(n):
        threadpool_limits(n)  # applies at once, process-wide (we never restore: the child exits)

    if engine in OURS:
        import minimobilebert as mm

        # The parent set MINIMOBILEBERT_BACKEND=engine and CI=1: a backend that cannot load fails at import,
        # and no other backend is imported (available_backends() would import them all).
        if mm.current_backend() != engine:
            raise RuntimeError(f"backend {engine} not active (got {mm.current_backend()})")
        model = mm.MobileBertModel.from_pretrained(folder)

        def run(ids, mask):
            with mm.use_backend(engine):
                return model(ids, attention_mask=mask).last_hidden_state

        def set_threads(n):
            # BLAS only. Not numba.set_num_threads: no kernel of ours is parallel=True, and that call would
            # start Numba's threading layer (loading an OpenMP runtime) for nothing.
            set_blas_threads(n)

        weight_bytes = sum(v.nbytes for v in model.params.values())
        return run, set_threads, threadpool_info, weight_bytes

    if engine == "torch":
        import torch
        import transformers

        hf = transformers.MobileBertModel.from_pretrained(folder).eval()

        def run(ids, mask):
            with torch.inference_mode():
                return hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state

        def set_threads(n):
            set_blas_threads(n)
            torch.set_num_threads(n)

        weight_bytes = sum(p.numel() * p.element_size() for p in hf.parameters())
        return run, set_threads, threadpool_info, weight_bytes

    if engine == "onnxruntime":
        import onnxruntime as ort

        sessions = {}

        def session(n):
            if n not in sessions:
                so = ort.SessionOptions()
                so.intra_op_num_threads = n
                so.inter_op_num_threads = 1
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sessions.clear()  # one session alive at a time (RSS)
                sessions[n] = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            return sessions[n]

        state = {"n": 2}

        def run(ids, mask):
            return session(state["n"]).run(None, {"input_ids": ids, "attention_mask": mask})[0]

        def set_threads(n):
            set_blas_threads(n)
            state["n"] = n

        weight_bytes = os.path.getsize(onnx_path)
        return run, set_threads, threadpool_info, weight_bytes
    raise ValueError(engine)


def child_engine(args) -> dict:
    """Measure one engine: latencies for every shape and thread count, peak RSS, BLAS info."""
    import numpy as np

    t0 = time.perf_counter()
    _, hwm_start = _rss_status()
    run, set_threads, blas_info, weight_bytes = _make_runner(args.engine, args.folder, args.onnx)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    inputs = {}
    for B, T in SHAPES:
        ids = rng.integers(1, 30522, (B, T)).astype(np.int64)
        inputs[(B, T)] = (ids, np.ones((B, T), dtype=np.int64))
    result = {"engine": args.engine, "load_s": load_s, "weight_bytes": weight_bytes, "latency_ms": {},
              "peak_rss": {}}
    # Peak RSS of one forward, 2 threads, after a warm-up forward of that shape.
    set_threads(2)
    for shape in [(1, 128), (8, 128)]:
        run(*inputs[shape])
        rss_before, _ = _rss_status()
        reset = _reset_peak_rss()
        run(*inputs[shape])
        rss_after, hwm = _rss_status()
        result["peak_rss"][f"{shape[0]}x{shape[1]}"] = {
            "rss_before": rss_before, "peak": hwm if reset else None, "rss_after": rss_after,
            "forward_increment": (hwm - rss_before) if reset else None, "hwm_reset_worked": reset}
    result["peak_rss_since_start"] = max(_rss_status()[1], hwm_start)
    budget = args.seconds
    for n in THREADS:
        set_threads(n)
        result["blas"] = [{k: v for k, v in info.items() if k in ("user_api", "internal_api", "prefix",
                                                                   "version", "architecture", "num_threads",
                                                                   "threading_layer")}
                          for info in blas_info()]
        for B, T in SHAPES:
            ids, mask = inputs[(B, T)]
            for _ in range(2):  # warm-up (the first call may JIT or allocate)
                run(ids, mask)
            times, start = [], time.perf_counter()
            busy0, own0, cpus = _cpu_ticks()
            while len(times) < args.min_runs or (time.perf_counter() - start < budget and len(times) < 200):
                t = time.perf_counter()
                run(ids, mask)
                times.append(time.perf_counter() - t)
            busy1, own1, _ = _cpu_ticks()
            wall_ticks = (time.perf_counter() - start) * os.sysconf("SC_CLK_TCK") * cpus
            times.sort()
            result["latency_ms"][f"{B}x{T}x{n}"] = {
                "median": 1000 * times[len(times) // 2], "min": 1000 * times[0], "runs": len(times),
                # share of all CPUs that other processes used while this cell ran (clock ticks of 10 ms: coarse)
                "other_cpu": max(0.0, ((busy1 - busy0) - (own1 - own0)) / wall_ticks) if wall_ticks else None}
    return result


# ------------------------------------------------------------------------------------------ child: profile


def child_profile(args) -> dict:
    """Time each block of the forward (model.py's functions, called in order) for one backend."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import minimobilebert as mm
    from minimobilebert import heads, model as M
    from minimobilebert.functional import mask_bias_from_attention_mask

    lm = mm.MobileBertForMaskedLM.from_pretrained(args.folder)
    config, p = lm.config, lm.p["mobilebert"]
    out = {"backend": args.engine, "shapes": {}}
    rng = np.random.default_rng(0)
    for B, T in [(1, 128), (8, 128)]:
        ids = rng.integers(1, 30522, (B, T)).astype(np.int64)
        mask = np.ones((B, T), dtype=np.int64)
        types = np.zeros_like(ids)
        positions = np.arange(T)[None, :]
        totals: dict[str, float] = {}

        def timed(name, fn, *a):
            t = time.perf_counter()
            r = fn(*a)
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t
            return r

        def forward():
            x = timed("embeddings", M.embeddings, ids, types, positions, p["embeddings"], config)
            mask_bias = mask_bias_from_attention_mask(mask)
            for lp in p["encoder"]["layer"]:
                hidden = x
                q_in, k_in, v_in, layer_in = timed("bottlenecks (in, shared k/q)", M.bottleneck, hidden,
                                                   lp["bottleneck"], config)
                a, _ = timed("attention (q/k/v proj, softmax, output)", M.attention, q_in, k_in, v_in,
                             layer_in, mask_bias, lp["attention"], config)
                for fp in lp["ffn"]:
                    a = timed("FFNs (the 3 stacked before the last)", M.feed_forward, a, fp, config)
                i = lp["intermediate"]["dense"]
                h = timed("last FFN (intermediate, output dense)", mm.backend.ops().linear_act, a, i["weight"],
                          i["bias"], config.hidden_act)
                o = timed("last FFN (intermediate, output dense)", M.dense_norm, h, lp["output"], config, a,
                          getattr(config, "embedding_and_output_norm_eps", 1e-5))
                x = timed("output bottleneck (128 -> 512)", M.dense_norm, o, lp["output"]["bottleneck"], config,
                          hidden)
            timed("LM head (transform + 30522-way decoder)", heads.lm_prediction_head, x,
                  lm.p["cls"]["predictions"], p["embeddings"]["word_embeddings"]["weight"], config)

        with threadpool_limits(2), mm.use_backend(args.engine):
            for _ in range(2):
                forward()
            totals.clear()
            reps = 5 if B == 1 else 2
            for _ in range(reps):
                forward()
        out["shapes"][f"{B}x{T}"] = {k: 1000 * v / reps for k, v in totals.items()}
    return out


# ------------------------------------------------------------------------------------------ parent


def run_child(mode: str, engine: str, folder: str, onnx: str, env: dict, seconds: float, min_runs: int):
    env = dict(env)
    if engine in OURS:  # load only this backend: `auto` would import Numba (+70 MB RSS) in every child
        env["MINIMOBILEBERT_BACKEND"] = engine
        env["CI"] = "1"  # an explicitly requested backend that cannot load is then an error, not numpy
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--engine", engine, "--folder", folder,
           "--onnx", onnx, "--seconds", str(seconds), "--min-runs", str(min_runs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"engine": engine, "error": " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def merge_round(store: dict, engine: str, r: dict) -> None:
    """Keep, per cell, the lower of the rounds' medians: the machine is shared and noisy, and a transient
    slowdown should not decide a ratio (every engine gets the same number of rounds)."""
    if engine not in store or "error" in store[engine]:
        store[engine] = r
        return
    if "error" in r:
        return
    for key, cell in r["latency_ms"].items():
        if cell["median"] < store[engine]["latency_ms"][key]["median"]:
            store[engine]["latency_ms"][key] = cell  # keeps that round's other_cpu with it


def export_onnx(folder: str, path: str) -> str:
    """Export HF's model from the shared checkpoint. torch 2.13's default exporter is the dynamo one
    (needs onnxscript); the TorchScript exporter (dynamo=False) works offline with what is installed."""
    code = f"""
import torch, transformers, warnings
warnings.filterwarnings("ignore")
m = transformers.MobileBertModel.from_pretrained({folder!r}).eval()
ids = torch.ones(1, 128, dtype=torch.long)
torch.onnx.export(m, (ids, torch.ones_like(ids)), {path!r}, input_names=["input_ids", "attention_mask"],
                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                  dynamic_axes={{n: {{0: "batch", 1: "seq"}} for n in ["input_ids", "attention_mask", "last_hidden_state"]}})
print("exported with dynamo=False, opset 17")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("ONNX export failed: " + proc.stderr.strip()[-500:])
    return proc.stdout.strip().splitlines()[-1]


def check_same_outputs(folder: str, onnx: str) -> dict:
    """All engines compute the same function on these weights (a sanity check, not the parity test)."""
    code = f"""
import json, numpy as np, torch, transformers, onnxruntime as ort, minimobilebert as mm
rng = np.random.default_rng(1); ids = rng.integers(1, 30522, (2, 64)); mask = np.ones_like(ids)
ours = mm.MobileBertModel.from_pretrained({folder!r})
hf = transformers.MobileBertModel.from_pretrained({folder!r}).eval()
with torch.no_grad(): ref = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
s = ort.InferenceSession({onnx!r}, providers=["CPUExecutionProvider"])
outs = {{"onnxruntime": s.run(None, {{"input_ids": ids, "attention_mask": mask}})[0]}}
for b in mm.available_backends():
    with mm.use_backend(b): outs[b] = ours(ids, attention_mask=mask).last_hidden_state
scale = max(np.abs(ref).max(), 1.0)
print(json.dumps({{k: float(np.abs(v - ref).max() / scale) for k, v in outs.items()}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tokenizer_benchmark() -> dict | None:
    script = os.path.join(HERE, "bench_tokenizer.py")
    if not os.path.exists(script):
        return None
    proc = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=600)
    return {"returncode": proc.returncode, "output": proc.stdout.strip()[-3000:],
            "stderr": proc.stderr.strip()[-500:] if proc.returncode else ""}


def table(results: dict, env_name: str, flops: dict) -> list[str]:
    engines = results["engines"][env_name]
    lines = [f"\n== latency, OpenBLAS env {env_name} (median ms; x ORT = ours/ORT, lower is better; other CPU = "
             "share of the machine other processes used during the cell, 'busy' above 5%: distrust that row) =="]
    head = f"{'engine':<12}{'B x T':>8}{'thr':>4}{'ms':>9}{'x ORT':>8}{'x torch':>9}{'GFLOP/s':>9}{'other CPU':>11}"
    lines.append(head)
    for n in THREADS:
        for B, T in SHAPES:
            key = f"{B}x{T}x{n}"
            ort_ms = engines.get("onnxruntime", {}).get("latency_ms", {}).get(key, {}).get("median")
            torch_ms = engines.get("torch", {}).get("latency_ms", {}).get(key, {}).get("median")
            for name, r in engines.items():
                if "error" in r:
                    continue
                ms = r["latency_ms"][key]["median"]
                gf = B * flops[T] / (ms / 1000) / 1e9
                xo = f"{ms / ort_ms:.2f}" if ort_ms else "-"
                xt = f"{ms / torch_ms:.2f}" if torch_ms else "-"
                other = r["latency_ms"][key].get("other_cpu")
                busy = "-" if other is None else f"{100 * other:.0f}%" + (" busy" if other > 0.05 else "")
                lines.append(f"{name:<12}{B:>4} x{T:<4}{n:>3}{ms:>9.1f}{xo:>8}{xt:>9}{gf:>9.0f}{busy:>11}")
    return lines


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_names = list(results["engines"])
    fig, axes = plt.subplots(len(env_names), len(SHAPES), figsize=(4.2 * len(SHAPES), 3.4 * len(env_names)),
                             squeeze=False)
    for row, env_name in enumerate(env_names):
        engines = {k: v for k, v in results["engines"][env_name].items() if "error" not in v}
        for col, (B, T) in enumerate(SHAPES):
            ax = axes[row][col]
            names = list(engines)
            for j, n in enumerate(THREADS):
                vals = [engines[e]["latency_ms"][f"{B}x{T}x{n}"]["median"] for e in names]
                xs = [i + (j - 0.5) * 0.38 for i in range(len(names))]
                ax.bar(xs, vals, width=0.38, label=f"{n} thread{'s' if n > 1 else ''}")
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"batch {B}, seq {T} (OpenBLAS env {env_name})", fontsize=9)
            ax.set_ylabel("median latency (ms)", fontsize=8)
            if row == 0 and col == 0:
                ax.legend(fontsize=8)
    fig.suptitle("MobileBERT forward, published config, fp32, " + results["machine"]["cpu"], fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main_parent(args) -> None:
    sys.path.insert(0, ROOT)
    import minimobilebert as mm

    config = mm.MobileBertConfig.published()
    flops = {T: encoder_flops(config, T) for _, T in SHAPES}
    seconds = 0.6 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    min_runs = 3 if args.quick else 7
    results = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                           "blas_env": {k: os.environ.get(k) for k in BLAS_ENV}},
               "flops_per_sequence": {str(T): f for T, f in flops.items()},
               "flop_count": "2 x multiply-adds of every matrix product of the encoder (embedding "
                             "transformation, all dense layers, QK^T and PV); no LM head, no elementwise work",
               "engines": {}}
    print(f"GFLOP per sequence: " + ", ".join(f"T={T}: {f / 1e9:.2f}" for T, f in flops.items()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "weights")
        mm.MobileBertForMaskedLM(config, seed=0).save_pretrained(folder)  # one set of random weights for all
        onnx = os.path.join(tmp, "mobilebert.onnx")
        results["onnx_export"] = export_onnx(folder, onnx)
        print("ONNX:", results["onnx_export"])
        results["same_function_relative_error_vs_torch"] = check_same_outputs(folder, onnx)
        print("relative error vs torch on a (2, 64) batch:", results["same_function_relative_error_vs_torch"])
        engines = [*mm.available_backends(), "torch", "onnxruntime"]
        engines = [e for e in ["numpy", "numba", "cython", "torch", "onnxruntime"] if e in engines]
        envs = {"set": dict(os.environ), "unset": {k: v for k, v in os.environ.items() if k not in BLAS_ENV}}
        if not any(k in os.environ for k in BLAS_ENV):
            envs = {"unset": envs["unset"]}
        for round_ in range(rounds):
            for env_name, env in envs.items():
                results["engines"].setdefault(env_name, {})
                for engine in engines:
                    t = time.perf_counter()
                    r = run_child("engine", engine, folder, onnx, env, seconds, min_runs)
                    merge_round(results["engines"][env_name], engine, r)
                    blas = ", ".join(f"{b.get('internal_api')}/{b.get('architecture')}" for b in r.get("blas", [])
                                     if b.get("user_api") == "blas")
                    print(f"[round {round_ + 1}, env {env_name}] {engine:<12} {time.perf_counter() - t:5.1f}s  "
                          f"BLAS {blas or '-'}" + (f"  ERROR {r['error']}" if "error" in r else ""))
        # Best backend of ours: lowest median at (1, 128) with 2 threads, machine env.
        first_env = list(results["engines"])[0]
        ours = {k: v for k, v in results["engines"][first_env].items() if k in OURS and "error" not in v}
        best = min(ours, key=lambda k: ours[k]["latency_ms"]["1x128x2"]["median"])
        results["best_backend"] = best
        results["profile"] = {e: run_child("profile", best, folder, onnx, env, seconds, min_runs)
                              for e, env in envs.items()}
    results["tokenizer"] = tokenizer_benchmark()

    lines = [f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; "
             f"FLOPs: {results['flop_count']}"]
    for env_name in results["engines"]:
        lines += table(results, env_name, flops)
        lines.append("BLAS per engine: " + "; ".join(
            f"{e}: " + ",".join(f"{b.get('internal_api')} {b.get('architecture') or ''} ({b.get('prefix')})"
                               for b in r.get("blas", []) if b.get("user_api") == "blas")
            for e, r in results["engines"][env_name].items() if "error" not in r))
        lines.append("peak RSS of a forward (2 threads; whole process, VmHWM reset before the forward):")
        for e, r in results["engines"][env_name].items():
            if "error" in r:
                continue
            wb = r["weight_bytes"]
            for shape, m in r["peak_rss"].items():
                if m["peak"] is None:
                    continue
                lines.append(f"  {e:<12} {shape:>6}: peak {m['peak'] / 1e6:7.1f} MB = {m['peak'] / wb:4.2f}x "
                             f"weights ({wb / 1e6:.1f} MB); the forward adds {m['forward_increment'] / 1e6:6.1f} MB"
                             f" = {m['forward_increment'] / wb:4.2f}x weights")
    for env_name, prof in results["profile"].items():
        if "error" in prof:
            lines.append(f"profile [{env_name}]: ERROR {prof['error']}")
            continue
        lines.append(f"\n== per-block profile, backend {prof['backend']}, 2 threads, OpenBLAS env {env_name} (ms) ==")
        for shape, blocks in prof["shapes"].items():
            total = sum(blocks.values())
            lines.append(f"  B x T = {shape}: total {total:.1f} ms")
            for name, ms in sorted(blocks.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {name:<45}{ms:8.2f} ms {100 * ms / total:5.1f}%")
    if results["tokenizer"]:
        lines.append("\n== tokenizer (kernels/bench_tokenizer.py) ==\n" + results["tokenizer"]["output"])
    text = "\n".join(lines)
    print(text)
    results["report"] = text
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
    plot(results, PLOT)
    print(f"\nwrote {os.path.relpath(RESULTS, ROOT)} and {os.path.relpath(PLOT, ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    ap.add_argument("--seconds", type=float, default=1.5, help="time budget per engine, shape and thread count")
    ap.add_argument("--rounds", type=int, default=2, help="sweeps over all engines; each cell keeps its best median")
    ap.add_argument("--child", choices=["engine", "profile"], help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--onnx", help=argparse.SUPPRESS)
    ap.add_argument("--min-runs", type=int, default=7, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, ROOT)
        result = child_engine(args) if args.child == "engine" else child_profile(args)
        print(json.dumps(result))
    else:
        main_parent(args)


if __name__ == "__main__":
    main()
