"""The parts of Hugging Face's tokenizer API beyond encoding, each compared with transformers on the same
vocab.txt: the BatchEncoding alignment methods (tokens, word/char/token/sequence mappings, as the fast
tokenizer's `tokenizers.Encoding` answers them), `tokenizer.pad` (as a data collator calls it),
`encode_plus` / `batch_encode_plus` (the fast tokenizer's __call__), `prepare_for_model` /
`truncate_sequences` (transformers 5 has them on its Python tokenizer only: BertTokenizerLegacy is the
oracle there) and the small attributes. The texts are tests/test_tokenizer.py's corpus."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tokenizer import CORPUS, PAIRS
from test_tokenizer_api import hf, ours, transformers  # noqa: F401 - the shared fixtures (HF's fast tokenizer)

from minimobilebert.errors import TokenizerError
from minimobilebert.tokenizer import VOCAB_FILE, BatchEncoding, MobileBertTokenizer

FIRSTS, SECONDS = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
SHORT = [t for t in CORPUS if len(t) < 70]  # a batch of varied lengths, all kept whole by max_length=64 below


@pytest.fixture(scope="module")
def legacy(transformers):
    return transformers.BertTokenizerLegacy(vocab_file=VOCAB_FILE, model_max_length=16)


def hf_or_none(call):
    """HF's answer, None where HF raises a TypeError instead (word_to_chars of a word with no tokens does
    CharSpan(*None))."""
    try:
        return call()
    except TypeError:
        return None


def plain(value):
    """Lists of tuples for offsets; arrays as lists: a value comparable across the two libraries."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def same_dict(ours_enc, hf_enc):
    assert list(ours_enc.keys()) == list(hf_enc.keys())
    for key in hf_enc:
        a, b = ours_enc[key], hf_enc[key]
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, key
        assert plain(a) == plain(b), f"{key}: ours {plain(a)} != HF {plain(b)}"


def assert_same_alignment(ours_enc, hf_enc, texts_a, texts_b=None):
    """Every alignment method, on every row, token, character and word, answers as HF's."""
    ids = hf_enc["input_ids"]
    id_rows = [ids] if len(ids) and not isinstance(ids[0], (list, np.ndarray)) else ids  # one text: flat lists
    rows = len(id_rows)
    assert ours_enc.is_fast and hf_enc.is_fast
    assert ours_enc.n_sequences == hf_enc.n_sequences
    samples = hf_enc["overflow_to_sample_mapping"] if "overflow_to_sample_mapping" in hf_enc else range(rows)
    for b in range(rows):
        length = len(id_rows[b])
        assert ours_enc.tokens(b) == hf_enc.tokens(b), f"tokens row {b}"
        assert ours_enc.words(b) == ours_enc.word_ids(b) == hf_enc.word_ids(b), f"word ids row {b}"
        assert ours_enc.sequence_ids(b) == hf_enc.sequence_ids(b), f"sequence ids row {b}"
        for i in range(length + 2):  # and past the row's end
            assert ours_enc.token_to_word(b, i) == hf_enc.token_to_word(b, i), (b, i)
            assert ours_enc.token_to_sequence(b, i) == hf_enc.token_to_sequence(b, i), (b, i)
            assert ours_enc.token_to_chars(b, i) == hf_enc.token_to_chars(b, i), (b, i)
        sample = int(samples[b])
        texts = [texts_a[sample]] + ([] if texts_b is None else [texts_b[sample]])
        words = max((w for w in hf_enc.word_ids(b) if w is not None), default=0)
        for sequence in range(len(texts) + 1):  # and a sequence the row does not hold
            for c in range(max(len(t) for t in texts) + 2):
                assert ours_enc.char_to_token(b, c, sequence_index=sequence) == \
                    hf_enc.char_to_token(b, c, sequence_index=sequence), (b, c, sequence)
                assert ours_enc.char_to_word(b, c, sequence_index=sequence) == \
                    hf_enc.char_to_word(b, c, sequence_index=sequence), (b, c, sequence)
            for w in range(words + 3):
                assert ours_enc.word_to_tokens(b, w, sequence_index=sequence) == \
                    hf_enc.word_to_tokens(b, w, sequence_index=sequence), (b, w, sequence)
                assert ours_enc.word_to_chars(b, w, sequence_index=sequence) == \
                    hf_or_none(lambda: hf_enc.word_to_chars(b, w, sequence_index=sequence)), (b, w, sequence)
    # the one-argument forms ask about row 0
    for i in range(len(id_rows[0])):
        assert ours_enc.token_to_word(i) == hf_enc.token_to_word(i)
        assert ours_enc.token_to_chars(i) == hf_enc.token_to_chars(i)
        assert ours_enc.token_to_sequence(i) == hf_enc.token_to_sequence(i)
    for c in range(len(texts_a[int(samples[0])]) + 1):
        assert ours_enc.char_to_token(c) == hf_enc.char_to_token(c)
        assert ours_enc.char_to_word(c) == hf_enc.char_to_word(c)
    assert ours_enc.word_to_tokens(0) == hf_enc.word_to_tokens(0)
    assert ours_enc.word_to_chars(0) == hf_or_none(lambda: hf_enc.word_to_chars(0))


