"""The tokenizer as transformers code calls it (each call compared with HF's BertTokenizer, the fast one, or
BertTokenizerLegacy where only the Python one has the feature), and as careless or hostile input reaches it:
tokenizer files of the wrong shape, values of the wrong type, texts that are not str, endless streams of new
words, texts of 10 MB. Cases that could hang or eat memory run in a subprocess with a memory cap and a
timeout."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
import minimobilebert.tokenizer as tokenizer_module
from minimobilebert.errors import TokenizerError, TokenizerTypeError
from minimobilebert.tokenizer import VOCAB_FILE, MobileBertTokenizer

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["Hello, my dog is cute", "The capital of France is [MASK].", "Ünïcödé café 東京, don't!",
         "a much longer text with many words in it, to be cut by truncation here and there", ""]
PAIR_FIRST = ["Who was Jim Henson?", "short", "A much longer first segment that goes on and on with many words."]
PAIR_SECOND = ["Jim Henson was a nice puppet", "A much longer second segment that goes on and on with many words.", "x"]


@pytest.fixture(scope="module")
def ours():
    return MobileBertTokenizer()


@pytest.fixture(scope="module")
def transformers(oracle):
    return oracle[1]


@pytest.fixture(scope="module")
def hf(transformers):
    return transformers.BertTokenizer(vocab=VOCAB_FILE)


@pytest.fixture(scope="module")
def legacy(transformers):
    return transformers.BertTokenizerLegacy(vocab_file=VOCAB_FILE)


def plain(encoding) -> dict:
    """A BatchEncoding as plain lists (HF's offsets come as tuples or lists)."""
    out = {}
    for key, value in encoding.items():
        if key == "offset_mapping":
            value = [[tuple(o) for o in row] for row in value] if value and isinstance(value[0], list) \
                else [tuple(o) for o in value]
        out[key] = value
    return out


def same_as_hf(ours_enc, hf_enc, rows: int | None = None) -> None:
    assert plain(ours_enc) == plain(hf_enc)
    for i in range(rows or 0):
        assert ours_enc.word_ids(i) == hf_enc.word_ids(i), f"word_ids row {i}"
        assert ours_enc.sequence_ids(i) == hf_enc.sequence_ids(i), f"sequence_ids row {i}"


# ------------------------------------------------------------------------------------------ B. the HF API


@pytest.mark.oracle
def test_get_vocab_and_ids_to_tokens_match_hf(ours, hf):
    vocab = ours.get_vocab()
    assert vocab == hf.get_vocab() and len(vocab) == 30522
    vocab["[PAD]"] = 5  # a copy, as HF's
    assert ours.get_vocab()["[PAD]"] == 0
    ids = [101, 7592, 1010, 100, 0, 102]
    assert ours.convert_ids_to_tokens(ids) == hf.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(101) == hf.convert_ids_to_tokens(101) == "[CLS]"
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == hf.convert_ids_to_tokens(ids, skip_special_tokens=True)
    assert ours.all_special_tokens == hf.all_special_tokens and ours.all_special_ids == hf.all_special_ids
    assert ours.special_tokens_map == hf.special_tokens_map
    assert ours.model_input_names == hf.model_input_names


@pytest.mark.oracle
def test_special_token_helpers_match_hf(ours, hf, legacy):
    a, b = [7592, 1010, 2026], [3899, 2003]
    encoded = hf("Hello, my", "dog is")["input_ids"] + [0, 0]
    assert ours.get_special_tokens_mask(encoded, already_has_special_tokens=True) == \
        hf.get_special_tokens_mask(encoded, already_has_special_tokens=True) == [1, 0, 0, 0, 1, 0, 0, 1, 1, 1]
    # Without special tokens yet: the mask of what build_inputs_with_special_tokens makes (the Python
    # tokenizer's answer; the fast one raises NotImplementedError).
    assert ours.get_special_tokens_mask(a) == legacy.get_special_tokens_mask(a) == [1, 0, 0, 0, 1]
    assert ours.get_special_tokens_mask(a, b) == legacy.get_special_tokens_mask(a, b)
    assert ours.build_inputs_with_special_tokens(a) == legacy.build_inputs_with_special_tokens(a)
    assert ours.build_inputs_with_special_tokens(a, b) == legacy.build_inputs_with_special_tokens(a, b)
    assert ours.create_token_type_ids_from_sequences(a) == legacy.create_token_type_ids_from_sequences(a)
    assert ours.create_token_type_ids_from_sequences(a, b) == legacy.create_token_type_ids_from_sequences(a, b)
    assert ours.build_inputs_with_special_tokens(a, b) == ours("Hello, my", "dog is")["input_ids"]
    for pair in (False, True):
        assert ours.num_special_tokens_to_add(pair=pair) == hf.num_special_tokens_to_add(pair=pair)
    with pytest.raises(TokenizerError, match="token_ids_1 must be None"):
        ours.get_special_tokens_mask(a, b, already_has_special_tokens=True)


@pytest.mark.oracle
def test_vocab_as_path_dict_or_list(transformers, tmp_path):
    """vocab= / vocab_file= as a path (str or Path, positional too), a {token: id} dict in any order, or a
    list in id order: the ids the dict says, as HF's BertTokenizer(vocab=dict)."""
    base = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ",", "un", "##aff", "##able"]
    shuffled = list(enumerate(base))
    random.Random(0).shuffle(shuffled)
    as_dict = {token: i for i, token in shuffled}
    assert list(as_dict) != base, "the dict must not be in id order for this test"
    text = "Hello worlds, unaffable"
    expected = transformers.BertTokenizer(vocab=as_dict)(text)["input_ids"]
    assert expected == [2, 5, 6, 7, 8, 9, 10, 11, 3]
    (tmp_path / "vocab.txt").write_text("\n".join(base) + "\n")
    for tok in (MobileBertTokenizer(vocab=as_dict), MobileBertTokenizer(as_dict), MobileBertTokenizer(vocab=base),
                MobileBertTokenizer(vocab=str(tmp_path / "vocab.txt")), MobileBertTokenizer(vocab=tmp_path / "vocab.txt"),
                MobileBertTokenizer(str(tmp_path / "vocab.txt")), MobileBertTokenizer(vocab_file=tmp_path / "vocab.txt")):
        assert tok(text)["input_ids"] == expected
        assert tok.get_vocab() == dict(zip(base, range(len(base))))
    assert MobileBertTokenizer(vocab=VOCAB_FILE)("Hello")["input_ids"] == [101, 7592, 102]
    gap = dict(as_dict, hello=40)
    with pytest.raises(TokenizerError, match="'hello' is 40, outside 0..11.*no gaps"):
        MobileBertTokenizer(vocab=gap)
    twice = dict(as_dict, hello=6)
    with pytest.raises(TokenizerError, match="the id 6 is given to both"):
        MobileBertTokenizer(vocab=twice)
    with pytest.raises(TokenizerError, match="ids are integers"):
        MobileBertTokenizer(vocab=dict(as_dict, hello="5"))
    with pytest.raises(TokenizerError, match="not both"):
        MobileBertTokenizer(VOCAB_FILE, vocab=VOCAB_FILE)
    with pytest.raises(TokenizerError, match="a vocabulary is a list of token strings"):
        MobileBertTokenizer(vocab=["[PAD]", 3])
    with pytest.raises(TokenizerError, match="pass the path of a vocab.txt"):
        MobileBertTokenizer(vocab=b"vocab.txt")
    with pytest.raises(FileNotFoundError, match="no vocabulary file at"):  # and a TokenizerError
        MobileBertTokenizer(vocab=str(tmp_path / "missing.txt"))
    with pytest.raises(TokenizerError, match=r"has no \['\[UNK\]'"):
        MobileBertTokenizer(vocab={"a": 0})


