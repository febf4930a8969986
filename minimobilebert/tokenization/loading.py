"""Reading a tokenizer's files, as hostile input: vocab.txt, tokenizer.json, tokenizer_config.json and
special_tokens_map.json.

Every file goes through minimobilebert/files.py (regular files only, size limits, UTF-8, errors naming the
file). Every value read from them is checked for its type before use, and a wrong one is a TokenizerError
naming the file and the field: `"do_lower_case": "no"` is refused (transformers refuses it too, with a
TypeError), never read as True; `"additional_special_tokens": "the"` is refused, never taken as the three
tokens "t", "h", "e".
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from .. import files
from ..errors import TokenizerError, TokenizerFileNotFoundError, TokenizerTypeError
from .added import MAX_TOKEN_CHARS, check_match_chars
from .wordpiece import PREFIX

VOCAB_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "vocab.txt")
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}
# special tokens HF's tokenizers have and BERT leaves unset (None); encoding never adds them
OPTIONAL_SPECIAL_TOKENS = ("bos_token", "eos_token")
SPECIAL_SLOTS = (*OPTIONAL_SPECIAL_TOKENS, *SPECIAL_TOKENS)  # every named slot, in HF's order
MAX_TOKEN_LIST = 100_000  # additional_special_tokens, never_split (1M never_split words took 12 s and 1.1 GB)
MAX_VOCAB = 1_048_576  # entries (config.py's vocab_size cap); the largest published WordPiece vocabularies have ~250k
NO_LIMIT = 10 ** 12  # HF writes model_max_length = 1e30 for "no limit"; anything above this means that

# ------------------------------------------------------------------------------------ vocabularies


def load_vocab(path: str | os.PathLike) -> list[str]:
    """vocab.txt: one token a line; the line number is the id. Trailing whitespace ("\\r" of Windows line
    ends) is not part of a token, as for the fast tokenizer."""
    if not os.path.lexists(path):
        raise TokenizerFileNotFoundError(
            f"no vocabulary file at {os.fspath(path)!r}; a BERT vocab.txt has one token per line (MobileBertTokenizer() "
            "without arguments uses the BERT uncased vocab shipped with us)")
    text = files.read_text(path, "vocab.txt", files.TEXT_LIMIT, TokenizerError)
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines > MAX_VOCAB:  # counted before a list and a dict of them are built
        raise TokenizerError(f"vocab.txt: {os.fspath(path)!r} has {lines:,} lines, over the limit of {MAX_VOCAB:,} "
                             "tokens; is it a vocabulary?")
    tokens = [line.rstrip() for line in text.split("\n")]
    if tokens and tokens[-1] == "":
        tokens.pop()  # the final newline ends the last line; it does not start an empty token
    if not tokens:
        raise TokenizerError(f"vocab.txt: {os.fspath(path)!r} is empty; a vocab.txt has one token per line")
    return tokens


def vocab_from_mapping(vocab: Mapping, what: str) -> list[str]:
    """The tokens in id order of a {token: id} mapping (as HF's `vocab=` dict and tokenizer.json hold it),
    whatever the mapping's own order. The ids must be 0..n-1, each once."""
    if len(vocab) > MAX_VOCAB:
        raise TokenizerError(f"{what}: {len(vocab):,} entries, over the limit of {MAX_VOCAB:,}; is it a vocabulary?")
    tokens: list[str | None] = [None] * len(vocab)
    for token, i in vocab.items():
        if not isinstance(token, str):
            raise TokenizerError(f"{what}: the token {token!r} is a {type(token).__name__}; tokens are strings")
        if isinstance(i, bool) or not isinstance(i, int):
            raise TokenizerError(f"{what}: the id of {token!r} is {i!r}; ids are integers 0..{len(tokens) - 1}")
        if not 0 <= i < len(tokens):
            raise TokenizerError(f"{what}: the id of {token!r} is {i}, outside 0..{len(tokens) - 1}: the ids of "
                                 f"{len(tokens)} tokens must be 0..{len(tokens) - 1}, each once (no gaps)")
        if tokens[i] is not None:
            raise TokenizerError(f"{what}: the id {i} is given to both {tokens[i]!r} and {token!r}; each id must "
                                 "name one token")
        tokens[i] = token
    return tokens  # type: ignore[return-value]  (no None is left: n distinct ids in 0..n-1)


def vocab_from_tokens(tokens: Iterable, what: str) -> list[str]:
    """A list of tokens in id order, checked; (token, score) pairs (transformers 5's vocabulary extracted
    from a tokenizer.json) give their tokens."""
    tokens = list(tokens)
    if tokens and all(isinstance(t, (tuple, list)) and len(t) == 2 and isinstance(t[0], str) for t in tokens):
        tokens = [t[0] for t in tokens]
    bad = next((t for t in tokens if not isinstance(t, str)), None)
    if bad is not None:
        raise TokenizerError(f"{what}: {bad!r} is a {type(bad).__name__}; a vocabulary is a list of token strings "
                             "in id order, a {token: id} dict, or the path of a vocab.txt")
    if not tokens:
        raise TokenizerError(f"{what} is empty")
    return tokens


# ------------------------------------------------------------------------------------ values in files


def describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r:.60}"


