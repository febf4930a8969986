"""Input records: which files, which lines, and how one line becomes a text or an error.

Client side, cheap and without decoding anything:

    files = input_files(["texts/*.jsonl"], field=None)     globs expanded, each a regular file, fingerprinted
    plan = plan_partitions(files, partition_size, max_bytes)
    blob = read_partition(files, part)                      the partition's raw bytes, shipped to a worker

A partition is `partition_size` consecutive lines of ONE file (the last one of a file may be shorter), kept
as a byte range, so the client never holds more than the partitions in flight and the same inputs always
split the same way: that is what lets a rerun recognise the partitions it already wrote. The scan counts
newlines with NumPy a block at a time. A line over `max_bytes` is not shipped at all (a 10 GB line must not
reach a worker); its slot in the blob is empty and the worker reports it as too long.

Worker side: `decode_partition` splits the blob into lines and decodes each one alone, so a bad record (not
UTF-8, empty, not JSON, JSON without the field, too long) becomes one error row with its line number and
the others go on.

Two kinds of input file: text (one text per line) and JSON Lines (one object per line, the text in a chosen
field, "text" by default; an "id" field is kept). `.jsonl`, `.ndjson` and `.json` files are JSON Lines, and
so is every file when `field` is given; anything else is text. Records without an id get their line number
(1-based) as id; with several input files, "path:line", so that ids stay unique.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..files import regular_file

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")
BLOCK = 4 * 1024 * 1024  # bytes read at a time by the newline scan
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class InputFile:
    path: str  # as the user named it (after glob expansion)
    size: int
    mtime_ns: int
    kind: str  # "text" or "jsonl"

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between a run and its resumption."""
        return {"path": os.path.abspath(self.path), "size": self.size, "mtime_ns": self.mtime_ns, "kind": self.kind}


@dataclass(frozen=True)
class Partition:
    index: int  # position in the run (output file part-{index:05d})
    file: int  # index into the list of InputFile
    first_line: int  # 1-based line number of its first line in that file
    lines: int  # how many lines
    start: int  # byte range [start, end) of the file
    end: int
    too_long: tuple[tuple[int, int, int], ...] = ()  # (line number, start, end) of lines over max_bytes


def input_files(patterns: list[str], field: str | None = None) -> list[InputFile]:
    """Expand globs (`**` recursive), check every match is a regular file, fingerprint it. Order: the
    patterns' order, each glob's matches sorted; a file named twice is read once."""
    if not patterns:
        raise InputError("no input: give --input FILE (text lines or JSON Lines; globs allowed)")
    paths: list[str] = []
    seen: set[str] = set()
    for pattern in patterns:
        pattern = os.path.expanduser(pattern)
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if not os.path.isdir(p))
            if not matches:
                raise InputError(f"--input {pattern!r} matches no file; check the pattern (quote it so that the "
                                 "shell does not expand it)")
        else:
            if os.path.isdir(pattern):
                raise InputError(f"--input {pattern!r} is a folder; name its files, e.g. {pattern}/*.jsonl")
            matches = [pattern]
        for path in matches:
            if os.path.abspath(path) not in seen:
                seen.add(os.path.abspath(path))
                paths.append(path)
    files = []
    for path in paths:
        if path.lower().endswith(COMPRESSED_SUFFIXES):
            raise InputError(f"--input {path!r} is compressed; decompress it first (records are read as plain "
                             "UTF-8 lines)")
        st = regular_file(path, "--input", InputError)
        kind = "jsonl" if field is not None or path.lower().endswith(JSONL_SUFFIXES) else "text"
        files.append(InputFile(path, st.st_size, st.st_mtime_ns, kind))
    return files


def scan_lines(path: str, partition_size: int, max_bytes: int, block: int = BLOCK
               ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """One pass over a file: ([(first_line, start_offset, lines)] per partition, [(line, start, end)] of the
    lines longer than max_bytes). A last line without a newline counts; an empty file has no line."""
    starts: list[tuple[int, int]] = []  # (first line, byte offset) of each partition
    too_long: list[tuple[int, int, int]] = []
    line = 0  # lines seen so far
    line_start = 0  # byte offset where the current line starts
    offset = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(block)
            if not chunk:
                break
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10) + offset  # [n] absolute
            if len(newlines):
                line_starts = np.concatenate(([line_start], newlines[:-1] + 1))  # [n] start of each ended line
                lengths = newlines - line_starts
                numbers = np.arange(line, line + len(newlines))  # 0-based line numbers
                for k in np.flatnonzero(numbers % partition_size == 0):
                    starts.append((int(numbers[k]) + 1, int(line_starts[k])))
                for k in np.flatnonzero(lengths > max_bytes):
                    too_long.append((int(numbers[k]) + 1, int(line_starts[k]), int(newlines[k])))
                line += len(newlines)
                line_start = int(newlines[-1]) + 1
            offset += len(chunk)
    if offset > line_start:  # a last line without a newline
        if line % partition_size == 0:
            starts.append((line + 1, line_start))
        if offset - line_start > max_bytes:
            too_long.append((line + 1, line_start, offset))
        line += 1
    parts = []
    for i, (first, start) in enumerate(starts):
        lines = (starts[i + 1][0] if i + 1 < len(starts) else line + 1) - first
        parts.append((first, start, lines))
    return parts, too_long


