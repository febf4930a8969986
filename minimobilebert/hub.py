"""Turn a model name into a local folder: a folder as is, or a hub id through huggingface_hub's cache.

`resolve_model_folder("google/mobilebert-uncased")` downloads the checkpoint once into huggingface_hub's
standard cache (HF_HOME / HF_HUB_CACHE) when the network allows, and reads it from there afterwards,
including when offline (HF_HUB_OFFLINE=1). Offline and not cached, it says so and names the fix.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

# A hub repository id: "name" or "owner/name", letters, digits, "-", "_", ".". Anything else is a path.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
CONFIG_AND_TOKENIZER = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]


def resolve_model_folder(name_or_path: str | os.PathLike, *, cache_dir: str | None = None,
                         revision: str | None = None, local_files_only: bool = False,
                         files: Sequence[str] = CONFIG_AND_TOKENIZER, weight_dirs: Sequence[str] = ("",),
                         hint: str = "") -> str:
    """A local folder for `name_or_path`: a folder as is, or a hub id downloaded (once) through the cache.

    `files` are the non-weight files to fetch (glob patterns); the weights are looked for in each of
    `weight_dirs` (e.g. "0_Transformer/" for a sentence-transformers repository), safetensors first.
    `hint` is added to the errors that say a model cannot be had (e.g. an offline way to install it)."""
    path = os.path.expanduser(os.fspath(name_or_path))
    if os.path.isdir(path):
        return path
    if os.path.exists(path) or not HUB_ID.match(path):
        raise FileNotFoundError(f"{path!r} is not a checkpoint folder (a folder with config.json and weights)")
    hint = f" {hint}" if hint else ""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ImportError(
            f"{path!r} is not a local folder, and loading from the hub needs huggingface_hub: "
            f"pip install 'minimobilebert[hub]', or pass the path of a downloaded checkpoint folder.{hint}"
        ) from None
    from huggingface_hub.utils import HfHubHTTPError

    offline = local_files_only or os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
    # Read the cache location now: huggingface_hub reads HF_HUB_CACHE / HF_HOME once, when it is imported.
    cache = cache_dir or os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub")
    errors = []
    # Prefer safetensors; fall back to pytorch_model.bin for repositories that only have that.
    for names in (["model.safetensors", "model.safetensors.index.json", "model-*.safetensors"],
                  ["pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin"]):
        weights = [d + name for d in weight_dirs for name in names]
        try:
            folder = snapshot_download(path, allow_patterns=list(files) + weights, cache_dir=cache,
                                       revision=revision, local_files_only=offline)
        except (HfHubHTTPError, OSError, ValueError) as e:  # LocalEntryNotFoundError is an OSError
            errors.append(e)
            continue
        if any(os.path.exists(os.path.join(folder, w)) for w in weights if "*" not in w):
            return folder
    reason = f" ({type(errors[-1]).__name__}: {str(errors[-1]).splitlines()[0]})" if errors else ""
    raise OSError(
        f"cannot load {path!r}: it is not a local folder, not in the hub cache at {cache}, and it could not "
        f"be downloaded{' (offline mode: HF_HUB_OFFLINE is set)' if offline else ''}{reason}. "
        "Pass a local checkpoint folder (--model PATH / from_pretrained(PATH)), or run once with network "
        f"access to fill the cache.{hint}"
    )
