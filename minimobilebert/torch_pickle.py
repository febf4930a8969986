"""Read a PyTorch `pytorch_model.bin` state dict without PyTorch, and without running code from the file.

Since PyTorch 1.6, `torch.save` writes a zip archive:

    <name>/data.pkl      a pickle of the state dict; each tensor is a call
                         torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
                         whose `storage` is a "persistent id" ('storage', torch.FloatStorage, '0', 'cpu', numel)
    <name>/data/0 ...    the raw little-endian bytes of each storage
    <name>/byteorder     "little" (absent in old files, which are little-endian)

A pickle is a small program: unpickling an arbitrary one can call any Python function (os.system, eval).
So `RestrictedUnpickler` resolves only the handful of names a state dict needs and refuses every other
global with an error, before anything is called. Even those names build nothing: the pickle yields
immutable *records* (which storage, offset, size, stride). Only after the whole pickle is read are the
records turned into arrays, each a read-only strided view of exactly one storage's bytes, checked in bytes
so that a crafted record cannot reach outside its storage:

    storage offset + sum((size_i - 1) * stride_i) + 1 elements, times the item size, <= the storage's bytes

Sizes and strides must be non-negative integers. Stride 0 is legitimate (torch saves expanded tensors, e.g.
`position_ids`, that way) and stays a view: a 415-byte file can declare a [10^6, 10^6] stride-0 tensor, and
it costs nothing until someone copies it (checkpoint.reconcile copies only tensors of the shapes the
config expects).

The archive is read by hand from its central directory (zipfile parses that), with limits checked before
anything is decompressed: stored members are views of the memory-mapped file; deflated ones (torch never
writes them, but a re-zipped file has them) may expand at most MAX_DEFLATE_RATIO times and are inflated by
a bounded decompressor; other compression methods, encrypted members and bad CRCs are refused.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np

from .errors import CheckpointError  # noqa: F401 - re-exported: minimobilebert.torch_pickle.CheckpointError
from .files import MappedFile, short_repr

MiB = 1024 * 1024
PICKLE_LIMIT = 8 * MiB  # data.pkl: ~50 KB for MobileBERT, ~100 KB for a 1000-tensor LLM
MAX_DEFLATE_RATIO = 64  # a deflated member may hold at most 64x its compressed size (+ DEFLATE_SLACK)
DEFLATE_SLACK = 1 * MiB  # small members of zeros compress far better than 64x
MAX_DIMS = 32
MAX_ELEMENTS = 2 ** 48  # a view's element count, zero dimensions left out (stride-0 views may exceed their storage)

# torch storage class name -> NumPy dtype of its bytes. bfloat16 is read as raw uint16 and widened below.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands in for torch.FloatStorage & co.: only remembers which dtype the bytes have."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Storage(NamedTuple):
    """What a persistent id becomes: the name of a storage in the archive, not its bytes. Only
    RestrictedUnpickler.persistent_load makes these, so a tensor record can name nothing else as storage."""

    key: str
    kind: str  # the storage class name, e.g. "FloatStorage"
    numel: int | None  # elements, as the pickle declares them (checked against the member's size)


class _TensorRecord(NamedTuple):
    """What _rebuild_tensor_v2(...) becomes while unpickling: immutable (a namedtuple has no __dict__, so the
    pickle's BUILD opcode cannot change it afterwards) and holding no memory."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift the 16 bits up and reinterpret."""
    wide = raw.astype(np.uint32)
    np.left_shift(wide, 16, out=wide)  # in place: a 0-d array stays an array (`wide << 16` would be a scalar)
    return wide.view(np.float32)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_ignored: Any) -> _TensorRecord:
    """The safe stand-in for torch._utils._rebuild_tensor_v2: a record of what the pickle asks for, with the
    types checked here and the bounds checked when the storage's size is known (tensor_from_record)."""
    if type(storage) is not _Storage:
        raise CheckpointError(f"a tensor record's storage is a {type(storage).__name__}, not a storage of the "
                              "archive: the file is corrupt or crafted")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride) <= MAX_DIMS
            and _is_int(storage_offset) and storage_offset >= 0
            and all(_is_int(n) and n >= 0 for n in (*size, *stride))):
        raise CheckpointError(f"malformed tensor record: offset={short_repr(storage_offset)} size={short_repr(size)} "
                              f"stride={short_repr(stride)} (sizes, strides and offset must be non-negative "
                              "integers, at most 32 of them)")
    return _TensorRecord(storage, storage_offset, size, stride)


def _rebuild_parameter(data: Any, *_ignored: Any) -> _TensorRecord:
    """torch._utils._rebuild_parameter (an nn.Parameter saved as such): its tensor."""
    if type(data) is not _TensorRecord:
        raise CheckpointError(f"a parameter record holds a {type(data).__name__}, not a tensor")
    return data


