"""BERT's tokenization, one step a module, as pure functions (no caches, no bookkeeping):

    normalize.py     step 1: normalize(text) -> (normalized text, origin of each character)
    pretokenize.py   step 2: split_words(normalized) -> word spans
    wordpiece.py     step 3: wordpiece(word, vocab) -> pieces (or None: [UNK]); wordpiece_steps shows its work

and what the tokenizer class (minimobilebert/tokenizer.py) needs around them:

    added.py         added tokens (add_tokens): found in the text before step 1, the text split around them
    truncation.py    fitting tokens into max_length: truncation and overflowing windows
    encoding.py      what the tokenizer returns (BatchEncoding) and explains (Explanation)
    decoding.py      the spaces removed when ids become text again
    loading.py       reading vocab.txt, tokenizer.json and the config files, every value checked
    compat.py        transformers' names for the steps: BasicTokenizer, WordpieceTokenizer, _is_*

    >>> from minimobilebert.tokenization import normalize, split_words, wordpiece
    >>> text, origin = normalize("Unaffable!")
    >>> [text[a:b] for a, b in split_words(text)]
    ['unaffable', '!']
    >>> wordpiece("unaffable", {"una": 0, "##ffa": 1, "##ble": 2})
    ['una', '##ffa', '##ble']
"""

from .normalize import normalize, normalize_char
from .pretokenize import split_words
from .wordpiece import PREFIX, wordpiece, wordpiece_steps

__all__ = ["PREFIX", "normalize", "normalize_char", "split_words", "wordpiece", "wordpiece_steps"]