@pytest.mark.oracle
def test_never_split_as_the_python_tokenizer(transformers):
    """never_split: whitespace-delimited words kept whole, not lower-cased (BertTokenizerLegacy's meaning;
    the fast tokenizer ignores the option)."""
    words = ["Hello", "e-mail", "[foo]"]
    theirs = transformers.BertTokenizerLegacy(vocab_file=VOCAB_FILE, never_split=words)
    tok = MobileBertTokenizer(never_split=words)
    for text in ["Hello there, Hello! e-mail me", "say Hello\tHello\ne-mail", "xHello [foo] [foo]x [MASK] e-mails"]:
        assert tok.tokenize(text) == theirs.tokenize(text), text
        assert tok(text)["input_ids"] == theirs(text)["input_ids"], text
    enc = tok("Hello there", return_offsets_mapping=True)
    assert enc["offset_mapping"][1] == (0, 5) and enc["input_ids"][1] == tok.unk_token_id  # "Hello" is not in the vocab
    with pytest.raises(TokenizerError, match="never_split is the string 'Hello', not a list"):
        MobileBertTokenizer(never_split="Hello")


@pytest.mark.oracle
def test_accent_and_chinese_options(transformers):
    text = "Ünïcödé café naïve 東京 Zürich"
    kept = transformers.BertTokenizer(vocab=VOCAB_FILE, strip_accents=False)(text)["input_ids"]
    assert MobileBertTokenizer(keep_accents=True)(text)["input_ids"] == kept
    assert MobileBertTokenizer(strip_accents=False)(text)["input_ids"] == kept
    assert MobileBertTokenizer(keep_accents=False)(text)["input_ids"] == MobileBertTokenizer()(text)["input_ids"]
    with pytest.raises(TokenizerError, match="contradict"):
        MobileBertTokenizer(keep_accents=True, strip_accents=True)
    no_cjk = transformers.BertTokenizer(vocab=VOCAB_FILE, tokenize_chinese_chars=False)(text)["input_ids"]
    assert MobileBertTokenizer(tokenize_chinese_chars=False)(text)["input_ids"] == no_cjk


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    dict(padding=True, padding_side="left"),
    dict(padding="max_length", max_length=24, pad_to_multiple_of=16),
    dict(padding=True, pad_to_multiple_of=8, return_length=True),
    dict(return_attention_mask=False, return_token_type_ids=False, return_special_tokens_mask=True),
    dict(truncation=True, max_length=10, return_overflowing_tokens=True, stride=2, padding=True),
    dict(add_special_tokens=False, return_length=True),
], ids=["left_padding", "max_length_multiple", "multiple_of", "no_mask_no_types", "overflow", "no_specials"])
def test_return_and_padding_options_match_hf(ours, hf, options):
    same_as_hf(ours(TEXTS, return_offsets_mapping=True, **options), hf(TEXTS, return_offsets_mapping=True, **options),
               rows=len(TEXTS))
    same_as_hf(ours(PAIR_FIRST, PAIR_SECOND, **options), hf(PAIR_FIRST, PAIR_SECOND, **options), rows=len(PAIR_FIRST))
    # one text alone: the same keys and values (length stays a one-item list there, as in HF)
    assert dict(ours(TEXTS[0], **options)) == dict(hf(TEXTS[0], **options))


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    dict(truncation=True, max_length=7),
    dict(truncation=True, max_length=9, return_overflowing_tokens=True, stride=1),
    dict(truncation="longest_first", max_length=12, return_overflowing_tokens=True),
    dict(truncation="only_second", max_length=24, return_overflowing_tokens=True, stride=1),
], ids=["truncate", "windows", "pairs_longest_first", "only_second"])
def test_sides_set_on_the_tokenizer_match_hf(transformers, options):
    sides = dict(padding_side="left", truncation_side="left", model_max_length=16)
    ours, theirs = MobileBertTokenizer(**sides), transformers.BertTokenizer(vocab=VOCAB_FILE, **sides)
    kw = dict(options, return_offsets_mapping=True, padding=True)
    if options.get("truncation") != "only_second":
        same_as_hf(ours(TEXTS, **kw), theirs(TEXTS, **kw), rows=len(TEXTS))
    same_as_hf(ours(PAIR_FIRST, PAIR_SECOND, **kw), theirs(PAIR_FIRST, PAIR_SECOND, **kw))
    # model_max_length is the default max_length, for truncation and for padding="max_length"
    long_text = " ".join(["word"] * 40)
    assert ours(long_text, truncation=True)["input_ids"] == theirs(long_text, truncation=True)["input_ids"]
    assert len(ours("a", padding="max_length")["input_ids"]) == 16


