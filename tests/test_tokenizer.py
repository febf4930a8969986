"""Our WordPiece tokenizer vs Hugging Face's fast BERT tokenizer (transformers.BertTokenizer, built on the
`tokenizers` library) on the same vocab.txt: ids, token types, masks, offsets, word and sequence ids,
truncation and overflow windows, padding, decoding. Plus properties that hold with no oracle (hypothesis)."""

from __future__ import annotations

import doctest
import hashlib
import json
import os
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert.tokenizer import VOCAB_FILE, MobileBertTokenizer, normalize, split_words, wordpiece

CORPUS = [
    # published examples (docs/facts.md, with their source)
    "Hello, my dog is cute", "The capital of France is [MASK].", "the man worked as a [MASK].",
    "HuggingFace is a company based in Paris and New York", "I've never had such a bad day in my life",
    # prose and punctuation
    "It was the best of times, it was the worst of times; it was the age of wisdom...",
    "Prices rose 3.5% to $1,234.56 (est.) — a 'record' \"high\"!? #1 @user a+b=c ~x^y | z_w `q`",
    "don't won't it's I'm y'all rock'n'roll", "e-mail: someone@example.com, https://example.org/a?b=c&d=e",
    # accents, other scripts, case
    "Ünïcödé naïve café résumé Ångström façade São Paulo Zürich", "ΟΔΟΣ Σίσυφος ελληνικά", "İstanbul ǅemal ﬁne ß",
    "Москва — столица России", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีครับ", "한국어 텍스트",
    "東京は日本の首都です。中文分词测试", "\U0002b820\U0002b900\U0002b920 ext-E boundary", "𠀀𠀁 ext-B",
    # emoji, symbols
    "👍🏽 😀 ok 🇫🇷 flag", "€100 ≥ ∑ x² ± √2 ♥ ™ ©",
    # control, zero-width and whitespace kinds
    "a\u2028b\x85c\u200bd\ufeffe", "\x00a\ufffdb\x07c", "tab\tnew\nline\r\nfeed\x0cvt\x0b",
    "nbsp\u00a0thin\u2009ideo\u3000space\u202fend", "  leading and trailing  ", "", " ", "\u200b",
    "a\u0301\u0323b combining marks", "e\u0301 vs \u00e9",
    # long words and special tokens in text
    "x" * 100, "y" * 101, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a[MASK]b [mask] [CLS]x[SEP] [UNK] [PAD]", "[[MASK]] [MASK][MASK]",
]
PAIRS = [("Who was Jim Henson?", "Jim Henson was a nice puppet"),
         ("Où est le café?", "Le café est à Paris, près d'ici."),
         ("short", "A much longer second segment that goes on and on with many words in it, to be truncated."),
         ("A much longer first segment that goes on and on with many words in it, to be truncated.", "short")]


@pytest.fixture(scope="module")
def ours():
    return MobileBertTokenizer()


@pytest.fixture(scope="module")
def hf(oracle):
    _, transformers = oracle
    return transformers.BertTokenizer(vocab=VOCAB_FILE)  # the fast tokenizer in transformers 5


def hf_rows(encoding, key: str):
    return [list(map(tuple, row)) if key == "offset_mapping" else list(row) for row in encoding[key]]


def assert_same_encoding(ours_enc, hf_enc, keys, batched: bool = True):
    for key in keys:
        a, b = ours_enc[key], hf_enc[key]
        if key == "offset_mapping":
            a = [list(map(tuple, r)) for r in a] if batched else list(map(tuple, a))
            b = [list(map(tuple, r)) for r in b] if batched else list(map(tuple, b))
        assert a == b, f"{key}: ours {a} != HF {b}"
    rows = len(hf_enc["input_ids"]) if batched else 1
    for i in range(rows):
        assert ours_enc.sequence_ids(i) == hf_enc.sequence_ids(i), f"sequence_ids row {i}"
        assert ours_enc.word_ids(i) == hf_enc.word_ids(i), f"word_ids row {i}"


def test_shipped_vocab_is_bert_uncased():
    with open(VOCAB_FILE, "rb") as f:
        data = f.read()
    assert hashlib.md5(data).hexdigest() == "64800d5d8528ce344256daf115d4965e"
    assert len(MobileBertTokenizer()) == 30522