# ------------------------------------------------------------------------------ alignment methods


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    {},
    {"padding": True, "return_tensors": "np"},
    {"padding": True, "padding_side": "left"},
    {"add_special_tokens": False, "padding": True},
    {"truncation": True, "max_length": 8, "return_overflowing_tokens": True, "stride": 2},
], ids=["plain", "padded_arrays", "left_padding", "no_special_tokens", "overflow"])
def test_alignment_of_single_texts_matches_hf(ours, hf, options):
    assert_same_alignment(ours(CORPUS, **options), hf(CORPUS, **options), CORPUS)


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    {},
    {"padding": True, "padding_side": "left"},
    {"add_special_tokens": False, "padding": True},
    {"truncation": "only_second", "max_length": 16, "stride": 4, "return_overflowing_tokens": True, "padding": True},
    {"truncation": "longest_first", "max_length": 14, "stride": 3, "return_overflowing_tokens": True},
], ids=["plain", "left_padding", "no_special_tokens", "only_second_windows", "longest_first_windows"])
def test_alignment_of_pairs_matches_hf(ours, hf, options):
    firsts, seconds = (FIRSTS[:3], SECONDS[:3]) if options.get("truncation") == "only_second" else (FIRSTS, SECONDS)
    assert_same_alignment(ours(firsts, seconds, **options), hf(firsts, seconds, **options), firsts, seconds)


@pytest.mark.oracle
def test_alignment_of_one_text_and_of_words_matches_hf(ours, hf):
    for text in ("Hello, my dog is cute", "", "a[MASK]b Ünïcödé 東京"):
        assert_same_alignment(ours(text), hf(text), [text])
    pair = ("Who was Jim Henson?", "Jim Henson was a nice puppet")
    assert_same_alignment(ours(*pair), hf(*pair), [pair[0]], [pair[1]])
    words = [["Hello", "world", "don't"], ["a[MASK]", " ", "Ünïcödé", ""]]
    options = dict(is_split_into_words=True, padding=True)
    ours_enc, hf_enc = ours(words, **options), hf(words, **options)
    for b in range(2):
        assert ours_enc.tokens(b) == hf_enc.tokens(b) and ours_enc.word_ids(b) == hf_enc.word_ids(b)
        for w in range(6):
            assert ours_enc.word_to_tokens(b, w) == hf_enc.word_to_tokens(b, w)
        for i in range(len(hf_enc["input_ids"][b])):
            assert ours_enc.token_to_chars(b, i) == hf_enc.token_to_chars(b, i)


@pytest.mark.oracle
def test_alignment_results_are_hf_named_tuples(ours, hf):
    enc, theirs = ours("Hello world"), hf("Hello world")
    span, token_span = enc.token_to_chars(1), enc.word_to_tokens(1)
    assert (span.start, span.end) == tuple(theirs.token_to_chars(1)) and type(span).__name__ == "CharSpan"
    assert (token_span.start, token_span.end) == tuple(theirs.word_to_tokens(1))
    assert type(token_span).__name__ == "TokenSpan" and span._fields == ("start", "end")


@pytest.mark.oracle
def test_negative_indexes_count_from_the_end(ours, hf):
    """HF's code means negative batch and token indexes to count from the end (its own attempt fails with
    an AttributeError, or an OverflowError in the Rust binding); ours do, checked against HF's answer at
    the index counted from the start."""
    ours_enc, hf_enc = ours(SHORT[:4], padding=True), hf(SHORT[:4], padding=True)
    rows, length = len(hf_enc["input_ids"]), len(hf_enc["input_ids"][0])
    for b in range(-rows, 0):
        assert ours_enc.tokens(b) == hf_enc.tokens(rows + b)
        assert ours_enc.word_ids(b) == hf_enc.word_ids(rows + b)
        for i in range(-length, 0):
            assert ours_enc.token_to_word(b, i) == hf_enc.token_to_word(rows + b, length + i)
            assert ours_enc.token_to_chars(b, i) == hf_enc.token_to_chars(rows + b, length + i)
            assert ours_enc.token_to_sequence(b, i) == hf_enc.token_to_sequence(rows + b, length + i)
    assert ours_enc.word_to_tokens(-1, 0) == hf_enc.word_to_tokens(rows - 1, 0)
    assert ours_enc.char_to_token(-1, 0) == hf_enc.char_to_token(rows - 1, 0)


