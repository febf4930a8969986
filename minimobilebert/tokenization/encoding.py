"""What the tokenizer returns: `BatchEncoding` (Hugging Face's dict of lists or arrays, with what its fast
tokenizer keeps per token: word and sequence ids, character offsets, the tokens) and `Explanation` (every
intermediate step of one text, `MobileBertTokenizer.explain`).

The alignment methods (`token_to_word`, `char_to_token`, `word_to_tokens`, ...) answer as the fast
tokenizer's `tokenizers.Encoding` does, from four per-row records kept beside the dict (never as keys: the
keys are exactly those Hugging Face returns):

    sequence_ids  0 / 1 for a token of the first / second text, None for [CLS], [SEP] and padding
    word_ids      the index of the token's word in its text, None for special tokens and padding
    offsets       the token's [start, end) characters in its text ((0, 0) for special tokens and padding)
    ids           the token ids, for `tokens()`

A sequence's tokens are a contiguous run of its row. Asked about a sequence the row does not hold
(`sequence_index=1` of a single text), the fast tokenizer searches the whole row; so do we.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import TokenizerError
from ..validation import is_cpu


class CharSpan(NamedTuple):
    """Characters [start, end) of the original text (Hugging Face's `CharSpan`)."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Tokens [start, end) of an encoded row (Hugging Face's `TokenSpan`)."""

    start: int
    end: int


def _index(value: Any, what: str) -> int:
    """An index given by the caller: an int (or NumPy integer), never a bool or a float."""
    if isinstance(value, (bool, np.bool_)):
        raise TokenizerError(f"{what} is {value!r}; an index is a whole number")
    try:
        return operator.index(value)
    except TypeError:
        raise TokenizerError(f"{what} is {type(value).__name__} {value!r:.40}; an index is a whole number") from None


class BatchEncoding(dict):
    """What the tokenizer returns: a dict of `input_ids`, `token_type_ids`, `attention_mask` (and, on request,
    `offset_mapping`, `special_tokens_mask`, `overflow_to_sample_mapping`, `length`), lists or NumPy arrays;
    plus, per row, which text each token came from (`sequence_ids`), which word (`word_ids`), its characters
    and its token, behind the fast tokenizer's alignment methods.

    A BatchEncoding made from plain data (`BatchEncoding({"input_ids": ...})`, or `tokenizer.pad` of dicts)
    has no such records: `is_fast` is False and the alignment methods raise TokenizerError, as Hugging Face
    raises for a Python tokenizer's output."""

    def __init__(self, data: dict | None = None, sequence_ids: list[list] | None = None,
                 word_ids: list[list] | None = None, *, offsets: list[list] | None = None,
                 ids: list[list] | None = None, vocab: Sequence[str] | None = None, n_sequences: int | None = None,
                 tensor_type: Any = None, prepend_batch_axis: bool = False):
        super().__init__(data or {})
        self._sequence_ids, self._word_ids = sequence_ids, word_ids
        self._offsets, self._ids, self._vocab = offsets, ids, vocab
        self._n_sequences = n_sequences
        if tensor_type is not None:
            self.convert_to_tensors(tensor_type, prepend_batch_axis)

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    # ------------------------------------------------------------------------------------ as HF's dict

    @property
    def data(self) -> dict:
        """The dict itself (Hugging Face's BatchEncoding is a UserDict whose dict is `.data`; code reads it)."""
        return self

    @property
    def is_fast(self) -> bool:
        """True when made by the tokenizer: the per-token records behind the alignment methods are here."""
        return None not in (self._sequence_ids, self._word_ids, self._offsets, self._ids, self._vocab)

    @property
    def n_sequences(self) -> int | None:
        """How many texts each row was made from: 1, or 2 for text pairs (None: unknown)."""
        return self._n_sequences

    def convert_to_tensors(self, tensor_type: Any = None, prepend_batch_axis: bool = False) -> "BatchEncoding":
        """The values as NumPy int64 arrays (tensor_type "np"), or torch tensors made from those ("pt", see
        tensor_type_of); None leaves them as they are."""
        tensor_type = tensor_type_of(tensor_type)
        if tensor_type is None:
            return self
        for key, value in self.items():
            if tensor_type == "pt" and hasattr(value, "detach"):
                continue  # a torch tensor already
            if not isinstance(value, np.ndarray):
                value = to_array(key, [value] if prepend_batch_axis else value)
            self[key] = as_tensor(value, tensor_type)
        return self

    def to(self, device: Any) -> "BatchEncoding":
        """HF's `inputs.to(model.device)`: the CPU is the only device here, so the encoding itself."""
        if not is_cpu(device):
            raise TokenizerError(f"to({device!r}): minimobilebert runs on the CPU")
        return self

    # ------------------------------------------------------------------------------------ per-row records

    def _row(self, batch_index: Any, method: str) -> int:
        """The row asked for, checked; negative indexes count from the end, as for a list."""
        if not self.is_fast:
            raise TokenizerError(f"{method}() needs the per-token records the tokenizer keeps, and this BatchEncoding "
                                 "was made from plain data (BatchEncoding(dict), or tokenizer.pad of plain dicts); "
                                 "call it on what the tokenizer returned")
        rows, index = len(self._word_ids), _index(batch_index, "batch_index")
        if not -rows <= index < rows:
            raise IndexError(f"{method}(): batch index {index} is out of range; this encoding has {rows} row(s)")
        return index % rows

    def _split(self, first: Any, second: Any, method: str, what: str) -> tuple[int, int]:
        """Hugging Face's overloaded arguments: f(i) is row 0's index i; f(b, i) is row b's index i."""
        if second is None:
            return self._row(0, method), _index(first, what)
        return self._row(first, method), _index(second, what)

    def _token(self, row: int, token_index: int) -> int | None:
        """A token index of a row, negative ones counting from its end; None past either end."""
        length = len(self._word_ids[row])
        if token_index < 0:
            token_index += length
        return token_index if 0 <= token_index < length else None

    def _sequence_range(self, row: int, sequence_index: Any) -> range:
        """The tokens of one text of a row; the whole row if the row holds no such text (as the fast
        tokenizer answers)."""
        sequence_index = _index(sequence_index, "sequence_index")
        ids = self._sequence_ids[row]
        positions = [i for i, s in enumerate(ids) if s == sequence_index]
        return range(positions[0], positions[-1] + 1) if positions else range(len(ids))

    @staticmethod
    def _not_negative(value: int, what: str, method: str) -> int:
        if value < 0:
            raise TokenizerError(f"{method}(): {what} is {value}; it counts from the start of the text, so it "
                                 "must be 0 or more")
        return value

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: 0 for the first text, 1 for the second, None for special tokens and padding."""
        return list(self._sequence_ids[self._row(batch_index, "sequence_ids")])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: the index of its word in its text, None for special tokens and padding."""
        return list(self._word_ids[self._row(batch_index, "word_ids")])

    def words(self, batch_index: int = 0) -> list[int | None]:
        """word_ids (the name older transformers used; kept so code written for it runs)."""
        return list(self._word_ids[self._row(batch_index, "words")])

    def tokens(self, batch_index: int = 0) -> list[str]:
        """Per token: its string in the vocabulary ("[CLS]", "hello", "##ing", "[PAD]")."""
        row = self._row(batch_index, "tokens")
        vocab = self._vocab
        return [vocab[i] for i in self._ids[row]]

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Which text a token came from: 0 or 1; None for special tokens, padding, or past the row's end.
        token_to_sequence(i) asks about row 0; token_to_sequence(b, i) about row b."""
        row, index = self._split(batch_or_token_index, token_index, "token_to_sequence", "token_index")
        index = self._token(row, index)
        return None if index is None else self._sequence_ids[row][index]

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The index of a token's word in its text; None for special tokens and padding."""
        row, index = self._split(batch_or_token_index, token_index, "token_to_word", "token_index")
        index = self._token(row, index)
        if index is None or self._sequence_ids[row][index] is None:
            return None
        return self._word_ids[row][index]

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        """The characters [start, end) of a token in its text; None for special tokens and padding."""
        row, index = self._split(batch_or_token_index, token_index, "token_to_chars", "token_index")
        index = self._token(row, index)
        if index is None or self._sequence_ids[row][index] is None:
            return None
        return CharSpan(*self._offsets[row][index])

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        """The index of the token covering a character of the text (of text `sequence_index` of a pair);
        None if no token covers it (whitespace, a dropped control character, a truncated part)."""
        row, char = self._split(batch_or_char_index, char_index, "char_to_token", "char_index")
        char = self._not_negative(char, "char_index", "char_to_token")
        offsets = self._offsets[row]
        for i in self._sequence_range(row, sequence_index):
            start, end = offsets[i]
            if start <= char < end:
                return i
        return None

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None,
                     sequence_index: int = 0) -> int | None:
        """The index of the word covering a character of the text; None if no token covers it."""
        if char_index is None:
            batch_or_char_index, char_index = 0, batch_or_char_index
        token = self.char_to_token(batch_or_char_index, char_index, sequence_index)
        return None if token is None else self.token_to_word(batch_or_char_index, token)

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None,
                       sequence_index: int = 0) -> TokenSpan | None:
        """The tokens [start, end) of a word of the text (of text `sequence_index` of a pair); None if the
        word has no tokens in this row (truncated away, or no such word)."""
        row, word = self._split(batch_or_word_index, word_index, "word_to_tokens", "word_index")
        word = self._not_negative(word, "word_index", "word_to_tokens")
        words, start, end = self._word_ids[row], None, None
        for i in self._sequence_range(row, sequence_index):
            w = words[i]
            if w is not None and w > word:  # words only grow along a text: the word is behind us
                break
            if w == word:
                start = i if start is None else start
                end = i + 1
        return None if start is None else TokenSpan(start, end)

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None,
                      sequence_index: int = 0) -> CharSpan | None:
        """The characters [start, end) of a word of the text; None if the word has no tokens in this row
        (Hugging Face raises a TypeError there)."""
        if word_index is None:
            batch_or_word_index, word_index = 0, batch_or_word_index
        span = self.word_to_tokens(batch_or_word_index, word_index, sequence_index)
        if span is None:
            return None
        offsets = self._offsets[self._row(batch_or_word_index, "word_to_chars")]
        return CharSpan(offsets[span.start][0], offsets[span.end - 1][1])


