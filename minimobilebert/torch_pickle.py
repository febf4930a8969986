"""Read a PyTorch `pytorch_model.bin` state dict without PyTorch, and without running code from the file.

Since PyTorch 1.6, `torch.save` writes a zip archive:

    <name>/data.pkl      a pickle of the state dict; each tensor is a call
                         torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
                         whose `storage` is a "persistent id" ('storage', torch.FloatStorage, '0', 'cpu', numel)
    <name>/data/0 ...    the raw little-endian bytes of each storage
    <name>/byteorder     "little" (absent in old files, which are little-endian)

A pickle is a small program: unpickling an arbitrary one can call any Python function (os.system, eval).
So `RestrictedUnpickler` resolves only the handful of names a state dict needs and refuses every other
global with an error, before anything is called. The tensors are rebuilt as NumPy arrays, with their
offset/size/stride checked against the storage so that a crafted file cannot read outside it.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from .errors import CheckpointError  # noqa: F401 - re-exported: minimobilebert.torch_pickle.CheckpointError


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


def bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift the 16 bits up and reinterpret."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor(storage: tuple[np.ndarray, str], storage_offset: int, size: tuple, stride: tuple,
                    *_ignored: Any) -> np.ndarray:
    """The safe stand-in for torch._utils._rebuild_tensor_v2: a strided view of the storage, copied."""
    flat, kind = storage
    if not (isinstance(storage_offset, int) and all(isinstance(n, int) and n >= 0 for n in (*size, *stride))
            and len(size) == len(stride) and storage_offset >= 0):
        raise CheckpointError(f"malformed tensor record: offset={storage_offset!r} size={size!r} stride={stride!r}")
    if 0 not in size:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise CheckpointError(
                f"tensor of size {tuple(size)} at offset {storage_offset} reaches element {last} of a storage "
                f"of {flat.size}: the checkpoint is corrupt or truncated"
            )
    view = np.lib.stride_tricks.as_strided(
        flat[storage_offset:], shape=tuple(size), strides=tuple(s * flat.itemsize for s in stride), writeable=False
    )
    array = np.array(view)  # own, contiguous copy
    return bfloat16_to_float32(array) if kind == "BFloat16Storage" else array


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only what a PyTorch state dict is made of."""

    def __init__(self, file: io.BytesIO, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"refusing to load this checkpoint: its pickle asks for `{module}.{name}`, which is not part of a "
            "tensor state dict. minimobilebert never runs code from a checkpoint file. If you trust the file, "
            "convert it to safetensors with PyTorch (safetensors.torch.save_file(torch.load(path)), path)) and "
            "load that instead."
        )

    def persistent_load(self, pid: Any) -> tuple[np.ndarray, str]:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise CheckpointError(f"unexpected persistent id {pid!r} in pickle: not a PyTorch tensor storage")
        storage_type, key = pid[1], pid[2]
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise CheckpointError(f"storage {key!r} is missing from the archive: the file is truncated") from None
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise CheckpointError(f"cannot read storage {key!r}: {e}; the file is corrupt or truncated") from None
            dtype = storage_type.dtype.newbyteorder("<" if self.byteorder == "little" else ">")
            if len(raw) % dtype.itemsize:
                raise CheckpointError(f"storage {key!r} holds {len(raw)} bytes, not a whole number of {dtype}")
            self.storages[key] = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        return self.storages[key], storage_type.name


def load_torch_state_dict(path: str) -> dict[str, np.ndarray]:
    """{name: array} from a zip-format `torch.save` file, without importing torch or running its code."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with open(path, "rb") as f:
            head = f.read(8)
        hint = ("it looks like the legacy (pre-1.6) torch.save format; re-save it with a current PyTorch"
                if head[:2] == b"\x80\x02" else "the file is corrupt or truncated")
        raise CheckpointError(f"{path} is not a zip-format PyTorch checkpoint: {hint}") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        try:
            byteorder = archive.read(prefix + "byteorder").decode().strip()
        except KeyError:
            byteorder = "little"
        try:
            payload = archive.read(pickles[0])
            state = RestrictedUnpickler(io.BytesIO(payload), archive, prefix, byteorder).load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, TypeError, IndexError, KeyError,
                AttributeError, OverflowError, MemoryError, RecursionError) as e:
            raise CheckpointError(f"{path}: cannot unpickle the state dict ({e}); the file is corrupt") from None
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors (found {type(state).__name__})")
    return dict(state)