@pytest.mark.oracle
def test_batch_of_pair_tuples_matches_hf(ours, hf):
    batch = [("Who was Jim Henson?", "Jim Henson was a nice puppet"), ["short", "a b c"]]
    same_as_hf(ours(batch, return_offsets_mapping=True), hf(batch, return_offsets_mapping=True), rows=2)
    with pytest.raises(TokenizerError, match=r"text\[0\] is tuple"):
        ours([("a", "b", "c")])


@pytest.mark.oracle
def test_is_split_into_words_matches_hf(ours, hf):
    words = [["Hello", "world", "don't"], ["a[MASK]", " ", "Ünïcödé", ""], []]
    options = dict(is_split_into_words=True, return_offsets_mapping=True, padding=True)
    same_as_hf(ours(words, **options), hf(words, **options), rows=3)
    same_as_hf(ours(words[0], **options), hf(words[0], **options), rows=1)
    same_as_hf(ours(words[0], ["x", "y z"], **options), hf(words[0], ["x", "y z"], **options), rows=1)
    truncated = dict(options, truncation=True, max_length=5)
    same_as_hf(ours(words, **truncated), hf(words, **truncated), rows=3)
    with pytest.raises(TokenizerError, match="list of words"):
        ours("not a list", is_split_into_words=True)
    with pytest.raises(TokenizerError, match=r"text\[0\]\[1\] is int"):
        ours([["a", 1]], is_split_into_words=True)


@pytest.mark.oracle
def test_save_pretrained_round_trip_loads_in_transformers(transformers, tmp_path):
    tok = MobileBertTokenizer(do_lower_case=False, model_max_length=128, padding_side="left", truncation_side="left",
                              additional_special_tokens=["[unused1]"], never_split=["Hello"])
    paths = tok.save_pretrained(tmp_path)
    assert [Path(p).name for p in paths] == ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
    back = MobileBertTokenizer.from_pretrained(tmp_path)
    for name in ("do_lower_case", "strip_accents", "model_max_length", "padding_side", "truncation_side",
                 "additional_special_tokens", "never_split", "ids_to_tokens"):
        assert getattr(back, name) == getattr(tok, name), name
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert theirs.model_max_length == 128 and theirs.padding_side == "left" and theirs.truncation_side == "left"
    text = "Ünïcödé Café [unused1] [MASK] 東京 there"
    assert theirs(text)["input_ids"] == tok(text)["input_ids"] == back(text)["input_ids"]
    assert theirs.tokenize(text) == tok.tokenize(text)
    batch = ["a b c", "d"]
    assert theirs(batch, padding=True)["input_ids"] == tok(batch, padding=True)["input_ids"]


