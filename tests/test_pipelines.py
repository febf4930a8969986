"""Pipelines vs Hugging Face's, on the same random-weight models: ours run with our tokenizer, HF's with its
fast tokenizer built from the same vocab.txt. Scores are compared to 1e-4, labels/spans/words exactly.

transformers 5 removed its question-answering pipeline ("use text-generation"), so the QA oracle below is
that pipeline's algorithm assembled from what transformers 5 still ships: the fast tokenizer's overflow
windows, the model, `select_starts_ends` (kept by the document-QA pipeline) and the fast encoding's
token -> word -> characters alignment.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert import pipelines as P
from minimobilebert.cli import main
from conftest import build_hf

pytestmark = pytest.mark.oracle

VOCAB = mm.__path__[0] + "/data/vocab.txt"
WIDE = dict(vocab_size=30522, hidden_size=64, intra_bottleneck_size=32, embedding_size=16, intermediate_size=48,
            num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=512)
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "MISC"]
TEXTS = ["HuggingFace is a company based in Paris and New York",
         "Ünïcödé naïve café, 東京 and supercalifragilisticexpialidocious words!",
         "short"]
CONTEXT = " ".join(["Jim Henson was a nice puppeteer from Mississippi, born in 1936; he created the Muppets."] * 12)


@pytest.fixture(scope="module")
def hf_tokenizer(oracle):
    _, transformers = oracle
    return transformers.BertTokenizer(vocab=VOCAB)  # the fast (tokenizers) implementation in transformers 5


def hf_and_ours(oracle, tmp_path, head_class: str, our_class, scale_head: str | None = None, **config):
    torch, transformers = oracle
    hf = build_hf(transformers, torch, head_class, **dict(WIDE, **config))
    if scale_head:  # spread the random head's logits so that answers and labels vary
        with torch.no_grad():
            getattr(hf, scale_head).weight.mul_(30)
    hf.save_pretrained(tmp_path / head_class)
    return hf, our_class.from_pretrained(tmp_path / head_class)


def assert_same(ours, theirs, path="result"):
    """Equal structure; floats within 1e-4; everything else exactly."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), f"{path}: {ours} vs {theirs}"
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{path}.{k}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{path}: {ours} vs {theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(theirs, (float, np.floating)):
        assert abs(float(ours) - float(theirs)) <= 1e-4, f"{path}: {ours} vs {theirs}"
    else:
        assert ours == theirs, f"{path}: {ours!r} vs {theirs!r}"


def test_fill_mask_matches_hf(oracle, tmp_path, hf_tokenizer):
    _, transformers = oracle
    hf, model = hf_and_ours(oracle, tmp_path, "MobileBertForMaskedLM", mm.MobileBertForMaskedLM)
    ours = P.pipeline("fill-mask", model)
    theirs = transformers.pipeline("fill-mask", model=hf, tokenizer=hf_tokenizer)
    for text in ["The capital of France is [MASK].", "[MASK] is a [MASK] city in 東京."]:
        for top_k in (1, 5):
            assert_same(ours(text, top_k=top_k), theirs(text, top_k=top_k))
    assert_same(ours("Paris is the [MASK] of France.", targets=["capital", "city"]),
                theirs("Paris is the [MASK] of France.", targets=["capital", "city"]))
    batch = ours(["a [MASK] b", "c [MASK]"] * 5)
    assert len(batch) == 10
    assert_same(batch[1], ours("c [MASK]"))  # padded in a batch == alone (up to float rounding)
    with pytest.raises(ValueError, match=r"no \[MASK\] token"):
        ours("nothing masked here")


def test_fill_mask_projects_only_the_mask_rows_and_equals_the_full_head():
    """The pipeline's logits at the [MASK] tokens (LM head on those rows only) == the full model's logits
    there, on a padded batch with several masks in a row and none in padding."""
    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig(**WIDE), seed=3)
    fill = P.pipeline("fill-mask", model)
    enc = fill.encode(["[MASK] is a [MASK] city.", "a [MASK]", "the [MASK] [MASK] [MASK] of a longer text here"])
    rows, positions, logits = fill.mask_logits(enc)
    assert (enc["input_ids"][rows, positions] == fill.tokenizer.mask_token_id).all()
    assert list(rows) == [0, 0, 1, 2, 2, 2] and logits.shape == (6, 30522)
    full = model(enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]).logits
    assert np.abs(logits - full[rows, positions]).max() <= 1e-5 * np.abs(full).max()


