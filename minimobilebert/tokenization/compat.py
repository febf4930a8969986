"""transformers' names for the steps: `BasicTokenizer` (steps 1-2), `WordpieceTokenizer` (step 3) and the
`_is_*` character classes, over the pure functions, for code and tests written against
transformers.models.bert.tokenization_bert."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ..errors import TokenizerError
from .loading import as_bool, as_int, as_optional_bool, as_token, as_token_list, check_text
from .normalize import char_table, is_control, is_punctuation, is_whitespace, normalize
from .pretokenize import split_words
from .wordpiece import wordpiece


class BasicTokenizer:
    """Steps 1-2 (normalize, split words) behind transformers' `BasicTokenizer` interface, for code and tests
    written against it: `BasicTokenizer(do_lower_case=False).tokenize(" HeLLo!how ")` ->
    ['HeLLo', '!', 'how']. As transformers' Python tokenizer: controls are dropped, the text is split on
    whitespace, a piece listed in `never_split` is kept as it is, the others are normalized and split."""

    def __init__(self, do_lower_case: bool = True, never_split: Iterable[str] | None = None,
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 do_split_on_punc: bool = True):
        self.do_lower_case = as_bool(do_lower_case, "do_lower_case")
        strip_accents = as_optional_bool(strip_accents, "strip_accents")
        self.strip_accents = self.do_lower_case if strip_accents is None else strip_accents
        self.tokenize_chinese_chars = as_bool(tokenize_chinese_chars, "tokenize_chinese_chars")
        self.never_split = set(as_token_list(never_split, "never_split"))
        if not as_bool(do_split_on_punc, "do_split_on_punc"):
            raise TokenizerError("do_split_on_punc=False is not supported: BERT splits punctuation off")

    def tokenize(self, text: str, never_split: Iterable[str] | None = None) -> list[str]:
        keep = self.never_split | set(as_token_list(never_split, "never_split"))
        clean = char_table(False, False, False)  # controls -> "", whitespace -> " ", the rest as it is
        words = []
        for piece in "".join(clean[ch] for ch in check_text(text, "text")).split():
            if piece in keep:
                words.append(piece)
                continue
            normalized, _ = normalize(piece, self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars)
            words += [normalized[a:b] for a, b in split_words(normalized)]
        return words


class WordpieceTokenizer:
    """Step 3 behind transformers' `WordpieceTokenizer` interface: `tokenize(text)` splits on whitespace, then
    runs `wordpiece` on each word; a word that cannot be split is `unk_token`."""

    def __init__(self, vocab: Mapping[str, int] | Sequence[str], unk_token: str = "[UNK]",
                 max_input_chars_per_word: int = 100):
        self.vocab = vocab if isinstance(vocab, Mapping) else {t: i for i, t in enumerate(vocab)}
        self.unk_token = as_token(unk_token, "unk_token")
        self.max_input_chars_per_word = as_int(max_input_chars_per_word, "max_input_chars_per_word")

    def tokenize(self, text: str) -> list[str]:
        out = []
        for word in check_text(text, "text").split():
            out += wordpiece(word, self.vocab, self.max_input_chars_per_word) or [self.unk_token]
        return out


# transformers' names for the character classes (tests written against transformers import these)
_is_whitespace, _is_control, _is_punctuation = is_whitespace, is_control, is_punctuation
