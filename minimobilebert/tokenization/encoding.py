"""What the tokenizer returns: `BatchEncoding` (Hugging Face's dict of lists or arrays, with per-row word and
sequence ids) and `Explanation` (every intermediate step of one text, `MobileBertTokenizer.explain`)."""

from __future__ import annotations

from dataclasses import dataclass


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
