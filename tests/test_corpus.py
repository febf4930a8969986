"""Corpus-scale inference on Dask (minimobilebert/corpus/): the same answers as the single-process pipelines,
in the input order with the input ids, through worker deaths, task failures and a killed client, with bad
records reported by line number and a bad model refused before any worker starts.

One LocalCluster of 2 single-threaded worker processes serves the whole module (starting one costs seconds).
The models are tiny random MobileBERTs with the BERT vocabulary, written with save_pretrained.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert.corpus import map_corpus
from minimobilebert.corpus import records, store, tasks
from minimobilebert.errors import CheckpointError, InputError
from minimobilebert.pipelines import pipeline

if os.environ.get("CI"):  # the `test` extra installs dask[distributed]: under CI its absence is a failure
    import distributed
else:
    distributed = pytest.importorskip("distributed", reason="pip install -e '.[test]' (or '.[dask]')")

TINY = dict(vocab_size=30522, hidden_size=64, intra_bottleneck_size=32, embedding_size=16, intermediate_size=48,
            num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=128)
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC", 5: "MISC"}
HEADS = {"classify": ("sequence_classification", {0: "negative", 1: "positive", 2: "neutral"}),
         "ner": ("token_classification", NER_LABELS),
         "fill-mask": ("masked_lm", None),
         "embed": ("base", None)}
WORDS = ["Paris", "the", "quick", "brown", "fox", "New", "York", "café", "東京", "naïve", "jumps", "over", "Ünïcödé",
         "lazy", "dog", "supercalifragilistic", "and", "Berlin", "is", "a", "city", "!", ","]


def corpus_texts(n: int = 240) -> list[str]:
    """n texts of 1 to 40 words, each with one [MASK] (so fill-mask can read all of them)."""
    rng = np.random.default_rng(7)
    texts = []
    for _ in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(1, 40))))
        words.insert(int(rng.integers(0, len(words) + 1)), "[MASK]")
        texts.append(" ".join(words))
    return texts


def spread_logits(model) -> None:
    """A random head's logits differ between texts by ~1e-5 around a common offset, so every text would get
    the same label; rescale the head so that the logits vary by about 1 around 0 and the labels differ."""
    tokenizer = mm.MobileBertTokenizer()
    enc = tokenizer(corpus_texts(64), padding=True, return_tensors="np")
    logits = model(enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    if logits.ndim == 3:  # token classification: the real tokens' logits
        logits = logits[enc["attention_mask"] == 1]  # [N, labels]
    scale = 0.25 / float(logits.std(axis=0).mean())  # about 1e4: float32 rounding grows with it
    model.params["classifier.weight"] *= scale
    model.params["classifier.bias"][:] = -logits.mean(axis=0) * scale


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("models")
    folders = {}
    for task, (head, labels) in HEADS.items():
        config = mm.MobileBertConfig(**TINY, **({"id2label": labels} if labels else {}))
        model = mm.MODEL_CLASSES[head](config, seed=3)
        if head in ("sequence_classification", "token_classification"):
            spread_logits(model)
        folder = root / task
        model.save_pretrained(folder)
        mm.MobileBertTokenizer().save_pretrained(folder)
        folders[task] = str(folder)
    return folders


@pytest.fixture(scope="module")
def client():
    from minimobilebert.corpus.cluster import THREAD_VARIABLES

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       scheduler_port=0, env={v: "1" for v in THREAD_VARIABLES})
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def write_jsonl(path, texts: list[str], with_ids: bool = True) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            record = {"text": text, "extra": i}
            if with_ids and i % 3:  # every third record has no id: it gets its line number
                record["id"] = f"doc-{i}"
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_rows(folder) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "part-*.jsonl"))):
        if not path.endswith(".errors.jsonl"):
            with open(path, encoding="utf-8") as f:
                rows += [json.loads(line) for line in f]
    return rows


def read_errors(folder) -> list[dict]:
    with open(os.path.join(folder, "errors.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def assert_same(ours, reference, tolerance: float = 1e-6, path: str = "result") -> None:
    """Equal structure and labels; every float within `tolerance`."""
    if isinstance(reference, dict):
        assert isinstance(ours, dict) and ours.keys() == reference.keys(), f"{path}: {ours} vs {reference}"
        for k in reference:
            assert_same(ours[k], reference[k], tolerance, f"{path}.{k}")
    elif isinstance(reference, (list, tuple)):
        assert isinstance(ours, list) and len(ours) == len(reference), f"{path}: {ours} vs {reference}"
        for i, (a, b) in enumerate(zip(ours, reference)):
            assert_same(a, b, tolerance, f"{path}[{i}]")
    elif isinstance(reference, (float, np.floating)):
        assert abs(float(ours) - float(reference)) <= tolerance, f"{path}: {ours} vs {reference}"
    else:
        assert ours == reference, f"{path}: {ours!r} vs {reference!r}"


def single_process(task: str, folder: str, texts: list[str]) -> list:
    """The reference: the ordinary in-process pipeline (or SentenceEncoder) over all texts, in input order."""
    if task == "embed":
        from minimobilebert.sentence import SentenceEncoder

        return SentenceEncoder.from_pretrained(folder).encode(texts).tolist()
    if task == "ner":  # map's default aggregation is the ner command's, "simple"
        return pipeline("token-classification", folder)(texts, aggregation_strategy="simple")
    return pipeline({"classify": "text-classification", "fill-mask": "fill-mask"}[task], folder)(texts)


def expected_ids(n: int) -> list:
    return [f"doc-{i}" if i % 3 else i + 1 for i in range(n)]


# ----------------------------------------------------------------------------------- same answers, same order


@pytest.mark.parametrize("task", ["classify", "ner", "fill-mask", "embed"])
def test_same_results_as_single_process_pipeline(task, models, client, tmp_path):
    texts = corpus_texts()
    write_jsonl(tmp_path / "texts.jsonl", texts)
    summary = map_corpus(task, models[task], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"), client=client,
                         partition_size=37, batch_size=8, progress=False)
    rows = read_rows(tmp_path / "out")
    assert [r["line"] for r in rows] == list(range(1, len(texts) + 1))  # input order, every line once
    assert [r["id"] for r in rows] == expected_ids(len(texts))
    reference = single_process(task, models[task], texts)
    if task == "embed":  # vectors: compare relative to their scale
        ours = np.array([r["result"] for r in rows])
        ref = np.array(reference)
        assert ours.shape == ref.shape == (len(texts), TINY["hidden_size"])
        assert np.abs(ours - ref).max() <= 1e-6 * max(1.0, np.abs(ref).max())
    else:
        assert_same([r["result"] for r in rows], reference)
    assert summary.texts == len(texts) and summary.errors == 0 and summary.failed == 0
    assert summary.done == summary.partitions == 7 and summary.skipped == 0
    assert sum(w["texts"] for w in summary.workers.values()) == len(texts)
    assert read_errors(tmp_path / "out") == []
    if task == "classify":  # the labels are not all the same, so the comparison above means something
        assert len({r["result"]["label"] for r in rows}) == 3
        assert len(summary.workers) == 2  # both workers took partitions
    if task == "ner":
        assert len({e["entity_group"] for r in rows for e in r["result"]}) >= 3


def test_text_lines_and_several_files_keep_order_and_ids(models, client, tmp_path):
    texts = corpus_texts(50)
    (tmp_path / "a.txt").write_text("\n".join(texts[:20]) + "\n", encoding="utf-8")
    write_jsonl(tmp_path / "b.jsonl", texts[20:], with_ids=False)
    map_corpus("classify", models["classify"], [str(tmp_path / "a.txt"), str(tmp_path / "*.jsonl")],
               str(tmp_path / "out"), client=client, partition_size=8, top_k=2, progress=False)
    rows = read_rows(tmp_path / "out")
    a, b = str(tmp_path / "a.txt"), str(tmp_path / "b.jsonl")
    assert [r["id"] for r in rows] == [f"{a}:{i}" for i in range(1, 21)] + [f"{b}:{i}" for i in range(1, 31)]
    assert [r["file"] for r in rows] == [a] * 20 + [b] * 30
    assert_same([r["result"] for r in rows], pipeline("text-classification", models["classify"])(texts, top_k=2))


def test_existing_scheduler_by_address(models, client, tmp_path):
    """--scheduler: connect to a running cluster, use it, leave it running."""
    texts = corpus_texts(30)
    write_jsonl(tmp_path / "texts.jsonl", texts)
    summary = map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                         scheduler=client.scheduler.address, partition_size=10, progress=False)
    assert summary.done == 3 and [r["line"] for r in read_rows(tmp_path / "out")] == list(range(1, 31))
    assert len(client.nthreads()) == 2  # the cluster we connected to is still there


def test_parquet_output_has_the_same_rows(models, client, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet output is optional: pip install pyarrow")
    texts = corpus_texts(30)
    write_jsonl(tmp_path / "texts.jsonl", texts)
    for fmt in ("jsonl", "parquet"):
        map_corpus("embed", models["embed"], [str(tmp_path / "texts.jsonl")], str(tmp_path / fmt), client=client,
                   partition_size=12, fmt=fmt, progress=False)
    tables = [pq.read_table(p).to_pylist() for p in sorted(glob.glob(str(tmp_path / "parquet" / "part-*.parquet")))]
    rows = [r for t in tables for r in t]
    reference = read_rows(tmp_path / "jsonl")
    assert [r["id"] for r in rows] == [str(r["id"]) for r in reference]
    assert [r["line"] for r in rows] == list(range(1, 31))
    np.testing.assert_array_equal(np.array([r["result"] for r in rows], np.float32),
                                  np.array([r["result"] for r in reference], np.float32))


def test_parquet_without_pyarrow_says_so(models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    write_jsonl(tmp_path / "texts.jsonl", ["a [MASK] text"])
    with pytest.raises(InputError, match="pip install pyarrow"):
        map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                   fmt="parquet")


# ------------------------------------------------------------------------------------------------ faults


def test_a_partition_that_raises_once_is_retried(models, client, tmp_path, monkeypatch):
    marker = str(tmp_path / "raised")
    original = tasks.process_partition

    def flaky(job, blob):  # nested, so Dask ships it by value to the workers
        if job["index"] == 2:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                raise RuntimeError("injected failure, first attempt only")
        return original(job, blob)

    monkeypatch.setattr(tasks, "process_partition", flaky)
    texts = corpus_texts(100)
    write_jsonl(tmp_path / "texts.jsonl", texts)
    summary = map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                         client=client, partition_size=10, progress=False)
    assert os.path.exists(marker)  # the failure happened
    rows = read_rows(tmp_path / "out")
    assert [r["line"] for r in rows] == list(range(1, 101))  # every input once: nothing lost, nothing twice
    assert summary.failed == 0 and summary.texts == 100


def test_a_worker_killed_mid_run_loses_nothing(models, client, tmp_path, monkeypatch):
    marker = str(tmp_path / "killed")
    original = tasks.process_partition

    def deadly(job, blob):
        if job["index"] == 3:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies holding this partition
        return original(job, blob)

    monkeypatch.setattr(tasks, "process_partition", deadly)
    texts = corpus_texts(120)
    write_jsonl(tmp_path / "texts.jsonl", texts)
    pids_before = set(client.run(os.getpid).values())
    summary = map_corpus("fill-mask", models["fill-mask"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                         client=client, partition_size=10, progress=False)
    assert os.path.exists(marker)
    rows = read_rows(tmp_path / "out")
    assert [r["line"] for r in rows] == list(range(1, 121))
    assert [r["id"] for r in rows] == expected_ids(120)
    assert_same([r["result"] for r in rows], single_process("fill-mask", models["fill-mask"], texts))
    assert summary.failed == 0
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead worker
    assert set(client.run(os.getpid).values()) != pids_before


KILLED_CLIENT = """
import sys, time
from minimobilebert.corpus import tasks
from minimobilebert.cli import main

