"""WordPiece tokenization for MobileBERT, from scratch (no `tokenizers`, no `transformers`).

MobileBERT reads BERT's input: the uncased WordPiece vocabulary of 30522 entries (shipped with this package
as `data/vocab.txt`, so the tokenizer works offline). Text becomes ids in three steps, each a function here:

1. `normalize`: drop control characters, turn every whitespace character into " ", put spaces around CJK
   ideographs, strip accents (NFD, then drop the combining marks), lower-case; remembering for every output
   character which input character it came from (that is what `offset_mapping` reports).
2. `split_words`: split on whitespace and make every punctuation character a word of its own.
3. `wordpiece`: split each word greedily into the longest pieces in the vocabulary, continuation pieces
   prefixed "##"; a word that cannot be split, or is longer than 100 characters, becomes "[UNK]".

Then `MobileBertTokenizer.__call__` adds [CLS] A [SEP] (B [SEP]), token types, attention masks, truncation,
overflowing windows and padding, with Hugging Face's calling convention and results. `explain(text)` shows
every intermediate step.

The reference is Hugging Face's fast BERT tokenizer (the `tokenizers` library; `transformers.BertTokenizer`
since transformers 5), tests/test_tokenizer.py compares against it. Where the older Python tokenizer
(`BertTokenizerLegacy`) disagrees with it, we follow the fast one:
  - lower-casing is per character, so a word-final capital sigma becomes "σ", not "ς";
  - CJK Extension E's first block (U+2B820-U+2B91F) is not split out as ideographs (the fast tokenizer's
    table starts that range at U+2B920);
  - unassigned code points are kept (and become [UNK]) instead of being dropped as controls;
  - `decode` and `convert_tokens_to_string` clean up " ," / " ." / " ?" / " !" per token, as the fast
    WordPiece decoder does; the whole-text clean-up ("do n't" -> "don't") is `clean_up_tokenization_spaces`.
One difference we cannot remove: the character classes come from Python's Unicode database (14.0 on Python
3.11), the fast tokenizer's from older Rust tables. About 560 of the 1.1M code points, characters added
or recategorised since, are classified differently (the test suite lists which).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

VOCAB_FILE = os.path.join(os.path.dirname(__file__), "data", "vocab.txt")
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}
PREFIX = "##"  # marks a piece that continues the word before it

# ------------------------------------------------------------------------------------ character classes


def is_control(ch: str) -> bool:
    """Control, format, surrogate and private-use characters (Cc, Cf, Cs, Co), except tab and newlines, which
    count as whitespace. Unassigned code points (Cn) are kept (they become [UNK]), as the fast tokenizer does;
    BERT's original Python code dropped them too."""
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")


def is_whitespace(ch: str) -> bool:
    """Unicode whitespace (space separators, tabs, newlines, line and paragraph separators)."""
    return ch.isspace()


def is_punctuation(ch: str) -> bool:
    """Unicode punctuation (P*), and every ASCII non-alphanumeric printable character ("$", "+", "^", ...)."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch)[0] == "P"


# The CJK Unified Ideographs blocks, as the fast tokenizer lists them (see the module docstring on U+2B920).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_cjk(ch: str) -> bool:
    """A CJK ideograph: written without spaces, so each one is made a word of its own."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


# ------------------------------------------------------------------------------------ 1. normalization

def normalize_char(ch: str, lowercase: bool, strip_accents: bool, split_cjk: bool) -> str:
    """What one input character becomes: "" (a control, or a combining accent that is stripped), " " (any
    whitespace), " 字 " (a CJK ideograph, made a word of its own), or the character with its accents stripped
    and lower-cased (possibly longer: "İ" lower-cases to "i" + a combining dot)."""
    cp = ord(ch)
    if cp == 0 or cp == 0xFFFD or is_control(ch):
        return ""
    if is_whitespace(ch):
        return " "
    out = ch
    if strip_accents:  # decompose (é -> e + ́; a CJK compatibility ideograph -> its unified one), drop the marks
        out = "".join(c for c in unicodedata.normalize("NFD", out) if unicodedata.category(c) != "Mn")
    if lowercase:
        out = out.lower()
    return f" {out} " if split_cjk and is_cjk(ch) else out


ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TABS_AND_NEWLINES_TO_SPACES = str.maketrans("\t\n\r", "   ")


