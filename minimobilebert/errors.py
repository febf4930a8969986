"""The one family of errors minimobilebert raises for a user's files and inputs.

Every problem with something a user handed us (a checkpoint, a config, a tokenizer file, a text, a
command-line argument) is one of these. Each message names the file, field or argument, and the fix. They
subclass ValueError, so code that caught ValueError before keeps working; the CLI turns any of them into
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations


class MiniMobileBertError(ValueError):
    """Base class: a file or input that minimobilebert cannot use, with the reason and the fix."""


class ConfigError(MiniMobileBertError):
    """A MobileBertConfig (or config.json) whose fields cannot describe a working model."""


class CheckpointError(MiniMobileBertError):
    """A checkpoint file that cannot be read: corrupt, truncated, unsafe, too large, or not a MobileBERT
    state dict."""


class CheckpointShapeError(CheckpointError, RuntimeError):
    """Checkpoint weights whose shapes differ from what the config describes. Also a RuntimeError, which is
    what transformers raises there ("size mismatch"); `ignore_mismatched_sizes=True` draws them at random."""


class MissingWeightsWarning(UserWarning):
    """Some of the encoder's own weights were not in the checkpoint and were drawn at random, as transformers
    does: the model runs, but its outputs mean nothing. The CLI stops with an error instead."""


class NewlyInitialisedWarning(UserWarning):
    """A task head or pooler was not in the checkpoint (or had another shape, with ignore_mismatched_sizes)
    and was drawn at random, as transformers does: the encoder is trained, the head is not. Commands that
    need a trained head (the corpus runner's tasks) stop on it; fine-tuning starts from it."""


class TokenizerError(MiniMobileBertError):
    """Tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json, ...) that cannot be used, or text
    input of a type the tokenizer does not take."""


class InputError(MiniMobileBertError):
    """Arguments to a model, pipeline or command that cannot work (ids out of range, bad labels, ...)."""


class BackendError(ConfigError):
    """A kernel backend setting that cannot work: an unknown name in MINIMOBILEBERT_BACKEND or use_backend(),
    a backend asked for explicitly under CI that cannot load, or a MINIMOBILEBERT_NUM_THREADS that is not a
    positive whole number. Raised when the backend is first used, not at import."""


class TokenizerFileNotFoundError(TokenizerError, FileNotFoundError):
    """A vocabulary file that is not there (a vocab.txt path, or a folder with neither vocab.txt nor
    tokenizer.json). Also a FileNotFoundError, so callers that fall back when a file is missing keep working."""


class TokenizerTypeError(TokenizerError, TypeError):
    """Tokenizer input of the wrong type: a text that is not a str (None, bytes, a number), a token id that is
    not an integer. Also a TypeError, which is what Hugging Face's tokenizers raise there (their own test
    suites expect it)."""


class TokenizerAttributeError(TokenizerError, AttributeError):
    """A tokenizer argument named like one of the tokenizer's methods (add_special_tokens=True given to the
    constructor would hide the method). Also an AttributeError, which Hugging Face's tokenizers raise there."""
