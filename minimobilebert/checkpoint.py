"""Checkpoint files: find them in a folder, read them into {hf_name: float32 array}, check them, write them.

Formats, by preference: `model.safetensors` (its header parsed here, its tensors memory-mapped),
sharded `model.safetensors.index.json`, `pytorch_model.bin` (read without torch, see torch_pickle.py) and
its sharded index. The format is recognised from the file's bytes, not its name.

Every file is hostile until checked (docs/checkpoints.md lists the limits). Reading is in two steps, so that
no declared size costs memory before it is checked: `load_state_dict` returns read-only views of the mapped
file (declared shapes, offsets and strides checked against the file's real size), then `reconcile` checks
names and shapes against what the config expects and copies only those tensors, refusing NaN/Inf. Peak
memory is the weights the model keeps, plus one chunk.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, Mapping

import numpy as np

from .config import MobileBertConfig
from .errors import CheckpointError, CheckpointShapeError, MissingWeightsWarning, NewlyInitialisedWarning
from .files import MappedFile, inside, mapped, read_json, regular_file, release_pages, short_repr
from .params import BASE_MODEL_PREFIX, Shapes, init_params, is_initialisable
from .torch_pickle import MAX_ELEMENTS, bfloat16_to_float32, load_torch_state_dict

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# Keys some checkpoints carry that are not weights: buffers HF recomputes.
IGNORED_KEYS = ("embeddings.position_ids",)


def find_weights_file(folder: str) -> str:
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder!r} is not a folder; point at a checkpoint folder with config.json")
    for name in WEIGHT_FILES:
        path = os.path.join(folder, name)
        if os.path.lexists(path):
            regular_file(path, "checkpoint weights", CheckpointError)  # a FIFO, a folder, a dangling link: say so
            return path
    raise FileNotFoundError(
        f"no weights in {folder!r}: expected one of {', '.join(WEIGHT_FILES)}. TensorFlow checkpoints "
        "(model.ckpt.*) must be converted with transformers first."
    )


# safetensors dtype -> NumPy dtype (little-endian, as the format is). BF16 is read as uint16 and widened.
SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
                      "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
SAFETENSORS_HEADER_LIMIT = 100 * 1024 * 1024  # the safetensors library's own limit


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise CheckpointError(f"the header names {short_repr(twice)} twice")
    return out


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    """{name: read-only array} from a safetensors file, as views of the memory-mapped file (no data read).

    The format: 8 bytes (little-endian u64) N, N bytes of JSON header {name: {"dtype", "shape",
    "data_offsets": [begin, end]}, "__metadata__": {...}}, then the tensors' bytes. Every offset is checked
    against the file's real size and every size against its shape before any tensor byte is touched, and
    the tensors must tile the data region exactly (as the safetensors library requires)."""
    mapped = MappedFile(path, "safetensors checkpoint", CheckpointError)
    if mapped.size < 8:
        raise CheckpointError(f"{path} is {mapped.size} bytes, too short for a safetensors file; it is truncated")
    length = int.from_bytes(mapped.read(0, 8, "the header length"), "little")
    if length > SAFETENSORS_HEADER_LIMIT or 8 + length > mapped.size:
        raise CheckpointError(f"{path}: the safetensors header claims {length:,} bytes in a file of "
                              f"{mapped.size:,}; the file is corrupt or truncated")
    try:
        header = json.loads(mapped.read(8, length, "the header").decode("utf-8"), object_pairs_hook=_no_duplicates)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}; the file is corrupt") from None
    except (ValueError, RecursionError) as e:  # bad UTF-8, bad JSON, an integer of more than 4300 digits
        raise CheckpointError(f"{path}: the safetensors header is not valid JSON ({str(e)[:120]}); the file is "
                              "corrupt or truncated") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is a {type(header).__name__}, not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: the safetensors __metadata__ must map strings to strings")
    start, data_size = 8 + length, mapped.size - 8 - length
    spans, out = [], {}
    for name, entry in header.items():
        where = f"{path}: tensor {short_repr(name, 100)}"
        if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list) and isinstance(entry.get("data_offsets"), list)):
            raise CheckpointError(f"{where}: its header entry must be an object with dtype, shape and data_offsets")
        dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype_name not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{where} has dtype {short_repr(dtype_name, 20)}, which minimobilebert does not read (it "
                                  f"reads {', '.join(SAFETENSORS_DTYPES)}); save the checkpoint in float32 "
                                  "(model.float()) and retry")
        if len(shape) > 32 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise CheckpointError(f"{where} has shape {short_repr(shape)}: it must be a list of non-negative integers")
        if math.prod(max(n, 1) for n in shape) > MAX_ELEMENTS:  # zeros left out: NumPy refuses (0, 2**64) too
            raise CheckpointError(f"{where} has shape {short_repr(shape)}; no checkpoint tensor is that large: the file is "
                                  "corrupt or crafted")
        if not (len(offsets) == 2 and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{where} has data_offsets {short_repr(offsets)}: they must be [begin, end], "
                                  "0 <= begin <= end")
        dtype = np.dtype(SAFETENSORS_DTYPES[dtype_name])
        nbytes = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(f"{where}: shape {tuple(shape)} of {dtype_name} is {nbytes:,} bytes, but its "
                                  f"data_offsets span {offsets[1] - offsets[0]:,}; the file is corrupt")
        if offsets[1] > data_size:
            raise CheckpointError(f"{where} ends at byte {offsets[1]:,} of a data region of {data_size:,} bytes "
                                  f"(the file is {mapped.size:,} bytes); the file is truncated or corrupt")
        spans.append((offsets[0], offsets[1], name))
        array = mapped.view(start + offsets[0], nbytes, f"tensor {short_repr(name)}").view(dtype).reshape(shape)
        if dtype_name == "BF16":
            array = bfloat16_to_float32(array)
            array.flags.writeable = False
        out[name] = array
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise CheckpointError(f"{path}: tensor {short_repr(name, 100)} starts at byte {begin:,} of the data, not at "
                                  f"{end:,} where the previous one ends: the tensors overlap or leave a gap; the "
                                  "file is corrupt")
        end = stop
    if end != data_size:
        raise CheckpointError(f"{path}: the tensors cover {end:,} bytes of a data region of {data_size:,}; "
                              "the file is corrupt or has trailing bytes")
    return out


def _load_index(path: str) -> dict[str, np.ndarray]:
    """A sharded checkpoint: {"weight_map": {tensor name: shard file}}; every shard inside the index's folder."""
    what = f"checkpoint index {path}"
    index = read_json(path, "checkpoint index", CheckpointError)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in weight_map.items()):
        raise CheckpointError(f"{what}: \"weight_map\" must be an object mapping each weight name to its shard "
                              f"file, found {type(weight_map).__name__}; the index is corrupt")
    if not weight_map:
        raise CheckpointError(f"{what}: the weight_map is empty; the index names no weights. Delete the index "
                              "if the folder holds an unsharded weights file, or re-save the checkpoint")
    folder = os.path.dirname(path)
    state: dict[str, np.ndarray] = {}
    listed_in: dict[str, list[str]] = {}
    for name, shard in weight_map.items():
        listed_in.setdefault(shard, []).append(name)
    for shard in sorted(listed_in):
        shard_path = inside(folder, shard, what, CheckpointError)
        if shard_path.endswith(".json") or os.path.basename(shard_path) in WEIGHT_FILES[1::2]:
            raise CheckpointError(f"{what}: shard {short_repr(shard, 100)} is an index file; an index names weight "
                                  "files (.safetensors / .bin), not other indexes")
        part = _load_weights_file(shard_path)
        listed = [k for k in listed_in[shard] if k not in part]
        if listed:
            raise CheckpointError(f"{what} says {shard} holds {short_repr(listed[0], 100)}, but it does not "
                                  f"({len(listed)} listed weights missing); the shard is incomplete")
        state.update(part)
    return state