@pytest.mark.parametrize("num_labels, problem_type", [(3, None), (1, None), (4, "multi_label_classification")])
def test_text_classification_matches_hf(oracle, tmp_path, hf_tokenizer, num_labels, problem_type):
    _, transformers = oracle
    hf, model = hf_and_ours(oracle, tmp_path, "MobileBertForSequenceClassification",
                            mm.MobileBertForSequenceClassification, scale_head="classifier",
                            num_labels=num_labels, problem_type=problem_type)
    ours = P.pipeline("text-classification", model)
    theirs = transformers.pipeline("text-classification", model=hf, tokenizer=hf_tokenizer)
    for inputs in (TEXTS[0], TEXTS, {"text": "is this", "text_pair": "a pair?"}):
        for options in ({}, {"top_k": None}, {"top_k": 2}, {"function_to_apply": "none"}):
            assert_same(ours(inputs, **options), theirs(inputs, **options))


@pytest.mark.parametrize("aggregation", P.AGGREGATIONS)
def test_token_classification_matches_hf(oracle, tmp_path, hf_tokenizer, aggregation):
    _, transformers = oracle
    hf, model = hf_and_ours(oracle, tmp_path, "MobileBertForTokenClassification", mm.MobileBertForTokenClassification,
                            scale_head="classifier", id2label=dict(enumerate(NER_LABELS)),
                            label2id={label: i for i, label in enumerate(NER_LABELS)})
    ours = P.pipeline("ner", model)
    theirs = transformers.pipeline("token-classification", model=hf, tokenizer=hf_tokenizer)
    for text in TEXTS:
        for ignore in (("O",), ()):
            expected = theirs(text, aggregation_strategy=aggregation, ignore_labels=list(ignore))
            for entity in expected:  # HF returns NumPy scalars and ints
                entity.update({k: (float(v) if k == "score" else int(v) if k == "index" else v)
                               for k, v in entity.items()})
            assert_same(ours(text, aggregation_strategy=aggregation, ignore_labels=ignore), expected)
    assert len(ours(TEXTS[0], aggregation_strategy="simple", ignore_labels=())) > 1, "labels should vary"


def hf_question_answering(model, tokenizer, torch, question, context, top_k=1, handle_impossible_answer=False,
                          max_answer_len=15, doc_stride=None, max_seq_len=None):
    """HF's QA pipeline algorithm from transformers 5's surviving parts (see the module docstring)."""
    from transformers.pipelines.document_question_answering import select_starts_ends

    max_seq_len = max_seq_len or min(tokenizer.model_max_length, 384)
    doc_stride = min(max_seq_len // 2, 128) if doc_stride is None else doc_stride
    enc = tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
    answers, null_score = [], 1_000_000
    for i, ids in enumerate(enc["input_ids"]):
        ids = np.array(ids)
        p_mask = np.array([s != 1 for s in enc.sequence_ids(i)], dtype=np.int64)
        p_mask[ids == tokenizer.cls_token_id] = 0
        with torch.no_grad():
            out = model(torch.tensor(ids[None]), token_type_ids=torch.tensor([enc["token_type_ids"][i]]))
        starts, ends, scores, null_score = select_starts_ends(
            out.start_logits.numpy(), out.end_logits.numpy(), p_mask, np.ones(len(ids), np.int64), null_score,
            top_k, handle_impossible_answer, max_answer_len)
        encoding = enc.encodings[i]
        for s, e, score in zip(starts, ends, scores):
            first = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=1)[0]
            last = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=1)[1]
            answers.append({"score": float(score), "start": first, "end": last, "answer": context[first:last]})
    if handle_impossible_answer:
        answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
    answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
    return answers[0] if len(answers) == 1 else answers