@pytest.mark.oracle
def test_alignment_refuses_what_hf_refuses(ours, hf, transformers):
    ours_enc, hf_enc = ours(["a b", "c"]), hf(["a b", "c"])
    with pytest.raises(IndexError):
        hf_enc.token_to_chars(2, 0)
    with pytest.raises(IndexError, match="batch index 2 is out of range; this encoding has 2 row"):
        ours_enc.token_to_chars(2, 0)
    with pytest.raises(TypeError):
        hf_enc.token_to_word(1.0)
    with pytest.raises(TokenizerError, match="token_index is float 1.0; an index is a whole number"):
        ours_enc.token_to_word(1.0)
    with pytest.raises(OverflowError):
        hf_enc.char_to_token(-1)
    with pytest.raises(TokenizerError, match="char_index is -1; it counts from the start of the text"):
        ours_enc.char_to_token(-1)
    # A BatchEncoding made from plain data has no records, in HF as here
    theirs, mine = transformers.BatchEncoding({"input_ids": [[1, 2]]}), BatchEncoding({"input_ids": [[1, 2]]})
    assert mine.is_fast == theirs.is_fast is False
    for method in ("tokens", "word_ids", "sequence_ids", "token_to_word"):
        with pytest.raises(ValueError):
            getattr(theirs, method)(0)
        with pytest.raises(TokenizerError, match=rf"{method}\(\) needs the per-token records"):
            getattr(mine, method)(0)


@pytest.mark.oracle
def test_keys_stay_what_hf_returns(ours, hf):
    """The records behind the alignment methods are kept beside the dict, never as keys."""
    for options in ({}, {"return_offsets_mapping": True}, {"return_tensors": "np"}):
        assert list(ours("a b", **options).keys()) == list(hf("a b", **options).keys())
        assert list(ours(["a", "b c"], ["d", "e"], **options, padding=True).keys()) == \
            list(hf(["a", "b c"], ["d", "e"], **options, padding=True).keys())
    assert ours("a b").data == hf("a b").data


# Characters that normalize one to one (ASCII, accents stripped off Latin letters, ideographs), so that
# each token starts at a character no other token starts at.
ONE_TO_ONE = st.sampled_from(list("abcdefghij xyz XYZ 0123 ,.!?'-#$%") + ["é", "Ü", "ç", "東", "京", "\t", "\n"])


@pytest.mark.oracle
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(ONE_TO_ONE, max_size=40), min_size=1, max_size=3), data=st.data())
def test_alignment_round_trips_and_matches_hf(ours, hf, texts, data):
    """For every text token: char_to_token(token_to_chars(i).start) == i, and i is inside
    word_to_tokens(token_to_word(i)); every answer also HF's."""
    side = data.draw(st.sampled_from(["right", "left"]))
    enc = ours(texts, padding=True, padding_side=side)
    assert_same_alignment(enc, hf(texts, padding=True, padding_side=side), texts)
    for b in range(len(texts)):
        for i, sequence in enumerate(enc.sequence_ids(b)):
            if sequence is None:
                assert enc.token_to_chars(b, i) is None
                continue
            assert enc.char_to_token(b, enc.token_to_chars(b, i).start) == i
            span = enc.word_to_tokens(b, enc.token_to_word(b, i))
            assert span.start <= i < span.end


# ------------------------------------------------------------------------------ pad


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    {},
    {"padding": "longest", "padding_side": "left"},
    {"padding": "max_length", "max_length": 64},
    {"padding": True, "pad_to_multiple_of": 8},
    {"padding": False},
    {"return_tensors": "np"},
    {"padding": "max_length", "max_length": 64, "return_tensors": "np", "padding_side": "left"},
], ids=["longest", "left", "max_length", "multiple_of", "no_padding", "arrays", "arrays_max_length_left"])
def test_pad_matches_hf(ours, hf, options):
    encoded = dict(return_special_tokens_mask=True)
    for args in ((SHORT,), (FIRSTS, SECONDS)):
        ours_enc, hf_enc = ours(*args, **encoded), hf(*args, **encoded)
        same_dict(ours.pad(ours_enc, **options), hf.pad(hf_enc, **options))
        # the same data as a collator passes it: one dict per example, with a label
        examples = [{**{k: v[i] for k, v in hf_enc.items()}, "labels": i % 3} for i in range(len(hf_enc["input_ids"]))]
        same_dict(ours.pad(examples, **options), hf.pad(examples, **options))
        # a dict of lists
        same_dict(ours.pad(dict(hf_enc), **options), hf.pad(dict(hf_enc), **options))


