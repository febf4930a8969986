"""The output folder: one file per partition, a manifest, atomic writes, resumption.

    out/
      manifest.json                 what was asked (task, model, inputs, options) and each partition's status
      part-00000.jsonl              the results of partition 0, in input order (or .parquet)
      part-00000.errors.jsonl       its bad records, only when it has some
      errors.jsonl                  every bad record of the run, in input order (rebuilt at the end of a run)
      .lock                         while a run writes here (pid and host), so that two runs do not interleave

Every file is written to a temporary name in the same folder and moved into place with os.replace, which
is atomic: a reader (or a crash) sees the old file or the new one, never half of one. A partition counts as
done when the manifest says so AND its file is there with the size the manifest recorded; so a crash
between writing a partition and recording it only costs recomputing that partition, which rewrites the same
file: nothing is lost, nothing is duplicated.

The manifest carries the run's identity: the task, the model's weights file (size, mtime), each input file
(absolute path, size, mtime) and the options that change the output (field, partition size, format,
top_k, aggregation, max_bytes). A rerun into the same folder with the same identity skips the partitions
already done; a different identity is refused (its partitions would not line up), with the difference named.
The manifest is rewritten at most every `flush_seconds` while a run goes (and at its end), since rewriting
it after each of 10,000 partitions would cost more than the partitions.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator

from ..errors import InputError
from ..files import read_json

MANIFEST = "manifest.json"
LOCK = ".lock"
VERSION = 1
FORMATS = ("jsonl", "parquet")


def json_default(value: Any) -> Any:
    """NumPy scalars and arrays in results become plain JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_rows(rows: list[dict[str, Any]], fmt: str, task: str | None) -> bytes:
    """Rows as the bytes of one output file: JSON Lines, or Parquet (id and file as strings, line as int64,
    result as a list of float32 for embed and as a JSON string for the other tasks)."""
    if fmt == "jsonl":
        return b"".join(json.dumps(r, ensure_ascii=False, default=json_default).encode("utf-8") + b"\n" for r in rows)
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    results = [r["result"] for r in rows]
    if task == "embed":
        result_column = pa.array(results, type=pa.list_(pa.float32()))
    else:
        result_column = pa.array([json.dumps(x, ensure_ascii=False, default=json_default) for x in results],
                                 type=pa.string())
    table = pa.table({"id": pa.array([str(r["id"]) for r in rows], type=pa.string()),
                      "file": pa.array([r["file"] for r in rows], type=pa.string()),
                      "line": pa.array([r["line"] for r in rows], type=pa.int64()),
                      "result": result_column})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@contextmanager
def atomic_file(path: str) -> Iterator[BinaryIO]:
    """A binary file to write that appears at `path` whole, or not at all: written under a temporary name
    beside it, synced, then renamed over `path`; removed if the block raises (or the run is interrupted)."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        with open(temporary, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to `path` so that no reader or crash ever sees a partial file."""
    with atomic_file(path) as f:
        f.write(data)