def tensor_from_record(record: _TensorRecord, buffer: np.ndarray, name: str, path: str) -> np.ndarray:
    """The read-only view a record describes, of `buffer` (the storage's elements, a 1-D array)."""
    itemsize = buffer.dtype.itemsize
    shape, offset = record.size, record.offset
    if record.storage.numel is not None and record.storage.numel != buffer.size:
        raise CheckpointError(f"{path}: tensor {short_repr(name)}: storage {record.storage.key!r} is declared with "
                              f"{short_repr(record.storage.numel)} elements but holds {buffer.size:,}; the file is "
                              "corrupt or truncated")
    if math.prod(max(n, 1) for n in shape) > MAX_ELEMENTS:  # zeros left out: NumPy refuses (0, 2**64) too
        raise CheckpointError(f"{path}: tensor {short_repr(name)} declares shape {short_repr(shape)}; no checkpoint tensor "
                              "is that large: the file is corrupt or crafted")
    if 0 in shape:
        reach = offset * itemsize  # an empty tensor reads nothing, but its offset must still be in its storage
    else:
        reach = (offset + sum((n - 1) * s for n, s in zip(shape, record.stride)) + 1) * itemsize
    if reach > buffer.nbytes:
        raise CheckpointError(
            f"{path}: tensor {short_repr(name)} (shape {short_repr(shape)}, stride {short_repr(record.stride)}, "
            f"offset {short_repr(offset)}) reaches byte {short_repr(reach)} of storage {record.storage.key!r}, which "
            f"holds {buffer.nbytes:,} bytes: the checkpoint "
            "is corrupt or truncated; re-download or re-save it"
        )
    if 0 in shape:
        empty = np.empty(shape, buffer.dtype)
        empty.flags.writeable = False
        return empty
    return np.lib.stride_tricks.as_strided(buffer[offset:], shape=shape,
                                           strides=tuple(s * itemsize for s in record.stride), writeable=False)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only what a PyTorch state dict is made of, and builds only records."""

    def __init__(self, file: io.BytesIO):
        super().__init__(file)
        self.kinds: dict[str, str] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"refusing to load this checkpoint: its pickle asks for `{module!s:.60}.{name!s:.60}`, which is not "
            "part of a tensor state dict. minimobilebert never runs code from a checkpoint file. If you trust the "
            "file, convert it to safetensors with PyTorch (safetensors.torch.save_file(torch.load(path), "
            "'model.safetensors')) and load that instead."
        )

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and type(pid[1]) is _StorageType and type(pid[1].name) is str and pid[1].name in STORAGE_DTYPES
                and type(pid[2]) is str and len(pid[2]) <= 64):
            raise CheckpointError(f"unexpected persistent id {short_repr(pid)} in the pickle: not a PyTorch tensor storage")
        kind, key = pid[1].name, pid[2]
        if self.kinds.setdefault(key, kind) != kind:
            raise CheckpointError(f"storage {key!r} is declared both as {self.kinds[key]} and as {kind}")
        return _Storage(key, kind, pid[4] if _is_int(pid[4]) else None)


class _Archive:
    """The members of a zip file, read with limits checked before anything is decompressed."""

    def __init__(self, path: str):
        self.path = path
        self.file = MappedFile(path, "PyTorch checkpoint", CheckpointError)
        try:
            self.zip = zipfile.ZipFile(_MapReader(self.file))
        except Exception as e:  # noqa: BLE001 - zipfile parses hostile bytes; every failure means "not a zip"
            raise CheckpointError(f"{path} is not a readable zip-format PyTorch checkpoint ({type(e).__name__}: "
                                  f"{str(e)[:200]}); the file is corrupt or truncated; re-download or re-save it") \
                from None

    def names(self) -> list[str]:
        return self.zip.namelist()

    def member(self, name: str, limit: int | None = None) -> np.ndarray:
        """A member's bytes as a read-only uint8 array: a view of the mapped file when stored, else inflated."""
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise CheckpointError(f"{self.path}: {name!r} is missing from the archive; the file is truncated or "
                                  "was not written by torch.save") from None
        where = f"{self.path}: archive member {name!r}"
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{where} is encrypted; minimobilebert reads only unencrypted checkpoints")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{where} uses zip compression method {info.compress_type}; only stored (0, what "
                                  "torch.save writes) and deflate (8) are read. Re-save it with torch.save")
        if limit is not None and info.file_size > limit:
            raise CheckpointError(f"{where} declares {info.file_size:,} bytes, over the limit of {limit:,} for it")
        header = self.file.read(info.header_offset, 30, f"the local header of {name!r}")
        if header[:4] != b"PK\x03\x04":
            raise CheckpointError(f"{where}: no local file header where the directory says; the file is corrupt")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_length + extra_length
        self.file.check_range(start, info.compress_size, f"member {name!r}")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise CheckpointError(f"{where} is stored uncompressed but declares {info.file_size:,} bytes in "
                                      f"{info.compress_size:,}; the file is corrupt")
            data = self.file.view(start, info.file_size, f"member {name!r}")
            crc = self.file.crc32(start, info.file_size, f"member {name!r}")
        else:
            data = self._inflate(info, start, where)
            crc = zlib.crc32(data)
        if crc != info.CRC:
            raise CheckpointError(f"{where} fails its CRC check; the file is corrupt; re-download or re-save it")
        return data

    def _inflate(self, info: zipfile.ZipInfo, start: int, where: str) -> np.ndarray:
        most = MAX_DEFLATE_RATIO * info.compress_size + DEFLATE_SLACK
        if info.file_size > most:
            raise CheckpointError(
                f"{where} declares {info.file_size:,} bytes from {info.compress_size:,} compressed, more than "
                f"{MAX_DEFLATE_RATIO}x: refused as a zip bomb. torch.save writes members uncompressed; re-save it")
        out = np.empty(info.file_size, np.uint8)
        inflater, filled, chunk = zlib.decompressobj(-15), 0, 1 << 20
        try:
            for at in range(start, start + info.compress_size, chunk):
                pending = self.file.read(at, min(chunk, start + info.compress_size - at), "compressed data")
                while pending:
                    piece = inflater.decompress(pending, info.file_size - filled + 1)
                    if filled + len(piece) > info.file_size:
                        raise CheckpointError(f"{where} inflates to more than the {info.file_size:,} bytes it "
                                              "declares; the file is corrupt or crafted")
                    out[filled:filled + len(piece)] = np.frombuffer(piece, np.uint8)
                    filled += len(piece)
                    pending = inflater.unconsumed_tail
                    if inflater.eof:
                        break
                if inflater.eof:
                    break
        except zlib.error as e:
            raise CheckpointError(f"{where}: corrupt deflate stream ({e}); re-download or re-save the file") from None
        if not inflater.eof or filled != info.file_size:
            raise CheckpointError(f"{where} inflates to {filled:,} bytes, not the {info.file_size:,} it declares; "
                                  "the file is corrupt or truncated")
        out.flags.writeable = False
        return out


