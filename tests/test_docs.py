"""The documentation builds with `mkdocs build --strict`: any warning (a broken link or anchor, a page
missing from the nav, an API object mkdocstrings cannot find) fails the test.

Runs mkdocs in a subprocess of this interpreter, into a temporary folder. Without mkdocs /
mkdocstrings it skips locally with the reason, and fails under CI (CI set).
"""

from __future__ import annotations

import importlib.util
import os
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


def test_mkdocs_build_strict(tmp_path):
    _require_docs_tools()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "mkdocs reported:\n" + "\n".join(warnings)
    assert (tmp_path / "site" / "index.html").is_file()
    # the API pages really rendered docstrings (mkdocstrings found the package)
    api = (tmp_path / "site" / "api" / "model" / "index.html").read_text(encoding="utf-8")
    assert "def trigram" in api or "trigram" in api


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
    assert on_disk == in_nav, f"not in nav: {sorted(on_disk - in_nav)}; missing files: {sorted(in_nav - on_disk)}"