def test_published_ids(ours):
    """Ids from Hugging Face's documentation (docs/facts.md, with the source), stated there, not computed here."""
    assert ours("Hello, my dog is cute")["input_ids"] == [101, 7592, 1010, 2026, 3899, 2003, 10140, 102]
    assert ours("The capital of France is [MASK].")["input_ids"] == [101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102]
    enc = ours("Who was Jim Henson?", "Jim Henson was a nice puppet")
    assert enc["input_ids"] == [101, 2040, 2001, 3958, 27227, 1029, 102, 3958, 27227, 2001, 1037, 3835, 13997, 102]
    assert enc["token_type_ids"] == [0] * 7 + [1] * 7


@pytest.mark.oracle
@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_corpus_matches_hf(ours, hf, text):
    keys = ["input_ids", "token_type_ids", "attention_mask", "offset_mapping", "special_tokens_mask"]
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    assert_same_encoding(ours(text, **options), hf(text, **options), keys, batched=False)
    assert ours.tokenize(text) == hf.tokenize(text)
    ids = hf(text)["input_ids"]
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
    assert ours.convert_tokens_to_string(hf.tokenize(text)) == hf.convert_tokens_to_string(hf.tokenize(text))


@pytest.mark.oracle
@pytest.mark.parametrize("options", [dict(do_lower_case=False), dict(do_lower_case=False, strip_accents=True),
                                     dict(strip_accents=False), dict(tokenize_chinese_chars=False)],
                         ids=["cased", "cased_strip_accents", "keep_accents", "no_cjk_split"])
def test_normalization_options_match_hf(oracle, options):
    _, transformers = oracle
    ours_tok, hf_tok = MobileBertTokenizer(**options), transformers.BertTokenizer(vocab=VOCAB_FILE, **options)
    keys = ["input_ids", "offset_mapping"]
    for text in CORPUS:
        assert_same_encoding(ours_tok(text, return_offsets_mapping=True), hf_tok(text, return_offsets_mapping=True),
                             keys, batched=False)


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    {},
    {"padding": True},
    {"padding": "max_length", "max_length": 40, "truncation": True},
    {"padding": True, "pad_to_multiple_of": 8},
    {"truncation": True, "max_length": 12},
    {"truncation": "only_second", "max_length": 16},
    {"truncation": "only_second", "max_length": 16, "stride": 4, "return_overflowing_tokens": True, "padding": True},
    {"truncation": "only_first", "max_length": 18, "stride": 2, "return_overflowing_tokens": True},
    {"truncation": "longest_first", "max_length": 14, "stride": 3, "return_overflowing_tokens": True},
    {"truncation": "longest_first", "max_length": 9, "return_overflowing_tokens": True},
    {"truncation": "longest_first", "max_length": 4, "return_overflowing_tokens": True},  # one text gets 0 tokens
    {"max_length": 10},  # a max_length alone turns truncation on
    {"add_special_tokens": False, "padding": True, "return_length": True},
])
def test_pairs_and_options_match_hf(ours, hf, options):
    keys = ["input_ids", "token_type_ids", "attention_mask", "offset_mapping", "special_tokens_mask"]
    if options.get("return_overflowing_tokens"):
        keys.append("overflow_to_sample_mapping")
    if options.get("return_length"):
        keys.append("length")
    full = dict(options, return_offsets_mapping=True, return_special_tokens_mask=True)
    for first, second in [([p[0] for p in PAIRS], [p[1] for p in PAIRS]), (CORPUS[:12], None)]:
        if second is None and options.get("truncation") in ("only_second", "only_first"):
            continue
        if options.get("truncation") == "only_first" and second is not None:  # only pairs whose first can shrink
            first, second = [PAIRS[3][0]], [PAIRS[3][1]]
        if options.get("truncation") == "only_second" and second is not None:
            first, second = [p[0] for p in PAIRS[:3]], [p[1] for p in PAIRS[:3]]
        assert_same_encoding(ours(first, second, **full), hf(first, second, **full), keys)


@pytest.mark.oracle
def test_question_answering_windows_match_hf(ours, hf):
    """What the QA pipeline asks for: a long context in overlapping windows, with offsets."""
    context = " ".join(["Jim Henson was a nice puppeteer from Mississippi, born in 1936; he created the Muppets."] * 12)
    options = dict(truncation="only_second", max_length=64, stride=16, return_overflowing_tokens=True,
                   return_offsets_mapping=True, padding=False)
    questions, contexts = ["Who was Jim Henson?", "Where?"], [context, context[:300]]
    ours_enc, hf_enc = ours(questions, contexts, **options), hf(questions, contexts, **options)
    assert len(ours_enc["input_ids"]) > 4, "the context should need several windows"
    assert_same_encoding(ours_enc, hf_enc, ["input_ids", "token_type_ids", "offset_mapping", "overflow_to_sample_mapping"])
    single = ours("Who was Jim Henson?", context, **options)  # a single input with overflow gives rows, like HF
    assert_same_encoding(single, hf("Who was Jim Henson?", context, **options), ["input_ids", "offset_mapping"])