def normalize(text: str, lowercase: bool = True, strip_accents: bool = True, split_cjk: bool = True,
              cache: dict[str, str] | None = None) -> tuple[str, Sequence[int]]:
    """Step 1. The normalized text, and for each of its characters the index of the input character it
    came from. Spaces go around CJK ideographs; whitespace becomes " "; controls and accents disappear.
    `cache` (a dict) remembers normalize_char() across calls.

    >>> text, origin = normalize("Café\\t東京!")
    >>> text, list(origin)
    ('cafe  東  京 !', [0, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 7])
    """
    if text.isascii() and not ASCII_CONTROL.search(text):  # the common case: one character in, one out
        text = text.translate(TABS_AND_NEWLINES_TO_SPACES)
        return (text.lower() if lowercase else text), range(len(text))
    out, origin = [], []
    for i, ch in enumerate(text):
        piece = None if cache is None else cache.get(ch)
        if piece is None:
            piece = normalize_char(ch, lowercase, strip_accents, split_cjk)
            if cache is not None:
                cache[ch] = piece
        out.append(piece)
        origin.extend([i] * len(piece))
    return "".join(out), origin


# ------------------------------------------------------------------------------------ 2. words

ASCII_WORDS = re.compile(r"[^\s!-/:-@\[-`{-~]+|[!-/:-@\[-`{-~]")  # runs of non-space non-punctuation | one punctuation


def split_words(normalized: str) -> list[tuple[int, int]]:
    """Step 2. Spans [start, end) of the words of a normalized text: maximal runs of characters that are
    neither whitespace nor punctuation, and every punctuation character alone.

    >>> split_words("don't stop")
    [(0, 3), (3, 4), (4, 5), (6, 10)]
    """
    if normalized.isascii():
        return [m.span() for m in ASCII_WORDS.finditer(normalized)]
    spans, start = [], None
    for i, ch in enumerate(normalized):
        if ch == " " or is_punctuation_cached(ch):  # normalized text has no other whitespace
            if start is not None:
                spans.append((start, i))
                start = None
            if ch != " ":
                spans.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(normalized)))
    return spans


is_punctuation_cached = functools.lru_cache(maxsize=1 << 16)(is_punctuation)


# ------------------------------------------------------------------------------------ 3. WordPiece


def wordpiece(word: str, vocab: dict[str, int], max_chars: int = 100, longest: int | None = None,
              lookups: list[tuple[str, bool]] | None = None) -> list[str] | None:
    """Step 3. Greedy longest-match-first split of one word into vocabulary pieces; None if impossible
    (the word then becomes [UNK], as a whole).

    From the start of what is left, take the longest prefix that is in the vocabulary (with "##" in front
    for every piece but the first), and repeat. `longest` bounds the candidate length (the longest vocabulary
    entry); it only saves lookups. `lookups`, a list, receives every (candidate, found) tried.

    >>> wordpiece("unaffable", {"un": 0, "##aff": 1, "##able": 2})
    ['un', '##aff', '##able']
    """
    if len(word) > max_chars:
        return None
    pieces, start = [], 0
    while start < len(word):
        end = len(word) if longest is None else min(len(word), start + longest)
        while end > start:
            piece = word[start:end] if start == 0 else PREFIX + word[start:end]
            found = piece in vocab
            if lookups is not None:
                lookups.append((piece, found))
            if found:
                break
            end -= 1
        else:
            return None  # no prefix of the rest is in the vocabulary
        pieces.append(piece)
        start = end
    return pieces


def wordpiece_steps(word: str, vocab: dict[str, int]) -> list[tuple[str, bool]]:
    """Every lookup `wordpiece` makes for `word`, in order: (candidate piece, found). For teaching."""
    lookups: list[tuple[str, bool]] = []
    wordpiece(word, vocab, max_chars=len(word), lookups=lookups)
    return lookups