def test_hf_keyword_arguments_accepted_or_refused_by_name(ours, tmp_path):
    MobileBertTokenizer(name_or_path="x", use_fast=True, tokenizer_class="BertTokenizer", verbose=False)
    with pytest.warns(UserWarning, match=r"ignored argument\(s\) \['do_lowercase'\]; it takes vocab_file / vocab, "
                                         "do_lower_case"):  # kept, as transformers does, but a typo is said
        MobileBertTokenizer(do_lowercase=False)
    with pytest.raises(TokenizerError, match="do_basic_tokenize=False .* is not supported"):
        MobileBertTokenizer(do_basic_tokenize=False)
    assert ours("a", verbose=False)["input_ids"] == [101, 1037, 102]
    with pytest.warns(UserWarning, match=r"ignored argument\(s\) \['foo'\]; it takes text, text_pair"):
        assert ours("a", foo=1)["input_ids"] == [101, 1037, 102]
    with pytest.raises(TokenizerError, match="set it on the tokenizer: tokenizer.truncation_side"):
        ours("a", truncation_side="left")
    for tensors in ("tf", "jax"):
        with pytest.raises(TokenizerError, match="NumPy arrays \\('np'\\) or, when torch is installed"):
            ours("a", return_tensors=tensors)
    with pytest.raises(TokenizerError, match="padding_side is 'middle'"):
        ours(["a"], padding=True, padding_side="middle")
    with pytest.raises(TokenizerError, match="max_length is '5'"):
        ours("a", max_length="5")
    with pytest.raises(TokenizerError, match="padding='max_length' to 1,000,000,000 tokens \\(max_length\\) is over"):
        ours("a", padding="max_length", max_length=10 ** 9)
    with pytest.raises(TokenizerError, match="\\(model_max_length\\) is over"):
        MobileBertTokenizer(model_max_length=int(1e30))("a", padding="max_length")
    with pytest.raises(TokenizerError, match="stride is -1"):
        ours("a", stride=-1)
    with pytest.raises(TokenizerError, match="pad_to_multiple_of is 0"):
        ours("a", padding=True, pad_to_multiple_of=0)
    MobileBertTokenizer().save_pretrained(tmp_path)
    assert MobileBertTokenizer.from_pretrained(tmp_path, force_download=False, use_fast=True).vocab_size == 30522


