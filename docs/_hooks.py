"""mkdocs hook: put the benchmark plot on the benchmark page only when docs/img/benchmark.png exists.

The plot is written by `python kernels/benchmark.py`; a checkout without it must still build with
--strict, so the page holds a marker that this hook replaces with the image or with a note.
"""

from __future__ import annotations

import os

MARKER = "<!-- benchmark-plot -->"


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