original = tasks.process_partition

def slow(job, blob):  # defined in __main__: shipped by value, so the workers run it too
    time.sleep(0.3)
    return original(job, blob)

if __name__ == "__main__":
    tasks.process_partition = slow
    sys.exit(main(sys.argv[1:]))
"""


def test_killed_client_resumes_from_manifest(models, client, tmp_path):
    texts = corpus_texts(200)
    write_jsonl(tmp_path / "texts.jsonl", texts)
    out = tmp_path / "out"
    script = tmp_path / "slow_map.py"
    script.write_text(textwrap.dedent(KILLED_CLIENT))
    args = ["map", "classify", "--model", models["classify"], "--input", str(tmp_path / "texts.jsonl"),
            "--output", str(out), "--workers", "1", "--partition-size", "10", "--no-progress"]
    process = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until the manifest records some finished partitions
            try:
                done = [e for e in json.loads((out / "manifest.json").read_text())["partitions"].values()
                        if e["status"] == "done"]
            except (OSError, ValueError):
                done = []
            if len(done) >= 3 or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert not (out / "errors.jsonl").exists()  # the run did not finish
    summary = map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(out), client=client,
                         partition_size=10, progress=False)
    assert 3 <= summary.skipped < 20 and summary.skipped + summary.done == 20
    rows = read_rows(out)
    assert [r["line"] for r in rows] == list(range(1, 201))
    assert [r["id"] for r in rows] == expected_ids(200)
    assert_same([r["result"] for r in rows], pipeline("text-classification", models["classify"])(texts))
    assert not any(name.startswith(".") and ".tmp-" in name for name in os.listdir(out))
    again = map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(out), client=client,
                       partition_size=10, progress=False)
    assert again.skipped == 20 and again.done == 0 and again.total_texts == 200  # nothing left to do


# ------------------------------------------------------------------------------------------------ bad records


def test_bad_records_land_in_the_errors_file_with_line_numbers(models, client, tmp_path):
    lines = [json.dumps({"text": "a fine [MASK] text", "id": "first"}).encode(),
             b'{"text": "caf\xe9 in latin-1"}',  # 2: not UTF-8
             b"",  # 3: empty
             json.dumps({"text": "x" * 3000}).encode(),  # 4: over --max-bytes 2000
             json.dumps({"body": "no text field"}).encode(),  # 5
             b"not json at all",  # 6
             b"[1, 2, 3]",  # 7: JSON, not an object
             json.dumps({"text": 42}).encode(),  # 8: the field is not a string
             json.dumps({"text": "   "}).encode(),  # 9: blank text
             json.dumps({"text": "no mask token here"}).encode(),  # 10: fill-mask needs a [MASK]
             json.dumps({"text": "another [MASK] one"}).encode()]
    (tmp_path / "mixed.jsonl").write_bytes(b"\r\n".join(lines))  # CRLF, and no newline at the end
    summary = map_corpus("fill-mask", models["fill-mask"], [str(tmp_path / "mixed.jsonl")], str(tmp_path / "out"),
                         client=client, partition_size=4, max_bytes=2000, progress=False)
    errors = read_errors(tmp_path / "out")
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    reasons = [e["error"] for e in errors]
    for line, expected in zip(range(2, 11), ["not UTF-8", "empty line", "too long", "no 'text' field",
                                             "not valid JSON", "not an object", "not a string", "is empty",
                                             "no [MASK] token"]):
        assert expected in reasons[line - 2], (line, reasons[line - 2])
    assert all(e["file"] == str(tmp_path / "mixed.jsonl") for e in errors)
    rows = read_rows(tmp_path / "out")
    assert [(r["line"], r["id"]) for r in rows] == [(1, "first"), (11, 11)]
    assert summary.texts == 2 and summary.errors == 9 and summary.total_errors == 9


# --------------------------------------------------------------------------------------- failing fast


def test_missing_model_fails_fast_before_any_worker(tmp_path, monkeypatch, capsys):
    from minimobilebert.corpus import cluster

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for a run that cannot work")

    monkeypatch.setattr(cluster, "connect", no_cluster)
    write_jsonl(tmp_path / "texts.jsonl", ["a [MASK] text"])
    with pytest.raises(InputError, match="not a checkpoint folder"):
        map_corpus("classify", str(tmp_path / "no-such-model"), [str(tmp_path / "texts.jsonl")],
                   str(tmp_path / "out"), progress=False)
    assert not (tmp_path / "out").exists()

    from minimobilebert.cli import main

    code = main(["map", "ner", "--model", str(tmp_path / "no-such-model"), "--input", str(tmp_path / "texts.jsonl"),
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-model" in err and len(err.strip().splitlines()) == 1


def test_checkpoint_without_the_tasks_head_is_refused(models, tmp_path, monkeypatch):
    from minimobilebert.corpus import cluster

    monkeypatch.setattr(cluster, "connect", lambda *a, **k: pytest.fail("a cluster was started"))
    write_jsonl(tmp_path / "texts.jsonl", ["a [MASK] text"])
    with pytest.raises(CheckpointError, match="no trained classify head"):  # a masked-LM checkpoint
        map_corpus("classify", models["fill-mask"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"))
    # nor a checkpoint missing some of the encoder's own weights (the library loads it on random ones)
    import shutil

    from safetensors.numpy import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(models["fill-mask"], broken)
    state = load_file(str(broken / "model.safetensors"))
    name = next(k for k in state if k.endswith("encoder.layer.0.output.dense.weight"))
    del state[name]
    save_file(state, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"drawn at random \(mobilebert.encoder.layer.0.output.dense.weight\)"):
        map_corpus("fill-mask", str(broken), [str(tmp_path / "texts.jsonl")], str(tmp_path / "out2"))


@pytest.mark.parametrize("options, message", [
    (dict(batch_size=0), "--batch-size"), (dict(partition_size=-1), "--partition-size"),
    (dict(workers=2, scheduler="tcp://x:1"), "at most one"), (dict(fmt="csv"), "--format"),
    (dict(aggregation="mean"), "--aggregation"), (dict(top_k=0), "--top-k"),
    (dict(aggregation="first"), "applies to ner"),
])
def test_bad_arguments_fail_fast(models, tmp_path, options, message):
    write_jsonl(tmp_path / "texts.jsonl", ["a [MASK] text"])
    with pytest.raises(InputError, match=message):
        map_corpus("classify", models["classify"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"), **options)


def test_output_folder_of_another_run_or_of_other_files_is_refused(models, client, tmp_path):
    write_jsonl(tmp_path / "texts.jsonl", corpus_texts(20))
    inputs, out = [str(tmp_path / "texts.jsonl")], str(tmp_path / "out")
    map_corpus("classify", models["classify"], inputs, out, client=client, partition_size=8, progress=False)
    with pytest.raises(InputError, match="other options"):
        map_corpus("classify", models["classify"], inputs, out, client=client, partition_size=9, progress=False)
    with pytest.raises(InputError, match="other task"):
        map_corpus("ner", models["ner"], inputs, out, client=client, partition_size=8, progress=False)
    import socket

    (tmp_path / "out" / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with pytest.raises(InputError, match="another run"):  # a live run holds the folder
        map_corpus("classify", models["classify"], inputs, out, client=client, partition_size=8, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="not empty"):
        map_corpus("classify", models["classify"], inputs, str(tmp_path / "mine"), client=client, progress=False)


def test_import_minimobilebert_does_not_import_dask():
    code = ("import sys, minimobilebert, minimobilebert.corpus, minimobilebert.cli\n"
            "minimobilebert.cli.build_parser()\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_without_dask_the_cli_says_how_to_install_it(models, tmp_path):
    write_jsonl(tmp_path / "texts.jsonl", ["a [MASK] text"])
    code = ("import sys\nsys.modules['distributed'] = None\nsys.modules['dask'] = None\n"
            "from minimobilebert.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run([sys.executable, "-c", code, "map", "classify", "--model", models["classify"], "--input",
                             str(tmp_path / "texts.jsonl"), "--output", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "pip install 'minimobilebert[dask]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------ the parts, alone


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.one_of(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")),
                                st.sampled_from([b"", b"\r", b"x" * 30, b"\xef\xbb\xbfbom"])), max_size=40),
       final_newline=st.booleans(), partition_size=st.integers(1, 7), block=st.integers(1, 16))
def test_partitions_cover_every_line_once(tmp_path_factory, lines, final_newline, partition_size, block):
    """Scanning (in blocks of any size), planning, reading and splitting give back every line once, with its
    line number, whatever the line lengths, empty lines, CRs and the final newline."""
    path = tmp_path_factory.mktemp("scan") / "f.txt"
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path.write_bytes(data)
    expected = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        expected.pop()
    max_bytes = 20
    parts, too_long = records.scan_lines(str(path), partition_size, max_bytes, block=block)
    assert [t[0] for t in too_long] == [i + 1 for i, raw in enumerate(expected) if len(raw) > max_bytes]
    assert sum(n for _, _, n in parts) == len(expected)
    files = records.input_files([str(path)], None)
    seen = []
    for p in records.plan_partitions(files, partition_size, max_bytes):
        blob = records.read_partition(files, p)
        pieces = blob.split(b"\n")
        if len(pieces) == p.lines + 1 and pieces[-1] == b"":
            pieces.pop()
        assert len(pieces) == p.lines and p.lines <= partition_size
        for k, raw in enumerate(pieces):
            number = p.first_line + k
            seen.append(number)
            assert raw == (b"" if len(expected[number - 1]) > max_bytes else expected[number - 1])
    assert seen == list(range(1, len(expected) + 1))


def test_local_cluster_sizing_rule():
    from minimobilebert.corpus.cluster import WORKER_MEMORY, local_cluster_shape

    shape = local_cluster_shape(cores=8, memory=64 * WORKER_MEMORY)
    assert (shape["n_workers"], shape["threads_per_worker"], shape["processes"]) == (8, 1, True)
    assert shape["env"]["OPENBLAS_NUM_THREADS"] == shape["env"]["OMP_NUM_THREADS"] == "1"
    assert shape["memory_limit"] == 8 * WORKER_MEMORY
    assert local_cluster_shape(cores=8, memory=3 * WORKER_MEMORY + 5)["n_workers"] == 3  # memory caps it
    assert local_cluster_shape(cores=8, memory=WORKER_MEMORY // 2)["n_workers"] == 1
    assert local_cluster_shape(workers=5, cores=2, memory=64 * WORKER_MEMORY)["n_workers"] == 5


def test_workers_get_glibc_malloc_back(client):
    """Dask's MALLOC_TRIM_THRESHOLD_ makes every activation a fresh mmap (1.4x the CPU per text, docs/corpus.md);
    the model plugin resets glibc's thresholds in each worker."""
    import platform

    from minimobilebert.corpus.cluster import reuse_freed_memory

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt thresholds are glibc's")
    assert client.run(reuse_freed_memory) == {w: True for w in client.nthreads()}