def test_a_transformers_script_runs_unchanged_but_for_the_import(tmp_path):
    """The calls a transformers user's preprocessing makes, in order, on our tokenizer."""
    script = textwrap.dedent(f"""
        from minimobilebert import MobileBertTokenizer as AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained({str(tmp_path)!r})
        texts = ["Hello, my dog is cute", "The capital of France is [MASK]."]
        batch = tokenizer(texts, padding="max_length", truncation=True, max_length=16, return_tensors="np")
        assert batch["input_ids"].shape == (2, 16) and batch.attention_mask.sum() == 17
        ids = tokenizer.encode(texts[0], add_special_tokens=False)
        full = tokenizer.build_inputs_with_special_tokens(ids)
        mask = tokenizer.get_special_tokens_mask(full, already_has_special_tokens=True)
        assert mask == [1] + [0] * len(ids) + [1]
        assert tokenizer.decode(full, skip_special_tokens=True) == "hello, my dog is cute"
        assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize("cute")) == [10140]
        assert tokenizer.mask_token_id in tokenizer(texts[1])["input_ids"]
        assert len(tokenizer) == len(tokenizer.get_vocab()) == tokenizer.vocab_size
        print("ok")
    """)
    MobileBertTokenizer().save_pretrained(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# ------------------------------------------------------------------------------------------ C. hostile input


@pytest.mark.parametrize("text", [None, b"abc", 123, 1.5, ["a", 1], ["a", None], ("a", b"b"), {"a": 1}, object()],
                         ids=["None", "bytes", "int", "float", "list_int", "list_none", "tuple_bytes", "dict", "object"])
def test_texts_that_are_not_str_are_refused_by_name(ours, text):
    with pytest.raises(TokenizerError, match="the tokenizer takes a str, a list of str|text is None; pass a str") as e:
        ours(text)
    if isinstance(text, bytes) or (isinstance(text, tuple) and b"b" in text):
        assert "decode it first" in str(e.value)


def test_other_entry_points_refuse_non_str_too(ours):
    with pytest.raises(TokenizerError, match="text_pair is bytes"):
        ours("a", b"b")
    with pytest.raises(TokenizerError, match="text is NoneType"):
        ours.tokenize(None)
    with pytest.raises(TokenizerError, match="text is bytes"):
        ours.explain(b"abc")
    with pytest.raises(TokenizerError, match="text is int"):
        ours.encode(5)
    with pytest.raises(TokenizerError, match="token ids are integers; got float"):
        ours.decode([101, 1.5])
    with pytest.raises(TokenizerError, match="token ids are integers; got str"):
        ours.convert_ids_to_tokens(["[CLS]"])


@pytest.mark.oracle
def test_hf_refuses_the_same_inputs(hf):
    """What we follow: transformers refuses bytes and other non-str texts too (ValueError or TypeError)."""
    for text in (b"abc", 123, ["a", 1]):
        with pytest.raises((ValueError, TypeError)):
            hf(text)



WRONG_TYPES = {
    "text None": lambda t: t(None), "text bytes": lambda t: t(b"abc"), "text int": lambda t: t(123),
    "a batch with an int": lambda t: t(["a", 1]), "pair bytes": lambda t: t("a", b"b"),
    "encode int": lambda t: t.encode(5), "tokenize None": lambda t: t.tokenize(None),
    "decode a float id": lambda t: t.decode([101, 1.5]), "decode None": lambda t: t.decode(None),
    "ids_to_tokens a str": lambda t: t.convert_ids_to_tokens(["[CLS]"]),
}


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_wrong_types_raise_what_hf_raises(ours, hf, case):
    """transformers raises ValueError for some wrong-typed inputs and TypeError for others (its own test
    suites assert either); ours is a TokenizerTypeError, which is both, with our one-line message."""
    call = WRONG_TYPES[case]
    with pytest.raises(Exception) as theirs:
        call(hf)
    assert type(theirs.value) in (ValueError, TypeError), type(theirs.value)
    with pytest.raises(theirs.type) as mine:
        call(ours)
    assert isinstance(mine.value, TokenizerTypeError) and isinstance(mine.value, (ValueError, TypeError))

def write_folder(folder: Path, **files) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text(Path(VOCAB_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    for name, content in files.items():
        name = name.replace("__", ".")
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name, content, message", [
    ("tokenizer_config__json", {"do_lower_case": "no"}, r"tokenizer_config.json: 'do_lower_case' is 'no' \(str\); it "
                                                        "must be true or false"),
    ("tokenizer_config__json", {"do_lower_case": "false"}, "'do_lower_case' is 'false'"),
    ("tokenizer_config__json", {"do_lower_case": 0}, "'do_lower_case' is 0"),
    ("tokenizer_config__json", {"strip_accents": "yes"}, "'strip_accents' is 'yes'"),
    ("tokenizer_config__json", {"tokenize_chinese_chars": [True]}, "'tokenize_chinese_chars' is \\[True\\]"),
    ("tokenizer_config__json", {"additional_special_tokens": "the"}, "'additional_special_tokens' is the string "
                                                                     "'the', not a list; for one token write \\['the'\\]"),
    ("special_tokens_map__json", {"additional_special_tokens": "the"}, "special_tokens_map.json: "
                                                                       "'additional_special_tokens' is the string"),
    ("tokenizer_config__json", {"additional_special_tokens": [5]}, r"additional_special_tokens'\[0\] is 5"),
    ("tokenizer_config__json", {"extra_special_tokens": 7}, "'extra_special_tokens' is 7"),
    ("tokenizer_config__json", {"mask_token": 103}, "'mask_token' is 103; a special token is a non-empty string"),
    ("tokenizer_config__json", {"mask_token": {"content": None}}, "'mask_token' is None"),
    ("tokenizer_config__json", {"model_max_length": "512"}, "'model_max_length' is '512'; it must be a whole number"),
    ("tokenizer_config__json", {"model_max_length": -1}, "'model_max_length' is -1"),
    ("tokenizer_config__json", {"model_max_length": 51.5}, "'model_max_length' is 51.5"),
    ("tokenizer_config__json", {"model_max_length": True}, "'model_max_length' is True"),
    ("tokenizer_config__json", {"padding_side": "up"}, "'padding_side' is 'up'; it must be 'right' or 'left'"),
    ("tokenizer_config__json", {"never_split": "Hello"}, "'never_split' is the string"),
    ("tokenizer_config__json", {"max_input_chars_per_word": 0}, "'max_input_chars_per_word' is 0"),
    ("tokenizer_config__json", {"do_basic_tokenize": False}, "do_basic_tokenize is false"),
    ("tokenizer_config__json", [1, 2], "tokenizer_config.json: .* should hold a JSON object, not list"),
    ("tokenizer_config__json", "", "tokenizer_config.json: .* is empty"),
    ("tokenizer_config__json", "{nope", "tokenizer_config.json: .* is not valid JSON"),
    ("special_tokens_map__json", "[]", "special_tokens_map.json: .* should hold a JSON object, not list"),
    ("tokenizer_config__json", {"mask_token": "[NOPE]"}, r"has no \['\[NOPE\]'\]"),
])
def test_tokenizer_files_of_the_wrong_shape_name_the_file_and_field(tmp_path, name, content, message):
    folder = write_folder(tmp_path / "tok", **{name: content})
    with pytest.raises(TokenizerError, match=message):
        MobileBertTokenizer.from_pretrained(folder)


def test_config_values_of_the_right_type_are_read(tmp_path):
    folder = write_folder(tmp_path / "tok", tokenizer_config__json={
        "do_lower_case": False, "strip_accents": None, "model_max_length": 1000000000000000019884624838656,
        "mask_token": {"content": "[MASK]", "lstrip": False}, "extra_special_tokens": {"x": "[unused0]"},
        "clean_up_tokenization_spaces": True, "tokenizer_class": "BertTokenizer", "added_tokens_decoder": {}})
    tok = MobileBertTokenizer.from_pretrained(folder)
    assert not tok.do_lower_case and tok.model_max_length == 512  # HF's "no limit" keeps MobileBERT's 512
    assert tok.additional_special_tokens == ["[unused0]"] and tok.clean_up_tokenization_spaces
    assert tok.tokenize("the [unused0]") == ["the", "[unused0]"]


@pytest.mark.parametrize("tokenizer_json, message", [
    ({"model": [], "normalizer": {}}, "has model = \\[\\]; a BERT tokenizer.json has a model object"),
    ({"model": {"type": "WordPiece"}, "normalizer": None}, "has normalizer = None"),
    ({"model": {"type": "WordPiece", "vocab": ["a"]}, "normalizer": {"type": "BertNormalizer"}},
     "model.vocab = \\['a'\\]; it must be a non-empty"),
    ({"model": {"type": "WordPiece", "vocab": {"a": "0"}}, "normalizer": {"type": "BertNormalizer"}},
     "the id of 'a' is '0'"),
    ({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "BertNormalizer", "lowercase": "no"}},
     "normalizer.lowercase is 'no'"),
    ({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "BertNormalizer"},
      "added_tokens": "x"}, "added_tokens = 'x'"),
    ({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "max_input_chars_per_word": "100"},
      "normalizer": {"type": "BertNormalizer"}}, "max_input_chars_per_word is '100'"),
])
def test_tokenizer_json_of_the_wrong_shape(tmp_path, tokenizer_json, message):
    (tmp_path / "tokenizer.json").write_text(json.dumps(tokenizer_json))
    with pytest.raises(TokenizerError, match=message):
        MobileBertTokenizer.from_pretrained(tmp_path)


