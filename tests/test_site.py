"""The built documentation site, checked in a real headless browser (Chromium from Debian's packages,
driven through selenium and Debian's chromium-driver; nothing is downloaded).

The site is built once per session with `mkdocs build --strict` (which executes every notebook through
docs/_hooks.py), or taken from MINIMOBILEBERT_SITE_DIR when CI has built it already (.ci/run builds it
once, not once per kernel backend). It is served over HTTP on localhost, and:

* every notebook page loads, shows rendered cell outputs, and every figure a notebook draws is an <img>
  with a non-zero natural size (a broken or empty image has naturalWidth 0);
* every image on every page (diagrams, benchmark plot) decodes in the browser;
* no internal link or image reference of any page points at a file the site does not have (checked on
  the built HTML of all pages, anchors included).

Without chromium, chromedriver, selenium or mkdocs this skips locally and fails under CI (CI set).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNDER_CI = bool(os.environ.get("CI"))
NOTEBOOK_SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _missing(why: str) -> None:
    if UNDER_CI:
        pytest.fail(f"the site check must run under CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("MINIMOBILEBERT_SITE_DIR")
    if given:
        path = Path(given)
        if not (path / "index.html").is_file():
            pytest.fail(f"MINIMOBILEBERT_SITE_DIR={given} holds no built site (no index.html)")
        return path
    for module in ("mkdocs", "mkdocstrings", "mkdocs_jupyter", "material"):
        if importlib.util.find_spec(module) is None:
            _missing(f"{module} is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        _missing("chromium / chromedriver not found (Debian: apt-get install chromium chromium-driver)")
    if importlib.util.find_spec("selenium") is None:
        _missing("selenium is not installed (pip install -e '.[docs]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1300,2000"):
        options.add_argument(flag)
    b = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    b.set_page_load_timeout(60)
    yield b
    b.quit()


# What the browser reports about a page, in one round trip.
PAGE_REPORT = """
const images = Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    output: !!img.closest('.jp-OutputArea-output, .output_area, .jp-RenderedImage')}));
return {
    title: document.title,
    h1: (document.querySelector('h1') || {}).textContent || '',
    outputs: document.querySelectorAll('.jp-OutputArea-output, .output_area').length,
    errors: document.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] .ansi-red-fg, .output_error').length,
    images: images,
};
"""


def _load(browser, url: str) -> dict:
    browser.get(url)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null))).then(() => done(true));")
    return browser.execute_script(PAGE_REPORT)


def _draws_figures(source: Path) -> bool:
    text = source.read_text(encoding="utf-8")
    return bool(re.search(r"plt\.show\(\)|display\(Image", text))


def test_there_are_notebook_pages(site):
    pages = sorted(p.parent.name for p in (site / "notebooks").glob("*/index.html"))
    assert pages == [s.stem for s in NOTEBOOK_SOURCES], "every notebook source must have its executed page"


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda p: p.stem)
def test_notebook_page_shows_its_outputs_and_figures(source, site, server, browser):
    report = _load(browser, server + f"notebooks/{source.stem}/")
    assert report["h1"].strip(), f"{source.stem}: the page has no title heading"
    assert report["outputs"] >= 3, f"{source.stem}: only {report['outputs']} rendered output areas (not executed?)"
    broken = [i["src"][:80] for i in report["images"] if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, f"{source.stem}: images that do not render: {broken}"
    figures = [i for i in report["images"] if i["output"]]
    if _draws_figures(source):
        assert figures, f"{source.stem} draws figures but its page shows none"
        assert all(i["width"] >= 100 and i["height"] >= 100 for i in figures), figures


def test_every_image_on_every_page_renders(site, server, browser):
    pages = sorted(site.rglob("index.html"))
    with_images = [p for p in pages if "<img" in p.read_text(encoding="utf-8", errors="replace")]
    assert with_images, "no page has an image: the diagrams are missing"
    problems = []
    for page in with_images:
        url = server + page.parent.relative_to(site).as_posix() + "/"
        for image in _load(browser, url.replace("/./", "/"))["images"]:
            if not (image["complete"] and image["width"] > 0):
                problems.append((page.parent.relative_to(site).as_posix(), image["src"][:100]))
    assert not problems, f"images that do not render: {problems}"


def test_diagrams_are_on_the_architecture_page(site, server, browser):
    report = _load(browser, server + "architecture/")
    names = [i["src"].rsplit("/", 1)[-1] for i in report["images"] if i["width"] > 0]
    assert {"diagram-mobilebert-block.png", "diagram-bert-vs-mobilebert.png", "diagram-trigram.png"} <= set(names)


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.refs.append(a["href"])
        if tag in ("img", "script") and a.get("src") and not a["src"].startswith("data:"):
            self.refs.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") and "stylesheet" in a["rel"]:
            self.refs.append(a["href"])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_no_internal_link_or_image_is_broken(site):
    # 404.html is served at whatever URL was not found, so mkdocs writes its links root-relative: not checked
    parsed = {p: _parse(p) for p in site.rglob("*.html") if p.name != "404.html"}
    broken = []
    for page, links in parsed.items():
        for ref in links.refs:
            url = urllib.parse.urlparse(ref)
            if url.scheme or ref.startswith("//") or ref.startswith("mailto:"):
                continue  # external: not checked offline
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append((str(page.relative_to(site)), ref))
            elif url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if url.fragment not in ids:
                    broken.append((str(page.relative_to(site)), ref))
    assert not broken, f"{len(broken)} broken internal links: {broken[:20]}"