@pytest.mark.parametrize("options", [{}, {"top_k": 3}, {"handle_impossible_answer": True, "top_k": 2},
                                     {"max_seq_len": 64, "doc_stride": 16, "top_k": 4}, {"max_answer_len": 2}])
def test_question_answering_matches_hf(oracle, tmp_path, hf_tokenizer, options):
    torch, _ = oracle
    hf, model = hf_and_ours(oracle, tmp_path, "MobileBertForQuestionAnswering", mm.MobileBertForQuestionAnswering,
                            scale_head="qa_outputs")
    ours = P.pipeline("question-answering", model)
    for question, context in [("Who was Jim Henson?", CONTEXT), ("Où est le café?", "Le café est à Paris, près d'ici.")]:
        expected = hf_question_answering(hf, hf_tokenizer, torch, question, context, **options)
        assert_same(ours(question, context, **options), expected)


def test_question_answering_answers_are_character_spans(oracle, tmp_path):
    _, model = hf_and_ours(oracle, tmp_path, "MobileBertForQuestionAnswering", mm.MobileBertForQuestionAnswering,
                           scale_head="qa_outputs")
    ours = P.pipeline("question-answering", model)
    for answer in ours("Who was Jim Henson?", CONTEXT, top_k=10, max_seq_len=48, doc_stride=12):
        assert CONTEXT[answer["start"]:answer["end"]] == answer["answer"] != ""
    batched = ours(["Who?", "Where?"], [CONTEXT[:200], "In Paris."])
    assert len(batched) == 2
    assert_same(batched[1], ours("Where?", "In Paris."))


def test_next_sentence_and_multiple_choice_helpers(oracle, tmp_path):
    _, nsp_model = hf_and_ours(oracle, tmp_path, "MobileBertForNextSentencePrediction",
                               mm.MobileBertForNextSentencePrediction)
    nsp = P.pipeline("next-sentence", nsp_model)
    result = nsp("The sky is blue.", "It rarely rains here.")
    ids = nsp.tokenizer("The sky is blue.", "It rarely rains here.")
    logits = nsp_model(np.array([ids["input_ids"]]), token_type_ids=np.array([ids["token_type_ids"]])).logits[0]
    assert result["score"] == pytest.approx(float(np.exp(logits[0]) / np.exp(logits).sum()), rel=1e-6) and result["is_next"] == (logits[0] > logits[1])

    _, mc_model = hf_and_ours(oracle, tmp_path, "MobileBertForMultipleChoice", mm.MobileBertForMultipleChoice)
    ranked = P.pipeline("multiple-choice", mc_model)("The cat sat on the", ["mat.", "moon.", "idea."])
    assert sorted(r["choice"] for r in ranked) == ["idea.", "mat.", "moon."]
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0)


def test_pipeline_errors_name_the_problem(tmp_path):
    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig(**WIDE))
    with pytest.raises(ValueError, match="unknown task 'summarize'"):
        P.pipeline("summarize", model)
    with pytest.raises(TypeError, match="needs a MobileBertForQuestionAnswering"):
        P.pipeline("question-answering", model)
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        P.pipeline("ner", mm.MobileBertForTokenClassification(mm.MobileBertConfig(**WIDE)))("x", aggregation_strategy="mean")