def test_constructor_booleans_and_token_lists_are_checked():
    with pytest.raises(TokenizerError, match="do_lower_case is 'no'"):
        MobileBertTokenizer(do_lower_case="no")
    with pytest.raises(TokenizerError, match="additional_special_tokens is the string 'the', not a list"):
        MobileBertTokenizer(additional_special_tokens="the")
    tok = MobileBertTokenizer(additional_special_tokens=["the"])  # one token, as a list: fine
    assert tok.additional_special_tokens == ["the"] and "t" not in tok.all_special_tokens


def test_vocab_file_bytes_not_utf8_names_the_file(tmp_path):
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(TokenizerError, match="vocab.txt: .* is not UTF-8 text \\(byte 0xff at offset 6\\)"):
        MobileBertTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_bytes(b"")
    with pytest.raises(TokenizerError, match="is empty"):
        MobileBertTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").unlink()
    (tmp_path / "vocab.txt").mkdir()
    with pytest.raises(TokenizerError, match="is a folder; point at a regular file"):
        MobileBertTokenizer.from_pretrained(tmp_path)


def test_vocab_with_windows_line_ends_reads_as_the_fast_tokenizer(tmp_path):
    (tmp_path / "vocab.txt").write_bytes("\r\n".join(Path(VOCAB_FILE).read_text(encoding="utf-8").split("\n")).encode())
    assert MobileBertTokenizer.from_pretrained(tmp_path)("Hello, my dog")["input_ids"] == [101, 7592, 1010, 2026, 3899, 102]


