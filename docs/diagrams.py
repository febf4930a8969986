"""Draw the documentation's diagrams with matplotlib: `python docs/diagrams.py [folder]`.

The mkdocs build runs this through `docs/_hooks.py` (on every change of this file), writing
`docs/img/diagram-*.png`. Every width written on a diagram is read from a config
(`MobileBertConfig.published()` and BERT-base / IB-BERT's published sizes, see docs/facts.md), not typed in.

* `diagram-mobilebert-block.png` - one MobileBERT block with its widths (Sun et al., 2020, Figure 1c)
* `diagram-trigram.png`          - the trigram embedding: [next | this | previous] -> dense 384 -> 512
* `diagram-bert-vs-mobilebert.png` - BERT's block (Figure 1a) beside MobileBERT's (Figure 1c)
* `diagram-knowledge-transfer.png` - IB-BERT teacher, layer-wise feature-map and attention transfer,
  progressive training (Sun et al., 2020, "Training Objectives", "Training Strategies")
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

FILES = ("diagram-mobilebert-block.png", "diagram-trigram.png", "diagram-bert-vs-mobilebert.png",
         "diagram-knowledge-transfer.png")

COLORS = {"bottleneck": "#f6c98a", "attention": "#9cc3e6", "ffn": "#b6dca0", "norm": "#e0e0e0",
          "embed": "#d9b8e8", "teacher": "#f4a6a6", "student": "#9cc3e6", "plain": "#ffffff"}


def _published():
    """The sizes drawn: MobileBERT's published config (from the package when importable, else its values)."""
    try:
        from minimobilebert import MobileBertConfig

        c = MobileBertConfig.published()
        return dict(hidden=c.hidden_size, inner=c.true_hidden_size, heads=c.num_attention_heads,
                    ffn=c.intermediate_size, n_ffn=c.num_feedforward_networks, emb=c.embedding_size,
                    layers=c.num_hidden_layers)
    except Exception:  # drawing the docs must not need the package installed
        return dict(hidden=512, inner=128, heads=4, ffn=512, n_ffn=4, emb=128, layers=24)


def box(ax, x, y, w, h, text, color="plain", fontsize=9, **kw):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=COLORS.get(color, color), ec="#333333", lw=1.0, **kw))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def arrow(ax, start, end, text=None, color="#333333", style="-|>", lw=1.2, rad=0.0, fontsize=8, offset=(0.08, 0)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=10, color=color, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}"))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text, fontsize=fontsize,
                color=color, ha="left", va="center")


def _canvas(width, height, title):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return fig, ax


