"""Step 3 of BERT's tokenization: WordPiece, "a greedy longest-match-first algorithm" (BERT's
tokenization.py).

From the start of what is left of a word, take the longest prefix that is in the vocabulary, and repeat on
the rest; every piece after the first is looked up with "##" in front ("unaffable" -> "una", "##ffa",
"##ble"). A word that cannot be split so, or is longer than `max_chars` characters, becomes one "[UNK]".
"""

from __future__ import annotations

from typing import Container

PREFIX = "##"  # marks a piece that continues the word before it


def wordpiece(word: str, vocab: Container[str], max_chars: int = 100, longest: int | None = None) -> list[str] | None:
    """Step 3. Greedy longest-match-first split of one word into vocabulary pieces; None if impossible
    (the word then becomes [UNK], as a whole).

    `longest`, the length of the longest vocabulary entry, only saves lookups: no candidate longer than it
    can be found.

    >>> wordpiece("unaffable", {"un": 0, "##aff": 1, "##able": 2})
    ['un', '##aff', '##able']
    """
    if len(word) > max_chars:
        return None
    pieces, start = [], 0
    while start < len(word):
        end = len(word) if longest is None else min(len(word), start + longest)
        while end > start:  # the longest candidate first, one character shorter each time
            piece = word[start:end] if start == 0 else PREFIX + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return None  # no prefix of the rest is in the vocabulary
        pieces.append(piece)
        start = end
    return pieces


def wordpiece_steps(word: str, vocab: Container[str]) -> list[tuple[str, bool]]:
    """WordPiece showing its work: every lookup `wordpiece(word, vocab)` makes, in order, as (candidate
    piece, found). The same loop as `wordpiece`, with every candidate recorded.

    >>> wordpiece_steps("unable", {"un": 0, "##able": 1})
    [('unable', False), ('unabl', False), ('unab', False), ('una', False), ('un', True), ('##able', True)]
    """
    steps: list[tuple[str, bool]] = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else PREFIX + word[start:end]
            steps.append((piece, piece in vocab))
            if steps[-1][1]:
                break
            end -= 1
        else:
            return steps  # nothing matched: the word becomes [UNK]
        start = end
    return steps
