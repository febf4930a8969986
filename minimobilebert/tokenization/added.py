"""Added tokens (Hugging Face's `add_tokens` / `add_special_tokens`): strings matched whole in the text
BEFORE the three steps, the text split around them, as the `tokenizers` library's AddedVocabulary does.

Two passes, as there:
1. on the raw text: the special tokens and the added tokens with normalized=False, verbatim;
2. on the normalized text of what is left: the added tokens with normalized=True, themselves normalized
   (so "NewWord" added to an uncased tokenizer matches "newword", "NEWWORD", "NewWord").
At each place the longest token wins. single_word: only where no word character touches it; lstrip /
rstrip: the whitespace on that side is swallowed into the match.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import TokenizerError

MAX_ADDED = 100_000  # added tokens in one file (BERT-family tokenizers add tens to thousands; 100k load in ~4 s)
MAX_TOKEN_CHARS = 10_000
# Every added token and never_split word becomes part of one regular expression, and compiling one costs
# ~100 MB and ~1 s per million characters (measured: 1 x 1M, 1000 x 1k and 100k x 10 chars alike). Real
# tokenizers add tens to thousands of short tokens (tens of thousands of characters); a 16 MiB
# tokenizer_config.json of 10k-character tokens would need > 1.5 GB and 16 s.
MAX_MATCH_CHARS = 1_000_000


def check_match_chars(texts: Iterable[str], what: str) -> None:
    """Refuse tokens whose total length would make their matcher regex cost more than ~100 MB to build."""
    total = sum(len(t) for t in texts)
    if total > MAX_MATCH_CHARS:
        raise TokenizerError(f"{what}: the added tokens and never_split words total {total:,} characters, over "
                             f"the limit of {MAX_MATCH_CHARS:,} (each becomes part of a regular expression); "
                             "a real tokenizer's come to tens of thousands")


@dataclass(frozen=True)
class AddedToken:
    """One added token, with Hugging Face's options (tokenizers.AddedToken)."""

    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = True
    special: bool = False

    def __str__(self) -> str:
        return self.content

    def __eq__(self, other: object) -> bool:
        """Equal to an added token with the same content and options: ours, or the `tokenizers` library's
        AddedToken (what `from transformers import AddedToken` gives), so code written for either compares."""
        if not all(hasattr(other, f) for f in TOKEN_FIELDS):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in TOKEN_FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in TOKEN_FIELDS))


TOKEN_FIELDS = tuple(f.name for f in dataclasses.fields(AddedToken))  # content and the options, as tokenizers.AddedToken has


def as_added_token(value: Any, special: bool, what: str) -> AddedToken:
    """A str, an AddedToken-like object (content, single_word, lstrip, rstrip, normalized, special
    attributes) or a dict as HF writes it, checked. A plain string added as special is matched verbatim."""
    if isinstance(value, str):
        fields: dict[str, Any] = {"content": value}
    elif isinstance(value, Mapping):
        fields = dict(value)
    elif hasattr(value, "content"):
        fields = {k: getattr(value, k) for k in TOKEN_FIELDS if hasattr(value, k)}
    else:
        raise TokenizerError(f"{what} is {type(value).__name__} {value!r:.60}; an added token is a str or an "
                             "AddedToken(content, single_word, lstrip, rstrip, normalized, special)")
    content = fields.get("content")
    if not isinstance(content, str) or not content or len(content) > MAX_TOKEN_CHARS:
        raise TokenizerError(f"{what}: content is {content!r:.60}; it must be a non-empty string of at most "
                             f"{MAX_TOKEN_CHARS} characters")
    flags = {}
    for name, default in (("single_word", False), ("lstrip", False), ("rstrip", False), ("special", special)):
        v = fields.get(name, default)
        if v is None:
            v = default
        if not isinstance(v, bool):
            raise TokenizerError(f"{what}: {name} is {v!r:.40}; it must be true or false")
        flags[name] = v
    if special and not isinstance(value, str) and "special" in fields and fields["special"] is False:
        flags["special"] = True  # add_special_tokens / special_tokens=True makes it special, as HF
    flags["special"] = flags["special"] or special
    normalized = fields.get("normalized")
    if normalized is None:
        normalized = not flags["special"]  # HF: special tokens are matched verbatim unless told otherwise
    if not isinstance(normalized, bool):
        raise TokenizerError(f"{what}: normalized is {normalized!r:.40}; it must be true or false")
    return AddedToken(content, normalized=normalized, **flags)