def test_pipeline_factory_takes_what_transformers_pipeline_takes(oracle, tmp_path, hf_tokenizer):
    """pipeline(...) as HF's: call options given to the factory apply to every call, device=-1 / "cpu",
    framework="pt", the "sentiment-analysis" name; without a task, the model's class or its config.json's
    architectures name it; question-answering also takes {"question", "context"} dicts. Results compared
    with transformers' pipelines given the same options."""
    _, transformers = oracle
    hf, model = hf_and_ours(oracle, tmp_path, "MobileBertForTokenClassification", mm.MobileBertForTokenClassification,
                            scale_head="classifier", id2label=dict(enumerate(NER_LABELS)),
                            label2id={label: i for i, label in enumerate(NER_LABELS)})
    ours = P.pipeline("ner", model, device=-1, aggregation_strategy="simple", ignore_labels=[])
    theirs = transformers.pipeline("ner", model=hf, tokenizer=hf_tokenizer, device=-1, aggregation_strategy="simple",
                                   ignore_labels=[])
    expected = [dict(e, score=float(e["score"])) for e in theirs(TEXTS[0])]
    assert_same(ours(TEXTS[0]), expected)
    assert ours(TEXTS[0], aggregation_strategy="none")[0]["entity"]  # a call's own option wins
    hf_cls, classifier = hf_and_ours(oracle, tmp_path, "MobileBertForSequenceClassification",
                                     mm.MobileBertForSequenceClassification, num_labels=3)
    floats = lambda result: [floats(r) for r in result] if isinstance(result, list) else (  # noqa: E731
        dict(result, score=float(result["score"])))
    for init in ({}, {"top_k": None}, {"top_k": 1}, {"top_k": 2}):  # HF nests differently for each
        ours = P.pipeline("sentiment-analysis", classifier, device="cpu", framework="pt", **init)
        theirs = transformers.pipeline("sentiment-analysis", model=hf_cls, tokenizer=hf_tokenizer, **init)
        for call in ({}, {"top_k": 1}, {"top_k": None}):
            for inputs in (TEXTS[1], TEXTS[:2], {"text": TEXTS[0], "text_pair": TEXTS[2]}):
                assert_same(ours(inputs, **call), floats(theirs(inputs, **call)), f"{init} {call} {inputs!r:.20}")

    folder = tmp_path / "MobileBertForTokenClassification"  # saved by hf_and_ours, with architectures
    assert type(P.pipeline(model=str(folder))) is P.TokenClassificationPipeline
    assert type(P.pipeline(model=classifier)) is P.TextClassificationPipeline
    qa = P.pipeline(model=mm.MobileBertForQuestionAnswering(mm.MobileBertConfig(**WIDE)))
    assert qa({"question": "Who?", "context": CONTEXT}) == qa(question="Who?", context=CONTEXT)
    assert qa([{"question": "Who?", "context": CONTEXT}] * 2) == qa(["Who?"] * 2, [CONTEXT] * 2)

    with pytest.raises(mm.InputError, match="runs on the CPU"):
        P.pipeline("ner", model, device=0)
    with pytest.raises(mm.InputError, match=r"unknown option\(s\) \['topk'\]; it takes \['top_k', 'targets'\]"):
        P.pipeline("fill-mask", mm.MobileBertForMaskedLM(mm.MobileBertConfig(**WIDE)), topk=3)
    with pytest.raises(mm.InputError, match="needs a task"):
        P.pipeline()
    with pytest.raises(mm.InputError, match="needs a context"):
        qa("Who?")


def test_pipeline_inputs_that_cannot_work_name_the_problem():
    config = mm.MobileBertConfig(**WIDE)
    fill = P.pipeline("fill-mask", mm.MobileBertForMaskedLM(config))
    with pytest.raises(ValueError, match=r"\[MASK\] token comes after the first 512 tokens"):
        fill("word " * 600 + "[MASK]")
    qa = P.pipeline("question-answering", mm.MobileBertForQuestionAnswering(config))
    for question, context in [("Who?", ""), ("  ", "Jim Henson was a nice puppet")]:
        with pytest.raises(ValueError, match="must both have text"):
            qa(question, context)
    with pytest.raises(ValueError, match="the question has 500 tokens, which leaves no room for the context"):
        qa("why " * 500, "Jim Henson was a nice puppet")
    assert qa("why " * 300, "Jim Henson was a nice puppet", max_seq_len=512)["answer"]  # fits with room to spare