def per_character_disagreements(hf) -> list[int]:
    """Code points that our normalization (steps 1-2, one character alone) treats differently from the fast
    tokenizer's. They exist because the two sides read different Unicode versions (Python 3.11's
    unicodedata is 14.0; the Rust crates under `tokenizers` are older for categories, newer for some
    decompositions): characters added or recategorised since."""
    from minimobilebert.tokenizer import is_punctuation, normalize_char

    normalizer, pre_tokenizer = hf.backend_tokenizer.normalizer, hf.backend_tokenizer.pre_tokenizer
    differ = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ours_ch = normalize_char(chr(cp), True, True, True)
        if ours_ch != normalizer.normalize_str(chr(cp)):
            differ.append(cp)
        elif len(ours_ch) == 1 and ours_ch != " " and \
                is_punctuation(ours_ch) != (len(pre_tokenizer.pre_tokenize_str(f"a{ours_ch}a")) == 3):
            differ.append(cp)
    return differ


@pytest.fixture(scope="module")
def unicode_skew(hf):
    return frozenset(per_character_disagreements(hf))


@pytest.mark.oracle
def test_per_character_rules_agree_but_for_unicode_versions(unicode_skew):
    """Over all 1.1M code points: every character Unicode 3.2 already had agrees, except four that later
    Unicode versions recategorised; what else differs is newer than the older of the two databases."""
    recategorised = {0x166D: "Po -> So", 0x1734: "Mn -> Mc", 0x1885: "Lo -> Mn", 0x1886: "Lo -> Mn"}
    old = {cp for cp in unicode_skew if unicodedata.ucd_3_2_0.category(chr(cp)) != "Cn"}
    assert old == set(recategorised), sorted(map(hex, old - set(recategorised)))
    assert len(unicode_skew) < 0.001 * 0x110000, f"{len(unicode_skew)} code points differ"


