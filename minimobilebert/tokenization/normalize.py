"""Step 1 of BERT's tokenization: normalize the text.

Every input character becomes zero, one or more output characters, on its own (no character's result
depends on its neighbours):

- controls, format characters, NUL and U+FFFD disappear;
- every whitespace character becomes " ";
- accents are stripped: decompose (NFD: "é" -> "e" + U+0301), then drop the combining marks;
- upper case becomes lower case (per character: a word-final "Σ" becomes "σ", not "ς", as the fast
  tokenizer does);
- each CJK ideograph gets a space on both sides, so it becomes a word of its own (Chinese and Japanese are
  written without spaces).

`normalize` also returns, for each output character, the index of the input character it came from: that
is how the tokenizer reports each token's character span in the original text (`offset_mapping`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

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


# The CJK Unified Ideographs blocks, as the fast tokenizer lists them. Its table starts CJK Extension E at
# U+2B920, so U+2B820-U+2B91F is not split out as ideographs (BERT's Python code splits them).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_cjk(ch: str) -> bool:
    """A CJK ideograph: written without spaces, so each one is made a word of its own."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


# ------------------------------------------------------------------------------------ one character


def normalize_char(ch: str, lowercase: bool = True, strip_accents: bool = True, split_cjk: bool = True) -> str:
    """What one input character becomes: "" (a control, or a combining accent that is stripped), " " (any
    whitespace), " 字 " (a CJK ideograph, made a word of its own), or the character with its accents stripped
    and lower-cased (possibly longer: "İ" lower-cases to "i" + a combining dot).

    >>> normalize_char("É"), normalize_char("\\t"), normalize_char("東"), normalize_char("\\u200b")
    ('e', ' ', ' 東 ', '')
    """
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


# ------------------------------------------------------------------------------------ a whole text


class CharTable(dict):
    """normalize_char's results for one set of options, each computed the first time a character is seen
    (`table[ch]`). Only a speed-up: a character's result never changes. At most 65536 characters are kept."""

    def __init__(self, lowercase: bool, strip_accents: bool, split_cjk: bool):
        super().__init__()
        self.options = (lowercase, strip_accents, split_cjk)

    def __missing__(self, ch: str) -> str:
        if len(self) >= 1 << 16:
            self.clear()
        out = self[ch] = normalize_char(ch, *self.options)
        return out


TABLES: dict[tuple[bool, bool, bool], CharTable] = {}


def char_table(lowercase: bool = True, strip_accents: bool = True, split_cjk: bool = True) -> CharTable:
    options = (bool(lowercase), bool(strip_accents), bool(split_cjk))
    if options not in TABLES:
        TABLES[options] = CharTable(*options)
    return TABLES[options]


ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TABS_AND_NEWLINES_TO_SPACES = str.maketrans("\t\n\r", "   ")


def normalize(text: str, lowercase: bool = True, strip_accents: bool = True,
              split_cjk: bool = True) -> tuple[str, Sequence[int]]:
    """Step 1. The normalized text, and for each of its characters the index of the input character it
    came from (`origin`). Spaces go around CJK ideographs; whitespace becomes " "; controls and accents
    disappear.

    >>> text, origin = normalize("Café\\t東京!")
    >>> text, list(origin)
    ('cafe  東  京 !', [0, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 7])
    """
    if text.isascii() and not ASCII_CONTROL.search(text):
        # The common case: plain ASCII has no accents, controls or ideographs; one character in, one out.
        text = text.translate(TABS_AND_NEWLINES_TO_SPACES)
        return (text.lower() if lowercase else text), range(len(text))
    table = char_table(lowercase, strip_accents, split_cjk)  # normalize_char(ch), remembered
    pieces = [table[ch] for ch in text]
    normalized = "".join(pieces)
    if len(normalized) == len(text) and "" not in pieces:
        return normalized, range(len(text))  # still one character in, one out
    origin = [i for i, piece in enumerate(pieces) for _ in piece]  # input index, once per output character
    return normalized, origin