def test_pretraining_checkpoint_serves_fill_mask_and_nsp(tmp_path):
    pretraining = mm.MobileBertForPreTraining(mm.MobileBertConfig(**WIDE), seed=2)
    fill = P.pipeline("fill-mask", pretraining)
    ids = fill.tokenizer("a [MASK] b")["input_ids"]
    expected = pretraining(np.array([ids])).prediction_logits[0, ids.index(103)].argmax()
    assert fill("a [MASK] b", top_k=1)[0]["token"] == expected
    assert 0.0 <= P.pipeline("next-sentence", pretraining)("a", "b")["score"] <= 1.0


def test_cli_text_commands_offline(tmp_path, capsys):
    """The README's main job on a local checkpoint: text in, predictions out, no network."""
    folder = str(tmp_path / "m")
    assert main(["init", folder, "--layers", "2"]) == 0
    capsys.readouterr()
    assert main(["fill-mask", "The capital of France is [MASK].", "--model", folder, "--json", "--top-k", "3"]) == 0
    predictions = json.loads(capsys.readouterr().out)
    expected = P.pipeline("fill-mask", folder)("The capital of France is [MASK].", top_k=3)
    assert_same(predictions, expected)
    assert main(["encode", "Hello, my dog is cute", "--model", folder, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input_ids"] == [101, 7592, 1010, 2026, 3899, 2003, 10140, 102]  # published ids
    assert report["last_hidden_state_shape"] == [1, 8, 512]
    qa_folder = str(tmp_path / "qa")
    main(["init", qa_folder, "--layers", "1", "--head", "question_answering"])
    capsys.readouterr()
    assert main(["qa", "--question", "Who?", "--context", "Jim Henson was a nice puppet", "--model", qa_folder,
                 "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "Jim Henson was a nice puppet"[answer["start"]:answer["end"]] == answer["answer"]


@pytest.mark.parametrize("head, task, call", [
    ("sequence_classification", "text-classification", lambda p: p("a good day")),
    ("token_classification", "token-classification", lambda p: p("a good day")),
    ("question_answering", "question-answering", lambda p: p(question="Who?", context="Jim is here")),
    ("masked_lm", "fill-mask", lambda p: p("a [MASK] day")),
    ("base", "feature-extraction", lambda p: p("a good day")),
])
def test_config_output_flags_do_not_change_what_pipelines_and_cli_get(tmp_path, capsys, head, task, call):
    """A config.json may say return_dict: false (forward then returns a tuple, as in transformers) and
    output_hidden_states / output_attentions: true; our own callers ask for an output object explicitly,
    so pipelines and the CLI give the same answers on such a checkpoint."""
    plain, flagged = str(tmp_path / "plain"), str(tmp_path / "flagged")
    assert main(["init", plain, "--layers", "1", "--head", head]) == 0
    assert main(["init", flagged, "--layers", "1", "--head", head]) == 0
    with open(f"{flagged}/config.json", encoding="utf-8") as f:
        config = json.load(f)
    config.update(return_dict=False, output_hidden_states=True, output_attentions=True)
    with open(f"{flagged}/config.json", "w", encoding="utf-8") as f:
        json.dump(config, f)
    assert isinstance(mm.AutoModel.from_pretrained(flagged)(np.array([[101, 102]])), tuple)  # the flag is live
    assert_same(call(P.pipeline(task, flagged)), call(P.pipeline(task, plain)))
    capsys.readouterr()
    assert main(["run", "--model", flagged, "--ids", "101", "7592", "102", "--json"]) == 0
    flagged_report = json.loads(capsys.readouterr().out)
    assert main(["run", "--model", plain, "--ids", "101", "7592", "102", "--json"]) == 0
    plain_report = json.loads(capsys.readouterr().out)
    for report in (flagged_report, plain_report):
        del report["timing"], report["model"]
    assert flagged_report == plain_report
