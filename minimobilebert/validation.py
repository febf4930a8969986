"""Check a forward call's arrays before any math runs, and say exactly what is wrong and how to fix it."""

from __future__ import annotations

import numpy as np

from .config import MobileBertConfig
from .errors import InputError


def is_cpu(device) -> bool:
    """Does a device argument (torch's and transformers' spellings: "cpu", "cpu:0", torch.device("cpu"))
    name the CPU, the only device minimobilebert runs on?"""
    text = str(device)
    return text == "cpu" or text.startswith("cpu:")


def _as_array(name: str, value, rank: int) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError:  # NumPy refuses ragged nested lists
        array = np.empty(0, dtype=object)
    except OverflowError:  # a Python int beyond int64
        array = np.empty(0, dtype=object)
    if array.dtype == object:
        raise InputError(f"{name} must be a rectangular array of integers that fit in int64 (ids are 0 .. "
                         "vocab_size - 1); pad the sequences to one length")
    if array.ndim != rank:
        shape = "(batch, seq)" if rank == 2 else "(batch, choices, seq)"
        fix = f"; add a batch axis with {name}[None, :]" if array.ndim == rank - 1 else ""
        raise InputError(f"{name} must have shape {shape}, got {array.ndim}-D shape {array.shape}{fix}")
    return array


def _as_ids(name: str, value, rank: int, upper: int, upper_name: str) -> np.ndarray:
    array = _as_array(name, value, rank)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"{name} must hold integer ids, got dtype {array.dtype}; convert with {name}.astype(np.int64)"
        )
    if array.size:
        low, high = array.min(), array.max()
        if low < 0 or high >= upper:
            bad = low if low < 0 else high
            where = tuple(int(i) for i in np.argwhere(array == bad)[0])
            raise InputError(
                f"{name} holds {int(bad)} at position {where}, outside [0, {upper}) ({upper_name}={upper}); "
                "check that the tokenizer and the checkpoint use the same vocabulary"
            )
    return array.astype(np.int64, copy=False)


def validate_inputs(config: MobileBertConfig, input_ids, attention_mask=None, token_type_ids=None,
                    position_ids=None, rank: int = 2):
    """Return (input_ids, attention_mask, token_type_ids, position_ids) as checked int64 arrays with the
    defaults filled in (token types 0, positions 0..T-1, no mask), or raise InputError (a ValueError)."""
    input_ids = _as_ids("input_ids", input_ids, rank, config.vocab_size, "vocab_size")
    return (input_ids, *_check_the_rest(config, "input_ids", input_ids.shape, attention_mask, token_type_ids,
                                        position_ids, rank))


def validate_inputs_embeds(config: MobileBertConfig, inputs_embeds, attention_mask=None, token_type_ids=None,
                           position_ids=None, rank: int = 2):
    """As validate_inputs, for word vectors given instead of ids (HF's inputs_embeds): (batch, seq,
    embedding_size), or (batch, choices, seq, embedding_size), any real float dtype, returned as float32."""
    try:
        embeds = np.asarray(inputs_embeds)
    except (ValueError, OverflowError):  # ragged nested lists
        embeds = np.empty(0, dtype=object)
    if embeds.dtype.kind != "f":
        raise InputError(f"inputs_embeds must be a rectangular array of floats, got dtype {embeds.dtype}; it holds "
                         "word vectors, e.g. model.get_input_embeddings()(input_ids)")
    if embeds.ndim != rank + 1:
        shape = "(batch, seq, embedding_size)" if rank == 2 else "(batch, choices, seq, embedding_size)"
        raise InputError(f"inputs_embeds must have shape {shape}, got {embeds.ndim}-D shape {embeds.shape}")
    if embeds.shape[-1] != config.embedding_size:
        raise InputError(f"inputs_embeds has vectors of width {embeds.shape[-1]}, but this model's word embeddings "
                         f"are embedding_size={config.embedding_size} wide; "
                         "model.get_input_embeddings()(input_ids) gives vectors of the right width")
    embeds = embeds.astype(np.float32, copy=False)
    return (embeds, *_check_the_rest(config, "inputs_embeds", embeds.shape[:-1], attention_mask, token_type_ids,
                                     position_ids, rank))


def _check_the_rest(config: MobileBertConfig, source: str, shape: tuple[int, ...], attention_mask, token_type_ids,
                    position_ids, rank: int):
    """attention_mask, token_type_ids and position_ids against the (batch[, choices], seq) shape of `source`."""
    if shape[-1] == 0 or 0 in shape:
        raise InputError(f"{source} has shape {shape}: every axis must be non-empty")
    seq_len = shape[-1]
    if position_ids is None and seq_len > config.max_position_embeddings:
        raise InputError(
            f"sequence length {seq_len} is longer than max_position_embeddings={config.max_position_embeddings}; "
            f"truncate the input to {config.max_position_embeddings} tokens (or split it into windows)"
        )

    if attention_mask is not None:
        attention_mask = _as_array("attention_mask", attention_mask, rank)
        if attention_mask.shape != shape:
            raise InputError(f"attention_mask has shape {attention_mask.shape} but {source} has {shape}; "
                             "they must match (1 = real token, 0 = padding)")
        if not np.isin(attention_mask, (0, 1)).all():
            raise InputError("attention_mask must hold only 0 (padding) and 1 (real token)")
        attention_mask = attention_mask.astype(np.int64)

    if token_type_ids is None:
        token_type_ids = np.zeros(shape, dtype=np.int64)
    else:
        token_type_ids = _as_ids("token_type_ids", token_type_ids, rank, config.type_vocab_size, "type_vocab_size")
        if token_type_ids.shape != shape:
            raise InputError(f"token_type_ids has shape {token_type_ids.shape} but {source} has {shape}")

    if position_ids is None:
        position_ids = np.broadcast_to(np.arange(seq_len, dtype=np.int64), shape)
    else:
        position_ids = _as_ids("position_ids", position_ids, rank, config.max_position_embeddings,
                               "max_position_embeddings")
        if position_ids.shape[-1] != seq_len or not all(a in (1, b) for a, b in zip(position_ids.shape, shape)):
            raise InputError(f"position_ids has shape {position_ids.shape}; it must be {shape} or broadcast to it")
        position_ids = np.broadcast_to(position_ids, shape)
    return attention_mask, token_type_ids, position_ids
