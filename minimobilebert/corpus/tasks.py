"""What a worker does with one partition, and the model it keeps between partitions.

    runner = load_runner(spec)            the task's pipeline on a loaded model; once per process (cached)
    result = process_partition(job, blob) decode the records, run them in length-sorted batches, serialise

The model is never part of the task graph: a task carries the checkpoint's folder and task name (a
`ModelSpec`), and each worker process loads the model the first time it needs it (the WorkerPlugin in
cluster.py does that eagerly when the worker starts) and keeps it in `_RUNNERS`, keyed by the spec. Loading
goes through the ordinary loader, which memory-maps a safetensors file and copies each weight out of the map
once (checkpoint.py), so a worker holds exactly one copy of the weights (about 100 MB for the published
model), packed for the engine (packing.py).

The tasks map onto the pipelines: classify -> text-classification, ner -> token-classification, fill-mask ->
fill-mask (pipelines.py), embed -> SentenceEncoder.encode (sentence.py: a sentence-transformers folder, or
mean pooling over a plain checkpoint's last_hidden_state).

Padding: within a partition the texts are sorted by length (characters, a cheap stand-in for tokens) and
cut into batches of `batch_size`, so a batch holds texts of nearly equal length; the results go back to
the input order. A batch whose pipeline call raises one of our input errors (a ValueError: e.g. fill-mask on
a text without [MASK]) is rerun one text at a time, so only the bad text becomes an error row.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import CheckpointError, InputError, MissingWeightsWarning, NewlyInitialisedWarning
from .records import decode_partition

# task -> (pipeline task, model class name in modeling.py); embed uses sentence.SentenceEncoder
TASKS = {
    "classify": ("text-classification", "MobileBertForSequenceClassification"),
    "ner": ("token-classification", "MobileBertForTokenClassification"),
    "fill-mask": ("fill-mask", "MobileBertForMaskedLM"),
    "embed": ("sentence-embedding", "MobileBertModel"),
}


@dataclass(frozen=True)
class ModelSpec:
    """Which model a worker must hold: small and hashable, it travels with every task instead of weights."""

    folder: str  # absolute path of the checkpoint folder, the same on every worker
    task: str
    weights: tuple[str, int, int]  # (file, size, mtime_ns) of the weights: a changed file is a new model


@dataclass
class Runner:
    """A loaded model: `call(texts, options) -> one result per text` (a JSON-able value)."""

    spec: ModelSpec
    call: Callable[[list[str], dict[str, Any]], list[Any]]
    max_length: int  # tokens the model reads


_RUNNERS: dict[ModelSpec, Runner] = {}
_LOCK = threading.Lock()
LOADS: dict[ModelSpec, int] = {}  # how many times this process loaded each model (tests check: once)


def model_spec(folder: str, task: str) -> ModelSpec:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    folder = os.path.abspath(folder)
    if task == "embed":  # a sentence-transformers folder keeps its weights in the folder or in 0_Transformer/
        candidates = [os.path.join(folder, name) for name in ("model.safetensors", "pytorch_model.bin",
                                                              "model.safetensors.index.json",
                                                              "pytorch_model.bin.index.json")]
        candidates += [os.path.join(folder, "0_Transformer", os.path.basename(c)) for c in candidates]
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise CheckpointError(f"no weights in {folder!r} (nor in its 0_Transformer/); point --model at a "
                                  "checkpoint or sentence-transformers folder")
        weights = found[0]
    else:
        from ..checkpoint import find_weights_file

        weights = find_weights_file(folder)
    st = os.stat(weights)
    return ModelSpec(folder, task, (os.path.relpath(weights, folder), st.st_size, st.st_mtime_ns))


def build_runner(spec: ModelSpec) -> Runner:
    """Load the model and wrap the task's pipeline. Raises our errors for a folder that cannot do the task,
    including a checkpoint without the task's head (loading one would give a random head, with a warning
    that a corpus run over millions of texts must not bury)."""
    if spec.task == "embed":
        from ..sentence import SentenceEncoder

        encoder = SentenceEncoder.from_pretrained(spec.folder)

        def embed(texts: list[str], options: dict[str, Any]) -> list[Any]:
            vectors = encoder.encode(texts, batch_size=max(1, len(texts)))  # [B, H'] float32
            return [[float(x) for x in row] for row in vectors]

        return Runner(spec, embed, encoder.max_seq_length)

    from .. import modeling
    from ..pipelines import load_tokenizer, pipeline

    pipeline_task, class_name = TASKS[spec.task]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = getattr(modeling, class_name).from_pretrained(spec.folder)
        tokenizer = load_tokenizer(spec.folder, model.config.vocab_size)
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, MissingWeightsWarning):  # the encoder itself is incomplete: answers mean nothing
            raise CheckpointError(text)
        if issubclass(w.category, NewlyInitialisedWarning):  # no trained head for this task
            raise CheckpointError(f"{spec.folder} has no trained {spec.task} head: {text.split(': ', 1)[-1]}. "
                                  f"Use a checkpoint fine-tuned for {pipeline_task} (config.json's architectures "
                                  f"should say {class_name})")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    pipe = pipeline(pipeline_task, model, tokenizer=tokenizer, batch_size=1 << 30)  # we batch, not the pipeline

    if spec.task == "ner":
        def call(texts, options):
            return pipe(texts, aggregation_strategy=options["aggregation"])
    elif spec.task == "classify":
        def call(texts, options):  # top_k 1: the best label of each text, a dict (HF's form without top_k)
            return pipe(texts) if options["top_k"] == 1 else pipe(texts, top_k=options["top_k"])
    else:  # fill-mask
        def call(texts, options):
            return pipe(texts, top_k=options["top_k"])
    return Runner(spec, call, pipe.max_length)


def load_runner(spec: ModelSpec) -> Runner:
    """The process's runner for `spec`, loaded on first use (thread-safe: one load per process)."""
    runner = _RUNNERS.get(spec)
    if runner is None:
        with _LOCK:
            runner = _RUNNERS.get(spec)
            if runner is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the client already showed the load's warnings once
                    runner = _RUNNERS[spec] = build_runner(spec)
                LOADS[spec] = LOADS.get(spec, 0) + 1
    return runner