def _load_weights_file(path: str) -> dict[str, np.ndarray]:
    """One weights file, recognised by its first bytes (never an index: indexes do not nest)."""
    mapped = MappedFile(path, "checkpoint weights", CheckpointError)
    head = mapped.read(0, min(9, mapped.size), "the first bytes")
    del mapped
    if head[:4] == b"PK\x03\x04":  # a zip archive: torch.save's format since PyTorch 1.6
        return load_torch_state_dict(path)
    if len(head) == 9 and head[8:9] == b"{":  # safetensors: u64 header length, then a JSON header
        return load_safetensors(path)
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path} is a legacy (pre-1.6) torch.save pickle; re-save it with a current PyTorch")
    raise CheckpointError(
        f"{path} is neither safetensors nor a PyTorch zip checkpoint ({'empty' if not head else 'unknown format'}); "
        "the file is empty, truncated or of another format"
    )


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """Read one weights file (or a sharded index) into {name: array}, as stored.

    The arrays are read-only views of the memory-mapped file(s): nothing is read until used, so declared
    sizes cost nothing until `reconcile` has checked them against the shapes the config expects. Copy what
    you keep (reconcile does), and do not keep views across a change to the file."""
    if os.fspath(path).endswith(".index.json"):
        return _load_index(os.fspath(path))
    return _load_weights_file(os.fspath(path))