def tensor_type_of(value: Any) -> str | None:
    """return_tensors as the tokenizer takes it: None (Python lists, as HF), "np" (NumPy int64 arrays, what
    minimobilebert's models take), or "pt": torch tensors made from those arrays, for transformers scripts
    (`model(**tokenizer(text, return_tensors="pt"))`), when torch is installed (minimobilebert itself never
    imports it otherwise; its models take torch CPU tensors too)."""
    value = getattr(value, "value", value)  # HF's TensorType enum
    if value not in (None, "np", "pt"):
        raise TokenizerError(f"return_tensors={value!r}: this tokenizer returns Python lists (None), NumPy arrays "
                             "('np') or, when torch is installed, torch tensors ('pt'); not tensorflow or jax")
    if value == "pt":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise TokenizerError("return_tensors='pt' asks for torch tensors, and torch is not installed (minimobilebert "
                                 "does not need it); return_tensors='np' gives NumPy arrays, which its models take") \
                from None
    return value


def as_tensor(array: np.ndarray, tensor_type: str) -> Any:
    """A NumPy array as `tensor_type` gives it: itself ("np"), or a torch tensor sharing its memory ("pt")."""
    if tensor_type == "pt" and array.dtype != object:
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    return array


def to_array(key: str, value: Any) -> np.ndarray:
    """One value of a BatchEncoding as a NumPy array: int64 for ids, masks and offsets; a value of another
    kind (a collator's labels, texts) as NumPy makes it. Rows of different lengths make no array."""
    try:
        if key in INT_KEYS:
            return np.array(value, dtype=np.int64)
        return np.asarray(value)
    except (ValueError, TypeError):
        raise TokenizerError(f"the rows of {key!r} have different lengths (or are not numbers), so they make no "
                             "array; pass padding=True (or 'max_length') with return_tensors='np'") from None


