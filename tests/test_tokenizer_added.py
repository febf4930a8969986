"""add_tokens / add_special_tokens, compared with transformers' fast BertTokenizer (the oracle): ids, offsets,
word ids, pairs, batches, truncation, decode, the vocabulary views, and save_pretrained / from_pretrained both
ways. Added tokens are matched in the raw text (special, normalized=False) or the normalized text
(normalized=True) before the three steps."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimobilebert.errors import TokenizerError
from minimobilebert.tokenizer import VOCAB_FILE, AddedToken, MobileBertTokenizer
from tests.test_tokenizer import CORPUS

pytestmark = pytest.mark.oracle

ADDED_TEXTS = ["newword NEWWORD NewWord aNewWordb", "qq-zz!qq-zzqq", "xyzxyz hello Héllo xyz.",
               "ab abc cab ab. x cd y xcdy x  cd  y", "a<X>b <y> <Y> [MASK]x Cd cd", "NewWord, <X> and xyz [SEP] ab"]


@pytest.fixture(scope="module")
def transformers(oracle):
    return oracle[1]


def both(transformers):
    return MobileBertTokenizer(), transformers.BertTokenizer(vocab=VOCAB_FILE)


def add_same(ours, hf, transformers) -> None:
    """The same tokens added to both, checking the counts each call returns."""
    hf_tok = transformers.AddedToken
    plain = ["NewWord", "hello", "qq-zz", "xyz", "xyz"]
    assert ours.add_tokens(plain) == hf.add_tokens(plain)
    assert (ours.add_tokens([AddedToken("ab", single_word=True), AddedToken("cd", lstrip=True, rstrip=True),
                             AddedToken("Cd", normalized=False)])
            == hf.add_tokens([hf_tok("ab", single_word=True), hf_tok("cd", lstrip=True, rstrip=True),
                              hf_tok("Cd", normalized=False)]))
    assert ours.add_tokens("[MASK]x") == hf.add_tokens("[MASK]x")
    special = {"additional_special_tokens": ["<X>", "<y>"]}
    assert ours.add_special_tokens(special) == hf.add_special_tokens(special)


def rows_equal(a, b) -> None:
    for key in b:
        va, vb = a[key], b[key]
        if key == "offset_mapping":
            norm = lambda rows: [[tuple(o) for o in r] if r and not isinstance(r[0], int) else tuple(r) for r in rows]  # noqa: E731
            va, vb = norm(va), norm(vb)
        assert va == vb, key


def test_vocabulary_views_match_hf(transformers):
    ours, hf = both(transformers)
    add_same(ours, hf, transformers)
    assert len(ours) == len(hf) == 30522 + 7 and ours.vocab_size == hf.vocab_size == 30522
    assert ours.get_vocab() == hf.get_vocab()
    assert ours.get_added_vocab() == hf.get_added_vocab()
    assert list(ours.added_tokens_encoder) == list(hf.added_tokens_encoder)
    for i, t in hf.added_tokens_decoder.items():
        o = ours.added_tokens_decoder[i]
        assert (o.content, o.single_word, o.lstrip, o.rstrip, o.normalized, o.special) == \
            (t.content, t.single_word, t.lstrip, t.rstrip, t.normalized, t.special)
    assert ours.all_special_tokens == hf.all_special_tokens and ours.all_special_ids == hf.all_special_ids
    ids = list(range(30518, len(hf)))
    assert ours.convert_ids_to_tokens(ids) == hf.convert_ids_to_tokens(ids)
    names = ["NewWord", "newword", "Cd", "cd", "<X>", "<Y>", "[MASK]x"]
    assert ours.convert_tokens_to_ids(names) == hf.convert_tokens_to_ids(names)


def test_encoding_matches_hf(transformers):
    ours, hf = both(transformers)
    add_same(ours, hf, transformers)
    texts = ADDED_TEXTS + CORPUS
    opts = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    for text in texts:
        a, b = ours(text, **opts), hf(text, **opts)
        rows_equal(a, b)
        assert a.word_ids() == b.word_ids(), text
        assert ours.tokenize(text) == hf.tokenize(text), text
    a, b = ours(texts, **opts, padding=True), hf(texts, **opts, padding=True)  # a batch
    rows_equal(a, b)
    for i in range(len(texts)):
        assert a.word_ids(i) == b.word_ids(i)
    firsts, seconds = ADDED_TEXTS, ADDED_TEXTS[::-1]  # pairs, truncated
    for strategy in ("longest_first", "only_first", "only_second"):
        a = ours(firsts, seconds, max_length=26, truncation=strategy, **opts)
        b = hf(firsts, seconds, max_length=26, truncation=strategy, **opts)
        rows_equal(a, b)
        assert [a.sequence_ids(i) for i in range(len(firsts))] == [b.sequence_ids(i) for i in range(len(firsts))]


def test_decode_matches_hf(transformers):
    ours, hf = both(transformers)
    add_same(ours, hf, transformers)
    for text in ADDED_TEXTS:
        ids = hf(text)["input_ids"]
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
        tokens = hf.convert_ids_to_tokens(ids)
        assert ours.convert_tokens_to_string(tokens) == hf.convert_tokens_to_string(tokens)
        mask_hf = hf.get_special_tokens_mask(ids, already_has_special_tokens=True)
        assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == mask_hf


def test_special_token_replaced_as_hf(transformers):
    """add_special_tokens({"cls_token": ...}) and a second list of additional special tokens, as HF: the new
    cls_token gets an id, encoding still frames the text with the [CLS] it was made with; the second list
    replaces the first."""
    ours, hf = both(transformers)
    for d in ({"cls_token": "<c>"}, {"additional_special_tokens": ["<a>"]}, {"additional_special_tokens": ["<b>"]}):
        assert ours.add_special_tokens(d) == hf.add_special_tokens(d)
    assert (ours.cls_token, ours.cls_token_id) == (hf.cls_token, hf.cls_token_id)
    assert ours.all_special_tokens == hf.all_special_tokens
    assert ours("a <a> <b> <c>")["input_ids"] == hf("a <a> <b> <c>")["input_ids"]


def test_explain_shows_added_tokens(transformers):
    ours, hf = both(transformers)
    add_same(ours, hf, transformers)
    for text in ADDED_TEXTS:
        explained = ours.explain(text)
        assert explained.ids == hf(text)["input_ids"]
        assert [p for word in explained.pieces for p in word] == hf.convert_ids_to_tokens(explained.ids[1:-1])
        assert len(explained.words) == len(explained.pieces) == len(set(w for w in hf(text).word_ids() if w is not None))


def test_word_cache_is_not_stale(transformers):
    ours, hf = both(transformers)
    text = "xyzzy unaffable xyzzy"
    assert ours(text)["input_ids"] == hf(text)["input_ids"]  # the words are cached now
    assert ours.word_cache_info()["entries"] > 0
    assert ours.add_tokens(["xyzzy", "affa"]) == hf.add_tokens(["xyzzy", "affa"])
    assert ours(text)["input_ids"] == hf(text)["input_ids"]
    assert 30522 in ours(text)["input_ids"]


def test_save_load_both_ways(transformers, tmp_path):
    ours, hf = both(transformers)
    add_same(ours, hf, transformers)
    ours.save_pretrained(tmp_path / "ours")
    hf.save_pretrained(tmp_path / "hf")
    hf_from_ours = transformers.AutoTokenizer.from_pretrained(tmp_path / "ours")
    ours_from_hf = MobileBertTokenizer.from_pretrained(tmp_path / "hf")
    ours_again = MobileBertTokenizer.from_pretrained(tmp_path / "ours")
    for text in ADDED_TEXTS + CORPUS[:10]:
        want = hf(text)["input_ids"]
        assert hf_from_ours(text)["input_ids"] == want, text
        assert ours_from_hf(text)["input_ids"] == want, text
        assert ours_again(text)["input_ids"] == want, text
    for tok in (hf_from_ours, ours_from_hf, ours_again):
        assert len(tok) == len(hf) and tok.get_added_vocab() == hf.get_added_vocab()
        assert tok.all_special_tokens == hf.all_special_tokens


@pytest.mark.parametrize("decoder, match", [
    ({"30522": {"content": 5}}, "content"),
    ({"30522": {"content": "x", "normalized": "yes"}}, "normalized"),
    ({"abc": {"content": "x"}}, "id"),
    ({"30600": {"content": "x"}}, "next free id"),
    ({"5": {"content": "x"}}, "has id 5"),
    (["x"], "each added token"),
])
def test_hostile_added_tokens_refused(tmp_path, decoder, match):
    MobileBertTokenizer().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config["added_tokens_decoder"] = decoder
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(TokenizerError, match=match):
        MobileBertTokenizer.from_pretrained(tmp_path)


def test_hostile_tokenizer_json_added_tokens_refused(transformers, tmp_path):
    hf = transformers.BertTokenizer(vocab=VOCAB_FILE)
    hf.add_tokens(["newword"])
    hf.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text())
    for bad, match in (({"id": "x", "content": "y"}, "id"), ({"id": 30522, "content": None}, "content"),
                       ({"id": 30522, "content": "y", "lstrip": 1}, "lstrip"), ("y", "object")):
        (tmp_path / "tokenizer.json").write_text(json.dumps(dict(data, added_tokens=data["added_tokens"][:-1] + [bad])))
        with pytest.raises(TokenizerError, match=match):
            MobileBertTokenizer.from_pretrained(tmp_path)


def test_bad_arguments_refused():
    tok = MobileBertTokenizer()
    for bad in (5, [b"x"], [""], [AddedToken("x", lstrip="yes")]):
        with pytest.raises(TokenizerError):
            tok.add_tokens(bad)
    with pytest.raises(TokenizerError):
        tok.add_special_tokens({"additional_special_tokens": "<x>"})
    assert len(tok) == 30522


def test_added_tokens_total_length_is_capped_before_anything_changes():
    """Every added token is part of one matcher regex (~100 MB per million characters to compile): past
    added.MAX_MATCH_CHARS in all, add_tokens refuses, and the tokenizer is as it was."""
    from minimobilebert.tokenization.added import MAX_MATCH_CHARS, MAX_TOKEN_CHARS

    tok = MobileBertTokenizer()
    half = [f"{i:06d}" + "q" * (MAX_TOKEN_CHARS - 6) for i in range(MAX_MATCH_CHARS // MAX_TOKEN_CHARS // 2)]
    assert tok.add_tokens(half) == len(half)
    before = (len(tok), dict(tok.added_tokens_decoder), tok("a 000001" + "q" * (MAX_TOKEN_CHARS - 6))["input_ids"])
    with pytest.raises(TokenizerError, match="add_tokens: the added tokens .* over the limit of 1,000,000"):
        tok.add_tokens([f"{i:06d}" + "s" * (MAX_TOKEN_CHARS - 6) for i in range(len(half) + 1)])  # 1.01M in all
    assert (len(tok), dict(tok.added_tokens_decoder), tok("a 000001" + "q" * (MAX_TOKEN_CHARS - 6))["input_ids"]) == before
    with pytest.raises(TokenizerError, match=f"at most {MAX_TOKEN_CHARS}"):
        tok.add_tokens(["x" * (MAX_TOKEN_CHARS + 1)])


SLOT_ATTRIBUTES = ("bos_token", "eos_token", "pad_token", "bos_token_id", "eos_token_id", "pad_token_id",
                   "all_special_tokens", "all_special_ids", "special_tokens_map")


def test_special_token_slots_as_hf(transformers, tmp_path):
    """HF's common tokenizer test: eos_token and pad_token set to new tokens, bos_token to an existing one
    (BERT leaves bos/eos None until then); the same counts, attributes, ids and padding, and each library
    reads the other's saved folder back with them."""
    ours, hf = both(transformers)
    assert all(getattr(ours, a) == getattr(hf, a) for a in SLOT_ATTRIBUTES)  # bos/eos None
    new = {"eos_token": ">>>>|||<||<<|<<", "bos_token": "[CLS]", "pad_token": "<<<<<|||>|>>>>|>"}
    assert ours.add_special_tokens(new) == hf.add_special_tokens(new) == 2
    for attribute in SLOT_ATTRIBUTES:
        assert getattr(ours, attribute) == getattr(hf, attribute), attribute
    text = ">>>>|||<||<<|<< aaaaabbbbbb low cccccccccdddddddd <<<<<|||>|>>>>|> l"
    tokens = ours.encode(text, add_special_tokens=False)
    assert tokens == hf.encode(text, add_special_tokens=False)
    assert tokens[0] == ours.eos_token_id and tokens[-2] == ours.pad_token_id
    assert ours([text, "a"], padding=True)["input_ids"] == hf([text, "a"], padding=True)["input_ids"]
    ours.save_pretrained(tmp_path / "ours")
    hf.save_pretrained(tmp_path / "hf")
    for mine, theirs in ((MobileBertTokenizer.from_pretrained(tmp_path / "ours"),
                          transformers.AutoTokenizer.from_pretrained(tmp_path / "ours")),
                         (MobileBertTokenizer.from_pretrained(tmp_path / "hf"), hf)):
        for attribute in SLOT_ATTRIBUTES:
            assert getattr(mine, attribute) == getattr(theirs, attribute), attribute
        assert mine([text, "a"], padding=True)["input_ids"] == theirs([text, "a"], padding=True)["input_ids"]