@pytest.mark.oracle
def test_pad_keeps_the_records_and_pads_offsets_as_the_tokenizer_does(ours, hf):
    """Padding afterwards gives what padding at the call gives: HF's tokenizer(padding=True) is the oracle
    for the offsets (HF's own pad leaves offset_mapping unpadded) and for the alignment methods (HF's pad
    drops them)."""
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    for side in ("right", "left"):
        for args in ((SHORT,), (FIRSTS, SECONDS)):
            padded = ours.pad(ours(*args, **options), padding_side=side)
            at_call = hf(*args, **options, padding=True, padding_side=side)
            same_dict(padded, at_call)
            assert_same_alignment(padded, at_call, *args)
    examples = [ours(text, **options) for text in SHORT[:5]]  # a list of BatchEncodings, one text each
    padded = ours.pad(examples, padding="max_length", max_length=24)
    at_call = hf(SHORT[:5], **options, padding="max_length", max_length=24)
    same_dict(padded, at_call)
    assert_same_alignment(padded, at_call, SHORT[:5])


@pytest.mark.oracle
def test_pad_of_single_examples_arrays_and_empty_rows_matches_hf(ours, hf, oracle):
    for options in ({}, {"padding": "max_length", "max_length": 12}, {"pad_to_multiple_of": 8},
                    {"padding": "max_length", "max_length": 12, "return_tensors": "np"}):
        single = hf("This is a input 1")  # (HF's pad changes a single example in place)
        same_dict(ours.pad(ours("This is a input 1"), **options), hf.pad(single, **options))
    batch = {"input_ids": np.array([[101, 7592, 102], [101, 102, 0]]),
             "attention_mask": np.array([[1, 1, 1], [1, 1, 0]])}
    same_dict(ours.pad(batch, padding="max_length", max_length=5),
              hf.pad(dict(batch), padding="max_length", max_length=5))
    examples = [{"input_ids": np.array([101, 7592, 102])}, {"input_ids": np.array([101, 102])}]
    same_dict(ours.pad(examples), hf.pad(examples))
    torch = oracle[0]  # torch tensors in: torch tensors out, as HF
    tensors = [{k: torch.tensor(v) for k, v in e.items()} for e in examples]
    mine, theirs = ours.pad(tensors), hf.pad(tensors)
    assert all(isinstance(mine[k], torch.Tensor) and mine[k].dtype == theirs[k].dtype for k in theirs)
    same_dict({k: v.numpy() for k, v in mine.items()}, {k: v.numpy() for k, v in theirs.items()})
    empty_rows = {"input_ids": [[], []]}
    same_dict(ours.pad(empty_rows, padding="max_length", max_length=5),
              hf.pad({"input_ids": [[], []]}, padding="max_length", max_length=5))
    assert dict(ours.pad({"input_ids": []})) == hf.pad({"input_ids": []})
    assert dict(ours.pad({"input_ids": []}, return_attention_mask=True)) == \
        hf.pad({"input_ids": []}, return_attention_mask=True)
    features = [{"input_ids": [1, 2, 3, 4, 5, 6], "attention_mask": [1, 1, 1, 1, 1, 0]},  # HF's common test
                {"input_ids": [1, 2, 3], "attention_mask": [1, 1, 0]}]
    for side in ("right", "left"):
        same_dict(ours.pad(features, padding_side=side), hf.pad(features, padding_side=side))


@pytest.mark.oracle
def test_transformers_data_collator_runs_on_our_tokenizer(ours, hf, transformers):
    """HF's own DataCollatorWithPadding, given our tokenizer, batches as with HF's."""
    features = [{**{k: v for k, v in hf(text).items()}, "label": i % 2} for i, text in enumerate(SHORT[:6])]
    for options in ({}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 40}):
        collate_ours = transformers.DataCollatorWithPadding(tokenizer=ours, return_tensors="np", **options)
        collate_hf = transformers.DataCollatorWithPadding(tokenizer=hf, return_tensors="np", **options)
        same_dict(collate_ours([dict(f) for f in features]), collate_hf([dict(f) for f in features]))


