"""Step 2 of BERT's tokenization: split the normalized text into words.

A word is a maximal run of characters that are neither whitespace nor punctuation; every punctuation
character is a word of its own. So "don't" is three words ("don", "'", "t") and "3.5%" four. After step 1
the only whitespace left is " ".
"""

from __future__ import annotations

import functools
import re

from .normalize import is_punctuation

# ASCII text, in one regular expression: runs of non-space non-punctuation | one punctuation character.
ASCII_WORDS = re.compile(r"[^\s!-/:-@\[-`{-~]+|[!-/:-@\[-`{-~]")

is_punctuation_cached = functools.lru_cache(maxsize=1 << 16)(is_punctuation)  # same answers, remembered


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
        if ch == " " or is_punctuation_cached(ch):  # a word ends here
            if start is not None:
                spans.append((start, i))
                start = None
            if ch != " ":
                spans.append((i, i + 1))  # punctuation: a word of its own
        elif start is None:
            start = i  # a word starts here
    if start is not None:
        spans.append((start, len(normalized)))
    return spans