def run_limited(code: str, memory_mb: int = 1024, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python with its address space capped (RLIMIT_AS) and a timeout."""
    preamble = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({memory_mb} << 20, {memory_mb} << 20))
        sys.path.insert(0, {str(ROOT)!r})
        def peak_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("kind", ["fifo_vocab", "dev_zero_config", "huge_config", "dev_zero_tokenizer_json"])
def test_files_that_would_hang_or_never_end_are_refused(tmp_path, kind):
    folder = write_folder(tmp_path / "tok")
    if kind == "fifo_vocab":
        (folder / "vocab.txt").unlink()
        os.mkfifo(folder / "vocab.txt")
    elif kind == "dev_zero_config":
        os.symlink("/dev/zero", folder / "tokenizer_config.json")
    elif kind == "huge_config":
        with open(folder / "tokenizer_config.json", "wb") as f:  # sparse: 64 MiB apparent, nothing on disk
            f.write(b"{")
            f.truncate(64 << 20)
    else:
        (folder / "vocab.txt").unlink()
        os.symlink("/dev/zero", folder / "tokenizer.json")
    done = run_limited(f"""
        from minimobilebert.tokenizer import MobileBertTokenizer
        from minimobilebert.errors import TokenizerError
        try:
            MobileBertTokenizer.from_pretrained({str(folder)!r})
        except TokenizerError as e:
            print("refused:", e)
    """, memory_mb=1024, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused:"), done.stdout + done.stderr[-2000:]
    assert any(word in done.stdout for word in ("FIFO", "a device", "over the limit")), done.stdout


# ------------------------------------------------------------------------------------------ C. memory


def test_word_cache_is_bounded_in_bytes():
    tok = MobileBertTokenizer(word_cache_bytes=1 << 18)
    for i in range(2_000):  # new 10 KB words: [UNK] at once, never cached (40,000 of them: the test below)
        tok(f"{i}" + "a" * 10_000)
    assert tok.word_cache_info()["entries"] < 10 and tok.word_cache_info()["bytes"] < 10_000
    for i in range(20_000):  # new words that are cached: the oldest go when the budget is reached
        tok.tokenize(f"word{i}x")
    info = tok.word_cache_info()
    assert 0 < info["bytes"] <= info["limit"] == 1 << 18
    assert 100 < info["entries"] < 20_000
    assert tok.tokenize("word19999x") == MobileBertTokenizer().tokenize("word19999x")  # still right after eviction
    assert tok.tokenize("word5x") == MobileBertTokenizer().tokenize("word5x")  # and for a forgotten word
    tok.clear_word_cache()
    assert tok.word_cache_info()["entries"] == 0


def test_word_cache_accounting_covers_the_memory_it_holds():
    """The estimate per entry (tokenizer._entry_bytes) is at least what tracemalloc sees the entries take."""
    import tracemalloc

    tok = MobileBertTokenizer(word_cache_bytes=1 << 40)
    rng = random.Random(0)
    words = list(dict.fromkeys("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 40)))
                               for _ in range(5_000)))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for w in words:
        tok._wordpiece(w[:])
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    accounted = tok.word_cache_info()["bytes"]
    assert used <= accounted <= 2.5 * used, (used, accounted)


def test_endless_new_words_keep_bounded_memory_in_a_subprocess():
    done = run_limited("""
        from minimobilebert.tokenizer import MobileBertTokenizer
        tok = MobileBertTokenizer(word_cache_bytes=8 << 20)
        tok("warm up the tokenizer")
        base = peak_mb()
        for i in range(40_000):
            tok(f"{i}" + "a" * 10_000)           # new 10 KB words
        long_words = peak_mb() - base
        for i in range(100_000):
            tok.tokenize(f"w{i}q{i * 7}z")       # new short words, cached until the budget (8 MiB here)
        short_words = peak_mb() - base
        print(long_words, short_words, tok.word_cache_info()["bytes"])
    """, memory_mb=2048, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    long_words, short_words, cached = map(float, done.stdout.split())
    assert long_words < 30, f"40,000 new 10 KB words kept {long_words:.0f} MB"
    assert cached <= 8 << 20
    assert short_words < 40, f"100,000 new words with an 8 MiB cache kept {short_words:.0f} MB"


def test_ten_megabyte_text_with_truncation_costs_what_is_kept():
    done = run_limited("""
        import random
        from minimobilebert.tokenizer import MobileBertTokenizer
        tok = MobileBertTokenizer()
        rng = random.Random(0)
        words = ["the", "Café", "naïve", "東京", "unaffable", "don't", "3.5%", "tokenization", "Zürich,", "a"]
        text = " ".join(rng.choice(words) for _ in range(1_400_000))[:10_000_000]
        cjk = "東京は日本の首都です。" * 1_000_000
        giant = "é" * 10_000_000
        base = peak_mb()
        out = tok(text, truncation=True, max_length=512, return_offsets_mapping=True)
        assert len(out["input_ids"]) == 512
        for other in (cjk, giant):
            tok(other, truncation=True, max_length=512)
        print(peak_mb() - base)
    """, memory_mb=2048, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout) < 100, f"tokenizing 10 MB texts with truncation took {float(done.stdout):.0f} MB"


@pytest.fixture
def small_chunks(monkeypatch):
    """Make the long-text path (chunks of CHUNK characters) run on short texts."""
    monkeypatch.setattr(tokenizer_module, "CHUNK", 7)


def test_truncating_early_on_long_texts_matches_the_full_computation_on_examples(small_chunks):
    tok = MobileBertTokenizer(max_input_chars_per_word=6)
    texts = ["The quick brown fox, jumps over 東京 the lazy dog!!! " * 3, "x" * 40 + " y", "é" * 30 + "\u200b" * 9,
             "a\u200b" * 20, "\u200b" * 30 + "ab", "[MASK] " * 9, "aaaaaaaaa,bbbbbbbbbbbb cc"]
    for text in texts:
        for max_length in (2, 3, 5, 9, 30, 100):
            full = tok(text, truncation=True, max_length=max_length, return_overflowing_tokens=True,
                       return_offsets_mapping=True)
            early = tok(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
            for key in ("input_ids", "offset_mapping"):
                assert early[key] == full[key][0], (text, max_length, key)
            assert early.word_ids() == full.word_ids(0), (text, max_length)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncating_early_matches_truncating_after(small_chunks, data):
    """Property: for any text and max_length, stopping once enough tokens are made gives what tokenizing
    everything and cutting gives (the overflow call computes everything)."""
    pieces = st.one_of(st.characters(exclude_categories=["Cs"]),
                       st.sampled_from(list(" ,.!'\t\n\u0301\u200b\x00é東ΣİA9a") + ["[MASK]", "[SEP]", "aaaaaaaaa"]))
    text = "".join(data.draw(st.lists(pieces, max_size=40)))
    max_length = data.draw(st.integers(2, 40))
    tok = MobileBertTokenizer(max_input_chars_per_word=data.draw(st.sampled_from([3, 8, 100])))
    full = tok(text, truncation=True, max_length=max_length, return_overflowing_tokens=True, return_offsets_mapping=True)
    early = tok(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    assert early["input_ids"] == full["input_ids"][0]
    assert early["offset_mapping"] == full["offset_mapping"][0]
    assert early.word_ids() == full.word_ids(0)
    # pairs: each strategy reads only as far as it can keep
    pair = "".join(data.draw(st.lists(pieces, max_size=40)))
    strategy = data.draw(st.sampled_from(["longest_first", "only_first", "only_second"]))
    options = dict(truncation=strategy, max_length=max_length + 1, return_offsets_mapping=True)
    try:
        full = tok(text, pair, return_overflowing_tokens=True, **options)
    except TokenizerError as e:  # the strategy cannot fit this pair: the early path must say the same
        with pytest.raises(TokenizerError, match=str(e)[:40].replace("(", ".").replace(")", ".")):
            tok(text, pair, **options)
        return
    early = tok(text, pair, **options)
    assert early["input_ids"] == full["input_ids"][0] and early["offset_mapping"] == full["offset_mapping"][0]
    assert early.word_ids() == full.word_ids(0) and early.sequence_ids() == full.sequence_ids(0)


@pytest.mark.oracle
def test_long_text_truncated_matches_hf(ours, hf):
    rng = random.Random(1)
    words = ["The", "café", "naïve", "東京", "unaffable", "don't", "3.5%", "[MASK]", "Zürich,", "\u200b", "x" * 150]
    text = " ".join(rng.choice(words) for _ in range(40_000))
    for max_length in (16, 512):
        options = dict(truncation=True, max_length=max_length, return_offsets_mapping=True)
        same_as_hf(ours(text, **options), hf(text, **options))
    # Pairs on a shorter text: HF's fast tokenizer builds every overflow window of a truncated pair even
    # when they are not asked for, so the 40,000-word text costs it ~15 GB (measured) with a pair.
    text = " ".join(rng.choice(words) for _ in range(1_500))
    for strategy in ("longest_first", "only_first", "only_second"):
        options = dict(truncation=strategy, max_length=64, return_offsets_mapping=True)
        short = "a short question?"
        first, second = (text, short) if strategy == "only_first" else (short, text)
        same_as_hf(ours(first, second, **options), hf(first, second, **options))
        same_as_hf(ours(text, text[5:], **options), hf(text, text[5:], **options)) if strategy == "longest_first" \
            else None


def test_only_characters_the_long_text_path_cuts_at_end_words():
    """The long-text path cuts a text after a character that normalizes to " ", " 字 " or one punctuation
    character. That is safe because no other character's normalized form holds a space or punctuation:
    checked here over every code point."""
    from minimobilebert.tokenization.normalize import is_cjk, normalize_char

    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        n = normalize_char(ch)
        if n == " " or (len(n) == 1 and tokenizer_module.is_punctuation(n)) or is_cjk(ch):
            continue
        assert " " not in n and not any(tokenizer_module.is_punctuation(c) for c in n), hex(cp)


def test_hf_step_classes_as_transformers_tests_use_them():
    """transformers' own BERT tokenization tests (tests/models/bert/test_tokenization_bert.py), their
    expected values, on our BasicTokenizer / WordpieceTokenizer / character classes."""
    from minimobilebert.tokenizer import (BasicTokenizer, WordpieceTokenizer, _is_control, _is_punctuation,
                                          _is_whitespace)

    assert BasicTokenizer().tokenize("ah\u535a\u63a8zz") == ["ah", "\u535a", "\u63a8", "zz"]
    assert BasicTokenizer(do_lower_case=True).tokenize(" \tHeLLo!how  \n Are yoU?  ") == \
        ["hello", "!", "how", "are", "you", "?"]
    assert BasicTokenizer(do_lower_case=True).tokenize("H\u00e9llo") == ["hello"]
    assert BasicTokenizer(do_lower_case=True, strip_accents=False).tokenize(" \tHäLLo!how  \n Are yoU?  ") == \
        ["hällo", "!", "how", "are", "you", "?"]
    assert BasicTokenizer(do_lower_case=True, strip_accents=True).tokenize(" \tHäLLo!how  \n Are yoU?  ") == \
        ["hallo", "!", "how", "are", "you", "?"]
    assert BasicTokenizer(do_lower_case=False).tokenize(" \tHeLLo!how  \n Are yoU?  ") == \
        ["HeLLo", "!", "how", "Are", "yoU", "?"]
    assert BasicTokenizer(do_lower_case=False, strip_accents=True).tokenize(" \tHäLLo!how  \n Are yoU?  ") == \
        ["HaLLo", "!", "how", "Are", "yoU", "?"]
    assert BasicTokenizer(do_lower_case=False, never_split=["[UNK]"]).tokenize(" \tHeLLo!how  \n Are yoU? [UNK]") \
        == ["HeLLo", "!", "how", "Are", "yoU", "?", "[UNK]"]
    assert BasicTokenizer().tokenize("a\n'll !!to?'d of, can't.") == \
        ["a", "'", "ll", "!", "!", "to", "?", "'", "d", "of", ",", "can", "'", "t", "."]
    vocab_tokens = ["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing"]
    wordpiece = WordpieceTokenizer(vocab={t: i for i, t in enumerate(vocab_tokens)}, unk_token="[UNK]")
    assert wordpiece.tokenize("") == []
    assert wordpiece.tokenize("unwanted running") == ["un", "##want", "##ed", "runn", "##ing"]
    assert wordpiece.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"]
    assert all(_is_whitespace(c) for c in " \t\r\n\u00a0") and not _is_whitespace("A") and not _is_whitespace("-")
    assert _is_control("\u0005") and not any(_is_control(c) for c in "A \t\r")
    assert all(_is_punctuation(c) for c in "-$`.") and not _is_punctuation("A") and not _is_punctuation(" ")


def test_full_tokenizer_as_transformers_tests_build_it(tmp_path):
    """transformers' test_full_tokenizer: a small vocab.txt, positional path, its expected tokens and ids."""
    vocab_tokens = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn",
                    "##ing", ",", "low", "lowest"]
    (tmp_path / "vocab.txt").write_text("".join(t + "\n" for t in vocab_tokens))
    tok = MobileBertTokenizer(str(tmp_path / "vocab.txt"))
    tokens = tok.tokenize("UNwant\u00e9d,running")
    assert tokens == ["un", "##want", "##ed", ",", "runn", "##ing"]
    assert tok.convert_tokens_to_ids(tokens) == [9, 6, 7, 12, 10, 11]
    assert [tok.tokenize(t) for t in ["Test", "\xad", "test"]] == [["[UNK]"], [], ["[UNK]"]]
