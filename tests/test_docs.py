"""The documentation builds with `mkdocs build --strict`: any warning (a broken link or anchor, a page
missing from the nav, an API object mkdocstrings cannot find) fails the test.

Runs mkdocs in a subprocess of this interpreter, into a temporary folder; under CI, .ci/run has built the
site once with --strict (MINIMOBILEBERT_SITE_DIR) and the tests read that build instead of building it again
for every kernel backend. Without mkdocs / mkdocstrings it skips locally with the reason, and fails under
CI (CI set).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _require_docs_tools() -> None:
    missing = [m for m in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers") if importlib.util.find_spec(m) is None]
    if missing:
        why = f"{', '.join(missing)} not installed (pip install -e '.[docs]')"
        if os.environ.get("CI"):
            pytest.fail(f"the docs build must run under CI: {why}")
        pytest.skip(why)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("MINIMOBILEBERT_SITE_DIR")
    if given:  # built by .ci/run with --strict: a warning there already failed the run
        assert (Path(given) / "index.html").is_file(), f"MINIMOBILEBERT_SITE_DIR={given} holds no built site"
        return Path(given)
    _require_docs_tools()
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "mkdocs reported:\n" + "\n".join(warnings)
    return out


def test_mkdocs_build_strict(site):
    assert (site / "index.html").is_file()
    # the API pages really rendered docstrings (mkdocstrings found the package)
    api = (site / "api" / "model" / "index.html").read_text(encoding="utf-8")
    assert "trigram" in api


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.mark.parametrize("page, names", [
    ("api/modeling", ["MobileBertModel.forward", "MobileBertForMaskedLM.forward",
                      "MobileBertForQuestionAnswering.forward", "MobileBertForSequenceClassification.forward",
                      "BaseModelOutputWithPooling", "MaskedLMOutput", "QuestionAnsweringModelOutput"]),
    ("api/config", ["embedding_shapes", "layer_shapes", "head_shapes", "parameter_shapes", "count_parameters",
                    "MobileBertConfig.hidden_size", "MobileBertConfig.num_feedforward_networks",
                    "MobileBertConfig.normalization_type"]),
    ("api/functional", ["normalize", "no_norm", "layer_norm", "softmax", "attention"]),
    ("api/tools", ["current_backend", "use_backend", "capture", "load_bert"]),
])
def test_api_reference_documents_undocstringed_members(site, page, names):
    """Members without a docstring must still appear, with their signature (show_if_no_docstring)."""
    html = (site / page / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', html))  # mkdocstrings gives every documented object its own anchor
    missing = [n for n in names if not any(i.endswith("." + n) for i in ids)]
    assert not missing, f"{page}: not documented: {missing}"
    text = _text(html)
    assert "forward(" in text.replace(" ", "") or page != "api/modeling", "signatures are not shown"


def test_every_notebook_is_rendered_executed(site):
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        page = site / "notebooks" / source.stem / "index.html"
        assert page.is_file(), f"{source.name} has no page on the site"
        assert "jp-OutputArea-output" in page.read_text(encoding="utf-8"), f"{source.name}: no outputs rendered"


def test_every_page_is_in_the_nav():
    """mkdocs only warns about pages missing from the nav with validation.omitted_files; check directly."""
    pytest.importorskip("yaml")
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)  # ignore !!python tags
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)

    def pages(nav):
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from pages(value) if isinstance(value, list) else [value]

    in_nav = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    on_disk |= {f"notebooks/{p.stem}.ipynb" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
    assert not on_disk - in_nav, f"not in nav: {sorted(on_disk - in_nav)}"
    # the nav may name pages other parts of the project write (docs/_hooks.py drops them when absent)
    hooks = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_hooks.py")
    module = importlib.util.module_from_spec(hooks)
    hooks.loader.exec_module(module)
    absent = {p for p in in_nav - on_disk if p not in module.OPTIONAL_PAGES and not p.startswith("notebooks/")}
    assert not absent, f"the nav names files that do not exist: {sorted(absent)}"