INT_KEYS = {"input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping", "length",
            "overflow_to_sample_mapping"}


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


# ------------------------------------------------------------------------------------ padding afterwards

TOKEN_KEYS = ("token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping")  # one value a token


def pad_encoded(inputs: Any, *, main: str, fill: dict[str, Any], strategy: str, max_length: int | None,
                multiple: int | None, side: str, add_attention_mask: bool, return_tensors: Any,
                vocab: Sequence[str], mask_when_empty: bool = False) -> BatchEncoding:
    """`MobileBertTokenizer.pad`: encoded examples (the tokenizer's BatchEncoding, a dict of lists, or a list
    of dicts as a data collator passes them) padded to one length. `fill` is the padding value of each
    per-token key (`main`, the ids, and TOKEN_KEYS); other keys (labels, ...) pass through untouched. A
    BatchEncoding made by the tokenizer keeps its per-token records, padded as the tokenizer pads them.
    Nothing to pad (no ids) returns the input, with an empty attention_mask only if `mask_when_empty` (HF
    adds it only when return_attention_mask=True was passed)."""
    data, records, n_sequences = _gather(inputs)
    if main not in data:
        raise TokenizerError(f"pad: no {main!r} among the keys {list(data)}; pad takes what the tokenizer returned "
                             f"({main}, and token_type_ids, attention_mask, ... of the same lengths)")
    arrays = False
    first = data.get(main)
    first = first[0] if isinstance(first, (list, tuple)) and first else first
    torch_in = hasattr(first, "detach")  # a torch tensor (of a batch, or the batch's first row)
    for key, value in data.items():
        data[key], was_array = _plain(value)
        arrays = arrays or (was_array and key == main)
    if return_tensors is None and arrays:
        return_tensors = "pt" if torch_in else "np"  # arrays in, arrays out (torch tensors in, torch out: as HF)
    ids = data[main]
    if not isinstance(ids, (list, tuple)):
        raise TokenizerError(f"pad: {main} is {type(ids).__name__}; it must be a list of token ids, or a list of "
                             "such lists (a batch)")
    if not ids:
        if mask_when_empty and "attention_mask" not in data:
            data["attention_mask"] = []
        return BatchEncoding(data)
    batched = isinstance(ids[0], (list, tuple))
    rows = [list(row) if isinstance(row, (list, tuple)) else row for row in ids] if batched else [list(ids)]
    for b, row in enumerate(rows):
        _check_ints(row, main, b if batched else None)
    if batched:
        for key, value in data.items():
            if not isinstance(value, (list, tuple)) or len(value) != len(rows):
                count = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
                raise TokenizerError(f"pad: {key!r} has {count} rows but {main!r} has {len(rows)}; every key needs "
                                     "one value per example")
    for key in TOKEN_KEYS:
        if key in data:
            for b, (row, value) in enumerate(zip(rows, data[key] if batched else [data[key]])):
                where = f"example {b}" if batched else "the example"
                if not isinstance(value, (list, tuple)) or len(value) != len(row):
                    size = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
                    raise TokenizerError(f"pad: {where} has {len(row)} {main} but {size} {key}; each token needs "
                                         f"one {key} value")
                if key != "offset_mapping":
                    _check_ints(value, key, b if batched else None)

    width = None
    if strategy == "longest":
        width = max(len(row) for row in rows)
    elif strategy == "max_length":
        width = max_length
    if width is not None and multiple:
        width = -(-width // multiple) * multiple

    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == main or key in TOKEN_KEYS:
            key_rows = rows if key == main else value if batched else [value]
            padded = [pad_row(r, width, fill[key], side) for r in key_rows]
            out[key] = padded if batched else padded[0]
        else:
            out[key] = value
    if add_attention_mask and "attention_mask" not in data:
        masks = [pad_row([1] * len(row), width, 0, side) for row in rows]
        out["attention_mask"] = masks if batched else masks[0]

    if records is not None and (len(records) != len(rows)
                                or any(len(r[0]) != len(row) for r, row in zip(records, rows))):
        records = None  # the data was changed since the tokenizer made it: its records no longer describe it
    if records is None:
        return BatchEncoding(out, tensor_type=return_tensors)
    id_rows = out[main] if batched else [out[main]]
    return BatchEncoding(out, [pad_row(r[0], width, None, side) for r in records],
                         [pad_row(r[1], width, None, side) for r in records],
                         offsets=[pad_row(r[2], width, (0, 0), side) for r in records], ids=[list(r) for r in id_rows],
                         vocab=vocab, n_sequences=n_sequences, tensor_type=return_tensors)


def _gather(inputs: Any) -> tuple[dict, list | None, int | None]:
    """(a dict of the values, the per-row records (sequence ids, word ids, offsets) if the tokenizer made
    the input, n_sequences)."""
    if isinstance(inputs, Mapping):
        data = dict(inputs)
        if isinstance(inputs, BatchEncoding) and inputs.is_fast:
            records = list(zip(inputs._sequence_ids, inputs._word_ids, inputs._offsets))
            return data, records, inputs.n_sequences
        return data, None, None
    if not isinstance(inputs, (list, tuple)):
        raise TokenizerError(f"pad takes what the tokenizer returned (a BatchEncoding), a dict of lists, or a list of "
                             f"dicts (one per example); got {type(inputs).__name__}")
    if not inputs:
        raise TokenizerError("pad got an empty list; give it the tokenizer's output, a dict of lists, or a list of "
                             "dicts (one per example)")
    bad = next((i for i, x in enumerate(inputs) if not isinstance(x, Mapping)), None)
    if bad is not None:
        raise TokenizerError(f"pad got a list whose item {bad} is {type(inputs[bad]).__name__}; a list given to pad "
                             "holds one dict per example (as a data collator passes them)")
    keys = list(inputs[0].keys())
    for i, example in enumerate(inputs):
        if set(example.keys()) != set(keys):
            raise TokenizerError(f"pad: example {i} has the keys {sorted(example)} but example 0 has {sorted(keys)}; "
                                 "every example needs the same keys")
    data = {key: [example[key] for example in inputs] for key in keys}
    if all(isinstance(x, BatchEncoding) and x.is_fast and len(x._word_ids) == 1 for x in inputs):
        records = [(x._sequence_ids[0], x._word_ids[0], x._offsets[0]) for x in inputs]
        n_sequences = {x.n_sequences for x in inputs}
        return data, records, n_sequences.pop() if len(n_sequences) == 1 else None
    return data, None, None


def _plain(value: Any) -> tuple[Any, bool]:
    """A value as Python lists (NumPy arrays, NumPy integers and anything else with .tolist() converted, two
    levels deep: a batch of rows), and whether it was or held such arrays."""
    if hasattr(value, "tolist") and not isinstance(value, (str, list, tuple)):
        return value.tolist(), True
    if isinstance(value, (list, tuple)) and any(hasattr(x, "tolist") or isinstance(x, (list, tuple)) for x in value):
        converted = [_plain(x) for x in value]
        return [x for x, _ in converted], any(was for _, was in converted)
    return value, False


def _check_ints(row: Any, key: str, example: int | None) -> None:
    where = "" if example is None else f" of example {example}"
    if not isinstance(row, list):
        raise TokenizerError(f"pad: {key}{where} is {type(row).__name__} {row!r:.40}; it must be a list of integers")
    if all(type(x) is int for x in row):
        return
    i, bad = next((i, x) for i, x in enumerate(row) if type(x) is not int)
    raise TokenizerError(f"pad: {key}{where} holds {type(bad).__name__} {bad!r:.40} at position {i}; {key} are "
                         "integers (token ids or 0/1 masks)")


def pad_row(row: Sequence, width: int | None, value: Any, side: str) -> list:
    """`row` as a list, padded with `value` to `width` items on `side` ("right" / "left"); as it is when it
    is already that long or width is None. The one padding rule of the tokenizer's call and of `pad`."""
    n = 0 if width is None else width - len(row)
    if n <= 0:
        return list(row)
    return list(row) + [value] * n if side == "right" else [value] * n + list(row)