def as_array(value: Any) -> np.ndarray:
    """One tensor as a NumPy array: a NumPy array as it is, a torch tensor through .numpy() on the CPU
    (bfloat16, which NumPy lacks, by way of float32), anything else through np.asarray."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu()
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    return np.asarray(value)


def as_arrays(state: Any, source: str) -> dict[str, np.ndarray]:
    """A state dict given in memory, as {name: NumPy array}: NumPy arrays as they are, torch tensors (a
    transformers model's state_dict(), a torch.load) through .numpy() on the CPU (bfloat16 by way of
    float32), anything else through np.asarray. The conversion to float32 itself happens in `reconcile`,
    for the weights the model keeps only (an unused float16 tensor is never copied); float16 weights get a
    warning: MobileBERT's activations overflow float16, so such a checkpoint only loses precision here,
    never computes in it."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source} must be a dict {{weight name: array}}, got {type(state).__name__}")
    out, narrowed = {}, []
    for name, value in state.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{source}: the weight names must be strings, got {name!r:.60}")
        try:
            value = as_array(value)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{source}: weight {name} is {type(value).__name__}, not an array "
                                  f"({str(e)[:80]})") from None
        if value.dtype == np.float16:
            narrowed.append(name)
        out[name] = value
    if narrowed:
        warnings.warn(
            f"{source}: {len(narrowed)} float16 weights upcast to float32 (MobileBERT overflows float16: "
            "its activations reach 1e7, float16 stops at 65504)",
            stacklevel=3,
        )
    return out


COPY_CHUNK = 2 * 1024 * 1024  # bytes copied at a time from a mapped file before its pages are handed back