def test_bos_and_eos_given_at_construction_as_hf(transformers):
    ours = MobileBertTokenizer(VOCAB_FILE, bos_token="<s>", eos_token="</s>")
    hf = transformers.BertTokenizer(vocab=VOCAB_FILE, bos_token="<s>", eos_token="</s>")
    for attribute in SLOT_ATTRIBUTES:
        assert getattr(ours, attribute) == getattr(hf, attribute), attribute
    assert len(ours) == len(hf) and ours("<s> hi </s>")["input_ids"] == hf("<s> hi </s>")["input_ids"]


def test_added_token_given_as_transformers_added_token_compares_as_hf(transformers, tmp_path):
    """HF's test_added_tokens_serialization: an eos_token given as transformers' AddedToken (the `tokenizers`
    class) is kept with its options, the private _special_tokens_map HF's tests read holds it, and our
    AddedToken compares equal to theirs when content and options agree (both ways; hash by the fields)."""
    theirs = transformers.AddedToken("[NEW_EOS]", rstrip=False, lstrip=True, normalized=False, special=True)
    ours = MobileBertTokenizer(VOCAB_FILE, eos_token=theirs)
    hf = transformers.BertTokenizer(vocab=VOCAB_FILE, eos_token=theirs)
    assert ours._special_tokens_map["eos_token"] == theirs == hf._special_tokens_map["eos_token"]
    assert theirs == ours._special_tokens_map["eos_token"]
    assert ours._special_tokens_map["bos_token"] is None and ours._special_tokens_map["cls_token"] == "[CLS]"
    assert set(ours._special_tokens_map) == set(hf._special_tokens_map)
    mine = AddedToken("[NEW_EOS]", lstrip=True, normalized=False, special=True)
    assert mine == theirs and mine != transformers.AddedToken("[NEW_EOS]", normalized=False, special=True)
    assert mine != "[NEW_EOS]" and len({mine, AddedToken("[NEW_EOS]", lstrip=True, normalized=False, special=True)}) == 1
    ours.save_pretrained(tmp_path)
    back = MobileBertTokenizer.from_pretrained(tmp_path)
    assert back.eos_token == "[NEW_EOS]" and back.added_tokens_decoder[back.eos_token_id] == theirs


