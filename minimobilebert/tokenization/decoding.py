"""Ids back to text: the spaces Hugging Face's decoders remove (before punctuation, inside English
contractions)."""

from __future__ import annotations


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