def plan_partitions(files: list[InputFile], partition_size: int, max_bytes: int) -> list[Partition]:
    """Every partition of every file, in input order."""
    plan: list[Partition] = []
    for f_index, f in enumerate(files):
        parts, too_long = scan_lines(f.path, partition_size, max_bytes)
        for k, (first, start, lines) in enumerate(parts):
            end = parts[k + 1][1] if k + 1 < len(parts) else f.size
            long_here = tuple(t for t in too_long if first <= t[0] < first + lines)
            plan.append(Partition(len(plan), f_index, first, lines, start, end, long_here))
    return plan


def read_partition(files: list[InputFile], part: Partition) -> bytes:
    """The partition's bytes, with each over-long line cut down to nothing (its newline stays, so the line
    numbers of the others do not move)."""
    out = []
    with open(files[part.file].path, "rb") as f:
        position = part.start
        for _, start, end in part.too_long:
            f.seek(position)
            out.append(f.read(start - position))
            position = end  # the newline at `end` (if any) is read with the next piece
        f.seek(position)
        out.append(f.read(part.end - position))
    return b"".join(out)


# ------------------------------------------------------------------------------------------- worker side


class BadRecord(Exception):
    """One record that cannot be used; the message says why. Never leaves decode_partition."""


def decode_line(raw: bytes, kind: str, field: str, first_of_file: bool) -> tuple[Any, str]:
    """(id or None, text) of one line, or BadRecord."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if first_of_file and raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRecord(f"not UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start} of the line)") from None
    if not line.strip():
        raise BadRecord("empty line")
    if kind == "text":
        return None, line
    try:
        record = json.loads(line)
    except RecursionError:
        raise BadRecord("JSON nested too deeply") from None
    except ValueError as e:
        raise BadRecord(f"not valid JSON ({getattr(e, 'msg', e)} at column {getattr(e, 'colno', '?')})") from None
    if not isinstance(record, dict):
        raise BadRecord(f"a JSON {type(record).__name__}, not an object with a {field!r} field")
    if field not in record:
        fields = ", ".join(repr(k) for k in list(record)[:8])
        raise BadRecord(f"no {field!r} field (it has {fields or 'no field'}); choose the field with --field")
    text = record[field]
    if not isinstance(text, str):
        raise BadRecord(f"field {field!r} is a JSON {type(text).__name__}, not a string")
    if not text.strip():
        raise BadRecord(f"field {field!r} is empty")
    record_id = record.get("id")
    if record_id is not None and (isinstance(record_id, bool) or not isinstance(record_id, (str, int, float))):
        raise BadRecord(f"field 'id' is a JSON {type(record_id).__name__}; ids must be strings or numbers")
    return record_id, text


def decode_partition(blob: bytes, kind: str, field: str, first_line: int, lines: int, too_long: dict[int, int],
                     max_bytes: int, id_prefix: str | None
                     ) -> tuple[list[tuple[int, Any, str]], list[dict[str, Any]]]:
    """([(line, id, text)], [{"line", "error"}]) for one partition's blob. too_long: {line: length}."""
    pieces = blob.split(b"\n")
    if len(pieces) == lines + 1 and pieces[-1] == b"":  # the blob ends with a newline
        pieces.pop()
    if len(pieces) != lines:
        raise RuntimeError(f"partition at line {first_line} has {len(pieces)} lines, the plan said {lines}; "
                           "the input file changed during the run")
    good, bad = [], []
    for offset, raw in enumerate(pieces):
        number = first_line + offset
        try:
            if number in too_long:
                raise BadRecord(f"too long: {too_long[number]:,} bytes, over --max-bytes {max_bytes:,}")
            record_id, text = decode_line(raw, kind, field, first_of_file=number == 1)
        except BadRecord as e:
            bad.append({"line": number, "error": str(e)})
            continue
        if record_id is None:
            record_id = number if id_prefix is None else f"{id_prefix}:{number}"
        good.append((number, record_id, text))
    return good, bad