def part_name(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{fmt}"


def errors_name(index: int) -> str:
    return f"part-{index:05d}.errors.jsonl"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputFolder:
    """The output folder of one run: `open` checks and locks it, `done` says which partitions to skip,
    `write` stores a partition, `flush` rewrites the manifest, `close` merges the errors and unlocks."""

    def __init__(self, folder: str, identity: dict[str, Any], flush_seconds: float = 2.0):
        self.folder = os.path.abspath(folder)
        self.identity = identity
        self.flush_seconds = flush_seconds
        self.partitions: dict[str, dict[str, Any]] = {}  # str(index) -> status entry
        self.runs: list[dict[str, Any]] = []
        self._dirty = False
        self._last_flush = 0.0
        self._locked = False

    # ------------------------------------------------------------------ opening
    def open(self) -> "OutputFolder":
        """Create or check the folder, take its lock, read an existing manifest (same identity only)."""
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise InputError(f"--output {self.folder!r} is a file; give a folder (it is created if missing)")
        os.makedirs(self.folder, exist_ok=True)
        manifest_path = os.path.join(self.folder, MANIFEST)
        if os.path.exists(manifest_path):
            manifest = read_json(manifest_path, "the output manifest", InputError, limit=1 << 30)
            if manifest.get("version") != VERSION or not isinstance(manifest.get("partitions"), dict):
                raise InputError(f"{manifest_path} is not a manifest this version of minimobilebert wrote; use "
                                 "another --output folder")
            differences = [key for key in self.identity if manifest.get(key) != self.identity[key]]
            if differences:
                raise InputError(
                    f"--output {self.folder!r} holds a run with other {', '.join(differences)} (see its "
                    f"{MANIFEST}); its partitions would not line up with this run's. Use another --output "
                    "folder, or delete that one to start over")
            self.partitions = manifest["partitions"]
            self.runs = list(manifest.get("runs", []))
        else:
            ours = lambda name: name.startswith(("part-", ".part-", "errors.jsonl", ".errors.jsonl")) or name == LOCK  # noqa: E731
            strangers = [n for n in os.listdir(self.folder) if not ours(n)]
            if strangers:
                raise InputError(f"--output {self.folder!r} is not empty and has no {MANIFEST} (it holds "
                                 f"{', '.join(sorted(strangers)[:5])}); give a new or empty folder")
        self._lock()
        for name in os.listdir(self.folder):  # temporary files of a run that was killed mid-write
            if name.startswith(".") and ".tmp-" in name:
                os.unlink(os.path.join(self.folder, name))
        return self

    def _lock(self) -> None:
        path = os.path.join(self.folder, LOCK)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    with open(path, encoding="utf-8") as f:
                        owner = json.load(f)
                except (OSError, ValueError):
                    owner = {}
                if owner.get("host") == me["host"] and isinstance(owner.get("pid"), int) \
                        and not pid_alive(owner["pid"]):
                    os.unlink(path)  # left by a run that died
                    continue
                raise InputError(f"another run (pid {owner.get('pid')} on {owner.get('host')}) is writing to "
                                 f"{self.folder!r}; wait for it, or delete {path} if that run is dead") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            self._locked = True
            return
        raise InputError(f"cannot take the lock {path}: another run keeps creating it; wait for that run")

    # ------------------------------------------------------------------ partitions
    def done(self, index: int) -> bool:
        entry = self.partitions.get(str(index))
        if not entry or entry.get("status") != "done":
            return False
        try:
            if os.path.getsize(os.path.join(self.folder, entry["output"])) != entry["bytes"]:
                return False
            if entry.get("errors") and os.path.getsize(os.path.join(self.folder, entry["errors_file"])) \
                    != entry["errors_bytes"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
        return True

    def write(self, index: int, fmt: str, data: bytes, errors_data: bytes, info: dict[str, Any]) -> None:
        """Store a finished partition: its errors file, its results file, then its manifest entry."""
        output, errors_file = part_name(index, fmt), errors_name(index)
        if errors_data:
            atomic_write(os.path.join(self.folder, errors_file), errors_data)
        elif os.path.exists(os.path.join(self.folder, errors_file)):
            os.unlink(os.path.join(self.folder, errors_file))
        atomic_write(os.path.join(self.folder, output), data)
        self.partitions[str(index)] = {**info, "status": "done", "output": output, "bytes": len(data),
                                       "errors_file": errors_file if errors_data else None,
                                       "errors_bytes": len(errors_data)}
        self._dirty = True
        self.flush()

    def fail(self, index: int, reason: str, info: dict[str, Any]) -> None:
        self.partitions[str(index)] = {**info, "status": "failed", "reason": reason}
        self._dirty = True
        self.flush()

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not (force or (self._dirty and now - self._last_flush >= self.flush_seconds)):
            return
        manifest = {"version": VERSION, **self.identity, "partitions": self.partitions, "runs": self.runs}
        atomic_write(os.path.join(self.folder, MANIFEST),
                     json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))
        self._dirty, self._last_flush = False, now

    # ------------------------------------------------------------------ closing
    def merge_errors(self, indices: list[int]) -> int:
        """errors.jsonl: the errors files of the done partitions, in input order, copied file by file (a
        run with millions of bad records never holds them in memory). Returns the error count."""
        count = 0
        with atomic_file(os.path.join(self.folder, "errors.jsonl")) as merged:
            for index in indices:
                entry = self.partitions.get(str(index)) or {}
                if entry.get("status") == "done" and entry.get("errors_file"):
                    with open(os.path.join(self.folder, entry["errors_file"]), "rb") as f:
                        shutil.copyfileobj(f, merged)
                    count += int(entry.get("errors", 0))
        return count

    def close(self) -> None:
        try:
            self.flush(force=True)
        finally:
            if self._locked:
                try:
                    os.unlink(os.path.join(self.folder, LOCK))
                except FileNotFoundError:
                    pass
                self._locked = False