class _MapReader(io.RawIOBase):
    """A seekable read-only file object over a MappedFile, for zipfile to parse the central directory from."""

    def __init__(self, mapped: MappedFile):
        self.mapped, self.position = mapped, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = max(0, {0: 0, 1: self.position, 2: self.mapped.size}[whence] + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self.mapped.size - self.position))
        if n:
            buffer[:n] = self.mapped.map[self.position:self.position + n]
        self.position += n
        return n


def load_torch_state_dict(path: str) -> dict[str, np.ndarray]:
    """{name: read-only array} from a zip-format `torch.save` file, without importing torch or running its code.

    Arrays are views of the memory-mapped file (stored members, torch's layout) or of inflated buffers; copy
    what you keep (checkpoint.reconcile does)."""
    archive = _Archive(path)
    pickles = [n for n in archive.names() if n.endswith("data.pkl")]
    if len(pickles) != 1:
        raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}; "
                              "is it a torch.save file?")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in archive.names():
        byteorder = bytes(archive.member(prefix + "byteorder", limit=16)).decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointError(f"{path}: the archive's byteorder says {short_repr(byteorder, 20)}, not little or big")
    payload = bytes(archive.member(pickles[0], limit=PICKLE_LIMIT))
    unpickler = RestrictedUnpickler(io.BytesIO(payload))
    try:
        state = unpickler.load()
    except CheckpointError as e:  # raised by the checks above, which do not know the file's name
        raise CheckpointError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - unpickling hostile bytes: any failure means a corrupt file
        raise CheckpointError(f"{path}: cannot unpickle the state dict ({type(e).__name__}: {str(e)[:200]}); "
                              "the file is corrupt; re-download or re-save it") from None
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"{path} does not hold a state dict of tensors (found "
                              f"{'an empty dict' if isinstance(state, dict) else type(state).__name__}); save "
                              "model.state_dict(), not the model or a training checkpoint")
    for name, value in state.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{path}: the state dict has a key {short_repr(name, 60)} of type "
                                  f"{type(name).__name__}; "
                                  "weight names must be strings")
        if type(value) is not _TensorRecord:
            raise CheckpointError(f"{path}: {short_repr(name)} is a {type(value).__name__}, not a tensor; save "
                                  "model.state_dict() (tensors only)")

    buffers: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for name, record in state.items():
        storage = record.storage
        if storage.key not in buffers:
            buffers[storage.key] = _storage_elements(archive, prefix, storage, byteorder, path)
        out[name] = tensor_from_record(record, buffers[storage.key], name, path)
    archive.file.release()  # the pages the member headers were read from
    return out


def _storage_elements(archive: _Archive, prefix: str, storage: _Storage, byteorder: str, path: str) -> np.ndarray:
    """A storage's bytes as a 1-D array of its dtype (bfloat16 widened to float32 once, for all its views)."""
    raw = archive.member(f"{prefix}data/{storage.key}")
    dtype = np.dtype(STORAGE_DTYPES[storage.kind]).newbyteorder("<" if byteorder == "little" else ">")
    if raw.nbytes % dtype.itemsize:
        raise CheckpointError(f"{path}: storage {storage.key!r} holds {raw.nbytes:,} bytes, not a whole number of "
                              f"{storage.kind} elements; the file is corrupt")
    elements = raw.view(dtype)
    if not dtype.isnative:
        elements = elements.astype(dtype.newbyteorder("="))
    if storage.kind == "BFloat16Storage":
        elements = bfloat16_to_float32(elements)
    elements.flags.writeable = False
    return elements