def test_model_is_loaded_once_per_worker_not_shipped(models, client, tmp_path):
    write_jsonl(tmp_path / "texts.jsonl", corpus_texts(40))
    spec = tasks.model_spec(models["fill-mask"], "fill-mask")
    before = client.run(lambda: tasks.LOADS.get(spec, 0))
    summary = map_corpus("fill-mask", models["fill-mask"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                         client=client, partition_size=4, progress=False)
    after = client.run(lambda: tasks.LOADS.get(spec, 0))
    assert summary.done == 10 and len(summary.workers) == 2
    assert {worker: after[worker] - before.get(worker, 0) for worker in after} == {w: 1 for w in after}
    assert client.run(lambda: spec in tasks._RUNNERS) == {w: False for w in after}  # unloaded at the end
    import pickle

    job = {"model": spec, "options": {}}  # what a task carries about the model: a path and a fingerprint
    assert len(pickle.dumps(job)) < 1000


def test_atomic_write_leaves_old_or_new(tmp_path):
    path = str(tmp_path / "f")
    store.atomic_write(path, b"old")
    store.atomic_write(path, b"new")
    assert open(path, "rb").read() == b"new" and os.listdir(tmp_path) == ["f"]


def test_summary_names_the_workers(models, client, tmp_path):
    write_jsonl(tmp_path / "texts.jsonl", corpus_texts(30))
    summary = map_corpus("ner", models["ner"], [str(tmp_path / "texts.jsonl")], str(tmp_path / "out"),
                         client=client, partition_size=5, progress=False)
    text = "\n".join(summary.lines())
    assert "30 texts" in text and all(name in text for name in summary.workers)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["runs"][-1]["texts"] == 30
    assert {e["status"] for e in manifest["partitions"].values()} == {"done"}
    assert sum(e["rows"] for e in manifest["partitions"].values()) == 30
