"""Reading a user's files as if they were hostile: regular files only, bounded sizes, paths kept inside the
folder they came from.

Every reader of a file a user hands us (config.json, tokenizer files, checkpoint indexes and shards) goes
through these functions, so the rules live in one place:

    regular_file(path, what, error)          the path is a regular file (after following symlinks): not a
                                             FIFO that blocks forever, not /dev/zero that never ends
    read_bytes(path, what, limit, error)     at most `limit` bytes, or an error naming the file and the limit
    read_text / read_json                    the same, decoded as UTF-8 / parsed as JSON, errors name the file
    inside(folder, name, what, error)        `name` (from an index file) as a path inside `folder`
    MappedFile(path, what, error)            a regular file memory-mapped read-only: its parts as NumPy views
                                             that cost no memory until read (checkpoint weights)
    mapped(array) / release_pages(array)     whether an array is such a view / hand its pages back to the OS

`what` is how the error message names the file for the user ("config.json", "the checkpoint index");
`error` is the class from errors.py to raise (ConfigError, CheckpointError, TokenizerError).

Containment is lexical, as the user named the folder: `../x`, absolute paths and drive letters are refused,
but a symlink inside the folder is followed, because huggingface_hub's cache lays every snapshot out as
symlinks into `../../blobs`.
"""

from __future__ import annotations

import json
import mmap
import os
import stat
import zlib
from typing import Any

import numpy as np

from .errors import MiniMobileBertError

MiB = 1024 * 1024
JSON_LIMIT = 16 * MiB  # config.json is ~1 KB, a BERT tokenizer.json ~0.7 MB; 16 MiB admits 250k-token vocabularies
TEXT_LIMIT = 64 * MiB  # vocab.txt and other plain-text files


def short_repr(value: Any, limit: int = 80) -> str:
    """repr() of a value read from a hostile file, for an error message: bounded in time and length, and
    never failing (repr of a 5000-digit int raises ValueError; repr of an 8 MB list takes a while)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        text = repr(value) if value.bit_length() <= 256 else f"<an integer of {value.bit_length()} bits>"
    elif isinstance(value, (str, bytes)):
        text = repr(value[:limit]) + ("..." if len(value) > limit else "")
    elif isinstance(value, (tuple, list)) and len(value) <= 16:
        inner = ", ".join(short_repr(v, limit) for v in value)
        text = ("(" + inner + ("," if len(value) == 1 else "") + ")") if isinstance(value, tuple) else f"[{inner}]"
    else:
        size = f" of length {len(value)}" if isinstance(value, (tuple, list, dict, set)) else ""
        text = f"<a {type(value).__name__}{size}>"
    return text if len(text) <= limit else text[:limit] + "..."


def regular_file(path: str | os.PathLike, what: str, error: type[MiniMobileBertError]) -> os.stat_result:
    """stat() of `path` if it is a regular file (symlinks followed); else `error` naming it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what}: {os.fspath(path)!r} does not exist") from None
    except OSError as e:
        raise error(f"{what}: cannot read {os.fspath(path)!r} ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise error(f"{what}: {os.fspath(path)!r} is {kind}; point at a regular file")
    return st


def open_regular(path: str | os.PathLike, what: str, error: type[MiniMobileBertError]):
    """`path` opened for binary reading, if it is a regular file, with its stat() (checked on the opened
    descriptor: a file swapped for a FIFO between the check and the open cannot block us)."""
    regular_file(path, what, error)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise error(f"{what}: cannot open {os.fspath(path)!r} ({e.strerror or e})") from None
    f = os.fdopen(fd, "rb")
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise error(f"{what}: {os.fspath(path)!r} is not a regular file; point at a regular file")
    return f, st


def read_bytes(path: str | os.PathLike, what: str, limit: int, error: type[MiniMobileBertError]) -> bytes:
    """The whole content of a regular file of at most `limit` bytes.

    Opened with O_NONBLOCK and checked with fstat on the opened descriptor, so a file swapped for a FIFO
    between the check and the open cannot block us, and reading stops at `limit` + 1 bytes whatever the file
    claims to be."""
    f, st = open_regular(path, what, error)
    with f:
        if st.st_size > limit:
            raise error(f"{what}: {os.fspath(path)!r} is {st.st_size:,} bytes, over the limit of {limit:,} for "
                        "this kind of file; is it the right file?")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what}: {os.fspath(path)!r} is over the limit of {limit:,} bytes for this kind of file")
    return data


def read_text(path: str | os.PathLike, what: str, limit: int, error: type[MiniMobileBertError]) -> str:
    """A regular UTF-8 text file of at most `limit` bytes (a leading BOM is dropped)."""
    data = read_bytes(path, what, limit, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"{what}: {os.fspath(path)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                    f"{e.start}); save it as UTF-8") from None