WORDS = ["new", "newer", "Hello", "foo", "bar", "qux", "zz", "ab", "a", "!", ",", "-", "x-y", "Über", "日本"]


@settings(max_examples=int(os.environ.get("ADDED_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(added=st.lists(st.tuples(st.sampled_from(WORDS), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
                      min_size=1, max_size=5),
       special=st.lists(st.sampled_from(["<s1>", "[X]", "<s1>x"]), max_size=2),
       text=st.lists(st.sampled_from(WORDS + ["<s1>", "[X]", "NEW", " ", "  ", "est", "é"]), max_size=12))
def test_random_added_tokens_match_hf(transformers, added, special, text):
    ours, hf = both(transformers)
    options = [dict(zip(("single_word", "lstrip", "rstrip", "normalized"), flags)) for _, *flags in added]
    ours_added = [AddedToken(word, **o) for (word, *_), o in zip(added, options)]
    hf_added = [transformers.AddedToken(word, **o) for (word, *_), o in zip(added, options)]
    assert ours.add_tokens(ours_added) == hf.add_tokens(hf_added)
    if special:
        d = {"additional_special_tokens": special}
        assert ours.add_special_tokens(d) == hf.add_special_tokens(d)
    text = "".join(text)
    a, b = ours(text, return_offsets_mapping=True), hf(text, return_offsets_mapping=True)
    assert a["input_ids"] == b["input_ids"], text
    assert [tuple(o) for o in a["offset_mapping"]] == [tuple(o) for o in b["offset_mapping"]], text
    assert a.word_ids() == b.word_ids(), text