def check_text(value: Any, where: str) -> str:
    """A text the tokenizer takes: a str. Anything else is a TokenizerError naming what is accepted."""
    if isinstance(value, str):
        return value
    hint = " (decode it first: text.decode('utf-8'))" if isinstance(value, (bytes, bytearray)) else ""
    raise TokenizerTypeError(f"{where} is {describe(value)}{hint}; the tokenizer takes a str, a list of str (a batch), "
                         "or with is_split_into_words=True a list of words (list of str) or a batch of them")




def as_bool(value: Any, what: str) -> bool:
    """A boolean setting: JSON true/false only. transformers refuses strings such as "no" or "false" (a
    TypeError); so do we, with the fix."""
    if not isinstance(value, bool):
        raise TokenizerError(f"{what} is {value!r} ({type(value).__name__}); it must be true or false (a JSON "
                             "boolean, or a Python bool)")
    return value


def as_optional_bool(value: Any, what: str) -> bool | None:
    return None if value is None else as_bool(value, what)


def as_int(value: Any, what: str, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        limits = f">= {low}" if high is None else f"in {low}..{high}"
        raise TokenizerError(f"{what} is {value!r}; it must be a whole number {limits}")
    return value


def as_max_length(value: Any, what: str) -> int:
    """model_max_length: a positive integer; HF's "no limit" (1e30, as an int or a float) is kept as is."""
    if isinstance(value, float) and (value >= NO_LIMIT or (value.is_integer() and value >= 1)):
        return int(value)  # 512.0 is 512, as transformers reads it
    return as_int(value, what)


def as_token(value: Any, what: str) -> str:
    """A special token: a string, an AddedToken, or HF's AddedToken form {"content": "[MASK]", ...}."""
    if isinstance(value, Mapping):
        value = value.get("content")
    elif not isinstance(value, str) and hasattr(value, "content"):  # an AddedToken (ours, tokenizers')
        value = value.content
    if not isinstance(value, str) or not value:
        raise TokenizerError(f"{what} is {value!r:.80}; a special token is a non-empty string (or {{\"content\": "
                             "\"...\"}} as HF writes it)")
    if len(value) > MAX_TOKEN_CHARS:
        raise TokenizerError(f"{what} is {len(value):,} characters long ({value!r:.40}...); a token has at most "
                             f"{MAX_TOKEN_CHARS:,}")
    return value


def as_token_list(value: Any, what: str) -> list[str]:
    """A list of tokens (additional_special_tokens, never_split). A bare string is refused: read as a list it
    would make each of its letters a token."""
    if value is None:
        return []
    if isinstance(value, Mapping):  # transformers 5's extra_special_tokens may be {name: token}
        value = list(value.values())
    if isinstance(value, str):
        raise TokenizerError(f"{what} is the string {value!r:.80}, not a list; for one token write [{value!r:.40}] "
                             "(a string read as a list would make each of its letters a token)")
    if not isinstance(value, (list, tuple)):
        raise TokenizerError(f"{what} is {value!r:.80}; it must be a list of token strings")
    if len(value) > MAX_TOKEN_LIST:  # each becomes part of a matcher regex: bound its build time and memory
        raise TokenizerError(f"{what} lists {len(value):,} tokens, over the limit of {MAX_TOKEN_LIST:,}")
    tokens = [as_token(v, f"{what}[{i}]") for i, v in enumerate(value)]
    check_match_chars(tokens, what)
    return tokens


def as_side(value: Any, what: str) -> str:
    if value not in ("right", "left"):
        raise TokenizerError(f"{what} is {value!r}; it must be 'right' or 'left'")
    return value


# ------------------------------------------------------------------------------------ tokenizer files


def read_folder_json(path: str, what: str, parsed: dict | None) -> Any:
    """files.read_json, once per path when the caller keeps a `parsed` dict across the reads of one folder
    (tokenizer.json is read for its settings and for its added tokens; a real one is ~0.5 MB)."""
    if parsed is None:
        return files.read_json(path, what, TokenizerError)
    if path not in parsed:
        parsed[path] = files.read_json(path, what, TokenizerError)
    return parsed[path]


def read_tokenizer_json(path: str, parsed: dict | None = None) -> dict[str, Any]:
    """The settings of a `tokenizers` tokenizer.json, as MobileBertTokenizer arguments; only BERT's kind
    (BertNormalizer + WordPiece with "##") is accepted."""
    what = "tokenizer.json"
    data = read_folder_json(path, what, parsed)
    model, normalizer = data.get("model"), data.get("normalizer")
    for name, value in (("model", model), ("normalizer", normalizer)):
        if not isinstance(value, dict):
            raise TokenizerError(f"{what}: {path!r} has {name} = {value!r:.80}; a BERT tokenizer.json has a "
                                 f"{name} object (save the tokenizer again with transformers)")
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix", PREFIX) != PREFIX:
        raise TokenizerError(f"{what}: {path!r} describes a {model.get('type')!r} tokenizer; MobileBERT's is BERT's "
                             f"WordPiece with {PREFIX!r} continuations")
    if normalizer.get("type") != "BertNormalizer" or normalizer.get("clean_text", True) is not True:
        raise TokenizerError(f"{what}: {path!r} normalizes text with {normalizer.get('type')!r}; this tokenizer "
                             "implements BERT's BertNormalizer (with clean_text)")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not vocab:
        raise TokenizerError(f"{what}: {path!r} has model.vocab = {vocab!r:.80}; it must be a non-empty "
                             "{token: id} object")
    tokens = vocab_from_mapping(vocab, f"{what} {path!r}: model.vocab")
    added = data.get("added_tokens") or []
    if not isinstance(added, list) or not all(isinstance(t, dict) for t in added):
        raise TokenizerError(f"{what}: {path!r} has added_tokens = {added!r:.80}; it must be a list of objects")
    special = [as_token(t, f"{what}: added_tokens[{i}]") for i, t in enumerate(added) if t.get("special")]
    field = f"{what} {path!r}: "
    return {"vocab": tokens,
            "do_lower_case": as_bool(normalizer.get("lowercase", True), field + "normalizer.lowercase"),
            "strip_accents": as_optional_bool(normalizer.get("strip_accents"), field + "normalizer.strip_accents"),
            "tokenize_chinese_chars": as_bool(normalizer.get("handle_chinese_chars", True),
                                              field + "normalizer.handle_chinese_chars"),
            "max_input_chars_per_word": as_int(model.get("max_input_chars_per_word", 100),
                                               field + "model.max_input_chars_per_word"),
            "unk_token": as_token(model.get("unk_token", "[UNK]"), field + "model.unk_token"),
            "additional_special_tokens": [t for t in special if t not in SPECIAL_TOKENS.values()]}


# tokenizer_config.json / special_tokens_map.json keys we read, with their checkers.
CONFIG_FIELDS = {
    "do_lower_case": as_bool, "strip_accents": as_optional_bool, "tokenize_chinese_chars": as_bool,
    "max_input_chars_per_word": as_int, "model_max_length": as_max_length, "padding_side": as_side,
    "truncation_side": as_side, "clean_up_tokenization_spaces": as_bool, "never_split": as_token_list,
    "do_basic_tokenize": as_bool,
    **{name: as_token for name in SPECIAL_SLOTS},
}


def read_tokenizer_options(folder: str, parsed: dict | None = None) -> dict[str, Any]:
    """MobileBertTokenizer arguments from a folder's special_tokens_map.json and tokenizer_config.json (the
    latter wins), each value checked. Keys that describe other things (tokenizer_class, added_tokens_decoder,
    ...) are not read."""
    options: dict[str, Any] = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            continue
        data = read_folder_json(path, name, parsed)
        for key, check in CONFIG_FIELDS.items():
            if data.get(key) is not None:
                options[key] = check(data[key], f"{name}: {key!r}")
        extra = []
        for key in ("additional_special_tokens", "extra_special_tokens"):  # transformers 4 / 5 names
            if data.get(key) is not None:
                extra += as_token_list(data[key], f"{name}: {key!r}")
        if extra:
            options["additional_special_tokens"] = list(dict.fromkeys(extra))
    if options.get("model_max_length", 0) >= NO_LIMIT:
        del options["model_max_length"]  # "no limit": keep MobileBERT's 512
    if options.get("do_basic_tokenize") is False:
        raise TokenizerError(f"tokenizer_config.json in {folder!r}: do_basic_tokenize is false (WordPiece on "
                             "raw whitespace-split text); this tokenizer always normalizes and splits words as BERT "
                             "does; remove the field")
    options.pop("do_basic_tokenize", None)
    return options


def read_added_tokens_of(folder: str, parsed: dict | None = None) -> list:
    """The added tokens a saved folder lists, as (id, AddedToken) by id: tokenizer_config.json's
    "added_tokens_decoder" (transformers 4, and what we write), else tokenizer.json's "added_tokens" (all
    that transformers 5 writes), each field checked."""
    from .added import read_added_tokens

    config = os.path.join(folder, "tokenizer_config.json")
    if os.path.lexists(config):
        data = read_folder_json(config, "tokenizer_config.json", parsed)
        if isinstance(data, dict) and data.get("added_tokens_decoder"):
            return read_added_tokens(data["added_tokens_decoder"], "tokenizer_config.json: added_tokens_decoder")
    path = os.path.join(folder, "tokenizer.json")
    if os.path.lexists(path):
        data = read_folder_json(path, "tokenizer.json", parsed)
        if isinstance(data, dict):
            return read_added_tokens(data.get("added_tokens"), "tokenizer.json: added_tokens")
    return []
