"""MobileBertTokenizer: BERT's WordPiece tokenizer with Hugging Face's calling convention, from scratch (no
`tokenizers`, no `transformers`).

MobileBERT reads BERT's input: the uncased WordPiece vocabulary of 30522 entries (shipped with this package
as `data/vocab.txt`, so the tokenizer works offline). Text becomes ids in three steps, each a pure function
in its own module of `minimobilebert.tokenization` (and importable from here):

1. `normalize` (tokenization/normalize.py): drop control characters, turn every whitespace character into
   " ", put spaces around CJK ideographs, strip accents, lower-case; remembering for every output character
   which input character it came from (that is what `offset_mapping` reports).
2. `split_words` (tokenization/pretokenize.py): split on whitespace and make every punctuation character a
   word of its own.
3. `wordpiece` (tokenization/wordpiece.py): split each word greedily into the longest pieces in the
   vocabulary, continuation pieces prefixed "##"; a word that cannot be split, or is longer than 100
   characters, becomes "[UNK]". `wordpiece_steps` shows every lookup.

This module is the class around them: it keeps a word cache (bounded in bytes), finds special tokens
written in the text ("[MASK]"), tracks character offsets and word indexes, adds [CLS] A [SEP] (B [SEP]),
token types, attention masks, truncation and overflowing windows (tokenization/truncation.py) and padding,
with Hugging Face's arguments and results (tokenization/encoding.py), and decodes (tokenization/decoding.py).
Its files are read by tokenization/loading.py, every value checked. `explain(text)` shows every
intermediate step. transformers' own names for the steps (BasicTokenizer, WordpieceTokenizer) are in
tokenization/compat.py.

The reference is Hugging Face's fast BERT tokenizer (the `tokenizers` library; `transformers.BertTokenizer`
since transformers 5), tests/test_tokenizer.py compares against it. Where the older Python tokenizer
(`BertTokenizerLegacy`) disagrees with it, we follow the fast one:
  - lower-casing is per character, so a word-final capital sigma becomes "σ", not "ς";
  - CJK Extension E's first block (U+2B820-U+2B91F) is not split out as ideographs (the fast tokenizer's
    table starts that range at U+2B920);
  - unassigned code points are kept (and become [UNK]) instead of being dropped as controls;
  - `decode` and `convert_tokens_to_string` clean up " ," / " ." / " ?" / " !" per token, as the fast
    WordPiece decoder does; the whole-text clean-up ("do n't" -> "don't") is `clean_up_tokenization_spaces`.
Two options only the Python tokenizer has are honoured as it defines them (the fast one ignores them):
`never_split` (whitespace-delimited words kept whole) and `get_special_tokens_mask` on ids without special
tokens. One difference we cannot remove: the character classes come from Python's Unicode database (14.0
on Python 3.11), the fast tokenizer's from older Rust tables. About 560 of the 1.1M code points, characters
added or recategorised since, are classified differently (the test suite lists which).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import sys
import warnings
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import TokenizerAttributeError, TokenizerError, TokenizerTypeError
from .tokenization import added
from .tokenization.added import AddedToken  # noqa: F401  (exported: tokenizer.add_tokens([AddedToken(...)]))
from .tokenization.compat import BasicTokenizer, WordpieceTokenizer, _is_control, _is_punctuation, _is_whitespace  # noqa: F401
from .tokenization.decoding import CLEAN_UP, clean_up_piece, clean_up_tokenization  # noqa: F401
from .tokenization.encoding import (BatchEncoding, CharSpan, Explanation, TokenSpan, pad_encoded,  # noqa: F401
                                  as_tensor, pad_row, tensor_type_of, to_array)
from .tokenization.loading import (  # noqa: F401
    NO_LIMIT, OPTIONAL_SPECIAL_TOKENS, SPECIAL_SLOTS, SPECIAL_TOKENS, VOCAB_FILE, as_bool, as_int, as_max_length, as_optional_bool, as_side, as_token,
    as_token_list, check_text, describe, load_vocab, read_added_tokens_of, read_tokenizer_json, read_tokenizer_options,
    vocab_from_mapping, vocab_from_tokens,
)
from .tokenization.normalize import (  # noqa: F401  (re-exported: the names notebooks and tests import from here)
    CJK_RANGES, char_table, is_cjk, is_control, is_punctuation, is_whitespace, normalize, normalize_char,
)
from .tokenization.pretokenize import is_punctuation_cached, split_words
from .tokenization.truncation import PADDING, TRUNCATION, Segment, truncation_windows, windows  # noqa: F401
from .tokenization.wordpiece import PREFIX, wordpiece, wordpiece_steps

logger = logging.getLogger(__name__)
MiB = 1024 * 1024
WORD_CACHE_BYTES = 32 * MiB  # what the word cache may hold (estimated), before words unused for a while go
MAX_PADDED_LENGTH = 1 << 20  # padding="max_length" beyond this is a mistake (BERT reads 512 positions), not a wish
CHUNK = 8192  # characters normalized at a time when only the first tokens of a long text are kept

# Keyword arguments transformers' tokenizers accept that mean nothing here (where they come from, what they
# set): accepted and ignored, so HF code and tokenizer_config.json files pass through.
IGNORED_INIT_KWARGS = {"name_or_path", "tokenizer_class", "use_fast", "backend", "verbose",
                       "special_tokens_map_file", "tokenizer_file", "auto_map", "trust_remote_code", "init_inputs",
                       "processor_class", "split_special_tokens", "model_input_names"}
# The constructor's and the call's own arguments (init_kwargs keeps the first; targets reuse the second).
INIT_ARGUMENTS = ("vocab_file", "do_lower_case", "vocab", "strip_accents", "keep_accents", "tokenize_chinese_chars",
                  "never_split", "max_input_chars_per_word", "model_max_length", "padding_side", "truncation_side",
                  "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "bos_token", "eos_token",
                  "additional_special_tokens", "clean_up_tokenization_spaces", "do_basic_tokenize", "word_cache_bytes")
CALL_OPTIONS = ("add_special_tokens", "padding", "truncation", "max_length", "stride", "is_split_into_words",
                "pad_to_multiple_of", "padding_side", "return_tensors", "return_token_type_ids", "return_attention_mask",
                "return_overflowing_tokens", "return_special_tokens_mask", "return_offsets_mapping", "return_length",
                "verbose")
LOADING_KWARGS = {"cache_dir", "revision", "local_files_only"}  # from_pretrained: where the folder comes from
IGNORED_LOADING_KWARGS = {"force_download", "token", "use_auth_token", "trust_remote_code", "use_fast",
                          "proxies", "resume_download", "_from_auto", "_commit_hash"}


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


# ------------------------------------------------------------------------------------ the tokenizer


# the key of HF's "sequence longer than model_max_length" warning in deprecation_warnings
LONG_WARNING = "sequence-length-is-longer-than-the-specified-maximum"


class MobileBertTokenizer:
    """BERT's WordPiece tokenizer with Hugging Face's calling convention.

        tok = MobileBertTokenizer()                       # the shipped BERT uncased vocabulary
        tok("Hello, my dog is cute")["input_ids"]         # [101, 7592, 1010, 2026, 3899, 2003, 10140, 102]
        tok(["a", "b c"], padding=True, return_tensors="np")   # NumPy arrays for the model
        print(tok.explain("Tokenization of unaffable words"))  # every step
    """

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    backend = "custom"  # transformers 5's name for a tokenizer that is not its `tokenizers` (Rust) one

    def __init__(self, vocab_file: str | os.PathLike | Mapping[str, int] | None = None, do_lower_case: bool = True,
                 *, vocab: str | os.PathLike | Mapping[str, int] | Sequence[str] | None = None,
                 strip_accents: bool | None = None, keep_accents: bool | None = None,
                 tokenize_chinese_chars: bool = True, never_split: Iterable[str] | None = None,
                 max_input_chars_per_word: int = 100, model_max_length: int = 512,
                 padding_side: str = "right", truncation_side: str = "right",
                 unk_token: str = "[UNK]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                 cls_token: str = "[CLS]", mask_token: str = "[MASK]", bos_token: str | None = None,
                 eos_token: str | None = None, additional_special_tokens: Sequence[str] | None = None,
                 clean_up_tokenization_spaces: bool = False, do_basic_tokenize: bool = True,
                 word_cache_bytes: int = WORD_CACHE_BYTES, **kwargs: Any):
        """The vocabulary, as Hugging Face takes it: `vocab_file` (first positional, as BertTokenizerLegacy's)
        or `vocab` (as transformers 5's BertTokenizer): the path of a vocab.txt, a {token: id} dict (any
        order; ids 0..n-1 once each), or the tokens in id order. Neither: the shipped BERT uncased vocab.

        do_lower_case, strip_accents (None: follow do_lower_case), tokenize_chinese_chars: BERT's
        normalization options. keep_accents=True is strip_accents=False (the name other HF tokenizers use).
        never_split: words kept whole, as BertTokenizerLegacy does (the fast tokenizer ignores it).
        model_max_length: the default max_length for truncation and padding="max_length".
        padding_side / truncation_side: "right" (default) or "left", as HF.
        word_cache_bytes: how much memory the word cache may hold (estimated); past it, the words not used
        since the cache last filled half of it are forgotten."""
        kwargs = dict(kwargs)
        added_tokens_decoder = kwargs.pop("added_tokens_decoder", None)  # {id: AddedToken}, as HF's constructor
        given = locals()
        init_kwargs = {name: given[name] for name in INIT_ARGUMENTS}  # every argument, as HF keeps them
        if "extra_special_tokens" in kwargs:  # transformers 5's name
            extra = as_token_list(kwargs.pop("extra_special_tokens"), "extra_special_tokens")
            additional_special_tokens = list(additional_special_tokens or []) + extra
        for name in kwargs:
            if callable(getattr(type(self), name, None)):  # HF's words and error type
                raise TokenizerAttributeError(f"{name} conflicts with the method {name} in {type(self).__name__}")
        unknown = sorted(set(kwargs) - IGNORED_INIT_KWARGS)
        if unknown:  # kept in init_kwargs and otherwise ignored, as transformers does; said, in case of a typo
            warnings.warn(f"MobileBertTokenizer ignored argument(s) {unknown}; it takes vocab_file / vocab, "
                          "do_lower_case, strip_accents, keep_accents, tokenize_chinese_chars, never_split, "
                          "max_input_chars_per_word, model_max_length, padding_side, truncation_side, the "
                          "special tokens (unk_token, sep_token, pad_token, cls_token, mask_token, "
                          "bos_token, eos_token, additional_special_tokens), clean_up_tokenization_spaces, "
                          "word_cache_bytes", stacklevel=2)
        # special tokens given as AddedToken keep their options (lstrip, ...) when they are added below
        given_as_added = {v.content: v for v in [bos_token, eos_token, *(additional_special_tokens or [])]
                          if not isinstance(v, (str, Mapping)) and isinstance(getattr(v, "content", None), str)}
        if kwargs.get("split_special_tokens"):
            raise TokenizerError("split_special_tokens=True (tokenize '[MASK]' written in the text as ordinary "
                                 "text) is not supported; leave it False")

        # The vocabulary: from a file, a {token: id} dict, or a list in id order.
        if vocab_file is not None and vocab is not None:
            raise TokenizerError("pass the vocabulary once: vocab_file= or vocab=, not both")
        source = vocab if vocab is not None else vocab_file
        if source is None:
            self.vocab_file, self.ids_to_tokens = VOCAB_FILE, load_vocab(VOCAB_FILE)
        elif isinstance(source, (str, os.PathLike)):
            self.vocab_file, self.ids_to_tokens = os.fspath(source), load_vocab(source)
        elif isinstance(source, Mapping):
            self.vocab_file, self.ids_to_tokens = None, vocab_from_mapping(source, "vocab")
        elif isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
            raise TokenizerError(f"vocab is {describe(source)}; pass the path of a vocab.txt, a {{token: id}} dict, "
                                 "or the tokens in id order")
        else:
            self.vocab_file, self.ids_to_tokens = None, vocab_from_tokens(source, "vocab")
        self.vocab = {token: i for i, token in enumerate(self.ids_to_tokens)}  # a repeated token: the last id wins

        self.do_lower_case = as_bool(do_lower_case, "do_lower_case")
        strip_accents = as_optional_bool(strip_accents, "strip_accents")
        if keep_accents is not None:
            keep_accents = as_bool(keep_accents, "keep_accents")
            if strip_accents is not None and strip_accents == keep_accents:
                raise TokenizerError(f"strip_accents={strip_accents} and keep_accents={keep_accents} contradict "
                                     "each other; pass one of them")
            strip_accents = not keep_accents
        self.strip_accents = self.do_lower_case if strip_accents is None else strip_accents  # HF: follows lower-casing
        self.tokenize_chinese_chars = as_bool(tokenize_chinese_chars, "tokenize_chinese_chars")
        if not as_bool(do_basic_tokenize, "do_basic_tokenize"):
            raise TokenizerError("do_basic_tokenize=False (WordPiece on raw whitespace-split text) is not supported; "
                                 "this tokenizer always normalizes and splits words as BERT does")
        self.max_input_chars_per_word = as_int(max_input_chars_per_word, "max_input_chars_per_word")
        self.model_max_length = as_max_length(model_max_length, "model_max_length")
        self.padding_side = as_side(padding_side, "padding_side")
        self.truncation_side = as_side(truncation_side, "truncation_side")
        self.clean_up_tokenization_spaces = as_bool(clean_up_tokenization_spaces, "clean_up_tokenization_spaces")
        self.unk_token, self.sep_token = as_token(unk_token, "unk_token"), as_token(sep_token, "sep_token")
        self.pad_token, self.cls_token = as_token(pad_token, "pad_token"), as_token(cls_token, "cls_token")
        self.mask_token = as_token(mask_token, "mask_token")
        # HF's tokenizers have these slots; BERT's leaves them None and never adds them to a text
        self.bos_token = None if bos_token is None else as_token(bos_token, "bos_token")
        self.eos_token = None if eos_token is None else as_token(eos_token, "eos_token")
        self.additional_special_tokens = list(dict.fromkeys(
            as_token_list(additional_special_tokens, "additional_special_tokens")))
        self.never_split = list(dict.fromkeys(as_token_list(never_split, "never_split")))
        missing = [getattr(self, k) for k in SPECIAL_TOKENS if getattr(self, k) not in self.vocab]
        if missing:
            raise TokenizerError(f"the vocabulary {self.vocab_file or '(given as vocab=)'!r} has no {missing}; a BERT "
                                 "vocab.txt lists [PAD], [UNK], [CLS], [SEP] and [MASK] (or pass the names it uses, "
                                 "e.g. unk_token=...)")
        self.init_kwargs = {**init_kwargs, **kwargs, "do_lower_case": self.do_lower_case,
                            "strip_accents": strip_accents, "model_max_length": self.model_max_length,
                            "additional_special_tokens": list(self.additional_special_tokens), **self._special_slots()}
        self.name_or_path = kwargs.get("name_or_path", "")

        self._base_size = len(self.ids_to_tokens)  # vocab_size: the WordPiece vocabulary, without added tokens
        self._wordpiece_vocab = self.vocab  # what WordPiece looks pieces up in (added tokens never are)
        self._added: dict[int, AddedToken] = {}  # id -> token, from add_tokens / add_special_tokens / the files
        self.deprecation_warnings: dict[str, bool] = {}  # HF's record of the warnings given once (tests reset it)
        self._longest = max(len(t) for t in self.ids_to_tokens)
        optional = [getattr(self, k) for k in OPTIONAL_SPECIAL_TOKENS if getattr(self, k) is not None]
        self._add_tokens([given_as_added.get(t, t) for t in dict.fromkeys(optional + self.additional_special_tokens)
                          if t not in self.vocab], True, self.added_tokens_decoder)
        self._build_matchers()  # once, for those and the special tokens
        # [CLS] and [SEP] as the text is framed: fixed when the tokenizer is made, as HF's post-processor
        # (add_special_tokens({"cls_token": ...}) later changes cls_token_id, not what encoding adds)
        self._post_ids = (self.cls_token_id, self.sep_token_id)
        self.word_cache_bytes = as_int(word_cache_bytes, "word_cache_bytes", low=0)
        self._chars = char_table(self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars)
        # The word cache, word -> its pieces, in two generations: words seen since the last turn, and those
        # of the turn before (kept if used again). When the new one holds half the budget, the old one goes.
        self._words: dict[str, tuple] = {}
        self._old_words: dict[str, tuple] = {}
        self._words_size = self._old_words_size = 0  # estimated bytes held by each
        if added_tokens_decoder:  # at the ids they give (read_added_tokens checks each entry, sorts by id)
            self._restore_added(added.read_added_tokens(added_tokens_decoder, "added_tokens_decoder"),
                                "added_tokens_decoder")

    # -------------------------------------------------------------------------------- loading and saving

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *init_inputs: Any, subfolder: str = "",
                        **overrides: Any) -> "MobileBertTokenizer":
        """From a checkpoint folder (or hub id): its vocab.txt, or else its tokenizer.json (all that
        transformers 5 writes), with tokenizer_config.json and special_tokens_map.json when present
        (do_lower_case, strip_accents, model_max_length, token names, ...). Every file is read as hostile
        input: a wrong value is a TokenizerError naming the file and the field. Keyword arguments override
        what the files say."""
        if init_inputs:
            raise TokenizerError(f"from_pretrained takes the folder and keyword arguments; got extra positional "
                                 f"arguments {init_inputs!r:.80}")
        from . import files
        from .hub import resolve_model_folder

        for key in IGNORED_LOADING_KWARGS:
            overrides.pop(key, None)
        folder = resolve_model_folder(name_or_path, **{k: overrides.pop(k) for k in LOADING_KWARGS if k in overrides})
        if subfolder:
            folder = files.inside(folder, subfolder, "subfolder", TokenizerError)
            if not os.path.isdir(folder):
                raise TokenizerError(f"subfolder={subfolder!r}: {folder!r} is not a folder")
        parsed: dict[str, Any] = {}  # each JSON file of the folder is read and parsed once
        kwargs: dict[str, Any] = read_tokenizer_options(folder, parsed)
        kwargs["name_or_path"] = os.fspath(name_or_path)
        vocab_txt, tokenizer_json = os.path.join(folder, "vocab.txt"), os.path.join(folder, "tokenizer.json")
        if os.path.lexists(vocab_txt):
            kwargs["vocab_file"] = vocab_txt
        elif os.path.lexists(tokenizer_json):
            for key, value in read_tokenizer_json(tokenizer_json, parsed).items():  # what the fast tokenizer would run
                if key == "additional_special_tokens":  # its special added tokens, but those in a slot
                    slots = {kwargs.get(k) for k in SPECIAL_SLOTS}
                    value = list(dict.fromkeys(kwargs.get(key, []) + [t for t in value if t not in slots]))
                kwargs[key] = value
        else:
            from .errors import TokenizerFileNotFoundError

            raise TokenizerFileNotFoundError(
                f"{folder} has no vocab.txt and no tokenizer.json, so its vocabulary is unknown; copy the "
                "checkpoint's tokenizer files there, or use MobileBertTokenizer() for the BERT uncased vocabulary")
        added_tokens = read_added_tokens_of(folder, parsed)
        if "vocab" in overrides or "vocab_file" in overrides:
            kwargs.pop("vocab", None)
            kwargs.pop("vocab_file", None)
        kwargs.update(overrides)
        extra = kwargs.pop("additional_special_tokens", None) or []
        # A special token that is one of the folder's added tokens (add_special_tokens({"pad_token": "<p>"}),
        # saved) is not in vocab.txt: it takes its slot once the added tokens are back at their ids.
        added_contents = {token.content for _, token in added_tokens}
        deferred = {key: kwargs.pop(key) for key in SPECIAL_SLOTS
                    if isinstance(kwargs.get(key), str) and kwargs[key] in added_contents and key not in overrides}
        tokenizer = cls(**kwargs)
        tokenizer._restore_added(added_tokens, folder)  # at the ids the folder gives them
        if deferred:  # as the AddedToken the folder lists, so its options (lstrip, ...) stay as saved
            restored = {token.content: token for _, token in added_tokens}
            tokenizer.add_special_tokens({key: restored[value] for key, value in deferred.items()})
            tokenizer._post_ids = (tokenizer.cls_token_id, tokenizer.sep_token_id)  # as if made with them
        if extra:  # then the additional special tokens the files name (added now if no id was given)
            extra = as_token_list(extra, "additional_special_tokens")
            tokenizer.add_tokens([t for t in extra if t not in tokenizer.vocab], special_tokens=True)
            tokenizer.additional_special_tokens = list(dict.fromkeys(extra))
            tokenizer._build_matchers()
        return tokenizer

    def _restore_added(self, tokens: list[tuple[int, AddedToken]], where: str) -> None:
        """The added tokens a saved folder lists, at the ids it gives them: an id already taken must be the
        token's own; a new one must be the next free id (added ids follow the vocabulary without gaps)."""
        known = self.added_tokens_decoder
        for token_id, token in tokens:
            if token_id < len(self.ids_to_tokens):
                if self.vocab.get(token.content) != token_id:
                    raise TokenizerError(f"{where}: added token {token.content!r:.40} has id {token_id}, which is "
                                         f"{self.ids_to_tokens[token_id]!r:.40} here; save the tokenizer again")
                self._added[token_id] = known[token_id] = token
            elif token_id == len(self.ids_to_tokens):
                self._add_tokens([token], token.special, known)
                if self.vocab.get(token.content) != token_id:  # its content was already another id's
                    raise TokenizerError(f"{where}: added token {token.content!r:.40} has id {token_id}, but the "
                                         f"same text already has id {self.vocab.get(token.content)}; save the "
                                         "tokenizer again")
            else:
                raise TokenizerError(f"{where}: added token {token.content!r:.40} has id {token_id}; the next free id "
                                     f"is {len(self.ids_to_tokens)} (added ids follow the vocabulary without gaps)")
        if tokens:
            self._build_matchers()
            self.clear_word_cache()

    def save_pretrained(self, save_directory: str | os.PathLike, **_ignored: Any) -> tuple[str, ...]:
        """Write vocab.txt, tokenizer_config.json and special_tokens_map.json, readable by us and by
        transformers (AutoTokenizer.from_pretrained). Returns the paths written, as HF does."""
        folder = os.fspath(save_directory)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise TokenizerError(f"save_pretrained: {folder!r} is a file; give a folder")
        os.makedirs(folder, exist_ok=True)
        paths = tuple(os.path.join(folder, n) for n in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"))
        self.save_vocabulary(folder)
        special = self._special_slots()
        if self.additional_special_tokens:
            special["additional_special_tokens"] = list(self.additional_special_tokens)
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case,
                  "strip_accents": self.strip_accents, "tokenize_chinese_chars": self.tokenize_chinese_chars,
                  "model_max_length": self.model_max_length, "padding_side": self.padding_side,
                  "truncation_side": self.truncation_side,
                  "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces, **special}
        if self.max_input_chars_per_word != 100:
            config["max_input_chars_per_word"] = self.max_input_chars_per_word
        if self.never_split:
            config["never_split"] = list(self.never_split)
        config["added_tokens_decoder"] = {str(i): {"content": t.content, "lstrip": t.lstrip, "normalized": t.normalized,
                                                   "rstrip": t.rstrip, "single_word": t.single_word, "special": t.special}
                                          for i, t in self.added_tokens_decoder.items()}
        for path, data in zip(paths[1:], (config, special)):
            with open(path, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, ensure_ascii=False)
        return paths

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str]:
        """Write vocab.txt (one token a line, the line number its id) into a folder; returns its path."""
        folder = os.fspath(save_directory)
        if not os.path.isdir(folder):
            raise TokenizerError(f"save_vocabulary: {folder!r} is not a folder; create it first (or use "
                                 "save_pretrained, which does)")
        path = os.path.join(folder, (f"{filename_prefix}-" if filename_prefix else "") + "vocab.txt")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(self.ids_to_tokens[:self._base_size]) + "\n")  # added tokens: tokenizer_config.json
        return (path,)

    # -------------------------------------------------------------------------------- vocabulary

    @property
    def vocab_size(self) -> int:
        """The WordPiece vocabulary's size, without added tokens (as HF); len(tokenizer) counts them."""
        return self._base_size

    def __len__(self) -> int:
        return len(self.ids_to_tokens)

    def get_vocab(self) -> dict[str, int]:
        """{token: id}, a copy (as HF's)."""
        return dict(self.vocab)

    def _special_slots(self) -> dict[str, str]:
        """The special tokens that are set, in HF's order (bos, eos, unk, sep, pad, cls, mask)."""
        return {k: getattr(self, k) for k in SPECIAL_SLOTS if getattr(self, k) is not None}

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        out: dict[str, Any] = self._special_slots()
        if self.additional_special_tokens:
            out["additional_special_tokens"] = list(self.additional_special_tokens)
        return out

    @property
    def _special_tokens_map(self) -> dict[str, Any]:
        """transformers 5's private form of the slots, which its tests read: every slot, None when unset, an
        AddedToken (with its options) when the token is an added one, else the string."""
        added_by_content = {t.content: t for t in self._added.values()}
        return {k: None if (v := getattr(self, k)) is None else added_by_content.get(v, v) for k in SPECIAL_SLOTS}

    @property
    def all_special_tokens(self) -> list[str]:
        return list(dict.fromkeys([*self._special_slots().values(), *self.additional_special_tokens]))

    @property
    def all_special_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.all_special_tokens]

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.additional_special_tokens]

    @additional_special_tokens_ids.setter
    def additional_special_tokens_ids(self, ids: Iterable[int]) -> None:
        """As HF: the additional special tokens become the tokens of these ids."""
        self.additional_special_tokens = list(dict.fromkeys(self.convert_ids_to_tokens(self._id_list(ids))))
        self._build_matchers()

    # transformers 5's names for the additional special tokens
    extra_special_tokens = property(lambda self: self.additional_special_tokens,
                                    lambda self, tokens: setattr(self, "additional_special_tokens", tokens))
    extra_special_tokens_ids = additional_special_tokens_ids

    def _slot_id(slot: str):  # noqa: N805 - builds the `<slot>_id` properties below, at class creation
        def get(self) -> int | None:
            token = getattr(self, slot)
            return None if token is None else self.vocab[token] if token in self.vocab else self.unk_token_id

        def set_(self, token_id: int | None) -> None:
            setattr(self, slot, None if token_id is None else self.convert_ids_to_tokens(token_id))

        return property(get, set_, doc=f"The id of {slot} (None when it is None). Setting it, as HF, sets {slot} to "
                                       "the token of that id (None: no such token).")

    bos_token_id, eos_token_id = _slot_id("bos_token"), _slot_id("eos_token")
    unk_token_id, sep_token_id, pad_token_id = _slot_id("unk_token"), _slot_id("sep_token"), _slot_id("pad_token")
    cls_token_id, mask_token_id = _slot_id("cls_token"), _slot_id("mask_token")
    del _slot_id
    pad_token_type_id = 0
    is_fast = False
    init_inputs = ()  # HF: the positional arguments the tokenizer was made with (none here)

    @property
    def max_len_single_sentence(self) -> int:
        """The most tokens one text may have: model_max_length less [CLS] and [SEP]."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        """The most tokens a text pair may have together: model_max_length less [CLS] and two [SEP]."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """{id: AddedToken} of the tokens matched whole in the text before the three steps: the special
        tokens (verbatim) and those added by add_tokens / add_special_tokens, by id (as HF)."""
        out = {self.vocab[t]: AddedToken(t, normalized=False, special=True) for t in self.all_special_tokens
               if t in self.vocab}
        out.update(self._added)
        return dict(sorted(out.items()))

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """{token: id} of added_tokens_decoder, by id; what HF's fast tokenizer lists as its added tokens."""
        return {t.content: i for i, t in self.added_tokens_decoder.items()}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        """Add tokens matched whole in the text, before normalization (as Hugging Face's add_tokens): a str,
        an AddedToken (content, single_word, lstrip, rstrip, normalized, special), or a list of them. A token
        not in the vocabulary gets the next id (len(tokenizer)); vocab_size does not change. Returns how
        many tokens became added tokens (as HF counts: one already in the WordPiece vocabulary counts, and is
        matched whole from now on; one already added does not)."""
        special_tokens = as_bool(special_tokens, "special_tokens")
        if new_tokens is None:
            return 0
        if isinstance(new_tokens, (str, Mapping)) or hasattr(new_tokens, "content"):
            new_tokens = [new_tokens]
        if not isinstance(new_tokens, (list, tuple)):
            raise TokenizerError(f"add_tokens takes a str, an AddedToken or a list of them; got {describe(new_tokens)}")
        new_tokens = [added.as_added_token(v, special_tokens, f"add_tokens: token {k}")
                      for k, v in enumerate(new_tokens)]
        known = self.added_tokens_decoder
        added.check_match_chars([*(t.content for t in known.values()), *self.never_split,
                                 *(t.content for t in new_tokens)], "add_tokens")  # before anything changes
        count = self._add_tokens(new_tokens, special_tokens, known)
        if count:
            self._build_matchers()
            self.clear_word_cache()  # (WordPiece's words do not depend on added tokens; cheap to be sure)
        return count

    def _add_tokens(self, new_tokens: Sequence, special_tokens: bool, known: dict[int, AddedToken]) -> int:
        """add_tokens without rebuilding the matchers (the caller does, once: rebuilding per token made
        loading n added tokens cost n^2). `known`: added_tokens_decoder, kept up to date here."""
        count = 0
        for k, value in enumerate(new_tokens):
            token = added.as_added_token(value, special_tokens, f"add_tokens: token {k}")
            token_id = self.vocab.get(token.content)
            if token_id is not None and token_id in known and known[token_id].content == token.content:
                if token != known[token_id]:  # new options for a token added before: replaced, counted (as HF)
                    self._added[token_id] = known[token_id] = token
                    count += 1
                continue
            if token_id is None:
                if self.vocab is self._wordpiece_vocab:
                    self.vocab = dict(self.vocab)  # WordPiece keeps looking pieces up in the original
                token_id = len(self.ids_to_tokens)
                # HF's fast tokenizer names a normalized added token by its normalized form ("NewWord" ->
                # "newword": what convert_ids_to_tokens and decode give), and looks it up by its content
                shown = self._normalize(token.content)[0] if token.normalized else token.content
                self.ids_to_tokens.append(shown or token.content)
                self.vocab[token.content] = token_id
            self._added[token_id] = token
            known[token_id] = token
            count += 1
        return count

    def add_special_tokens(self, special_tokens_dict: Mapping[str, Any],
                           replace_extra_special_tokens: bool = True, **_: Any) -> int:
        """Set special tokens, as Hugging Face: {"cls_token": "<c>", ..., "additional_special_tokens": [...]},
        each added (matched verbatim) if new. Returns how many tokens were added."""
        if not isinstance(special_tokens_dict, Mapping):
            raise TokenizerError(f"add_special_tokens takes a dict such as {{'additional_special_tokens': "
                                 f"['<x>']}}; got {describe(special_tokens_dict)}")
        count = 0
        for key, value in special_tokens_dict.items():
            if key in ("additional_special_tokens", "extra_special_tokens"):
                if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
                    raise TokenizerError(f"add_special_tokens: {key} is {describe(value)}; it must be a list of tokens")
                tokens = [added.as_added_token(v, True, f"{key}[{k}]") for k, v in enumerate(value)]
                count += self.add_tokens(tokens, special_tokens=True)
                names = [t.content for t in tokens]
                if replace_extra_special_tokens:
                    self.additional_special_tokens = list(dict.fromkeys(names))
                else:
                    self.additional_special_tokens = list(dict.fromkeys(self.additional_special_tokens + names))
            elif key in SPECIAL_SLOTS:
                token = added.as_added_token(value, True, key)
                count += self.add_tokens([token], special_tokens=True)
                setattr(self, key, token.content)
            else:
                raise TokenizerError(f"add_special_tokens: {key!r} is not a special token slot; use "
                                     f"{sorted(SPECIAL_SLOTS)} or "
                                     "'additional_special_tokens'")
        self._build_matchers()
        return count

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Vocabulary ids; a token not in the vocabulary gives the [UNK] id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(check_text(t, "a token"), self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str | list[str]:
        """The token of an id, or the tokens of a sequence of ids."""
        if isinstance(ids, (int, np.integer)) and not isinstance(ids, bool):
            return self.ids_to_tokens[self._check_id(ids)]
        special = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.ids_to_tokens[self._check_id(i)] for i in self._id_list(ids) if i not in special]

    def _check_id(self, i) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TokenizerTypeError(f"token ids are integers; got {describe(i)}")
        i = int(i)
        if not 0 <= i < len(self.ids_to_tokens):
            raise TokenizerError(f"token id {i} is outside this vocabulary (ids 0..{len(self.ids_to_tokens) - 1})")
        return i

    def _id_list(self, ids: Any) -> list:
        """A sequence of ids (list, tuple, 1-D array) as a Python list of ints."""
        if isinstance(ids, (str, bytes)) or ids is None:
            raise TokenizerTypeError(f"expected a sequence of token ids, got {describe(ids)}")
        array = np.asarray(ids)
        if array.ndim != 1:
            raise TokenizerError(f"expected one sequence of token ids (1-D), got shape {array.shape}; for a batch "
                                 "use batch_decode")
        return [self._check_id(i) for i in array.tolist()] if array.dtype.kind not in "iu" else array.tolist()

    # -------------------------------------------------------------------------------- special tokens, as HF

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """[CLS] A [SEP] adds 2; [CLS] A [SEP] B [SEP] adds 3."""
        return 3 if pair else 2

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """[CLS] A [SEP], or [CLS] A [SEP] B [SEP]."""
        out = [self.cls_token_id] + list(token_ids_0) + [self.sep_token_id]
        return out if token_ids_1 is None else out + list(token_ids_1) + [self.sep_token_id]

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """Token types of build_inputs_with_special_tokens: 0 for [CLS] A [SEP], 1 for B [SEP]."""
        first = [0] * (len(token_ids_0) + 2)
        return first if token_ids_1 is None else first + [1] * (len(token_ids_1) + 1)

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 for a special token, 0 for a text token. already_has_special_tokens=True: `token_ids_0` is already
        encoded, mark its special ids. False: the mask of build_inputs_with_special_tokens(ids_0, ids_1) (as
        BertTokenizerLegacy; transformers 5's fast tokenizer raises NotImplementedError there)."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise TokenizerError("already_has_special_tokens=True takes one encoded sequence; token_ids_1 must "
                                     "be None")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in self._id_list(token_ids_0)]
        mask = [1] + [0] * len(token_ids_0) + [1]
        return mask if token_ids_1 is None else mask + [0] * len(token_ids_1) + [1]

    # -------------------------------------------------------------------------------- steps 1-3, cached

    def _normalize(self, text: str) -> tuple[str, Sequence[int]]:
        """normalize() with this tokenizer's options."""
        return normalize(text, self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars)

    def _wordpiece(self, word: str) -> tuple[tuple[int, int, int], ...]:
        """(id, start, end) per piece of a word, [start, end) in the word's characters. Remembered in a cache
        bounded in bytes, in two generations: when the current one holds half of word_cache_bytes it becomes
        the old one and the old one is dropped, so words used in either survive (a cheap near-LRU: a hit
        costs one dict lookup). Words longer than max_input_chars_per_word are [UNK] at once, never stored."""
        cached = self._words.get(word)
        if cached is not None:
            return cached
        cached = self._old_words.get(word)  # seen in the previous generation: keep it in this one
        if cached is None:
            if len(word) > self.max_input_chars_per_word:
                return ((self.unk_token_id, 0, len(word)),)
            pieces = wordpiece(word, self._wordpiece_vocab, self.max_input_chars_per_word, self._longest)
            if pieces is None:
                cached = ((self.unk_token_id, 0, len(word)),)
            else:
                out, start = [], 0
                for p in pieces:
                    length = len(p) - (len(PREFIX) if start else 0)
                    out.append((self.vocab[p], start, start + length))
                    start += length
                cached = tuple(out)
        self._words[word] = cached
        self._words_size += self._entry_bytes(word, cached)
        if self._words_size > self.word_cache_bytes // 2:  # a new generation; the old one is forgotten
            self._old_words, self._old_words_size = self._words, self._words_size
            self._words, self._words_size = {}, 0
        return cached

    @staticmethod
    def _entry_bytes(word: str, pieces: tuple) -> int:
        """Estimated memory of one cache entry: the word, its dict slot, and the tuple of (id, start, end)
        tuples with their ints. tracemalloc measured 69 bytes + 72 a piece besides the word (random and real
        words of 2 to 100 characters); rounded up."""
        return sys.getsizeof(word) + 80 + 80 * len(pieces)

    def word_cache_info(self) -> dict[str, int]:
        """The word cache's own accounting: entries, estimated bytes (both generations), and the limit
        (word_cache_bytes)."""
        return {"entries": len(self._words) + len(self._old_words), "limit": self.word_cache_bytes,
                "bytes": self._words_size + self._old_words_size}

    def clear_word_cache(self) -> None:
        self._words, self._old_words = {}, {}
        self._words_size = self._old_words_size = 0

    def _build_matchers(self) -> None:
        """The regular expressions that find added tokens: on the raw text, the special tokens, the added
        tokens with normalized=False (both longest first) and never_split words (only where whitespace, or
        the text's ends, surround them); on the normalized text, the added tokens with normalized=True,
        normalized as the text is (tokenization/added.py)."""
        tokens = self.added_tokens_decoder
        added.check_match_chars([*(t.content for t in tokens.values()), *self.never_split], "this tokenizer")
        raw = [(t.content, t, i) for i, t in tokens.items() if not t.normalized]
        self._raw_re, self._raw_tokens = added.matcher(raw)
        whole = "|".join(re.escape(t) for t in sorted(set(self.never_split), key=len, reverse=True))
        self._whole_re = re.compile(f"(?<!\\S)(?:{whole})(?!\\S)") if whole else None
        self._special_first = tuple(dict.fromkeys([t[0] for t, _, _ in raw] + [t[0] for t in self.never_split]))
        if any(t.lstrip for _, t, _ in raw):
            self._special_first = None  # an lstrip token may start with any whitespace: always search
        normalized = [(self._normalize(t.content)[0], t, i) for i, t in tokens.items() if t.normalized]
        self._normalized_re, self._normalized_tokens = added.matcher([e for e in normalized if e[0]])

    def _parts(self, text: str) -> Iterable[tuple[int, str, int | str | None]]:
        """(start, part, kind) of a text cut around the special tokens and added tokens with normalized=False
        written in it ("[MASK]"; kind: the token's id) and the never_split words (kind "whole"), which are
        kept whole and never normalized; kind None for the text between them."""
        start = 0
        if self._special_first is None or any(ch in text for ch in self._special_first):  # usually: "[" in text?
            for a, b, token_id in added.find_added(text, self._raw_re, self._raw_tokens):
                yield from self._whole_words(text, start, a)
                yield a, text[a:b], token_id
                start = b
        yield from self._whole_words(text, start, len(text))

    def _whole_words(self, text: str, start: int, end: int) -> Iterable[tuple[int, str, str | None]]:
        """text[start:end] cut around the never_split words in it (kind "whole")."""
        if self._whole_re is not None:
            for m in self._whole_re.finditer(text, start, end):
                if m.start() > start:
                    yield start, text[start:m.start()], None
                yield m.start(), m.group(), "whole"
                start = m.end()
        if start < end:
            yield start, text[start:end] if start or end < len(text) else text, None

    def _add_words(self, seg: Segment, normalized: str, origin: Sequence[int], base: int, word: int) -> int:
        """Steps 2-3 on a normalized text: append its tokens to `seg`, with offsets in the original text
        (`base` + origin) and word indexes from `word` on. Returns the next word index."""
        ids, offsets, words = seg.ids, seg.offsets, seg.words
        if self._normalized_re is not None:  # added tokens (normalized=True) cut the normalized text first
            start = 0
            for a, b, token_id in added.find_added(normalized, self._normalized_re, self._normalized_tokens):
                word = self._add_words_plain(seg, normalized, origin, base, word, start, a)
                ids.append(token_id)
                offsets.append((base + origin[a], base + origin[b - 1] + 1))
                words.append(word)
                word, start = word + 1, b
            return self._add_words_plain(seg, normalized, origin, base, word, start, len(normalized))
        for a, b in split_words(normalized):
            for token_id, s, e in self._wordpiece(normalized[a:b]):
                ids.append(token_id)
                offsets.append((base + origin[a + s], base + origin[a + e - 1] + 1))
                words.append(word)
            word += 1
        return word

    def _add_words_plain(self, seg: Segment, normalized: str, origin: Sequence[int], base: int, word: int,
                         start: int, end: int) -> int:
        """Steps 2-3 on normalized[start:end] (text between two added tokens)."""
        if end <= start:
            return word
        piece = normalized[start:end]
        for a, b in split_words(piece):
            for token_id, s, e in self._wordpiece(piece[a:b]):
                seg.ids.append(token_id)
                seg.offsets.append((base + origin[start + a + s], base + origin[start + a + e - 1] + 1))
                seg.words.append(word)
            word += 1
        return word

    def _segment(self, text: str, max_tokens: int | None = None, word: int = 0) -> Segment:
        """Steps 1-3 on one text: token ids, character offsets in `text`, word indexes (from `word`).
        max_tokens: stop once that many tokens are made (truncation keeps no more), so a long text costs
        time and memory for what is kept; the tokens made are the first of the full result."""
        seg = Segment()
        for base, part, kind in self._parts(text):
            if max_tokens is not None and len(seg.ids) >= max_tokens:
                break
            if kind is not None:  # a special token, or a never_split word: one token, one word
                seg.ids.append(self.vocab.get(part, self.unk_token_id) if kind == "whole" else kind)
                seg.offsets.append((base, base + len(part)))
                seg.words.append(word)
                word += 1
            elif max_tokens is None or len(part) <= CHUNK or self._normalized_re is not None:
                normalized, origin = self._normalize(part)
                word = self._add_words(seg, normalized, origin, base, word)
            else:
                word = self._segment_long(seg, part, base, word, max_tokens)
        return seg

    def _is_boundary(self, ch: str) -> bool:
        """Whether a word ends at this input character whatever follows: it normalizes to " ", to " 字 " (a
        CJK ideograph) or to one punctuation character. (Over all code points, no other character's
        normalized form holds a space or punctuation; tests/test_tokenizer_api.py checks it.)"""
        n = self._chars[ch]
        return n[:1] == " " or (len(n) == 1 and is_punctuation_cached(n))

    def _segment_long(self, seg: Segment, part: str, base: int, word: int, max_tokens: int) -> int:
        """Steps 1-3 on a long text, CHUNK characters at a time, each chunk cut after a word boundary, until
        `seg` has max_tokens tokens. A run of CHUNK characters without a boundary is one word: it is measured
        character by character (never copied whole) and becomes [UNK] if longer than
        max_input_chars_per_word."""
        start = 0
        while start < len(part) and len(seg.ids) < max_tokens:
            end = min(len(part), start + CHUNK)
            if end < len(part):
                cut = next((j + 1 for j in range(end - 1, start - 1, -1) if self._is_boundary(part[j])), None)
                if cut is None:  # no boundary in CHUNK characters: one long word
                    start, word = self._long_word(seg, part, start, base, word)
                    continue
                end = cut
            normalized, origin = self._normalize(part[start:end])
            word = self._add_words(seg, normalized, origin, base + start, word)
            start = end
        return word

    def _long_word(self, seg: Segment, part: str, start: int, base: int, word: int) -> tuple[int, int]:
        """The word that starts at part[start] and runs to the next boundary character: its tokens added to
        seg. Returns (where the next chunk starts, the next word index). Read CHUNK characters at a time;
        once the word is too long to be anything but [UNK], only where it ends matters, found per distinct
        character of each block (str.rfind), so a 10 MB word costs neither memory nor a Python loop per
        character."""
        table, limit = self._chars, self.max_input_chars_per_word
        kept: list[tuple[int, str]] = []  # (index, normalized) of the word's characters while it may fit
        first = last = None
        length, stop, ended = 0, start, False
        while stop < len(part) and not ended:
            block = part[stop:stop + CHUNK]
            chars = set(block)
            ends = [block.index(c) for c in chars if self._is_boundary(c)]
            if ends:  # the word ends in this block
                block, ended = block[:min(ends)], True
                chars = set(block)
            visible = [c for c in chars if table[c]]  # characters that do not normalize to nothing
            if visible and length <= limit:  # the word may still fit: character by character
                for i, ch in enumerate(block, stop):
                    n = table[ch]
                    if n:
                        first = i if first is None else first
                        last, length = i, length + len(n)
                        if length <= limit:
                            kept.append((i, n))
            elif visible:
                last = stop + max(block.rfind(c) for c in visible)
            stop += len(block)
        if first is None:  # only characters that normalize to nothing (controls)
            return stop, word
        if length > limit:  # [UNK], spanning the word's first to last character
            seg.ids.append(self.unk_token_id)
            seg.offsets.append((base + first, base + last + 1))
            seg.words.append(word)
            return stop, word + 1
        normalized = "".join(n for _, n in kept)
        origin = [i for i, n in kept for _ in n]
        return stop, self._add_words(seg, normalized, origin, base, word)

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **_: Any) -> list[str]:
        """The WordPiece tokens of a text, without [CLS]/[SEP] (with them if add_special_tokens=True)."""
        text = check_text(text, "text")
        if add_special_tokens:
            return self.convert_ids_to_tokens(self.encode(text, pair))
        tokens = []
        for t in (text,) if pair is None else (text, check_text(pair, "pair")):
            seg = self._segment(t)
            tokens += [self.ids_to_tokens[i] for i in seg.ids]
            if any(t.lstrip or t.rstrip for t in self._added.values()):  # HF: the token is the text it matched
                for k, (i, (a, b)) in enumerate(zip(seg.ids, seg.offsets), start=len(tokens) - len(seg.ids)):
                    token = self._added.get(i)
                    if token is not None and (token.lstrip or token.rstrip):
                        tokens[k] = self._normalize(t[a:b])[0] if token.normalized else t[a:b]
            if self.never_split:  # a never_split word is its own token, in the vocabulary or not (as HF's)
                for k, (i, (a, b)) in enumerate(zip(seg.ids, seg.offsets), start=len(tokens) - len(seg.ids)):
                    if i == self.unk_token_id and t[a:b] in self.never_split:
                        tokens[k] = t[a:b]
        return tokens

    def wordpiece_steps(self, word: str) -> list[tuple[str, bool]]:
        """Every vocabulary lookup WordPiece makes for one word: (candidate, found), in order."""
        return wordpiece_steps(check_text(word, "word"), self.vocab)

    def explain(self, text: str) -> Explanation:
        """Every step for one text: normalized text, words, each word's pieces, tokens and ids.
        `print(tokenizer.explain(text))` shows them as a table."""
        text = check_text(text, "text")
        normalized, words, pieces = [], [], []
        for _, part, kind in self._parts(text):
            norm = part if kind is not None else self._normalize(part)[0]
            normalized.append(norm)
            if kind is not None:  # a special or added token, or a never_split word: one word, kept whole
                words.append(norm)
                pieces.append([norm])
                continue
            start = 0  # added tokens (normalized=True) found in the normalized text, the words between them
            for a, b, token_id in added.find_added(norm, self._normalized_re, self._normalized_tokens) + [(len(norm),) * 3]:
                for c, d in split_words(norm[start:a]):
                    word = norm[start + c:start + d]
                    words.append(word)
                    pieces.append([self.ids_to_tokens[i] for i, _, _ in self._wordpiece(word)])
                if b > a:
                    words.append(norm[a:b])
                    pieces.append([self.ids_to_tokens[token_id]])
                start = b
        ids = self.encode(text)
        return Explanation(text, "".join(normalized), words, pieces, self.convert_ids_to_tokens(ids), ids)

    # -------------------------------------------------------------------------------- encoding

    @gc_paused()
    def __call__(self, text: Any = None, text_pair: Any = None, *, add_special_tokens: bool = True,
                 padding: bool | str = False, truncation: bool | str | None = None, max_length: int | None = None,
                 stride: int = 0, is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
                 padding_side: str | None = None, return_tensors: Any = None,
                 return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                 return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
                 return_offsets_mapping: bool = False, return_length: bool = False, verbose: bool = True,
                 **kwargs: Any) -> BatchEncoding:
        """Encode a text, a (text, text_pair), or a batch (lists). Hugging Face's options and results:

        truncation: True / "longest_first", "only_first", "only_second", False; on by default when
            max_length is given without padding, as HF (max_length defaults to model_max_length).
            tokenizer.truncation_side.
        stride + return_overflowing_tokens: what truncation cut off comes back as more rows (windows that
            overlap by `stride` tokens), with `overflow_to_sample_mapping` naming each row's input.
        padding: True / "longest" (to the longest row), "max_length", False; pad_to_multiple_of;
            padding_side "right" / "left" (default: tokenizer.padding_side).
        is_split_into_words: each text is a list of words (word_ids index them; offsets are within each word).
        return_tensors: None (Python lists, as HF), "np" (NumPy int64 arrays) or "pt" (torch tensors, when
            torch is installed: for transformers scripts; our models take all three).
        """
        text_target, text_pair_target = kwargs.pop("text_target", None), kwargs.pop("text_pair_target", None)
        max_target_length = kwargs.pop("max_target_length", None)  # the targets' max_length (seq2seq's name)
        if kwargs:
            self._check_call_kwargs(kwargs)
        if text_target is not None or text_pair_target is not None:  # HF: the targets' ids become "labels"
            given = locals()
            options = {k: given[k] for k in CALL_OPTIONS}
            target_options = options if max_target_length is None else dict(options, max_length=max_target_length)
            target = self(text_target, text_pair_target, **target_options)
            if text is None:
                return target
            encoding = self(text, text_pair, **options)
            encoding["labels"] = target["input_ids"]
            return encoding
        if text is None:
            raise TokenizerTypeError("text is None; pass a str, a list of str (a batch), or with is_split_into_words=True "
                                 "a list of words")
        if text_pair is None and isinstance(text, (list, tuple)) and text and all(
                isinstance(t, (list, tuple)) and len(t) == 2 and (not is_split_into_words or all(
                    isinstance(part, (list, tuple)) for part in t)) for t in text):
            # HF: a batch of (text, pair) tuples; pre-tokenized, a batch of (words, pair's words)
            text, text_pair = [t[0] for t in text], [t[1] for t in text]
        batched, texts = self._inputs(text, "text", is_split_into_words)
        if text_pair is None:
            pairs = [None] * len(texts)
        else:
            pair_batched, pairs = self._inputs(text_pair, "text_pair", is_split_into_words)
            if pair_batched != batched:
                raise TokenizerError("text and text_pair must both be single inputs or both be batches (lists) of "
                                     "the same length")
            if len(pairs) != len(texts):
                raise TokenizerError(f"{len(texts)} texts but {len(pairs)} text pairs")
        if truncation is None:  # HF: a max_length alone turns truncation on, but not with padding
            truncation = max_length is not None and padding in (False, "do_not_pad")
        if not isinstance(truncation, (bool, str)) or truncation not in TRUNCATION:
            raise TokenizerError(f"truncation must be True, False, 'longest_first', 'only_first' or 'only_second', "
                                 f"got {truncation!r}")
        if not isinstance(padding, (bool, str)) or padding not in PADDING:
            raise TokenizerError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        return_tensors = tensor_type_of(return_tensors)
        strategy, pad_strategy = TRUNCATION[truncation], PADDING[padding]
        limit = self.model_max_length if max_length is None else as_int(max_length, "max_length", low=0)
        stride = as_int(stride, "stride", low=0)
        if pad_to_multiple_of is not None:
            pad_to_multiple_of = as_int(pad_to_multiple_of, "pad_to_multiple_of")
            if strategy != "do_not_truncate" and pad_strategy != "do_not_pad" and limit % pad_to_multiple_of:
                raise TokenizerError(f"Truncation and padding are both activated but truncation length ({limit}) is "
                                     f"not a multiple of pad_to_multiple_of ({pad_to_multiple_of}).")  # HF's words
        side = self.padding_side if padding_side is None else as_side(padding_side, "padding_side")
        add_special_tokens = as_bool(add_special_tokens, "add_special_tokens")
        if strategy == "only_second" and text_pair is None:
            raise TokenizerError("truncation='only_second' needs a text pair; use 'longest_first' for a single text")

        rows = self._rows(texts, pairs, strategy, limit, stride, add_special_tokens, bool(return_overflowing_tokens),
                          is_split_into_words)

        longest = max((len(r["input_ids"]) for r in rows), default=0)
        once = self.deprecation_warnings
        if max_length is None and verbose and longest > self.model_max_length and not once.get(LONG_WARNING):
            once[LONG_WARNING] = True  # HF's warning, once per tokenizer, on a logger of ours
            logger.warning(f"Token indices sequence length is longer than the specified maximum sequence length "
                           f"for this model ({longest} > {self.model_max_length}). Running this sequence through "
                           "the model will result in indexing errors")
        width = None
        if pad_strategy == "longest" and rows:
            width = longest
        elif pad_strategy == "max_length":
            if limit > MAX_PADDED_LENGTH:
                raise TokenizerError(f"padding='max_length' to {limit:,} tokens "
                                     f"({'max_length' if max_length is not None else 'model_max_length'}) is over "
                                     f"{MAX_PADDED_LENGTH:,}; pass a max_length the model can read (512 for MobileBERT)")
            width = limit
        if width is not None and pad_to_multiple_of:
            width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
        if width is not None:
            for r in rows:
                self._pad(r, width, side)

        keys = ["input_ids"] + ["token_type_ids"] * (return_token_type_ids is not False)
        keys += ["attention_mask"] * (return_attention_mask is not False)
        keys += ["special_tokens_mask"] * bool(return_special_tokens_mask)
        keys += ["offset_mapping"] * bool(return_offsets_mapping)
        data = {k: [r[k] for r in rows] for k in keys}
        if return_length:
            data["length"] = [len(r["input_ids"]) for r in rows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = [r["sample"] for r in rows]
        # A single input gives flat lists, unless overflowing rows or arrays were asked for (then a batch axis).
        flat = not batched and not return_overflowing_tokens and return_tensors is None
        if flat:  # (but "length", which HF's fast tokenizer keeps as a one-item list)
            data = {k: v if k == "length" else v[0] for k, v in data.items()}
        if return_tensors is not None:
            data = {k: as_tensor(to_array(k, v), return_tensors) for k, v in data.items()}
        return BatchEncoding(data, [r["sequence_ids"] for r in rows], [r["word_ids"] for r in rows],
                             offsets=[r["offset_mapping"] for r in rows], ids=[r["input_ids"] for r in rows],
                             vocab=self.ids_to_tokens, n_sequences=(1 if text_pair is None else 2) if rows else None)

    @staticmethod
    def _check_call_kwargs(kwargs: dict) -> None:
        """Arguments this tokenizer does not take: a TokenizerError where ignoring one would silently give
        another result than asked for, else a warning that it is ignored (as transformers 5 does)."""
        fixes = {"truncation_side": "set it on the tokenizer: tokenizer.truncation_side = 'left' (as HF reads it)",
                 "return_token_type_ids_mask": "use return_token_type_ids"}
        for name in sorted(kwargs):
            if name in fixes:
                raise TokenizerError(f"the tokenizer got the argument {name!r}, which it does not take; {fixes[name]}")
        if kwargs.pop("pad_to_max_length", None):
            warnings.warn("pad_to_max_length is ignored, as in transformers 5; use padding='max_length'", stacklevel=3)
        if kwargs:
            warnings.warn(f"the tokenizer ignored argument(s) {sorted(kwargs)}; it takes text, text_pair, "
                          "text_target, text_pair_target, add_special_tokens, padding, truncation, max_length, "
                          "stride, is_split_into_words, pad_to_multiple_of, padding_side, return_tensors ('np', 'pt'), "
                          "return_token_type_ids, return_attention_mask, return_overflowing_tokens, "
                          "return_special_tokens_mask, return_offsets_mapping, return_length", stacklevel=3)

    @staticmethod
    def _inputs(value: Any, name: str, split_into_words: bool) -> tuple[bool, list]:
        """(batched, the inputs as a list), each input checked: a str, or with is_split_into_words a list of
        str (its words)."""
        if not split_into_words:
            if isinstance(value, str):
                return False, [value]
            if isinstance(value, (list, tuple)):
                return True, [check_text(v, f"{name}[{i}]") for i, v in enumerate(value)]
            check_text(value, name)  # raises, naming the accepted types
        if isinstance(value, (list, tuple)):
            if all(isinstance(v, str) for v in value):
                return False, [list(value)]
            if all(isinstance(v, (list, tuple)) for v in value):
                return True, [[check_text(w, f"{name}[{i}][{j}]") for j, w in enumerate(v)] for i, v in enumerate(value)]
            bad = next(v for v in value if not isinstance(v, (str, list, tuple)))
            check_text(bad, f"an item of {name}")
        raise TokenizerTypeError(f"{name} is {describe(value)}; with is_split_into_words=True give a list of words (list "
                             "of str) or a batch of them (list of lists of str)")

    def _segment_input(self, value: str | list[str], max_tokens: int | None = None) -> Segment:
        """A text, or a list of words (is_split_into_words): each word tokenized alone, word_ids its index,
        offsets within the word (as HF's fast tokenizer)."""
        if isinstance(value, str):
            return self._segment(value, max_tokens)
        seg = Segment()
        for i, word in enumerate(value):
            if max_tokens is not None and len(seg.ids) >= max_tokens:
                break
            part = self._segment(word, max_tokens)
            seg.ids += part.ids
            seg.offsets += part.offsets
            seg.words += [i] * len(part.ids)
        return seg

    def _rows(self, texts, pairs, strategy: str, limit: int, stride: int, add_special_tokens: bool,
              return_overflowing_tokens: bool, split_into_words: bool = False) -> list[dict]:
        """Every text (pair) tokenized, truncated into its windows, and laid out as rows."""
        rows: list[dict] = []
        for index, (a, b) in enumerate(zip(texts, pairs)):
            n_special = (2 if b is None else 3) if add_special_tokens else 0
            if strategy != "do_not_truncate" and limit < n_special:
                raise TokenizerError(f"max_length={limit} leaves no room for the {n_special} special tokens")
            budget = limit - n_special
            if strategy == "do_not_truncate" or return_overflowing_tokens or self.truncation_side == "left":
                first, second = self._segment_input(a), None if b is None else self._segment_input(b)
            else:  # only the first tokens can be kept: stop making tokens there (a 10 MB text costs what is kept)
                first, second = self._first_tokens(a, b, budget, strategy)
            fitted = truncation_windows(first, second, budget, strategy, stride, self.truncation_side,
                                        overflow=return_overflowing_tokens)
            rows += [self._row(w1, w2, add_special_tokens, index) for w1, w2 in fitted]
        return rows

    def _first_tokens(self, a, b, budget: int, strategy: str) -> tuple[Segment, Segment | None]:
        """The text (pair) tokenized only as far as right-side truncation to `budget` tokens can reach, so
        that truncation_windows() cuts exactly what it would cut from the whole texts:
          - one text: its first `budget` tokens;
          - only_first / only_second: the other text whole, this one up to what is left of the budget;
          - longest_first: each up to budget + 1 tokens (enough to know it is over the budget); when both
            are over it and the budget is odd, which text is longer decides who gets the odd token, so
            both are tokenized whole."""
        if b is None:
            return self._segment_input(a, budget), None
        if strategy == "only_second":
            first = self._segment_input(a)
            left = budget - len(first.ids)
            return first, self._segment_input(b, left if left > 0 else None)
        if strategy == "only_first":
            second = self._segment_input(b)
            left = budget - len(second.ids)
            return self._segment_input(a, left if left > 0 else None), second
        first, second = self._segment_input(a, budget + 1), self._segment_input(b, budget + 1)
        if budget % 2 and len(first.ids) > budget and len(second.ids) > budget:
            first, second = self._segment_input(a), self._segment_input(b)
        return first, second

    def _row(self, first: Segment, second: Segment | None, add_special_tokens: bool, sample: int) -> dict:
        """One encoded row: [CLS] first [SEP] (second [SEP]), with everything the caller may ask for."""
        cls_, sep = ([self._post_ids[0]], [self._post_ids[1]]) if add_special_tokens else ([], [])
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

    def _padding_values(self, main: str = "input_ids") -> dict[str, Any]:
        """What each per-token key is padded with, in the call and in `pad`."""
        if self.pad_token_id is None:
            raise TokenizerError("asked to pad, but this tokenizer's pad_token is None; set one first "
                                 "(tokenizer.pad_token = '[PAD]'), or call without padding")
        return {main: self.pad_token_id, "token_type_ids": self.pad_token_type_id, "attention_mask": 0,
                "special_tokens_mask": 1, "offset_mapping": (0, 0)}

    def _pad(self, row: dict, width: int, side: str = "right") -> None:
        for key, value in {**self._padding_values(), "sequence_ids": None, "word_ids": None}.items():
            row[key] = pad_row(row[key], width, value, side)

    def encode(self, text: Any, text_pair: Any = None, **options: Any) -> list[int]:
        """The input ids of one text (or pair), with [CLS]/[SEP]."""
        if options.get("return_tensors") is not None:
            return self(text, text_pair, **options)["input_ids"]
        return list(self(text, text_pair, **options)["input_ids"])

    # -------------------------------------------------------------------------------- HF's other entry points

    def encode_plus(self, text: Any, text_pair: Any = None, **options: Any) -> BatchEncoding:
        """One text (or pair) encoded: what `tokenizer(text, text_pair, **options)` returns (transformers 4's
        name; transformers 5's fast tokenizer dropped it)."""
        batched, _ = self._inputs(text, "text", bool(options.get("is_split_into_words", False)))
        if batched:
            raise TokenizerError("encode_plus takes one text (or one text pair); for a batch use batch_encode_plus "
                                 "or call the tokenizer on the list")
        return self(text, text_pair, **options)

    def batch_encode_plus(self, batch_text_or_text_pairs: Any, **options: Any) -> BatchEncoding:
        """A batch of texts, or of (text, text_pair) tuples, encoded: what `tokenizer(texts, pairs, **options)`
        returns (transformers 4's name). With is_split_into_words, each item is a list of words, or a pair of
        such lists."""
        if "text_pair" in options:
            raise TokenizerError("batch_encode_plus takes the pairs inside the batch: [(text, text_pair), ...]")
        batch = batch_text_or_text_pairs
        if not isinstance(batch, (list, tuple)):
            raise TokenizerError(f"batch_encode_plus takes a list of texts or of (text, text_pair) tuples; got "
                                 f"{describe(batch)}")
        def word_pair(x: Any) -> bool:
            return isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(w, (list, tuple)) for w in x)

        if options.get("is_split_into_words") and batch and all(word_pair(x) for x in batch):
            return self([x[0] for x in batch], [x[1] for x in batch], **options)
        return self(list(batch), **options)  # a batch of (text, pair) tuples is split into pairs there

    chat_template = None  # as transformers' BERT tokenizers: none

    def apply_chat_template(self, conversation: Any, chat_template: str | None = None, **_: Any) -> Any:
        """Not supported, said plainly: MobileBERT is an encoder with no chat format (transformers' BERT
        tokenizers have no template either, and refuse the call with a ValueError, as this does), and a
        template is Jinja code, which this package never runs from a file."""
        raise TokenizerError("apply_chat_template: chat templates are not supported (MobileBERT is an encoder; "
                             "its tokenizer has no chat format, and a Jinja template is code this package does not "
                             "run); join the messages' text yourself and call the tokenizer on it")

    def pad(self, encoded_inputs: Any, padding: bool | str = True, max_length: int | None = None,
            pad_to_multiple_of: int | None = None, padding_side: str | None = None,
            return_attention_mask: bool | None = None, return_tensors: Any = None,
            verbose: bool = True) -> BatchEncoding:
        """Pad encoded examples to one length, as Hugging Face's `tokenizer.pad` (what a data collator calls):
        `encoded_inputs` is what the tokenizer returned, a dict of lists, or a list of dicts (one per example).
        input_ids get [PAD], token_type_ids 0, attention_mask 0 (made if missing, unless
        return_attention_mask=False), special_tokens_mask 1, offset_mapping (0, 0) (as the tokenizer pads
        them; HF's pad leaves offsets unpadded); other keys (labels, ...) pass through. padding: True /
        "longest", "max_length" (to max_length, default model_max_length), False. Arrays in give arrays out.
        A BatchEncoding the tokenizer made keeps word_ids() and the other alignment methods."""
        padding = getattr(padding, "value", padding)  # HF's PaddingStrategy enum
        if not isinstance(padding, (bool, str)) or padding not in PADDING:
            raise TokenizerError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        strategy = PADDING[padding]
        if max_length is not None:
            max_length = as_int(max_length, "max_length", low=0)
        if strategy == "max_length":
            max_length = self.model_max_length if max_length is None else max_length
            if max_length > MAX_PADDED_LENGTH:
                raise TokenizerError(f"padding='max_length' to {max_length:,} tokens is over {MAX_PADDED_LENGTH:,}; "
                                     "pass a max_length the model can read (512 for MobileBERT)")
        if pad_to_multiple_of is not None:
            pad_to_multiple_of = as_int(pad_to_multiple_of, "pad_to_multiple_of")
        side = self.padding_side if padding_side is None else as_side(padding_side, "padding_side")
        mask_when_empty = return_attention_mask is True
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        return_tensors = tensor_type_of(return_tensors)
        main = self.model_input_names[0]
        return pad_encoded(encoded_inputs, main=main, fill=self._padding_values(main), strategy=strategy, max_length=max_length,
                           multiple=pad_to_multiple_of, side=side,
                           add_attention_mask=as_bool(return_attention_mask, "return_attention_mask"),
                           return_tensors=return_tensors, vocab=self.ids_to_tokens, mask_when_empty=mask_when_empty)

    def prepare_for_model(self, ids: Sequence[int], pair_ids: Sequence[int] | None = None,
                          add_special_tokens: bool = True, padding: bool | str = False,
                          truncation: bool | str | None = False,
                          max_length: int | None = None, stride: int = 0, pad_to_multiple_of: int | None = None,
                          padding_side: str | None = None, return_tensors: Any = None,
                          return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                          return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
                          return_length: bool = False, verbose: bool = True,
                          prepend_batch_axis: bool = False) -> BatchEncoding:
        """Token ids (of one text, and of a pair) made into a model input as transformers' Python tokenizer
        does: truncated (truncate_sequences; truncation is off unless asked, or max_length given without
        padding), [CLS] A [SEP] (B [SEP]) added, token types, the attention mask, padding. The overflow, if
        asked for, is under "overflowing_tokens" (with "num_truncated_tokens"), one row only."""
        ids = self._id_list(ids)
        pair = None if pair_ids is None else self._id_list(pair_ids)
        add_special_tokens = as_bool(add_special_tokens, "add_special_tokens")
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # HF: a max_length alone turns truncation on
        if truncation is None:
            truncation = False
        truncation = getattr(truncation, "value", truncation)
        padding = getattr(padding, "value", padding)
        if not isinstance(truncation, (bool, str)) or truncation not in TRUNCATION:
            raise TokenizerError(f"truncation must be True, False, 'longest_first', 'only_first' or 'only_second', "
                                 f"got {truncation!r}")
        if not isinstance(padding, (bool, str)) or padding not in PADDING:
            raise TokenizerError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        strategy, pad_strategy = TRUNCATION[truncation], PADDING[padding]
        if max_length is None and self.model_max_length < NO_LIMIT:
            if pad_strategy == "max_length" or strategy != "do_not_truncate":
                max_length = self.model_max_length
        elif max_length is None and pad_strategy == "max_length":
            pad_strategy = "do_not_pad"  # HF: no limit known, nothing to pad to
        if max_length is not None:
            max_length = as_int(max_length, "max_length", low=0)
        if (strategy != "do_not_truncate" and pad_strategy != "do_not_pad" and pad_to_multiple_of is not None
                and max_length is not None and max_length % pad_to_multiple_of):
            raise TokenizerError(f"truncation to max_length={max_length} and padding to a multiple of "
                                 f"{pad_to_multiple_of} contradict each other; make max_length a multiple of it")
        if return_overflowing_tokens and strategy == "longest_first" and pair is not None:
            raise TokenizerError("Not possible to return overflowing tokens for pair of sequences with the "
                                 "`longest_first` truncation strategy (as in transformers); use 'only_first' or "
                                 "'only_second', or call the tokenizer on the texts, which returns every window")
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names

        n_special = self.num_special_tokens_to_add(pair is not None) if add_special_tokens else 0
        total = len(ids) + len(pair or []) + n_special
        overflowing: list[int] = []
        if strategy != "do_not_truncate" and max_length and total > max_length:
            ids, pair, overflowing = self.truncate_sequences(ids, pair, total - max_length, strategy, stride)
        if add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair)
            token_type_ids = self.create_token_type_ids_from_sequences(ids, pair)
        else:
            sequence = ids + (pair or [])
            token_type_ids = [0] * len(sequence)
        out: dict[str, Any] = {"input_ids": sequence}
        if return_token_type_ids:
            out["token_type_ids"] = token_type_ids
        if return_special_tokens_mask:
            out["special_tokens_mask"] = (self.get_special_tokens_mask(ids, pair) if add_special_tokens
                                          else [0] * len(sequence))
        if return_overflowing_tokens and not return_tensors and overflowing:
            out["overflowing_tokens"] = overflowing
            out["num_truncated_tokens"] = total - max_length if max_length else 0
        if pad_strategy != "do_not_pad" or return_attention_mask:
            out = dict(self.pad(out, padding=pad_strategy, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                                padding_side=padding_side, return_attention_mask=return_attention_mask))
        if return_length:
            out["length"] = len(out["input_ids"])
        return BatchEncoding(out, tensor_type=return_tensors, prepend_batch_axis=prepend_batch_axis)

    def truncate_sequences(self, ids: Sequence[int], pair_ids: Sequence[int] | None = None,
                           num_tokens_to_remove: int = 0, truncation_strategy: str = "longest_first",
                           stride: int = 0) -> tuple[list[int], list[int] | None, list[int]]:
        """Remove num_tokens_to_remove ids, as transformers' Python tokenizer does, on tokenizer.truncation_side.
        Returns (ids, pair_ids, overflowing_tokens): "only_first" / "only_second" (and "longest_first" with
        one sequence) cut that sequence and return what was cut plus `stride` ids of context as overflow;
        "longest_first" with a pair takes from the longer one first, then from both alike, and returns no
        overflow (as transformers)."""
        ids = list(ids)
        pair = None if pair_ids is None else list(pair_ids)
        if isinstance(num_tokens_to_remove, bool) or not isinstance(num_tokens_to_remove, (int, np.integer)):
            raise TokenizerError(f"num_tokens_to_remove is {num_tokens_to_remove!r}; it must be a whole number")
        stride = as_int(stride, "stride", low=0)
        if num_tokens_to_remove <= 0:
            return ids, pair, []
        name = getattr(truncation_strategy, "value", truncation_strategy)
        if not isinstance(name, (bool, str)) or name not in TRUNCATION:
            raise TokenizerError(f"truncation_strategy must be 'longest_first', 'only_first', 'only_second' or "
                                 f"'do_not_truncate', got {truncation_strategy!r}")
        strategy, right = TRUNCATION[name], self.truncation_side == "right"
        if strategy == "only_first" or (strategy == "longest_first" and pair is None):
            window = min(len(ids), stride + num_tokens_to_remove)
            overflow = ids[-window:] if right else ids[:window]
            return (ids[:-num_tokens_to_remove] if right else ids[num_tokens_to_remove:]), pair, overflow
        if strategy == "longest_first":
            len_ids, len_pair = len(ids), len(pair or [])
            first = min(abs(len_pair - len_ids), num_tokens_to_remove)  # from the longer, down to the other's length
            second = num_tokens_to_remove - first  # then from both alike
            if len_ids > len_pair:
                from_ids, from_pair = first + second // 2, second - second // 2
            else:
                from_ids, from_pair = second // 2, first + second - second // 2
            if right:
                ids = ids[:-from_ids] if from_ids > 0 else ids
                pair = pair[:-from_pair] if pair and from_pair > 0 else pair
            else:
                ids, pair = ids[from_ids:], pair[from_pair:] if pair else None
            return ids, pair, []
        if strategy == "only_second" and pair:
            window = min(len(pair), stride + num_tokens_to_remove)
            overflow = pair[-window:] if right else pair[:window]
            return ids, (pair[:-num_tokens_to_remove] if right else pair[num_tokens_to_remove:]), overflow
        return ids, pair, []

    # -------------------------------------------------------------------------------- decoding

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join WordPiece tokens into text: "##" pieces glue to the one before, others get a space; " ,"
        " ." " ?" " !" lose their space (the fast tokenizer's WordPiece decoder)."""
        out = []
        for i, token in enumerate(tokens):
            token = check_text(token, "a token")
            if i:
                token = token[len(PREFIX):] if token.startswith(PREFIX) else " " + token
            out.append(clean_up_piece(token))
        return "".join(out)

    def decode(self, ids: int | Sequence[int] | np.ndarray, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None, **_: Any) -> str:
        """Token ids back to text (lower-cased and accent-free, as the tokens are)."""
        if isinstance(ids, (int, np.integer)) and not isinstance(ids, bool):
            ids = [ids]
        text = self.convert_tokens_to_string(self.convert_ids_to_tokens(self._id_list(ids), skip_special_tokens))
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def clean_up_tokenization(self, text: str) -> str:
        """HF's whole-text clean-up: no space before . ? ! , and inside English contractions."""
        return clean_up_tokenization(check_text(text, "text"))

    def batch_decode(self, sequences: Iterable[Sequence[int]], **options: Any) -> list[str]:
        return [self.decode(s, **options) for s in sequences]

    def __repr__(self) -> str:
        return (f"MobileBertTokenizer(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"strip_accents={self.strip_accents}, model_max_length={self.model_max_length})")