def load_vocab(path: str) -> list[str]:
    """vocab.txt: one token a line; the line number is the id."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no vocabulary file at {path!r}; a BERT vocab.txt has one token per line "
                                "(MobileBertTokenizer() without arguments uses the BERT uncased vocab shipped with us)")
    with open(path, encoding="utf-8") as f:
        tokens = f.read().split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()  # the final newline ends the last line; it does not start an empty token
    if not tokens:
        raise ValueError(f"the vocabulary file {path!r} is empty")
    return tokens


def read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} should hold a JSON object, not {type(data).__name__}")
    return data


def read_tokenizer_json(path: str) -> dict[str, Any]:
    """The settings of a `tokenizers` tokenizer.json, as MobileBertTokenizer arguments; only BERT's kind
    (BertNormalizer + WordPiece with "##") is accepted."""
    data = read_json(path)
    model, normalizer = data.get("model") or {}, data.get("normalizer") or {}
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix", PREFIX) != PREFIX:
        raise ValueError(f"{path} describes a {model.get('type')!r} tokenizer; MobileBERT's is BERT's WordPiece "
                         f"with {PREFIX!r} continuations")
    if normalizer.get("type") != "BertNormalizer" or not normalizer.get("clean_text", True):
        raise ValueError(f"{path} normalizes text with {normalizer.get('type')!r}; this tokenizer implements BERT's "
                         "BertNormalizer (with clean_text)")
    vocab = model.get("vocab") or {}
    tokens: list[str | None] = [None] * len(vocab)
    for token, i in vocab.items():
        if not (isinstance(i, int) and 0 <= i < len(tokens)) or tokens[i] is not None:
            raise ValueError(f"{path}: the vocabulary ids are not 0..{len(tokens) - 1} once each (see {token!r}: {i})")
        tokens[i] = token
    special = [t["content"] for t in data.get("added_tokens") or [] if t.get("special")]
    missing = [t for t in special if t not in vocab]
    if missing:
        raise ValueError(f"{path} adds tokens outside its WordPiece vocabulary ({missing}); not supported")
    lowercase = normalizer.get("lowercase", True)
    return {"vocab": tokens, "vocab_file": path, "do_lower_case": lowercase, "strip_accents": normalizer.get("strip_accents"),
            "tokenize_chinese_chars": normalizer.get("handle_chinese_chars", True),
            "max_input_chars_per_word": model.get("max_input_chars_per_word", 100),
            "unk_token": model.get("unk_token", "[UNK]"),
            "additional_special_tokens": [t for t in special if t not in SPECIAL_TOKENS.values()]}


# ------------------------------------------------------------------------------------ encoded sequences


@dataclass
class Segment:
    """One text after steps 1-3: its token ids, the character span of each in the original text, and the
    index of the word each belongs to."""

    ids: list[int] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    words: list[int] = field(default_factory=list)

    def window(self, start: int, stop: int) -> "Segment":
        return Segment(self.ids[start:stop], self.offsets[start:stop], self.words[start:stop])


def windows(length: int, budget: int, stride: int) -> list[tuple[int, int]]:
    """[start, stop) windows of at most `budget` tokens over a sequence of `length`, each starting
    budget - stride after the previous one (so consecutive windows share `stride` tokens), until one
    reaches the end. The first window is the truncated sequence; the others are the overflow."""
    if length <= budget:
        return [(0, length)]
    if budget == 0:  # nothing fits: the fast tokenizer keeps an empty window and overflows the whole sequence
        return [(0, 0), (0, length)]
    if stride >= budget:
        raise ValueError(f"stride ({stride}) must be smaller than the tokens left for the text ({budget}); "
                         "lower stride or raise max_length")
    spans = []
    for start in range(0, length, budget - stride):
        stop = min(start + budget, length)
        spans.append((start, stop))
        if stop == length:
            break
    return spans


def truncation_windows(first: Segment, second: Segment | None, budget: int, strategy: str, stride: int):
    """Fit the text (pair) into `budget` tokens as Hugging Face's fast tokenizer does. Returns the list of
    (first window, second window or None) pairs, the main one first, then the overflowing ones."""
    n1, n2 = len(first.ids), 0 if second is None else len(second.ids)
    if strategy == "do_not_truncate" or n1 + n2 <= budget:
        return [(first, second)]
    if strategy == "longest_first":
        if second is None:
            len1, len2 = budget, 0
        else:  # the shorter keeps its length when it can; otherwise both get half
            short, long_ = sorted((n1, n2))
            long_ = short if short > budget else max(short, budget - short)
            if short + long_ > budget:
                short, long_ = budget // 2, budget // 2 + budget % 2
            len1, len2 = (short, long_) if n1 <= n2 else (long_, short)
    elif strategy == "only_first":
        if n1 <= n1 + n2 - budget:
            raise ValueError(f"cannot truncate only the first text to fit max_length: the second text alone has "
                             f"{n2} tokens and {budget} fit; use truncation='longest_first' or a larger max_length")
        len1, len2 = n1 - (n1 + n2 - budget), n2
    elif strategy == "only_second":
        if second is None:
            raise ValueError("truncation='only_second' needs a text pair; use 'longest_first' for a single text")
        if n2 <= n1 + n2 - budget:
            raise ValueError(f"cannot truncate only the second text to fit max_length: the first text alone has "
                             f"{n1} tokens and {budget} fit; use truncation='longest_first' or a larger max_length")
        len1, len2 = n1, n2 - (n1 + n2 - budget)
    else:
        raise ValueError(f"unknown truncation strategy {strategy!r}; use True / 'longest_first', 'only_first', "
                         "'only_second' or False")
    firsts = [first.window(a, b) for a, b in windows(n1, len1, stride)]
    if second is None:
        return [(w, None) for w in firsts]
    seconds = [second.window(a, b) for a, b in windows(n2, len2, stride)]
    # The fast tokenizer's order: the main pair; each overflowing first window with every second window;
    # then the first window with each overflowing second window.
    out = [(firsts[0], seconds[0])]
    out += [(f, s) for f in firsts[1:] for s in seconds]
    out += [(firsts[0], s) for s in seconds[1:]]
    return out


TRUNCATION = {True: "longest_first", False: "do_not_truncate", "longest_first": "longest_first",
              "only_first": "only_first", "only_second": "only_second", "do_not_truncate": "do_not_truncate"}
PADDING = {True: "longest", False: "do_not_pad", "longest": "longest", "max_length": "max_length",
           "do_not_pad": "do_not_pad"}


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector. Encoding a batch builds many small lists and tuples, none
    in a cycle, and each collection rescans all of them: 57 instead of 43 microseconds a text at 6000
    texts (measured), growing with the batch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class BatchEncoding(dict):
    """What the tokenizer returns: a dict of `input_ids`, `token_type_ids`, `attention_mask` (and, on request,
    `offset_mapping`, `special_tokens_mask`, `overflow_to_sample_mapping`, `length`), lists or NumPy arrays;
    plus, per row, which text each token came from (`sequence_ids`) and which word (`word_ids`)."""

    def __init__(self, data: dict, sequence_ids: list[list], word_ids: list[list]):
        super().__init__(data)
        self._sequence_ids, self._word_ids = sequence_ids, word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: 0 for the first text, 1 for the second, None for special tokens and padding."""
        return list(self._sequence_ids[batch_index])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: the index of its word in its text, None for special tokens and padding."""
        return list(self._word_ids[batch_index])

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Explanation:
    """Every intermediate step of tokenizing one text (`MobileBertTokenizer.explain`)."""

    text: str
    normalized: str
    words: list[str]
    pieces: list[list[str]]
    tokens: list[str]
    ids: list[int]

    def __str__(self) -> str:
        split = "  ".join(w if p == [w] else f"{w} -> {' '.join(p)}" for w, p in zip(self.words, self.pieces))
        return "\n".join([
            f"text        {self.text!r}",
            f"normalized  {self.normalized!r}   (controls dropped, whitespace -> ' ', accents stripped, lower case)",
            f"words       {self.words}",
            f"wordpieces  {split}",
            f"tokens      {self.tokens}",
            f"ids         {self.ids}",
        ])


# ------------------------------------------------------------------------------------ the tokenizer


class MobileBertTokenizer:
    """BERT's WordPiece tokenizer with Hugging Face's calling convention.

        tok = MobileBertTokenizer()                       # the shipped BERT uncased vocabulary
        tok("Hello, my dog is cute")["input_ids"]         # [101, 7592, 1010, 2026, 3899, 2003, 10140, 102]
        tok(["a", "b c"], padding=True, return_tensors="np")   # NumPy arrays for the model
        print(tok.explain("Tokenization of unaffable words"))  # every step
    """

    def __init__(self, vocab_file: str | None = None, do_lower_case: bool = True, strip_accents: bool | None = None,
                 tokenize_chinese_chars: bool = True, max_input_chars_per_word: int = 100,
                 model_max_length: int = 512, unk_token: str = "[UNK]", sep_token: str = "[SEP]",
                 pad_token: str = "[PAD]", cls_token: str = "[CLS]", mask_token: str = "[MASK]",
                 additional_special_tokens: Sequence[str] = (), vocab: Sequence[str] | None = None):
        """vocab_file: a vocab.txt (default: the shipped BERT uncased one); or `vocab`, the tokens in id order."""
        self.vocab_file = vocab_file or VOCAB_FILE
        self.ids_to_tokens = list(vocab) if vocab is not None else load_vocab(self.vocab_file)
        self.vocab = {token: i for i, token in enumerate(self.ids_to_tokens)}  # a repeated token: the last id wins
        self.do_lower_case = do_lower_case
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents  # HF: follows lower-casing
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.max_input_chars_per_word = max_input_chars_per_word
        self.model_max_length = model_max_length
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        self.additional_special_tokens = list(additional_special_tokens)
        missing = [t for t in self.all_special_tokens if t not in self.vocab]
        if missing:
            raise ValueError(f"the vocabulary {self.vocab_file!r} has no {missing}; a BERT vocab.txt lists "
                             "[PAD], [UNK], [CLS], [SEP] and [MASK] (or pass the names it uses, e.g. unk_token=...)")
        # Special tokens written in the text ("[MASK]") are matched before normalization, longest first.
        names = sorted(set(self.all_special_tokens), key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in names))
        self._longest = max(len(t) for t in self.ids_to_tokens)
        self._chars: dict[str, str] = {}  # normalize_char() results
        self._words: dict[str, tuple[tuple[int, int, int], ...]] = {}  # wordpiece results, per word

    # -------------------------------------------------------------------------------- loading

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **overrides: Any) -> "MobileBertTokenizer":
        """From a checkpoint folder (or hub id): its vocab.txt, or else its tokenizer.json (all that
        transformers 5 writes), with tokenizer_config.json and special_tokens_map.json when present
        (do_lower_case, strip_accents, model_max_length, token names)."""
        from .hub import resolve_model_folder

        folder = resolve_model_folder(name_or_path, **{k: overrides.pop(k) for k in
                                                       ("cache_dir", "revision", "local_files_only") if k in overrides})
        options: dict[str, Any] = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):  # the latter wins
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                options.update(read_json(path))
        kwargs: dict[str, Any] = {}
        for key in ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "max_input_chars_per_word"):
            if options.get(key) is not None:
                kwargs[key] = options[key]
        max_length = options.get("model_max_length")
        if isinstance(max_length, int) and 0 < max_length < 1_000_000:  # HF writes 1e30 for "no limit"
            kwargs["model_max_length"] = max_length
        for key in SPECIAL_TOKENS:
            value = options.get(key)
            if value is not None:
                kwargs[key] = value["content"] if isinstance(value, dict) else value
        extra = options.get("additional_special_tokens") or []
        kwargs["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t for t in extra]
        vocab_txt, tokenizer_json = os.path.join(folder, "vocab.txt"), os.path.join(folder, "tokenizer.json")
        if os.path.isfile(vocab_txt):
            kwargs["vocab_file"] = vocab_txt
        elif os.path.isfile(tokenizer_json):
            kwargs.update(read_tokenizer_json(tokenizer_json))  # what the fast tokenizer would run
        else:
            raise FileNotFoundError(f"{folder} has no vocab.txt and no tokenizer.json, so its vocabulary is unknown; "
                                    "copy the checkpoint's tokenizer files there, or use MobileBertTokenizer() for the "
                                    "BERT uncased vocabulary")
        kwargs.update(overrides)
        return cls(**kwargs)

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Write vocab.txt and tokenizer_config.json (readable by us and by transformers)."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(self.ids_to_tokens) + "\n")
        config = {"tokenizer_class": "MobileBertTokenizer", "do_lower_case": self.do_lower_case,
                  "strip_accents": self.strip_accents, "tokenize_chinese_chars": self.tokenize_chinese_chars,
                  "model_max_length": self.model_max_length, **{k: getattr(self, k) for k in SPECIAL_TOKENS}}
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)

    # -------------------------------------------------------------------------------- vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self.ids_to_tokens)

    def __len__(self) -> int:
        return len(self.ids_to_tokens)

    @property
    def all_special_tokens(self) -> list[str]:
        return [getattr(self, k) for k in SPECIAL_TOKENS] + self.additional_special_tokens

    @property
    def all_special_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.all_special_tokens]

    unk_token_id = property(lambda self: self.vocab[self.unk_token])
    sep_token_id = property(lambda self: self.vocab[self.sep_token])
    pad_token_id = property(lambda self: self.vocab[self.pad_token])
    cls_token_id = property(lambda self: self.vocab[self.cls_token])
    mask_token_id = property(lambda self: self.vocab[self.mask_token])

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Vocabulary ids; a token not in the vocabulary gives the [UNK] id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str | list[str]:
        if isinstance(ids, (int, np.integer)):
            return self.ids_to_tokens[self._check_id(ids)]
        special = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.ids_to_tokens[self._check_id(i)] for i in np.asarray(ids).reshape(-1).tolist() if i not in special]

    def _check_id(self, i) -> int:
        i = int(i)
        if not 0 <= i < len(self.ids_to_tokens):
            raise ValueError(f"token id {i} is outside this vocabulary (ids 0..{len(self.ids_to_tokens) - 1})")
        return i

    # -------------------------------------------------------------------------------- steps 1-3

    def _normalize(self, text: str) -> tuple[str, Sequence[int]]:
        """normalize() with this tokenizer's options and its per-character cache."""
        return normalize(text, self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars, self._chars)

    def _wordpiece(self, word: str) -> tuple[tuple[int, int, int], ...]:
        """(id, start, end) per piece of a word, [start, end) in the word's characters; cached."""
        cached = self._words.get(word)
        if cached is None:
            pieces = wordpiece(word, self.vocab, self.max_input_chars_per_word, self._longest)
            if pieces is None:
                cached = ((self.unk_token_id, 0, len(word)),)
            else:
                out, start = [], 0
                for p in pieces:
                    length = len(p) - (len(PREFIX) if start else 0)
                    out.append((self.vocab[p], start, start + length))
                    start += length
                cached = tuple(out)
            if len(self._words) > 200_000:  # bound the cache on endless streams of new words
                self._words.clear()
            self._words[word] = cached
        return cached

    def _parts(self, text: str) -> Iterable[tuple[int, str, bool]]:
        """(start, part, is_special) of a text cut around the special tokens written in it ("[MASK]"),
        which are kept whole and never normalized."""
        if not isinstance(text, str):
            raise TypeError(f"the tokenizer takes str texts, got {type(text).__name__}: {text!r:.80}")
        start = 0
        if "[" in text or self.additional_special_tokens:
            for m in self._special_re.finditer(text):
                if m.start() > start:
                    yield start, text[start:m.start()], False
                yield m.start(), m.group(), True
                start = m.end()
        if start < len(text):
            yield start, text[start:], False

    def _segment(self, text: str) -> Segment:
        """Steps 1-3 on one text: token ids, character offsets in `text`, word indexes."""
        seg, word = Segment(), 0
        for base, part, special in self._parts(text):
            if special:
                seg.ids.append(self.vocab[part])
                seg.offsets.append((base, base + len(part)))
                seg.words.append(word)
                word += 1
                continue
            normalized, origin = self._normalize(part)
            for a, b in split_words(normalized):
                for token_id, s, e in self._wordpiece(normalized[a:b]):
                    seg.ids.append(token_id)
                    seg.offsets.append((base + origin[a + s], base + origin[a + e - 1] + 1))
                    seg.words.append(word)
                word += 1
        return seg

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of a text, without [CLS]/[SEP]."""
        return [self.ids_to_tokens[i] for i in self._segment(text).ids]

    def explain(self, text: str) -> Explanation:
        """Every step for one text: normalized text, words, each word's pieces, tokens and ids.
        `print(tokenizer.explain(text))` shows them as a table."""
        normalized, words, pieces = [], [], []
        for _, part, special in self._parts(text):
            norm = part if special else self._normalize(part)[0]
            normalized.append(norm)
            spans = [(0, len(part))] if special else split_words(norm)
            for a, b in spans:
                words.append(norm[a:b])
                pieces.append([norm] if special else [self.ids_to_tokens[i] for i, _, _ in self._wordpiece(norm[a:b])])
        ids = self.encode(text)
        return Explanation(text, "".join(normalized), words, pieces, self.convert_ids_to_tokens(ids), ids)

    # -------------------------------------------------------------------------------- encoding

    @gc_paused()
    def __call__(self, text: str | Sequence[str], text_pair: str | Sequence[str] | None = None, *,
                 add_special_tokens: bool = True, padding: bool | str = False, truncation: bool | str | None = None,
                 max_length: int | None = None, stride: int = 0, pad_to_multiple_of: int | None = None,
                 return_tensors: str | None = None, return_token_type_ids: bool = True,
                 return_attention_mask: bool = True, return_overflowing_tokens: bool = False,
                 return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                 return_length: bool = False) -> BatchEncoding:
        """Encode a text, a (text, text_pair), or a batch (lists). Hugging Face's options and results:

        truncation: True / "longest_first", "only_first", "only_second", False; on by default when
            max_length is given (max_length defaults to model_max_length).
        stride + return_overflowing_tokens: what truncation cut off comes back as more rows (windows that
            overlap by `stride` tokens), with `overflow_to_sample_mapping` naming each row's input.
        padding: True / "longest" (to the longest row), "max_length", False. Right side, with [PAD].
        return_tensors: None (Python lists, as HF) or "np" (NumPy int64 arrays).
        """
        batched = not isinstance(text, str)
        texts = [text] if not batched else list(text)
        if text_pair is None:
            pairs = [None] * len(texts)
        elif isinstance(text_pair, str) == batched:
            raise TypeError("text and text_pair must both be strings or both be lists of strings")
        else:
            pairs = [text_pair] if not batched else list(text_pair)
            if len(pairs) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(pairs)} text pairs")
        if truncation is None:
            truncation = max_length is not None  # HF: a max_length alone turns truncation on
        if truncation not in TRUNCATION:
            raise ValueError(f"truncation must be True, False, 'longest_first', 'only_first' or 'only_second', "
                             f"got {truncation!r}")
        if padding not in PADDING:
            raise ValueError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        if return_tensors not in (None, "np"):
            raise ValueError(f"return_tensors={return_tensors!r}: this tokenizer returns Python lists (None) or "
                             "NumPy arrays ('np'); there is no torch or tensorflow here")
        strategy, pad_strategy = TRUNCATION[truncation], PADDING[padding]
        limit = max_length if max_length is not None else self.model_max_length
        if stride < 0:
            raise ValueError(f"stride must be >= 0, got {stride}")

        rows = self._rows(texts, pairs, strategy, limit, stride, add_special_tokens, return_overflowing_tokens)

        width = None
        if pad_strategy == "longest" and rows:
            width = max(len(r["input_ids"]) for r in rows)
        elif pad_strategy == "max_length":
            width = limit
        if width is not None and pad_to_multiple_of:
            width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
        if width is not None:
            for r in rows:
                self._pad(r, width)

        keys = ["input_ids"] + ["token_type_ids"] * return_token_type_ids + ["attention_mask"] * return_attention_mask
        keys += ["special_tokens_mask"] * return_special_tokens_mask + ["offset_mapping"] * return_offsets_mapping
        data = {k: [r[k] for r in rows] for k in keys}
        if return_length:
            data["length"] = [len(r["input_ids"]) for r in rows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = [r["sample"] for r in rows]
        # A single input gives flat lists, unless overflowing rows or arrays were asked for (then a batch axis).
        flat = not batched and not return_overflowing_tokens and return_tensors is None
        if flat:
            data = {k: v[0] for k, v in data.items()}
        if return_tensors == "np":
            data = {k: self._array(k, v) for k, v in data.items()}
        return BatchEncoding(data, [r["sequence_ids"] for r in rows], [r["word_ids"] for r in rows])

    def _rows(self, texts, pairs, strategy: str, limit: int, stride: int, add_special_tokens: bool,
              return_overflowing_tokens: bool) -> list[dict]:
        """Every text (pair) tokenized, truncated into its windows, and laid out as rows."""
        rows: list[dict] = []
        for index, (a, b) in enumerate(zip(texts, pairs)):
            first, second = self._segment(a), None if b is None else self._segment(b)
            n_special = (2 if second is None else 3) if add_special_tokens else 0
            if strategy != "do_not_truncate" and limit < n_special:
                raise ValueError(f"max_length={limit} leaves no room for the {n_special} special tokens")
            fitted = truncation_windows(first, second, limit - n_special, strategy, stride)
            if not return_overflowing_tokens:
                fitted = fitted[:1]  # the truncated input; the overflow is dropped
            rows += [self._row(w1, w2, add_special_tokens, index) for w1, w2 in fitted]
        return rows

    def _row(self, first: Segment, second: Segment | None, add_special_tokens: bool, sample: int) -> dict:
        """One encoded row: [CLS] first [SEP] (second [SEP]), with everything the caller may ask for."""
        cls_, sep = ([self.cls_token_id], [self.sep_token_id]) if add_special_tokens else ([], [])
        n_cls, n_sep = len(cls_), len(sep)
        ids = cls_ + first.ids + sep
        types = [0] * len(ids)
        offsets = [(0, 0)] * n_cls + first.offsets + [(0, 0)] * n_sep
        sequence_ids = [None] * n_cls + [0] * len(first.ids) + [None] * n_sep
        word_ids = [None] * n_cls + first.words + [None] * n_sep
        special = [1] * n_cls + [0] * len(first.ids) + [1] * n_sep
        if second is not None:
            ids += second.ids + sep
            types += [1] * (len(second.ids) + n_sep)
            offsets += second.offsets + [(0, 0)] * n_sep
            sequence_ids += [1] * len(second.ids) + [None] * n_sep
            word_ids += second.words + [None] * n_sep
            special += [0] * len(second.ids) + [1] * n_sep
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids),
                "special_tokens_mask": special, "offset_mapping": offsets, "sequence_ids": sequence_ids,
                "word_ids": word_ids, "sample": sample}

    def _pad(self, row: dict, width: int) -> None:
        n = width - len(row["input_ids"])
        if n <= 0:
            return
        fill = {"input_ids": self.pad_token_id, "token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1,
                "offset_mapping": (0, 0), "sequence_ids": None, "word_ids": None}
        for key, value in fill.items():
            row[key] = row[key] + [value] * n

    @staticmethod
    def _array(key: str, value: list) -> np.ndarray:
        try:
            return np.array(value, dtype=np.int64)
        except ValueError:
            raise ValueError(f"the rows of {key!r} have different lengths, so they make no array; pass "
                             "padding=True (or 'max_length') with return_tensors='np'") from None

    def encode(self, text: str, text_pair: str | None = None, **options: Any) -> list[int]:
        """The input ids of one text (or pair), with [CLS]/[SEP]."""
        return list(self(text, text_pair, **options)["input_ids"])

    # -------------------------------------------------------------------------------- decoding

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join WordPiece tokens into text: "##" pieces glue to the one before, others get a space; " ,"
        " ." " ?" " !" lose their space (the fast tokenizer's WordPiece decoder)."""
        out = []
        for i, token in enumerate(tokens):
            if i:
                token = token[len(PREFIX):] if token.startswith(PREFIX) else " " + token
            out.append(clean_up_piece(token))
        return "".join(out)

    def decode(self, ids: int | Sequence[int] | np.ndarray, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool = False) -> str:
        """Token ids back to text (lower-cased and accent-free, as the tokens are)."""
        if isinstance(ids, (int, np.integer)):
            ids = [ids]
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"decode takes one sequence of ids (1-D), got shape {ids.shape}; use batch_decode")
        text = self.convert_tokens_to_string(self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens))
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences: Iterable[Sequence[int]], **options: Any) -> list[str]:
        return [self.decode(s, **options) for s in sequences]

    def __repr__(self) -> str:
        return (f"MobileBertTokenizer(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"strip_accents={self.strip_accents}, model_max_length={self.model_max_length})")


# Spaces Hugging Face removes when decoding: before punctuation, and inside English contractions.
CLEAN_UP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))
# The fast WordPiece decoder's list (it has one more entry, which can never match a single token).
CLEAN_UP_PIECE = CLEAN_UP[:7] + ((" do not", " don't"),) + CLEAN_UP[7:]


def clean_up_piece(token: str) -> str:
    """The fast WordPiece decoder's clean-up, applied to each token with its leading space."""
    for dirty, clean in CLEAN_UP_PIECE:
        token = token.replace(dirty, clean)
    return token


def clean_up_tokenization(text: str) -> str:
    """Hugging Face's whole-text clean-up of spaces before punctuation and in English contractions."""
    for dirty, clean in CLEAN_UP:
        text = text.replace(dirty, clean)
    return text