@pytest.mark.oracle
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_matches_hf(ours, hf, unicode_skew, data):
    """Any text (surrogates aside) of characters whose Unicode data both sides agree on: ids and offsets
    equal. Spaces, punctuation, accents and special tokens are mixed in so that words, splits and
    [UNK]s happen often."""
    alphabet = st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(" ,.!?'#\t\n\u0301\u200bé東ΣİA9"))
    pieces = st.one_of(st.text(alphabet, max_size=12), st.sampled_from(["[MASK]", "[SEP]", "##", "unaffable"]))
    text = "".join(data.draw(st.lists(pieces, max_size=8)))
    if any(ord(ch) in unicode_skew for ch in text):
        return
    options = dict(return_offsets_mapping=True)
    assert_same_encoding(ours(text, **options), hf(text, **options), ["input_ids", "offset_mapping"], batched=False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_properties(text):
    """Never raises; offsets are in the text, non-empty and in order; decode(encode(x)) is a fixed point."""
    tok = MobileBertTokenizer()
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    previous = 0
    for (start, end), special in zip(enc["offset_mapping"], enc["special_tokens_mask"]):
        if special:
            assert (start, end) == (0, 0)
            continue
        assert 0 <= start < end <= len(text) and start >= previous
        previous = start
    decoded = tok.decode(enc["input_ids"])
    assert tok(decoded, add_special_tokens=False)["input_ids"] == enc["input_ids"], "decode then encode changed the ids"
    assert tok.decode(tok(decoded, add_special_tokens=False)["input_ids"]) == decoded


def test_steps_compose(ours):
    """tokenize() is normalize -> split_words -> wordpiece, the three functions a notebook steps through."""
    text = "Tokenization of UNAFFABLE words, café 東京!"
    normalized, origin = normalize(text)
    words = [normalized[a:b] for a, b in split_words(normalized)]
    assert words == ["tokenization", "of", "unaffable", "words", ",", "cafe", "東", "京", "!"]
    pieces = [p for w in words for p in wordpiece(w, ours.vocab)]
    assert pieces == ours.tokenize(text)
    assert [text[origin[i]] for i in range(len("tokenization"))] == list("Tokenization")
    assert wordpiece("x" * 101, ours.vocab) is None and wordpiece("qqqzzz\u2603", ours.vocab) is None


def test_explain_shows_every_step(ours):
    e = ours.explain("Unaffable café, [MASK]!")
    assert e.normalized == "unaffable cafe, [MASK]!"
    assert e.words == ["unaffable", "cafe", ",", "[MASK]", "!"]  # a special token is a word of its own, kept whole
    assert ["una", "##ffa", "##ble"] in e.pieces
    assert e.tokens[0] == "[CLS]" and e.tokens[-1] == "[SEP]" and "[MASK]" in e.tokens
    assert e.ids == ours("Unaffable café, [MASK]!")["input_ids"]
    shown = str(e)
    for line in ("text", "normalized", "words", "wordpieces", "tokens", "ids"):
        assert line in shown
    assert "unaffable -> una ##ffa ##ble" in shown


def test_numpy_tensors_and_batch(ours):
    enc = ours(["a short one", "and a somewhat longer text here"], padding=True, return_tensors="np")
    assert enc["input_ids"].dtype == np.int64 and enc["input_ids"].shape == enc["attention_mask"].shape
    assert enc["attention_mask"][0].sum() < enc["attention_mask"][1].sum()
    out = mm.MobileBertModel(mm.MobileBertConfig(vocab_size=30522, hidden_size=32, intra_bottleneck_size=16,
                                                 embedding_size=8, intermediate_size=24, num_attention_heads=2,
                                                 num_hidden_layers=1))(**enc)
    assert out.last_hidden_state.shape == (*enc["input_ids"].shape, 32)
    with pytest.raises(ValueError, match="padding=True"):
        ours(["a", "b c d"], return_tensors="np")
    single = ours("one text", return_tensors="np")  # arrays always have the batch axis, as HF's
    assert single["input_ids"].shape == (1, 4) and single.sequence_ids(0) == [None, 0, 0, None]


def test_bad_input_names_the_problem(ours):
    with pytest.raises(mm.TokenizerError, match=r"text\[0\] is int 1; the tokenizer takes a str, a list of str"):
        ours([1, 2])
    with pytest.raises(mm.TokenizerError, match="both be single inputs or both be batches"):
        ours(["a"], "b")
    with pytest.raises(ValueError, match="2 texts but 1 text pairs"):
        ours(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="not tensorflow or jax"):
        ours("a", return_tensors="tf")
    with pytest.raises(ValueError, match="truncation must be"):
        ours("a", truncation="middle")
    with pytest.raises(ValueError, match="needs a text pair"):
        ours("a b c d", truncation="only_second", max_length=3)
    with pytest.raises(ValueError, match="stride .* must be smaller"):
        ours("a b c d e f g", max_length=5, stride=3, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="leaves no room"):
        ours("a", "b", max_length=2)
    with pytest.raises(ValueError, match=r"token id 30522 is outside this vocabulary \(ids 0..30521\)"):
        ours.decode([101, 30522])
    with pytest.raises(ValueError, match="1-D"):
        ours.decode(np.zeros((2, 3), dtype=np.int64))


def test_from_pretrained_reads_the_folder_config(tmp_path):
    folder = tmp_path / "tok"
    MobileBertTokenizer().save_pretrained(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": False, "model_max_length": 128, "mask_token": {"content": "[MASK]"},
         "tokenizer_class": "MobileBertTokenizer"}))
    tok = MobileBertTokenizer.from_pretrained(folder)
    assert tok.model_max_length == 128 and not tok.do_lower_case and not tok.strip_accents
    assert tok.tokenize("Café") != MobileBertTokenizer().tokenize("Café")  # case and accents kept
    (folder / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer_config.json.* is not valid JSON"):
        MobileBertTokenizer.from_pretrained(folder)
    os.remove(folder / "tokenizer_config.json")
    (folder / "vocab.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"has no \['\[UNK\]'"):
        MobileBertTokenizer.from_pretrained(folder)
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        MobileBertTokenizer(vocab_file=str(tmp_path / "missing.txt"))


@pytest.mark.oracle
def test_saved_folder_loads_in_transformers(oracle, tmp_path, ours):
    _, transformers = oracle
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    text = "Ünïcödé café, [MASK] 東京!"
    assert theirs(text)["input_ids"] == ours(text)["input_ids"]


def test_normalization_rules_on_single_characters():
    """The character classes behind step 1, on characters whose class is stated by Unicode."""
    assert normalize("\u200b\ufeff\x00\ufffd")[0] == ""  # format characters, NUL and U+FFFD are dropped
    assert normalize("a\u3000b\u2028c")[0] == "a b c"  # every whitespace kind becomes one space
    assert normalize("Ǆ")[0] == "ǆ" and unicodedata.category("ǆ") == "Ll"
    assert normalize("ΟΣ")[0] == "οσ"  # per-character lower-casing: no final-sigma rule (as the fast tokenizer)
    assert normalize("Café", lowercase=False, strip_accents=False)[0] == "Café"


@pytest.mark.parametrize("name", ["tokenization", "tokenization.normalize", "tokenization.pretokenize",
                                  "tokenization.wordpiece", "tokenization.truncation"])
def test_docstring_examples_hold(name):
    import importlib

    module = importlib.import_module(f"minimobilebert.{name}")
    result = doctest.testmod(module)
    assert result.attempted >= 1 and result.failed == 0


@pytest.mark.oracle
@pytest.mark.parametrize("do_lower_case", [True, False], ids=["uncased", "cased"])
def test_loads_a_folder_transformers_5_wrote(oracle, tmp_path, do_lower_case, monkeypatch):
    """transformers 5 saves tokenizer.json and tokenizer_config.json only, no vocab.txt. Each is parsed once
    (tokenizer.json gives the settings and the added tokens)."""
    from minimobilebert import files

    _, transformers = oracle
    theirs = transformers.BertTokenizer(vocab=VOCAB_FILE, do_lower_case=do_lower_case)
    theirs.save_pretrained(tmp_path)
    assert not (tmp_path / "vocab.txt").exists() and (tmp_path / "tokenizer.json").exists()
    reads, read_json = [], files.read_json
    monkeypatch.setattr(files, "read_json", lambda path, *a, **k: reads.append(os.path.basename(path)) or read_json(
        path, *a, **k))
    loaded = MobileBertTokenizer.from_pretrained(tmp_path)
    assert sorted(reads) == ["tokenizer.json", "tokenizer_config.json"]
    assert loaded.do_lower_case == do_lower_case and len(loaded) == 30522
    for text in CORPUS:
        assert loaded(text)["input_ids"] == theirs(text)["input_ids"], text


def test_tokenizer_json_of_another_kind_or_nothing_is_refused(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}},
                                                         "normalizer": {"type": "NFC"}}))
    with pytest.raises(ValueError, match="describes a 'BPE' tokenizer; MobileBERT's is BERT's WordPiece"):
        MobileBertTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}},
                                                         "normalizer": {"type": "BertNormalizer"}}))
    with pytest.raises(ValueError, match="the id 0 is given to both .a. and .b."):
        MobileBertTokenizer.from_pretrained(tmp_path)
    os.remove(tmp_path / "tokenizer.json")
    with pytest.raises(FileNotFoundError, match="no vocab.txt and no tokenizer.json"):
        MobileBertTokenizer.from_pretrained(tmp_path)


def test_pipeline_tokenizer_comes_from_the_folder_or_warns(tmp_path):
    from minimobilebert.pipelines import load_tokenizer

    small = mm.MobileBertConfig(vocab_size=99, hidden_size=32, intra_bottleneck_size=16, embedding_size=8,
                                intermediate_size=24, num_attention_heads=2, num_hidden_layers=1)
    mm.MobileBertForMaskedLM(small).save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="no vocab.txt or tokenizer.json: using the BERT uncased vocabulary"):
        with pytest.raises(ValueError, match="30522 tokens but the model only 99 embeddings"):
            mm.pipeline("fill-mask", str(tmp_path))
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]) + "\n")
    assert len(load_tokenizer(str(tmp_path), vocab_size=99)) == 7


def test_garbage_collector_state_is_restored(ours):
    """Encoding pauses the cyclic GC (see tokenizer.gc_paused); it must come back as it was, errors included."""
    import gc

    assert gc.isenabled()
    ours(["a", "b"])
    assert gc.isenabled()
    with pytest.raises(mm.TokenizerError):
        ours([1])
    assert gc.isenabled()
    gc.disable()
    try:
        ours("a")
        assert not gc.isenabled(), "a caller's disabled GC must stay disabled"
    finally:
        gc.enable()