@pytest.mark.oracle
def test_pad_refuses_bad_input_by_name(ours, hf):
    with pytest.raises(ValueError):  # HF refuses it too
        hf.pad({"attention_mask": [[1]]})
    with pytest.raises(TokenizerError, match=r"pad: no 'input_ids' among the keys \['attention_mask'\]"):
        ours.pad({"attention_mask": [[1]]})
    with pytest.raises(KeyError):
        hf.pad([{"input_ids": [1], "labels": 0}, {"input_ids": [2]}])
    with pytest.raises(TokenizerError, match=r"example 1 has the keys \['input_ids'\] but example 0 has"):
        ours.pad([{"input_ids": [1], "labels": 0}, {"input_ids": [2]}])
    with pytest.raises(AssertionError):
        hf.pad({"input_ids": [[1], [2]], "labels": [0]})
    with pytest.raises(TokenizerError, match=r"'labels' has 1 rows but 'input_ids' has 2"):
        ours.pad({"input_ids": [[1], [2]], "labels": [0]})
    for bad, shown in ((["a", "b"], "str 'a' at position 0"), ([[1, 2], [3, None]], "NoneType None at position 1"),
                       ([[1, 2.5]], "float 2.5 at position 1"), ([[True, 1]], "bool True at position 0")):
        with pytest.raises(TokenizerError, match=rf"input_ids.* holds {shown}; input_ids are integers"):
            ours.pad({"input_ids": bad})
    with pytest.raises(TokenizerError, match="has 3 input_ids but 2 token_type_ids"):
        ours.pad({"input_ids": [[1, 2, 3]], "token_type_ids": [[0, 0]]})
    with pytest.raises(TokenizerError, match="a list given to pad holds one dict per example"):
        ours.pad([{"input_ids": [1]}, [2]])
    with pytest.raises(TokenizerError, match="pad takes what the tokenizer returned"):
        ours.pad("input_ids")
    with pytest.raises(TokenizerError, match="not tensorflow or jax"):
        ours.pad({"input_ids": [[1]]}, return_tensors="tf")
    with pytest.raises(TokenizerError, match="padding must be"):
        ours.pad({"input_ids": [[1]]}, padding="middle")
    with pytest.raises(TokenizerError, match="different lengths"):
        ours.pad({"input_ids": [[1], [2, 3]]}, padding=False, return_tensors="np")


# ------------------------------------------------------------------------------ encode_plus, prepare_for_model


@pytest.mark.oracle
def test_encode_plus_and_batch_encode_plus_are_the_call(ours, hf):
    """transformers 5's fast tokenizer dropped these names; they return what its __call__ returns."""
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    for text, pair in [("Hello, my dog is cute", None), PAIRS[0], ("", None)]:
        same_dict(ours.encode_plus(text, pair, **options), hf(text, pair, **options))
    same_dict(ours.encode_plus("a b c", max_length=3, truncation=True), hf("a b c", max_length=3, truncation=True))
    same_dict(ours.batch_encode_plus(SHORT, padding=True, **options), hf(SHORT, padding=True, **options))
    same_dict(ours.batch_encode_plus(PAIRS, **options), hf(FIRSTS, SECONDS, **options))
    words = [(p[0].split(), p[1].split()) for p in PAIRS]
    same_dict(ours.batch_encode_plus(words, is_split_into_words=True),
              hf([w[0] for w in words], [w[1] for w in words], is_split_into_words=True))
    same_dict(ours.batch_encode_plus([p[0].split() for p in PAIRS], is_split_into_words=True),
              hf([p[0].split() for p in PAIRS], is_split_into_words=True))
    same_dict(ours.encode_plus(["Hello", "world"], is_split_into_words=True),
              hf(["Hello", "world"], is_split_into_words=True))
    with pytest.raises(TokenizerError, match="encode_plus takes one text"):
        ours.encode_plus(["a", "b"])
    with pytest.raises(TokenizerError, match="batch_encode_plus takes a list"):
        ours.batch_encode_plus("a")


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    {},
    {"add_special_tokens": False},
    {"max_length": 9},  # no truncation: it is off by default here, unlike in __call__
    {"truncation": None, "max_length": 9},  # a max_length alone then truncates
    {"truncation": True},  # to model_max_length (16 on both)
    {"truncation": "only_first", "max_length": 12, "stride": 2, "return_overflowing_tokens": True},
    {"truncation": "only_second", "max_length": 12, "stride": 1, "return_overflowing_tokens": True},
    {"truncation": "longest_first", "max_length": 11},
    {"padding": "max_length", "max_length": 40, "return_special_tokens_mask": True},
    {"padding": True, "pad_to_multiple_of": 8, "padding_side": "left", "return_length": True},
    {"return_attention_mask": False, "return_token_type_ids": False},
    {"return_tensors": "np", "prepend_batch_axis": True, "return_length": True},
])
def test_prepare_for_model_matches_the_python_tokenizer(transformers, legacy, options):
    ours = MobileBertTokenizer(model_max_length=16)
    ids = ours.encode("It was the best of times, it was the worst of times; the age of wisdom",
                      add_special_tokens=False)
    pair = ours.encode("Who was Jim Henson? A puppeteer from Mississippi", add_special_tokens=False)
    # BertTokenizerLegacy's model_input_names lack token_type_ids, so it leaves them out unless asked
    types = {} if "return_token_type_ids" in options else {"return_token_type_ids": True}
    for first, second in ((ids, None), (ids, pair), (pair[:3], ids), ([], None)):
        same_dict(ours.prepare_for_model(first, second, **options, **types),
                  legacy.prepare_for_model(first, second, **options, **types))


