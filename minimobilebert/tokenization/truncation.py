"""Fitting tokenized texts into `max_length`: truncation and the overflowing windows, as Hugging Face's fast
tokenizer cuts them (its `truncation`, `stride`, `return_overflowing_tokens` and `truncation_side`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TokenizerError

# HF's argument values -> the strategy names its code uses.
TRUNCATION = {True: "longest_first", False: "do_not_truncate", "longest_first": "longest_first",
              "only_first": "only_first", "only_second": "only_second", "do_not_truncate": "do_not_truncate"}
PADDING = {True: "longest", False: "do_not_pad", "longest": "longest", "max_length": "max_length",
           "do_not_pad": "do_not_pad"}


@dataclass
class Segment:
    """One text after steps 1-3: its token ids, the character span of each in the original text, and the
    index of the word each belongs to."""

    ids: list[int] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    words: list[int] = field(default_factory=list)

    def window(self, start: int, stop: int) -> "Segment":
        return Segment(self.ids[start:stop], self.offsets[start:stop], self.words[start:stop])


def windows(length: int, budget: int, stride: int, side: str = "right") -> list[tuple[int, int]]:
    """[start, stop) windows of at most `budget` tokens over a sequence of `length`, each starting
    budget - stride after the previous one (so consecutive windows share `stride` tokens), until one
    reaches the end. The first window is the truncated sequence; the others are the overflow.
    side="left" cuts from the start instead: the first window is the last `budget` tokens, and the windows
    walk backwards.

    >>> windows(8, 3, 1), windows(8, 3, 1, side="left")
    ([(0, 3), (2, 5), (4, 7), (6, 8)], [(5, 8), (3, 6), (1, 4), (0, 2)])
    """
    if length <= budget:
        return [(0, length)]
    if budget == 0:  # nothing fits: the fast tokenizer keeps an empty window and overflows the whole sequence
        return [(0, 0), (0, length)] if side == "right" else [(length, length), (0, length)]
    if stride >= budget:
        raise TokenizerError(f"stride ({stride}) must be smaller than the tokens left for the text ({budget}); "
                             "lower stride or raise max_length")
    spans = []
    for start in range(0, length, budget - stride):
        stop = min(start + budget, length)
        spans.append((start, stop))
        if stop == length:
            break
    if side == "left":  # the same windows, mirrored
        spans = [(length - stop, length - start) for start, stop in spans]
    return spans


def main_window(length: int, budget: int, stride: int, side: str = "right") -> tuple[int, int]:
    """windows(length, budget, stride, side)[0] without the others."""
    if length > budget > 0 and stride >= budget:
        windows(length, budget, stride, side)  # raises, naming the fix
    if length <= budget:
        return 0, length
    return (0, budget) if side == "right" else (length - budget, length)


def truncation_windows(first: Segment, second: Segment | None, budget: int, strategy: str, stride: int,
                       side: str = "right", overflow: bool = True) -> list[tuple[Segment, Segment | None]]:
    """Fit the text (pair) into `budget` tokens as Hugging Face's fast tokenizer does. Returns the list of
    (first window, second window or None) pairs, the main one first, then (overflow=True) the overflowing
    ones."""
    n1, n2 = len(first.ids), 0 if second is None else len(second.ids)
    if strategy == "do_not_truncate" or n1 + n2 <= budget:
        return [(first, second)]
    len1, len2 = truncated_lengths(n1, None if second is None else n2, budget, strategy)
    if not overflow:  # the main window only (a pair's overflow is every window of one with every of the other)
        main1 = first.window(*main_window(n1, len1, stride, side))
        return [(main1, None if second is None else second.window(*main_window(n2, len2, stride, side)))]
    firsts = [first.window(a, b) for a, b in windows(n1, len1, stride, side)]
    if second is None:
        return [(w, None) for w in firsts]
    seconds = [second.window(a, b) for a, b in windows(n2, len2, stride, side)]
    # The fast tokenizer's order: the main pair; each overflowing first window with every second window;
    # then the first window with each overflowing second window.
    out = [(firsts[0], seconds[0])]
    out += [(f, s) for f in firsts[1:] for s in seconds]
    out += [(firsts[0], s) for s in seconds[1:]]
    return out


def truncated_lengths(n1: int, n2: int | None, budget: int, strategy: str) -> tuple[int, int]:
    """How many tokens of the first and of the second text (n2 None: no second text) the main window
    keeps, when n1 + n2 > budget."""
    if strategy == "longest_first":
        if n2 is None:
            return budget, 0
        short, long_ = sorted((n1, n2))  # the shorter keeps its length when it can; otherwise both get half
        long_ = short if short > budget else max(short, budget - short)
        if short + long_ > budget:
            short, long_ = budget // 2, budget // 2 + budget % 2
        return (short, long_) if n1 <= n2 else (long_, short)
    n2 = n2 or 0
    if strategy == "only_first":
        if n1 <= n1 + n2 - budget:
            raise TokenizerError(f"cannot truncate only the first text to fit max_length: the second text alone "
                                 f"has {n2} tokens and {budget} fit; use truncation='longest_first' or a larger "
                                 "max_length")
        return n1 - (n1 + n2 - budget), n2
    if strategy == "only_second":
        if n2 <= n1 + n2 - budget:
            raise TokenizerError(f"cannot truncate only the second text to fit max_length: the first text alone "
                                 f"has {n1} tokens and {budget} fit; use truncation='longest_first' or a larger "
                                 "max_length")
        return n1, n2 - (n1 + n2 - budget)
    raise TokenizerError(f"unknown truncation strategy {strategy!r}; use True / 'longest_first', 'only_first', "
                         "'only_second' or False")