def matcher(entries: Iterable[tuple[str, AddedToken, int]]) -> tuple[re.Pattern | None, dict[str, tuple[int, AddedToken]]]:
    """(a regex finding any of the (text, token, id) entries, the longest at each place; {text: (id, token)}).
    None if there are none."""
    entries = sorted(entries, key=lambda e: len(e[0]), reverse=True)
    if not entries:
        return None, {}
    return (re.compile("|".join(re.escape(text) for text, _, _ in entries)),
            {text: (i, tok) for text, tok, i in reversed(entries)})


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def find_added(text: str, pattern: re.Pattern | None,
               tokens: Mapping[str, tuple[int, AddedToken]]) -> list[tuple[int, int, int]]:
    """(start, end, id) of each added token found in `text`, left to right, as the `tokenizers` library
    finds them: the longest token at the leftmost place; a single_word token touching a word character there
    is no match (the text stays text: no shorter token is tried in its place); lstrip / rstrip widen the
    match over the whitespace on that side."""
    out: list[tuple[int, int, int]] = []
    if pattern is None:
        return out
    pos, last_end = 0, 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            return out
        start, end = m.span()
        pos = end
        token_id, token = tokens[m.group()]
        if token.single_word and ((start > 0 and is_word_char(text[start - 1]))
                                  or (end < len(text) and is_word_char(text[end]))):
            continue
        if token.lstrip:
            while start > last_end and text[start - 1].isspace():
                start -= 1
        if token.rstrip:  # (matches are found first, as there: a widened match does not hide the next one)
            while end < len(text) and text[end].isspace():
                end += 1
        start = max(start, last_end)
        if start >= end:
            continue
        out.append((start, end, token_id))
        last_end = end


def read_added_tokens(data: Any, what: str) -> list[tuple[int, AddedToken]]:
    """(id, AddedToken) from a tokenizer_config.json "added_tokens_decoder" ({"id": {...}}) or a
    tokenizer.json "added_tokens" ([{"id": .., "content": .., ...}]), each field checked."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        items = list(data.items())
    elif isinstance(data, list):
        items = []
        for k, entry in enumerate(data):
            if not isinstance(entry, Mapping):
                raise TokenizerError(f"{what}[{k}] is {entry!r:.60}; each added token is an object")
            items.append((entry.get("id"), entry))
    else:
        raise TokenizerError(f"{what} is {type(data).__name__}; it must be an object or a list of added tokens")
    if len(items) > MAX_ADDED:
        raise TokenizerError(f"{what}: {len(items):,} added tokens, over the limit of {MAX_ADDED:,}")
    out = []
    for key, entry in items:
        if isinstance(key, str) and key.isdigit() and len(key) < 12:
            key = int(key)
        if isinstance(key, bool) or not isinstance(key, int) or key < 0:
            raise TokenizerError(f"{what}: the id {key!r:.40} is not a whole number >= 0")
        if isinstance(entry, Mapping):
            special = entry.get("special") is True
        elif isinstance(getattr(entry, "content", None), str):  # an AddedToken (transformers' added_tokens_decoder)
            special = getattr(entry, "special", False) is True
        else:
            raise TokenizerError(f"{what}[{key}] is {entry!r:.60}; each added token is an object with a content")
        out.append((key, as_added_token(entry, special, f"{what}[{key}]")))
    check_match_chars((t.content for _, t in out), what)
    return sorted(out, key=lambda e: e[0])