@pytest.mark.oracle
def test_prepare_for_model_is_encode_plus_on_the_ids(ours, hf):
    """HF's common test: prepare_for_model(encode(text, no specials)) == encode_plus(text)."""
    for text in ("Testing the prepare_for_model method.", "Hello, my dog is cute"):
        ids = hf(text, add_special_tokens=False)["input_ids"]
        same_dict(ours.prepare_for_model(ids), hf(text))
        same_dict(ours.prepare_for_model(ids, add_special_tokens=True), ours.encode_plus(text))
    with pytest.raises(TokenizerError, match="Not possible to return overflowing tokens for pair of sequences"):
        ours.prepare_for_model([1, 2, 3], [4, 5], truncation="longest_first", max_length=4,
                               return_overflowing_tokens=True)


@pytest.mark.oracle
def test_truncate_sequences_matches_the_python_tokenizer(transformers):
    ids, pair = list(range(1000, 1012)), list(range(2000, 2005))
    for side in ("right", "left"):
        ours = MobileBertTokenizer(truncation_side=side)
        theirs = transformers.BertTokenizerLegacy(vocab_file=VOCAB_FILE, truncation_side=side)
        for strategy in ("longest_first", "only_first", "only_second", "do_not_truncate"):
            for second in (None, pair, []):
                for remove in (0, 1, 3, 7, 9, 20):
                    for stride in (0, 2):
                        args = (ids, second, remove, strategy, stride)
                        assert ours.truncate_sequences(*args) == theirs.truncate_sequences(*args), args


# ------------------------------------------------------------------------------ small attributes


@pytest.mark.oracle
def test_small_attributes_match_hf(ours, hf, legacy, tmp_path, transformers):
    sized = transformers.BertTokenizer(vocab=VOCAB_FILE, model_max_length=512)
    assert ours.max_len_single_sentence == sized.max_len_single_sentence
    assert ours.max_len_sentences_pair == sized.max_len_sentences_pair
    assert ours.added_tokens_encoder == hf.added_tokens_encoder
    assert list(ours.added_tokens_encoder) == list(hf.added_tokens_encoder)
    assert ours.get_added_vocab() == hf.get_added_vocab()
    for name in ("bos_token", "eos_token", "bos_token_id", "eos_token_id", "init_inputs", "model_input_names",
                 "pad_token_type_id", "padding_side", "truncation_side"):
        assert getattr(ours, name) == getattr(hf, name), name
    text = "Hello , my dog is n't cute ! He 's here ."
    assert ours.clean_up_tokenization(text) == hf.clean_up_tokenization(text)
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    for prefix in (None, "mobile"):
        mine = ours.save_vocabulary(tmp_path / "ours", prefix)
        theirs = legacy.save_vocabulary(str(tmp_path / "theirs"), prefix)
        assert [os.path.basename(p) for p in mine] == [os.path.basename(p) for p in theirs]
        with open(mine[0], "rb") as a, open(theirs[0], "rb") as b:
            assert a.read() == b.read()
    with pytest.raises(TokenizerError, match="is not a folder"):
        ours.save_vocabulary(tmp_path / "missing")


# ---------------------------------------------------------------- what transformers' own tokenizer tests call
# (tests/test_tokenization_common.py: test_tokenizers_common_ids_setters, test_separate_tokenizers,
# test_tokenizer_initialization_with_conflicting_key, test_added_tokens_serialization,
# test_maximum_encoding_length_*, test_padding_to_multiple_of, test_pretokenized_inputs,
# test_prepare_seq2seq_batch, test_tokenizer_store_full_signature), each against transformers 5's tokenizer


def as_lists(encoding) -> dict:
    return {key: plain(value) for key, value in encoding.items()}


TEXTS_LONG = [t for t in SHORT if len(t.split()) > 6] * 2