def route(ax, points, text=None, color="#333333", text_at=1, fontsize=8, ha="right"):
    """A polyline through `points` with an arrow head at the end (a residual or a side input)."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=1.2)
    arrow(ax, points[-2], points[-1], color=color)
    if text:
        x, y = points[text_at]
        ax.text(x - 0.1 if ha == "right" else x + 0.1, y, text, fontsize=fontsize, color=color, ha=ha, va="center")


def mobilebert_block(ax, x0, s, bottom=0.6, step=0.9):
    """One MobileBERT block (Figure 1c), bottom (input) to top (output), centred at x0. Returns the top y."""
    H, D, F, n = s["hidden"], s["inner"], s["ffn"], s["n_ffn"]
    W, h = 4.8, 0.5
    y_in = bottom
    box(ax, x0, y_in, 2.8, h, f"block input  [T, {H}]", "embed")
    y_bn = y_in + 1.2
    box(ax, x0 - 1.25, y_bn, 2.3, 0.6, f"input bottleneck\n{H} -> {D}, NoNorm", "bottleneck", fontsize=8)
    box(ax, x0 + 1.25, y_bn, 2.3, 0.6, f"shared Q/K bottleneck\n{H} -> {D}, NoNorm", "bottleneck", fontsize=8)
    arrow(ax, (x0 - 0.4, y_in + h / 2), (x0 - 1.0, y_bn - 0.3))
    arrow(ax, (x0 + 0.4, y_in + h / 2), (x0 + 1.0, y_bn - 0.3))
    y_mha = y_bn + 1.3
    box(ax, x0, y_mha, W, 0.75, f"multi-head attention: {s['heads']} heads x {D // s['heads']}\n"
                                f"Q, K: {D} -> {D}      V: {H} -> {D}", "attention", fontsize=8)
    arrow(ax, (x0 + 1.25, y_bn + 0.3), (x0 + 1.25, y_mha - 0.375), "Q, K", offset=(0.02, 0))
    # the values read the unprojected block input: around the right side
    route(ax, [(x0 + 1.4, y_in), (x0 + W / 2 + 0.5, y_in), (x0 + W / 2 + 0.5, y_mha), (x0 + W / 2, y_mha)],
          f"V from the\n{H}-wide input", color="#1f5fa0", text_at=1, ha="left")
    y_ao = y_mha + 1.0
    box(ax, x0, y_ao, W, h, f"dense {D} -> {D}, + input bottleneck, NoNorm", "norm", fontsize=8)
    arrow(ax, (x0, y_mha + 0.375), (x0, y_ao - h / 2))
    # residual at width 128: from the input bottleneck around the attention
    route(ax, [(x0 - 2.4, y_bn), (x0 - W / 2 - 0.3, y_bn), (x0 - W / 2 - 0.3, y_ao), (x0 - W / 2, y_ao)],
          f"residual\n(width {D})", text_at=1)
    y = y_ao
    for j in range(n):
        y_next = y + step
        box(ax, x0, y_next, W, h, f"FFN {j + 1}: {D} -> {F} -> {D}, relu, + residual, NoNorm", "ffn", fontsize=8)
        arrow(ax, (x0, y + h / 2), (x0, y_next - h / 2))
        y = y_next
    y_out = y + 1.0
    box(ax, x0, y_out, W, 0.6, f"output bottleneck {D} -> {H}\n+ block input, NoNorm", "bottleneck", fontsize=8)
    arrow(ax, (x0, y + h / 2), (x0, y_out - 0.3))
    # residual at width 512: from the block input around the whole block
    route(ax, [(x0 - 1.4, y_in), (x0 - W / 2 - 0.9, y_in), (x0 - W / 2 - 0.9, y_out), (x0 - W / 2, y_out)],
          f"residual\n(width {H})", text_at=1)
    y_top = y_out + 0.9
    box(ax, x0, y_top, 2.8, h, f"block output  [T, {H}]", "embed")
    arrow(ax, (x0, y_out + 0.3), (x0, y_top - h / 2))
    return y_top + h


def draw_block(path: Path, s) -> None:
    fig, ax = _canvas(9.5, 10.2, "One MobileBERT block (Sun et al., 2020, Figure 1c), published widths")
    mobilebert_block(ax, 4.9, s)
    ax.text(0.1, 0.1, f"x {s['layers']} blocks.  Widths from MobileBertConfig.published().", fontsize=8,
            color="#555555")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_trigram(path: Path, s) -> None:
    E, H = s["emb"], s["hidden"]
    fig, ax = _canvas(10, 4.6, "The trigram embedding: each token reads its neighbours' rows")
    words = ["[CLS]", "the", "capital", "of", "france"]
    for i, w in enumerate(words):
        x = 1.2 + i * 1.9
        box(ax, x, 0.6, 1.5, 0.5, f"{w}\nrow [{E}]", "embed", fontsize=8)
    t = 2  # the token whose embedding is built
    xs = [1.2 + i * 1.9 for i in range(len(words))]
    parts = [("next", t + 1, "#1f5fa0"), ("this", t, "#333333"), ("previous", t - 1, "#a03030")]
    for k, (label, src, color) in enumerate(parts):
        x = xs[t] - 1.6 + k * 1.6
        box(ax, x, 2.1, 1.5, 0.5, f"{label}\n[{E}]", "plain", fontsize=8)
        arrow(ax, (xs[src], 0.86), (x, 1.84), color=color)
    box(ax, xs[t], 3.1, 4.9, 0.45, f"concatenate: [{3 * E}]", "norm", fontsize=9)
    box(ax, xs[t], 4.0, 4.9, 0.45, f"dense {3 * E} -> {H}  (a kernel-3 convolution)", "bottleneck", fontsize=9)
    arrow(ax, (xs[t], 2.36), (xs[t], 2.88))
    arrow(ax, (xs[t], 3.33), (xs[t], 3.78))
    ax.text(xs[t] + 2.7, 4.0, f"then + position and token-type\nembeddings [{H}], NoNorm", fontsize=8, va="center")
    ax.text(0.1, 1.45, "zeros past\neither end", fontsize=8, color="#555555")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_side_by_side(path: Path, s) -> None:
    fig, ax = _canvas(15, 11.4, "BERT's block (Figure 1a) and MobileBERT's (Figure 1c)")
    x = 2.6  # BERT-base / BERT-large: no bottleneck, one FFN, LayerNorm, gelu
    y = 0.6
    box(ax, x, y, 2.6, 0.5, "block input  [T, 768]", "embed")
    box(ax, x, y + 2.0, 3.4, 0.8, "multi-head attention\n12 heads x 64\nQ, K, V: 768 -> 768", "attention", fontsize=8)
    box(ax, x, y + 3.6, 3.2, 0.5, "dense 768 -> 768, + input, LayerNorm", "norm", fontsize=8)
    box(ax, x, y + 5.4, 3.4, 0.8, "FFN: 768 -> 3072 -> 768\ngelu, + residual, LayerNorm", "ffn", fontsize=8)
    box(ax, x, y + 7.2, 2.6, 0.5, "block output  [T, 768]", "embed")
    for a, b in ((0.25, 1.6), (2.4, 3.35), (3.85, 5.0), (5.8, 6.95)):
        arrow(ax, (x, y + a), (x, y + b))
    ax.text(x, y + 8.2, "BERT-base: 12 blocks, hidden 768\n(BERT-large: 24 blocks, 1024)\n"
                        "MHA : FFN parameters = 1 : 2", ha="center", fontsize=9)
    top = mobilebert_block(ax, 9.8, s)
    ax.text(9.8, top + 0.4, f"MobileBERT: {s['layers']} blocks, {s['hidden']} between blocks, {s['inner']} inside\n"
                       "NoNorm, relu, stacked FFNs", ha="center", fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_transfer(path: Path, s) -> None:
    fig, ax = _canvas(12, 7.2, "How MobileBERT is trained: layer-wise knowledge transfer from IB-BERT")
    n = 4  # drawn blocks (of 24)
    for i in range(n):
        y = 1.2 + i * 1.35
        label = f"block {i + 1}" if i < n - 1 else "block 24"
        box(ax, 2.2, y, 2.8, 0.7, f"IB-BERT teacher {label}\n{s['hidden']} outside, 1024 inside", "teacher",
            fontsize=8)
        box(ax, 7.2, y, 2.8, 0.7, f"MobileBERT {label}\n{s['hidden']} outside, {s['inner']} inside", "student",
            fontsize=8)
        arrow(ax, (3.65, y + 0.12), (5.75, y + 0.12), "feature maps (MSE)", color="#a03030", offset=(-0.85, 0.17))
        arrow(ax, (3.65, y - 0.15), (5.75, y - 0.15), "attention (KL)", color="#1f5fa0", offset=(-0.65, -0.17))
        if i == n - 2:
            ax.text(2.2, y + 0.68, "...", ha="center", fontsize=12)
            ax.text(7.2, y + 0.68, "...", ha="center", fontsize=12)
    ax.text(2.2, 0.25, "teacher: trained first (masked LM + NSP),\nthen frozen", ha="center", fontsize=8)
    ax.text(7.2, 0.25, "student: same number of blocks,\nsame 512-wide feature maps", ha="center", fontsize=8)
    ax.text(9.1, 6.4, "progressive knowledge transfer", fontsize=9, weight="bold")
    steps = ["stage 1: train block 1 to match", "stage 2: freeze block 1, train block 2",
             "...", "stage 24: train block 24", "then pre-train the whole model (distillation)"]
    for k, text in enumerate(steps):
        ax.text(9.1, 5.9 - k * 0.45, text, fontsize=8)
    ax.text(9.1, 3.5, "(Sun et al., 2020, Training Objectives and\nTraining Strategies; see the page\n"
                      "'How MobileBERT is trained')", fontsize=7, color="#555555")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(folder: Path | str | None = None) -> list[Path]:
    out = Path(folder) if folder else Path(__file__).resolve().parent / "img"
    out.mkdir(parents=True, exist_ok=True)
    s = _published()
    drawers = (draw_block, draw_trigram, draw_side_by_side, draw_transfer)
    paths = []
    for name, draw in zip(FILES, drawers):
        draw(out / name, s)
        paths.append(out / name)
    return paths


if __name__ == "__main__":
    for p in main(sys.argv[1] if len(sys.argv) > 1 else None):
        print(p)