def forget(spec: ModelSpec) -> None:
    with _LOCK:
        _RUNNERS.pop(spec, None)


def run_texts(runner: Runner, texts: list[str], batch_size: int, options: dict[str, Any]
              ) -> tuple[list[Any], dict[int, str]]:
    """Results in the order of `texts`, from length-sorted batches; {index: error} for texts that failed."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[Any] = [None] * len(texts)
    failed: dict[int, str] = {}
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        try:
            answers = runner.call([texts[i] for i in batch], options)
        except ValueError:  # some text of the batch is bad for the task: find which, one at a time
            answers = []
            for i in batch:
                try:
                    answers.append(runner.call([texts[i]], options)[0])
                except ValueError as e:
                    answers.append(None)
                    failed[i] = str(e).splitlines()[0]
        for i, answer in zip(batch, answers):
            results[i] = answer
    return results, failed


def worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def process_partition(job: dict[str, Any], blob: bytes) -> dict[str, Any]:
    """One partition: records -> results and errors, serialised in the output format. Pure in its inputs
    (the same job gives the same bytes), so a task that runs twice, after a worker died, changes nothing."""
    from .store import encode_rows

    started, cpu_started = time.perf_counter(), time.process_time()
    runner = load_runner(job["model"])
    good, bad = decode_partition(blob, job["kind"], job["field"], job["first_line"], job["lines"],
                                 dict(job["too_long"]), job["max_bytes"], job["id_prefix"])
    results, failed = run_texts(runner, [text for _, _, text in good], job["batch_size"], job["options"])
    rows, errors = [], list(bad)
    for k, (line, record_id, _) in enumerate(good):
        if k in failed:
            errors.append({"line": line, "id": record_id, "error": failed[k]})
        else:
            rows.append({"id": record_id, "file": job["path"], "line": line, "result": results[k]})
    errors.sort(key=lambda e: e["line"])
    for e in errors:
        e["file"] = job["path"]
    return {"index": job["index"], "rows": len(rows), "errors": len(errors),
            "data": encode_rows(rows, job["format"], job["model"].task),
            "errors_data": encode_rows(errors, "jsonl", None) if errors else b"",
            "worker": worker_name(), "pid": os.getpid(), "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started}