def test_special_token_ids_can_be_set_as_in_transformers(hf):
    mine, theirs = MobileBertTokenizer(), copy.deepcopy(hf)
    for slot in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        for tokenizer in (mine, theirs):
            setattr(tokenizer, slot + "_id", None)
        assert getattr(mine, slot) is None and getattr(mine, slot + "_id") is None, slot
        assert getattr(theirs, slot) is None and getattr(theirs, slot + "_id") is None, slot
        for tokenizer in (mine, theirs):
            setattr(tokenizer, slot + "_id", 1996)
        assert (getattr(mine, slot), getattr(mine, slot + "_id")) == (getattr(theirs, slot), getattr(theirs, slot + "_id")) \
            == ("the", 1996), slot
    for name in ("additional_special_tokens", "extra_special_tokens"):
        for ids in ([], [1996, 2088]):
            setattr(mine, name + "_ids", ids)
            assert getattr(mine, name) == mine.convert_ids_to_tokens(ids) and getattr(mine, name + "_ids") == ids
    theirs.extra_special_tokens_ids = [1996, 2088]
    assert theirs.extra_special_tokens == mine.extra_special_tokens
    mine.pad_token = None
    with pytest.raises(TokenizerError, match="pad_token is None"):
        mine(["a", "b c"], padding=True)


def test_constructor_arguments_as_in_transformers(hf, transformers):
    import inspect

    with pytest.warns(UserWarning, match=r"ignored argument\(s\) \['random_argument'\]"):
        tokenizer = MobileBertTokenizer(random_argument=True)
    assert tokenizer.init_kwargs["random_argument"] is True
    signature = inspect.signature(MobileBertTokenizer.__init__)
    assert {name for name, p in signature.parameters.items() if p.default is not p.empty} <= tokenizer.init_kwargs.keys()
    for name in ("add_special_tokens", "get_vocab"):  # HF: AttributeError, "... conflicts with the method ..."
        with pytest.raises(AttributeError, match=f"{name} conflicts with the method {name}"):
            MobileBertTokenizer(**{name: True})
        with pytest.raises(AttributeError, match=f"{name} conflicts with the method {name}"):
            transformers.BertTokenizer(vocab=VOCAB_FILE, **{name: True})
    added = transformers.AddedToken("[NEW_EOS]", lstrip=True, special=True)
    mine = MobileBertTokenizer(eos_token=added, additional_special_tokens=[transformers.AddedToken("<x>", special=True)])
    theirs = transformers.BertTokenizer(vocab=VOCAB_FILE, eos_token=added, extra_special_tokens=["<x>"])
    assert (mine.eos_token, mine.eos_token_id) == (theirs.eos_token, theirs.eos_token_id) == ("[NEW_EOS]", 30522)
    assert mine.added_tokens_decoder[30522].lstrip and mine.additional_special_tokens_ids == [30523]
    text = "hello  [NEW_EOS] <x>"
    assert mine(text)["input_ids"] == theirs(text)["input_ids"]
    # transformers 5's constructor from a tokenizer.json's parts: (token, score) pairs and added_tokens_decoder
    decoder = {30522: transformers.AddedToken("<new>", special=True)}
    mine = MobileBertTokenizer(vocab=[(t, 0.0) for t in MobileBertTokenizer().ids_to_tokens],
                               added_tokens_decoder=decoder)
    theirs = transformers.BertTokenizer(vocab=VOCAB_FILE, added_tokens_decoder=decoder)
    assert len(mine) == len(theirs) == 30523 and mine("a <new> b")["input_ids"] == theirs("a <new> b")["input_ids"]
    assert mine.backend == "custom"


def test_long_inputs_and_padding_multiples_as_in_transformers(hf, transformers, caplog):
    long_text = "hello " * 600
    tokenizer = MobileBertTokenizer()
    with caplog.at_level("WARNING", logger="minimobilebert.tokenizer"):
        assert len(tokenizer(long_text)["input_ids"]) == 602
        tokenizer(long_text)
    said = [r.getMessage() for r in caplog.records if r.name == "minimobilebert.tokenizer"]
    assert len(said) == 1 and said[0].startswith("Token indices sequence length is longer than the specified maximum "
                                                 "sequence length for this model (602 > 512)")
    caplog.clear()
    tokenizer.deprecation_warnings = {}  # HF's record of the warnings given once: reset, it warns again
    with caplog.at_level("WARNING", logger="minimobilebert.tokenizer"):
        tokenizer(long_text)
    assert len(caplog.records) == 1
    theirs = transformers.BertTokenizer(vocab=VOCAB_FILE, model_max_length=512)
    theirs(long_text)
    assert theirs.deprecation_warnings == tokenizer.deprecation_warnings
    caplog.clear()
    with caplog.at_level("WARNING", logger="minimobilebert.tokenizer"):
        MobileBertTokenizer()(long_text, truncation=True)
    assert not caplog.records
    for tokenizer in (MobileBertTokenizer(), hf):
        with pytest.raises(ValueError, match=r"truncation length \(12\) is not a multiple of pad_to_multiple_of \(8\)"):
            tokenizer("This", padding=True, truncation=True, max_length=12, pad_to_multiple_of=8)
    assert as_lists(MobileBertTokenizer()("This", padding=True, pad_to_multiple_of=8)) == as_lists(
        hf("This", padding=True, pad_to_multiple_of=8))


