"""mkdocs hooks: everything the site shows is produced by code in this repository, at build time.

* `on_pre_build` draws the diagrams (`docs/diagrams.py` -> `docs/img/diagram-*.png`) and executes every
  notebook (`notebooks/NN_*.py`, through `notebooks/build.py`) into `docs/notebooks/NN_*.ipynb`, which
  the mkdocs-jupyter plugin renders with their outputs and figures. Both steps are skipped when their
  inputs did not change since the last build (a hash of the sources and of the package is stored beside
  the outputs), so a second `mkdocs build` costs seconds. The generated files are git-ignored
  (`docs/notebooks/.gitignore`, `docs/img/.gitignore`).
* The notebooks run single-threaded (`OPENBLAS_NUM_THREADS=1` etc.; see `notebooks/build.py`), so the
  timings printed on the site come from a fixed thread count.
* `on_page_markdown` puts the benchmark plot on the benchmark page only when `docs/img/benchmark.png`
  exists (it is written by `python kernels/benchmark.py`; a checkout without it must still build with
  --strict).

A notebook cell that raises fails the build (nbclient's CellExecutionError), so a published page never
shows a traceback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.minimobilebert")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NOTEBOOK_OUT = DOCS / "notebooks"
MARKER = "<!-- benchmark-plot -->"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package_hash() -> str:
    """Changes whenever any file of the package changes: the notebooks' outputs depend on all of it."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "minimobilebert").rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _stamp_ok(stamp: Path, key: str, outputs: list[Path]) -> bool:
    return stamp.is_file() and stamp.read_text() == key and all(p.is_file() for p in outputs)


def draw_diagrams() -> None:
    source = DOCS / "diagrams.py"
    module = _load("minimobilebert_docs_diagrams", source)
    outputs = [DOCS / "img" / name for name in module.FILES]
    key = hashlib.sha256(source.read_bytes()).hexdigest()
    stamp = DOCS / "img" / ".diagrams.stamp"
    if _stamp_ok(stamp, key, outputs):
        return
    module.main(DOCS / "img")
    stamp.write_text(key)
    log.info("drew %d diagrams", len(outputs))


def site_links(markdown: str) -> str:
    """Links in a notebook's text are written relative to notebooks/ (`../docs/facts.md`,
    `../docs/img/x.png`), so they work in Jupyter; on the site a notebook page lives at
    notebooks/<name>/, so they become `../../facts/` and `../../img/x.png`."""
    markdown = re.sub(r"\]\(\.\./docs/img/", "](../../img/", markdown)
    return re.sub(r"\]\(\.\./docs/([\w/-]+)\.md(#[\w-]+)?\)", lambda m: f"](../../{m[1]}/{m[2] or ''})", markdown)


def execute_notebooks() -> None:
    import nbformat

    build = _load("minimobilebert_notebooks_build", ROOT / "notebooks" / "build.py")
    NOTEBOOK_OUT.mkdir(exist_ok=True)
    package = _package_hash()
    checkpoint = os.environ.get("MINIMOBILEBERT_CHECKPOINT", "")
    sources = build.sources()
    with build.kernel_for_this_python() as kernel:
        for source in sources:
            target = NOTEBOOK_OUT / (source.stem + ".ipynb")
            key = hashlib.sha256(source.read_bytes() + package.encode() + checkpoint.encode()
                                 + Path(__file__).read_bytes()).hexdigest()  # this hook rewrites their links
            stamp = NOTEBOOK_OUT / (source.stem + ".stamp")
            if _stamp_ok(stamp, key, [target]):
                continue
            nb = build.execute(source, timeout=300, kernel_name=kernel, blas_threads=build.BUILD_BLAS_THREADS)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = site_links(cell.source)
            nbformat.write(nb, target)
            stamp.write_text(key)
            log.info("executed %s", source.name)
    # a notebook that was renamed or removed must not linger on the site
    wanted = {s.stem for s in sources}
    for stale in NOTEBOOK_OUT.glob("*.ipynb"):
        if stale.stem not in wanted:
            stale.unlink()


# Pages other parts of the project write; the nav lists them, and a checkout without one still builds.
OPTIONAL_PAGES = {"hf-compat.md", "corpus.md", "checkpoints.md", "backends.md", "benchmark.md"}


def _page_exists(page: str) -> bool:
    if page.startswith("notebooks/") and page.endswith(".ipynb"):  # executed in on_pre_build, from its source
        return (ROOT / "notebooks" / (Path(page).stem + ".py")).is_file()
    return (DOCS / page).is_file()


def _prune(nav):
    kept = []
    for item in nav:
        title, value = next(iter(item.items())) if isinstance(item, dict) else (None, item)
        if isinstance(value, list):
            value = _prune(value)
            if value:
                kept.append({title: value})
        elif _page_exists(value) or value not in OPTIONAL_PAGES and not value.startswith("notebooks/"):
            kept.append(item)  # a missing non-optional page stays, so --strict reports it
        else:
            log.info("nav: %s does not exist in this checkout, left out", value)
    return kept


def on_config(config, **kwargs):
    """Drop nav entries of optional pages (others' pages, notebooks) that this checkout does not have."""
    config["nav"] = _prune(config["nav"])
    return config


def on_pre_build(config, **kwargs):
    draw_diagrams()
    execute_notebooks()


# `[1][tokens][hidden]` in a docstring is text (a nested list's shape), but Markdown reads it as a reference
# link and mkdocs-autorefs then warns that "tokens" is no documented object, which fails --strict. In the API
# pages, a cross-reference whose identifier is not a dotted name (no object of ours is referred to by a bare
# word) is turned back into the text it was written as. Dotted identifiers stay links, and still fail the
# build when broken.
AUTOREF = re.compile(r"<autoref (?P<attrs>[^>]*)>(?P<title>.*?)</autoref>", re.S)


def on_page_content(html, page, config, files):
    if not page.file.src_uri.startswith("api/"):
        return html

    def literal(match):
        identifier = re.search(r'identifier="([^"]*)"', match["attrs"])
        name = identifier[1] if identifier else ""
        if "." in name:
            return match[0]
        title = match["title"]
        return f"[{title}][{name}]" if name and name != title else f"[{title}]"

    return AUTOREF.sub(literal, html)


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    image = os.path.join(config["docs_dir"], "img", "benchmark.png")
    if os.path.isfile(image):
        figure = "![Latency of every backend, torch eager and ONNX Runtime](img/benchmark.png)"
    else:
        figure = ("!!! note \"No plot yet\"\n    `docs/img/benchmark.png` does not exist in this checkout. "
                  "Run `python kernels/benchmark.py` to produce it, then rebuild the docs.")
    return markdown.replace(MARKER, figure)
