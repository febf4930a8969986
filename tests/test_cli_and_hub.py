"""The main job (`minimobilebert init` / `run`) and hub-id resolution, against local folders only."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minimobilebert as mm
from minimobilebert.cli import main
from minimobilebert.hub import resolve_model_folder

PARIS_IDS = [101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102]  # "the capital of france is [MASK] ."


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_init_then_run_reports_what_the_model_computes(tmp_path, capsys):
    folder = str(tmp_path / "model")
    assert main(["init", folder, "--layers", "2", "--seed", "3"]) == 0
    assert "wrote a random-weight MobileBertForPreTraining (2 layers" in capsys.readouterr().out
    report = run_json(capsys, "run", "--model", folder, "--ids", *map(str, PARIS_IDS), "--json", "--top-k", "3")
    assert report["class"] == "MobileBertForPreTraining"
    assert report["output_shapes"] == {"prediction_logits": [1, 9, 30522], "seq_relationship_logits": [1, 2]}
    assert report["input_tokens"][6] == "[MASK]"
    # The printed predictions are the model's own top tokens at the mask, computed here through the API.
    logits = mm.MobileBertForPreTraining.from_pretrained(folder)(np.array([PARIS_IDS])).prediction_logits[0, 6]
    assert [p["id"] for p in report["masked_predictions"]["6"]] == list(np.argsort(-logits)[:3])
    assert report["timing"]["forward_ms"] > 0


@pytest.mark.parametrize("head, key", [("question_answering", "span"), ("sequence_classification", "labels"),
                                       ("token_classification", "token_labels"), ("base", "output_shapes")])
def test_run_picks_the_head_from_the_checkpoint(tmp_path, capsys, head, key):
    folder = str(tmp_path / head)
    assert main(["init", folder, "--layers", "1", "--head", head]) == 0
    capsys.readouterr()
    report = run_json(capsys, "run", "--model", folder, "--ids", "101", "7592", "2003", "3899", "102", "--json")
    assert report["class"] == mm.MODEL_CLASSES[head].__name__ and key in report
    if head == "question_answering":
        assert report["span"]["start"] <= report["span"]["end"]


def test_run_without_a_model_offline_names_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert main(["run", "--ids", "101", "102"]) == 2
    err = capsys.readouterr().err
    assert "google/mobilebert-uncased" in err and "--model PATH" in err and "empty-cache" in err


def test_run_reports_bad_ids_clearly(tmp_path, capsys):
    folder = str(tmp_path / "m")
    main(["init", folder, "--layers", "1"])
    assert main(["run", "--model", folder, "--ids", "101", "40000"]) == 2
    assert "outside [0, 30522)" in capsys.readouterr().err


def make_hub_cache(cache, repo_id: str, model) -> str:
    """Lay a checkpoint out as huggingface_hub's cache does: refs/main -> snapshots/<commit>/files."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    model.save_pretrained(snapshot)
    return str(snapshot)


def test_hub_id_resolves_from_the_local_cache_offline(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig.published(num_hidden_layers=1), seed=4)
    snapshot = make_hub_cache(tmp_path / "hub", "google/mobilebert-uncased", model)
    assert resolve_model_folder("google/mobilebert-uncased", cache_dir=str(tmp_path / "hub")) == snapshot
    loaded = mm.MobileBertForMaskedLM.from_pretrained("google/mobilebert-uncased", cache_dir=str(tmp_path / "hub"))
    np.testing.assert_array_equal(loaded(np.array([PARIS_IDS])).logits, model(np.array([PARIS_IDS])).logits)


def test_hub_id_not_cached_offline_is_one_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"not in the hub cache at .*hub2.*offline mode.*local checkpoint folder"):
        mm.MobileBertModel.from_pretrained("google/mobilebert-uncased", cache_dir=str(tmp_path / "hub2"))


def test_a_path_that_does_not_exist_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        resolve_model_folder(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        resolve_model_folder("./relative/missing")


def test_fill_mask_default_model_offline_names_the_fix(tmp_path, capsys, monkeypatch):
    """The README's main job on a machine that has neither the network nor the cache: one clear message."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert main(["fill-mask", "The capital of France is [MASK]."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "google/mobilebert-uncased" in err and "--model PATH" in err and "empty-cache" in err


def test_fill_mask_on_a_hub_id_from_the_cache_offline(tmp_path, capsys, monkeypatch):
    """A hub id whose files are in the cache (as a download leaves them) works offline, tokenizer included."""
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig.published(num_hidden_layers=1), seed=5)
    snapshot = make_hub_cache(tmp_path / "hub", "google/mobilebert-uncased", model)
    mm.MobileBertTokenizer(model_max_length=64).save_pretrained(snapshot)
    assert mm.MobileBertTokenizer.from_pretrained("google/mobilebert-uncased").model_max_length == 64
    assert main(["fill-mask", "The capital of France is [MASK].", "--json", "--top-k", "2"]) == 0
    predictions = json.loads(capsys.readouterr().out)
    logits = model(np.array([PARIS_IDS])).logits[0, PARIS_IDS.index(103)]
    assert [p["token"] for p in predictions] == [int(i) for i in np.argsort(-logits)[:2]]


def test_a_warning_is_one_line_of_ours(tmp_path):
    """A checkpoint without the head a command needs loads with HF's warning (weights newly initialised):
    the CLI shows it as one `minimobilebert: warning:` line, not Python's file:line header and code line."""
    import subprocess
    import sys

    folder = str(tmp_path / "base")
    assert main(["init", folder, "--layers", "1", "--head", "base"]) == 0
    done = subprocess.run([sys.executable, "-m", "minimobilebert", "qa", "--question", "who?", "--context", "hi",
                           "--model", folder], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("minimobilebert: warning: "), done.stderr
    assert "qa_outputs.weight" in lines[0] and "newly initialised" in lines[0]


def test_a_checkpoint_missing_encoder_weights_stops_the_cli(tmp_path, capsys):
    """The library loads such a file as transformers does (random weights, MissingWeightsWarning); a command
    would print meaningless answers from it, so it stops with one error line naming the missing weights."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "mlm"
    assert main(["init", str(folder), "--layers", "1"]) == 0
    state = load_file(str(folder / "model.safetensors"))
    del state["mobilebert.encoder.layer.0.output.dense.weight"]
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    capsys.readouterr()
    assert main(["fill-mask", "The capital of France is [MASK].", "--model", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minimobilebert: error: "), err
    assert "encoder.layer.0.output.dense.weight" in err and "drawn at random" in err
    with pytest.warns(mm.errors.MissingWeightsWarning):
        mm.MobileBertForMaskedLM.from_pretrained(folder)


def test_what_the_package_logs_is_one_line_of_ours_too(tmp_path, capsys):
    """The tokenizer logs HF's "longer than the specified maximum sequence length" warning; under the CLI it
    is a `minimobilebert: warning:` line, like the warnings, then the model's error."""
    folder = str(tmp_path / "m")
    assert main(["init", folder, "--layers", "1"]) == 0
    capsys.readouterr()
    assert main(["encode", "word " * 600, "--model", folder]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("minimobilebert: ") for line in lines), lines
    assert "602 > 512" in lines[0] and lines[0].startswith("minimobilebert: warning: ")
    assert lines[1].startswith("minimobilebert: error: ") and "max_position_embeddings=512" in lines[1]