def test_pretokenized_pairs_targets_and_unknown_call_arguments_as_in_transformers(hf):
    tokenizer = MobileBertTokenizer()
    pairs = [(["hello", "world"], ["foo"]), (["a"], ["b", "c"])]
    assert as_lists(tokenizer(pairs, is_split_into_words=True)) == as_lists(hf(pairs, is_split_into_words=True))
    for call in (dict(text=["a b"], text_target=["c d"], max_length=3, truncation=True),
                 dict(text_target="c d e"), dict(text="a", text_pair="b", text_target="c", text_pair_target="d"),
                 dict(text=["a b", "c"], text_target=["d", "e f g"], padding=True)):
        assert as_lists(tokenizer(**call)) == as_lists(hf(**call)), call
    assert tokenizer(["a b"], text_target=["c d"], return_tensors="np")["labels"].tolist() == [[101, 1039, 1040, 102]]
    src, tgt = [TEXTS_LONG[0], TEXTS_LONG[1]], [TEXTS_LONG[2], TEXTS_LONG[3]]  # max_target_length: the targets'
    for options in (dict(max_length=3, max_target_length=10), dict(max_length=3),
                    dict(max_length=3, max_target_length=10, padding=True)):
        assert as_lists(tokenizer(src, text_target=tgt, **options)) == as_lists(hf(src, text_target=tgt, **options))
    with pytest.warns(UserWarning, match=r"ignored argument\(s\) \['src_lang'\]"):
        assert tokenizer("a", src_lang="en_XX")["input_ids"] == hf("a")["input_ids"] == [101, 1037, 102]
    with pytest.warns(UserWarning, match="pad_to_max_length is ignored"):
        assert tokenizer("a", pad_to_max_length=True)["input_ids"] == [101, 1037, 102]
    with pytest.raises(TokenizerError, match="tokenizer.truncation_side = 'left'"):
        tokenizer("a", truncation_side="left")


def test_return_tensors_pt_as_in_transformers(hf, transformers, oracle, monkeypatch):
    """return_tensors="pt" (when torch is installed): the same values as torch int64 tensors, as HF's, and
    a model of ours takes them: a transformers script runs unchanged. Without torch: an error naming 'np'."""
    import builtins

    torch = oracle[0]
    tokenizer = MobileBertTokenizer()
    for call in (dict(text=SHORT[:3], padding=True), dict(text=SHORT[0]), dict(text=SHORT[0], text_pair=SHORT[1]),
                 dict(text=SHORT[:2], truncation=True, max_length=6, return_overflowing_tokens=True, stride=1,
                      padding=True)):
        mine, theirs = tokenizer(return_tensors="pt", **call), hf(return_tensors="pt", **call)
        assert list(mine) == list(theirs), call
        for key in theirs:
            assert isinstance(mine[key], torch.Tensor) and mine[key].dtype == theirs[key].dtype, (call, key)
            assert torch.equal(mine[key], theirs[key]), (call, key)
    assert torch.equal(tokenizer.encode("a b", return_tensors="pt"), hf.encode("a b", return_tensors="pt"))
    assert isinstance(tokenizer.pad({"input_ids": [[1, 2], [3]]}, return_tensors="pt")["input_ids"], torch.Tensor)
    from minimobilebert import MobileBertConfig, MobileBertModel

    inputs = tokenizer(SHORT[:2], padding=True, return_tensors="pt").to("cpu")
    model = MobileBertModel(MobileBertConfig(num_hidden_layers=1))
    np.testing.assert_array_equal(model(**inputs).last_hidden_state,
                                  model(**tokenizer(SHORT[:2], padding=True, return_tensors="np")).last_hidden_state)
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name == "torch" else real_import(name, *a, **k))
    with pytest.raises(TokenizerError, match="torch is not installed .* return_tensors='np'"):
        tokenizer("a", return_tensors="pt")


def test_chat_templates_are_refused_as_hf_refuses_a_bert_tokenizer(transformers):
    """BERT's tokenizer has no chat template; transformers raises a ValueError, and so do we (with our reason),
    also when a template is passed: a Jinja template is code, which this package never runs."""
    conversation = [{"role": "user", "content": "hi"}]
    theirs = transformers.BertTokenizer(vocab=VOCAB_FILE)
    assert MobileBertTokenizer().chat_template is None and theirs.chat_template is None
    with pytest.raises(ValueError):
        theirs.apply_chat_template(conversation)
    for template in (None, "{{ messages[0]['content'] }}"):
        with pytest.raises(TokenizerError, match="chat templates are not supported"):
            MobileBertTokenizer().apply_chat_template(conversation, chat_template=template)
