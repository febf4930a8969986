"""Checkpoint files: find them in a folder, read them into {hf_name: float32 array}, check them, write them.

Formats, by preference: `model.safetensors` (read with the safetensors package's NumPy API),
sharded `model.safetensors.index.json`, `pytorch_model.bin` (read without torch, see torch_pickle.py) and
its sharded index. The format is recognised from the file's bytes, not its name.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from .config import MobileBertConfig
from .params import BASE_MODEL_PREFIX, Shapes, init_params, is_initialisable
from .torch_pickle import CheckpointError, load_torch_state_dict

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
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"no weights in {folder!r}: expected one of {', '.join(WEIGHT_FILES)}. TensorFlow checkpoints "
        "(model.ckpt.*) must be converted with transformers first."
    )


def _load_safetensors(path: str) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(path)
    except SafetensorError as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e}); it is corrupt or truncated") from None
    except TypeError as e:  # a dtype NumPy lacks, e.g. bfloat16
        raise CheckpointError(f"{path}: {e}. Save the checkpoint in float32 (model.float()) and retry.") from None


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """Read one weights file (or a sharded index) into {name: array}, as stored."""
    if path.endswith(".index.json"):
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        folder = os.path.dirname(path)
        state: dict[str, np.ndarray] = {}
        for shard in sorted(set(index["weight_map"].values())):
            state.update(load_state_dict(os.path.join(folder, shard)))
        return state
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04":  # a zip archive: torch.save's format since PyTorch 1.6
        return load_torch_state_dict(path)
    if len(head) == 9 and head[8:9] == b"{":  # safetensors: u64 header length, then a JSON header
        return _load_safetensors(path)
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path} is a legacy (pre-1.6) torch.save pickle; re-save it with a current PyTorch")
    raise CheckpointError(
        f"{path} is neither safetensors nor a PyTorch zip checkpoint ({len(head)} bytes read: {head!r}); "
        "the file is empty, truncated or of another format"
    )


def to_float32(state: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Weights in float32. float16/bfloat16/float64 are converted, with a warning for float16: MobileBERT's
    activations overflow float16, so such a checkpoint only loses precision here, never computes in it."""
    out, narrowed = {}, []
    for name, value in state.items():
        if value.dtype == np.float32 or not np.issubdtype(value.dtype, np.floating):
            out[name] = value
        else:
            if value.dtype == np.float16:
                narrowed.append(name)
            out[name] = value.astype(np.float32)
    if narrowed:
        warnings.warn(
            f"{source}: {len(narrowed)} float16 weights upcast to float32 (MobileBERT overflows float16: "
            "its activations reach 1e7, float16 stops at 65504)",
            stacklevel=3,
        )
    return out


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
              seed: int | None = 0) -> dict[str, np.ndarray]:
    """Match a state dict to the weights a model class expects.

    - tied LM decoder: `cls.predictions.decoder.bias` is another name for `cls.predictions.bias`, and the
      decoder weight is the word-embedding table (dropped here when tie_word_embeddings);
    - weights of other MobileBERT heads are ignored; unknown names, wrong shapes and missing encoder
      weights raise one CheckpointError listing all of them;
    - missing head/pooler weights are initialised as HF does, with a warning.
    """
    state = align_prefix(dict(state), expected)
    decoder_bias = "cls.predictions.decoder.bias"
    if "cls.predictions.bias" in expected and "cls.predictions.bias" not in state and decoder_bias in state:
        state["cls.predictions.bias"] = state[decoder_bias]
    state.pop(decoder_bias, None)
    if config.tie_word_embeddings:
        state.pop("cls.predictions.decoder.weight", None)

    unexpected = [k for k in state if k not in expected and not is_initialisable(k)
                  and not k.endswith(IGNORED_KEYS) and not k.endswith("embedding_transformation.weight")
                  and not k.endswith("embedding_transformation.bias")]
    missing = [k for k in expected if k not in state]
    missing_required = [k for k in missing if not is_initialisable(k)]
    wrong_shape = [f"{k}: checkpoint {tuple(state[k].shape)}, model {expected[k]}"
                   for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k])]
    problems = []
    if missing_required:
        problems.append(f"missing weights ({len(missing_required)}): {', '.join(missing_required[:20])}")
    if unexpected:
        problems.append(f"unexpected weights ({len(unexpected)}): {', '.join(unexpected[:20])}")
    if wrong_shape:
        problems.append(f"mis-shaped weights ({len(wrong_shape)}): {'; '.join(wrong_shape[:20])}")
    if problems:
        raise CheckpointError(
            f"{source} does not match this MobileBERT configuration:\n  " + "\n  ".join(problems)
            + "\nCheck that config.json belongs to these weights (hidden_size, num_hidden_layers, "
            "num_feedforward_networks, use_bottleneck, trigram_input, vocab_size ...)."
        )
    if missing:
        warnings.warn(
            f"{source}: {len(missing)} weights not in the checkpoint were newly initialised "
            f"({', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}); train or load them before use",
            stacklevel=3,
        )
        state.update(init_params(config, {k: expected[k] for k in missing}, seed))
    for k in expected:
        if state[k].dtype != np.float32:
            raise CheckpointError(f"{source}: weight {k} has dtype {state[k].dtype}, expected a float type")
    return {k: np.ascontiguousarray(state[k]) for k in expected}


def save_state_dict(state: dict[str, np.ndarray], path: str) -> None:
    """Write safetensors with the metadata transformers expects ({"format": "pt"})."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, path, metadata={"format": "pt"})