def read_json(path: str | os.PathLike, what: str, error: type[MiniMobileBertError], limit: int = JSON_LIMIT,
              expect: type = dict) -> Any:
    """A JSON file whose top level is of type `expect` (a dict unless told otherwise)."""
    text = read_text(path, what, limit, error)
    if not text.strip():
        raise error(f"{what}: {os.fspath(path)!r} is empty; it should hold a JSON "
                    f"{'object' if expect is dict else expect.__name__}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{what}: {os.fspath(path)!r} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") \
            from None
    except RecursionError:
        raise error(f"{what}: {os.fspath(path)!r} nests too deeply to be a real {what}") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise error(f"{what}: {os.fspath(path)!r} holds a value JSON cannot be read into ({str(e)[:100]})") from None
    if expect is not None and not isinstance(value, expect):
        want = "a JSON object" if expect is dict else f"a JSON {expect.__name__}"
        raise error(f"{what}: {os.fspath(path)!r} should hold {want}, not {type(value).__name__}")
    return value


def inside(folder: str | os.PathLike, name: Any, what: str, error: type[MiniMobileBertError]) -> str:
    """`folder/name` for a file name read from inside `folder` (e.g. a shard in an index's weight_map),
    refusing anything that would leave the folder: absolute paths, drive letters, `..` components, NUL."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise error(f"{what}: {name!r} is not a file name")
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise error(f"{what}: {name!r} points outside the folder {os.fspath(folder)!r}; every file it names must "
                    "be inside that folder")
    return os.path.join(folder, *[p for p in parts if p not in ("", ".")])


class MappedFile:
    """A regular file mapped read-only into memory (mmap), read as NumPy views of its bytes.

    A view costs no memory until its bytes are read, and then only the pages read: a file's declared sizes
    can be checked against what the caller expects before anything is read, and a sparse file (4 KB on disk,
    2 GiB long) costs nothing. Views are read-only. The mapping lives as long as any view of it; a view must
    not outlive a change to the file (a truncated file raises SIGBUS when its missing pages are read), so
    loaders copy what they keep (see checkpoint.reconcile)."""

    def __init__(self, path: str | os.PathLike, what: str, error: type[MiniMobileBertError]):
        self.path, self.what, self.error = os.fspath(path), what, error
        f, st = open_regular(path, what, error)
        with f:
            self.size = st.st_size
            try:
                self.map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if self.size else None
            except (OSError, ValueError) as e:
                raise error(f"{what}: cannot map {self.path!r} into memory ({e})") from None

    def check_range(self, offset: int, length: int, part: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise self.error(f"{self.what}: {self.path!r} is {self.size:,} bytes, but {part} is said to span bytes "
                             f"{offset:,}..{offset + length:,}; the file is truncated or corrupt")

    def view(self, offset: int, length: int, part: str) -> np.ndarray:
        """Bytes [offset, offset + length) as a read-only uint8 array backed by the file (no copy)."""
        self.check_range(offset, length, part)
        if length == 0:
            return np.empty(0, np.uint8)
        return np.frombuffer(self.map, np.uint8, length, offset)

    def read(self, offset: int, length: int, part: str) -> bytes:
        """A small part of the file, copied."""
        self.check_range(offset, length, part)
        return self.map[offset:offset + length] if length else b""

    def release(self) -> None:
        """Hand back the pages reading headers has mapped in (see release_pages)."""
        if self.map is not None:
            release_pages(np.frombuffer(self.map, np.uint8, 1))

    def crc32(self, offset: int, length: int, part: str, chunk: int = 1 << 20) -> int:
        """CRC-32 of a part, read in chunks through the file descriptor: bounded memory, no mapped pages kept."""
        self.check_range(offset, length, part)
        crc = 0
        with open(self.path, "rb", buffering=0) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise self.error(f"{self.what}: {self.path!r} is no longer a regular file")
            f.seek(offset)
            while length:
                data = f.read(min(chunk, length))
                if not data:
                    raise self.error(f"{self.what}: {self.path!r} became shorter while it was read")
                crc = zlib.crc32(data, crc)
                length -= len(data)
        return crc


def _mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The mmap an array's memory belongs to, found through its chain of bases, or None."""
    base: Any = array
    for _ in range(64):
        if isinstance(base, mmap.mmap):
            return base
        if isinstance(base, memoryview):
            base = base.obj
        else:
            base = getattr(base, "base", None)
        if base is None:
            return None
    return None


def mapped(array: np.ndarray) -> bool:
    """Whether `array` is a view of a MappedFile (so it must be copied before it is kept)."""
    return _mapping_of(array) is not None


def release_pages(array: np.ndarray) -> None:
    """Tell the OS that the mapped pages of the file under `array` are not needed now (they stay in the page
    cache and are read again if touched): copying a mapped checkpoint tensor by tensor then costs its size
    once, not twice. The whole mapping is released, not just the array's bytes: the kernel maps pages around
    the ones read (fault-around, read-around), and a range would leave those behind."""
    mm = _mapping_of(array)
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):
        pass