def _kept(name: str, value: np.ndarray, source: str, defer: bool = False) -> np.ndarray:
    """The array a model keeps for one weight: float32, C-contiguous, writeable, not a view of a file (copied
    out of a mapped file chunk by chunk, handing the pages back), and finite.

    `defer`: a float32 view of a mapped file is returned as it is, checked for its dtype only. The caller
    copies it out itself and then calls `owned`: the model's constructor, whose packing copies the dense
    weights into their buffers anyway (copying them here first cost a second pass over ~all the bytes:
    ~150 ms of loading the published checkpoint on the development VM, where fresh memory is slow)."""
    if not np.issubdtype(value.dtype, np.floating):
        raise CheckpointError(f"{source}: weight {name} has dtype {value.dtype}, expected a float type; the "
                              "checkpoint is not a MobileBERT state dict")
    if defer and value.dtype == np.float32 and mapped(value):
        return value
    if value.dtype == np.float32 and value.flags.c_contiguous and value.flags.writeable and not mapped(value):
        kept = value
    else:
        kept = np.empty(value.shape, np.float32)
        rows = max(1, COPY_CHUNK // max(1, value[0].size * value.itemsize)) if value.ndim else 1
        if value.ndim == 0 or value.size == 0:
            kept[...] = value
        else:
            for i in range(0, value.shape[0], rows):
                kept[i:i + rows] = value[i:i + rows]
                release_pages(value[i:i + rows])
    _check_finite(name, kept, source)
    return kept


def _check_finite(name: str, value: np.ndarray, source: str) -> None:
    if not np.isfinite(np.sum(value, dtype=np.float64)):  # NaN and Inf survive a float64 sum; no temporary
        bad = int(value.size - np.count_nonzero(np.isfinite(value)))
        raise CheckpointError(f"{source}: weight {name} holds {bad} NaN/Inf value(s); the checkpoint is corrupt "
                              "or was saved after training diverged. Use another checkpoint")


def owned(params: dict[str, np.ndarray], deferred: set[str], source: str) -> None:
    """The end of a deferred load (`reconcile(..., defer=names)`), in place: every weight still a view of a
    mapped file is copied out now (`_kept`), and those the caller copied itself are checked for NaN/Inf. After
    it no weight refers to the file, so a file changed or truncated later cannot reach the model."""
    for name in deferred:
        value = params.get(name)
        if value is None:
            continue
        if mapped(value):
            params[name] = _kept(name, value, source)
        else:
            _check_finite(name, value, source)


LEGACY_NAMES = (("LayerNorm.gamma", "LayerNorm.weight"), ("LayerNorm.beta", "LayerNorm.bias"))


def hf_names(state: dict[str, np.ndarray], config: MobileBertConfig, source: str) -> dict[str, np.ndarray]:
    """The names transformers gives a checkpoint's tensors on load: old TF-converted files (the original
    bert-base-uncased) say LayerNorm.gamma / .beta for .weight / .bias (its "legacy" renaming), and a
    BERT state dict says `bert.` for `mobilebert.` (convert.state_dict_from_bert). A new dict."""
    from .convert import state_dict_from_bert  # convert imports config, which this module needs first

    renamed: dict[str, np.ndarray] = {}
    for name, value in state.items():
        new = name
        for old_part, new_part in LEGACY_NAMES:
            new = new.replace(old_part, new_part)
        if new in renamed:
            raise CheckpointError(f"{source}: holds both {name!r} and another tensor that transformers also names "
                                  f"{new!r}; remove one of them")
        renamed[new] = value
    return state_dict_from_bert(renamed, config)


def align_prefix(state: dict[str, np.ndarray], expected: Shapes) -> dict[str, np.ndarray]:
    """HF's base-model prefix rule: a head class reads a bare base-model checkpoint by adding
    "mobilebert.", and the base class reads a head checkpoint by dropping it (and the head's weights)."""
    prefix = BASE_MODEL_PREFIX + "."
    wants_prefix = any(k.startswith(prefix) for k in expected)
    has_prefix = any(k.startswith(prefix) for k in state)
    if wants_prefix and not has_prefix:
        return {(k if k.startswith(("cls.", "classifier.", "qa_outputs.")) else prefix + k): v for k, v in state.items()}
    if not wants_prefix and has_prefix:
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def reconcile(state: dict[str, np.ndarray], expected: Shapes, config: MobileBertConfig, source: str,
              seed: int | None = 0, defer: set[str] | None = None) -> dict[str, np.ndarray]:
    """Match a state dict to the weights a model class expects.

    - tied LM decoder: `cls.predictions.decoder.bias` is another name for `cls.predictions.bias`, and the
      decoder weight is the word-embedding table (dropped here when tie_word_embeddings); untied, the
      decoder's own bias is the one transformers' forward adds, so it is the one kept;
    - weights of other MobileBERT heads are ignored;
    - wrong shapes raise one CheckpointShapeError listing all of them (a RuntimeError too, as transformers'
      "size mismatch" error): the config does not describe these weights;
    - as in transformers, weights the model expects but the checkpoint lacks are drawn at random, and
      weights the model does not use are left out, each with a warning: MissingWeightsWarning when the
      encoder itself is incomplete (its outputs mean nothing then; the CLI stops there),
      NewlyInitialisedWarning for a newly initialised head or pooler, UserWarning for unused weights.
    """
    state = align_prefix(hf_names(state, config, source), expected)
    decoder_bias = "cls.predictions.decoder.bias"
    if "cls.predictions.bias" in expected and decoder_bias in state and (
            "cls.predictions.bias" not in state or not config.tie_word_embeddings):
        # tied (the default), transformers makes decoder.bias the same tensor as cls.predictions.bias; untied,
        # they are two, and its forward adds decoder.bias
        state["cls.predictions.bias"] = state[decoder_bias]
    state.pop(decoder_bias, None)
    if config.tie_word_embeddings:
        decoder = state.pop("cls.predictions.decoder.weight", None)
        words = next((k for k in expected if k.endswith("embeddings.word_embeddings.weight")), None)
        if decoder is not None and words is not None and words not in state:
            state[words] = decoder  # tied: transformers fills the word table from the decoder then

    unexpected = [k for k in state if k not in expected and not is_initialisable(k)
                  and not k.endswith(IGNORED_KEYS) and not k.endswith("embedding_transformation.weight")
                  and not k.endswith("embedding_transformation.bias")]
    missing = [k for k in expected if k not in state]
    missing_encoder = [k for k in missing if not is_initialisable(k)]
    wrong_shape = [f"{k}: checkpoint {tuple(state[k].shape)}, model {expected[k]}"
                   for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k])]
    if wrong_shape:
        context = "".join(f"\n  {what} ({len(names)}): {listed(names, 10)}" for what, names in (
            ("missing weights", missing_encoder), ("unexpected weights", unexpected)) if names)
        raise CheckpointShapeError(
            f"{source} does not match this MobileBERT configuration:\n  mis-shaped weights ({len(wrong_shape)}): "
            + "; ".join(wrong_shape[:20]) + context
            + "\nCheck that config.json belongs to these weights (hidden_size, num_hidden_layers, "
            "num_feedforward_networks, use_bottleneck, trigram_input, vocab_size ...), or pass "
            "ignore_mismatched_sizes=True to from_pretrained to draw those weights at random."
        )
    if unexpected:
        warnings.warn(f"{source}: {len(unexpected)} weights are not used by this model and were left out "
                      f"({listed(unexpected)}); check that config.json "
                      "belongs to these weights (num_hidden_layers, num_feedforward_networks, ...)", stacklevel=3)
    if missing_encoder:
        warnings.warn(MissingWeightsWarning(
            f"{source}: {len(missing_encoder)} of the encoder's weights are not in the checkpoint and were drawn at "
            f"random ({listed(missing_encoder)}); the model's "
            "outputs mean nothing until they are loaded. Check that config.json belongs to these weights"),
            stacklevel=3)
    heads = [k for k in missing if k not in missing_encoder]
    if heads:
        warnings.warn(NewlyInitialisedWarning(
            f"{source}: {len(heads)} weights not in the checkpoint were newly initialised "
            f"({listed(heads)}); train or load them before use"), stacklevel=3)
    if missing:
        state.update(init_params(config, {k: expected[k] for k in missing}, seed))
    if defer is None:
        return {k: _kept(k, state[k], source) for k in expected}
    kept = {k: _kept(k, state[k], source, defer=True) for k in expected}
    defer.update(k for k, v in kept.items() if mapped(v))  # the caller copies these, then calls owned()
    return kept


def listed(names: list[str], limit: int = 8) -> str:
    """The first `limit` names, comma-separated, and " ..." when there are more (for a warning's one line)."""
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def save_state_dict(state: dict[str, np.ndarray], path: str) -> None:
    """Write safetensors with the metadata transformers expects ({"format": "pt"})."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, path, metadata={"format": "pt"})
