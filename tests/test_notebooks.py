"""Every notebook runs top to bottom in a fresh kernel of this interpreter, and no cell errors.

The sources are jupytext percent-format `.py` files in notebooks/; `notebooks/build.py` converts and runs
them (the same code path `python notebooks/build.py` uses). The notebooks use the small random-weight
model the package builds, unless MINIMOBILEBERT_CHECKPOINT points at a local google/mobilebert-uncased.
Without jupytext/nbclient/ipykernel this skips locally and fails under CI.
"""

from __future__ import annotations

import importlib.util
import os
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


@pytest.mark.parametrize("source", build.sources(), ids=lambda p: p.stem)
def test_notebook_runs(source, kernel_name):
    from nbclient.exceptions import CellExecutionError

    try:
        # One BLAS thread: the matrices are tiny, and spin-waiting threads on a busy CI box are 10x slower.
        nb = build.execute(source, timeout=240, kernel_name=kernel_name, mpl_backend="Agg", blas_threads=1)
    except CellExecutionError as e:
        pytest.fail(f"{source.name}: a cell failed\n{e}", pytrace=False)
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{source.name}: error outputs {errors}"
