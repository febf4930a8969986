"""Builders of hostile checkpoint files, written by hand (no torch): pickles assembled from opcodes, zip
archives laid out byte by byte, safetensors headers of any shape. Used by test_hostile.py."""

from __future__ import annotations

import json
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

MiB = 1 << 20

# ----------------------------------------------------------------------------------------- pickle opcodes


def op(value) -> bytes:
    """The opcodes that push a plain value (str, int, tuple, bool, None), without PROTO and STOP."""
    return pickle.dumps(value, protocol=2)[2:-1]


def global_(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def storage_ref(key: str, kind: str = "FloatStorage", numel: int | None = None) -> bytes:
    """A persistent id ('storage', torch.<kind>, key, 'cpu', numel), as torch.save writes it."""
    return b"(" + op("storage") + global_("torch", kind) + op(key) + op("cpu") + op(numel) + b"tQ"


def tensor_ref(storage: bytes, offset: int, size, stride) -> bytes:
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    return (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + op(offset) + op(tuple(size))
            + op(tuple(stride)) + op(False) + global_("collections", "OrderedDict") + b")R" + b"tR")


def state_pickle(entries: dict, *, container: bytes | None = None) -> bytes:
    """An OrderedDict of `entries` (key -> opcodes of the value). Keys may be any plain value."""
    start = container if container is not None else global_("collections", "OrderedDict") + b")R"
    items = b"".join(op(k) + v for k, v in entries.items())
    return b"\x80\x02" + start + (b"(" + items + b"u" if entries else b"") + b"."


def contiguous_strides(shape) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


# ------------------------------------------------------------------------------------------------ zip files


def zip_archive(members: list[dict]) -> bytes:
    """A zip file written field by field. Each member: name, data (the uncompressed bytes) and optionally
    method (0 stored, 8 deflate, or any number), payload (the bytes written, default: data compressed by
    `method`), crc, size (the declared uncompressed size), flags."""
    out, central = bytearray(), bytearray()
    for m in members:
        name, data = m["name"].encode(), m.get("data", b"")
        method = m.get("method", 0)
        if "payload" in m:
            payload = m["payload"]
        elif method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        else:
            payload = data
        crc = m.get("crc", zlib.crc32(data))
        size = m.get("size", len(data))
        flags = m.get("flags", 0)
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(payload), size,
                           len(name), 0) + name + payload
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc,
                               len(payload), size, len(name), 0, 0, 0, 0, 0, offset) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd_offset, 0)
    return bytes(out)


def torch_members(pickle_bytes: bytes, storages: dict[str, bytes], **data_pkl: object) -> list[dict]:
    members = [dict(name="archive/data.pkl", data=pickle_bytes, **data_pkl),
               dict(name="archive/byteorder", data=b"little"), dict(name="archive/version", data=b"3\n")]
    members += [dict(name=f"archive/data/{key}", data=raw) for key, raw in storages.items()]
    return members


def bin_of(state: dict[str, np.ndarray]) -> tuple[bytes, dict[str, bytes]]:
    """The pickle and storages of a plain state dict of float32/int64 arrays, one storage per tensor."""
    kinds = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage",
             np.dtype(np.float16): "HalfStorage"}
    entries, storages = {}, {}
    for i, (name, array) in enumerate(state.items()):
        array = np.ascontiguousarray(array)
        entries[name] = tensor_ref(storage_ref(str(i), kinds[array.dtype], array.size), 0, array.shape,
                                   contiguous_strides(array.shape))
        storages[str(i)] = array.tobytes()
    return state_pickle(entries), storages


def write_bin(path: Path, state: dict[str, np.ndarray], extra: dict | None = None) -> Path:
    """A pytorch_model.bin holding `state`, plus `extra` records (name -> opcodes) sharing its storages."""
    payload, storages = bin_of(state)
    if extra:
        payload = payload[:-1] + b"(" + b"".join(op(k) + v for k, v in extra.items()) + b"u."
    path.write_bytes(zip_archive(torch_members(payload, storages)))
    return path


def bomb_stream(total: int) -> bytes:
    """A raw deflate stream of `total` zero bytes, built from one compressed 16 MiB segment repeated (a full
    flush makes each segment independent), so a 1 GiB bomb costs milliseconds to make."""
    chunk = 16 * MiB
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    return segment * (total // chunk) + c.flush()


# ------------------------------------------------------------------------------------------------ safetensors


def safetensors_bytes(header: dict | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def safetensors_of(state: dict[str, np.ndarray]) -> bytes:
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.float16): "F16"}
    header, data = {"__metadata__": {"format": "pt"}}, bytearray()
    for name, array in state.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": codes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return safetensors_bytes(header, bytes(data))


def sparse_file(path: Path, head: bytes, apparent: int) -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(apparent)  # a hole: no disk blocks
    return path


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
