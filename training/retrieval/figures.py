"""Figures of a comparison: metric bars per scenario, and a qualitative figure in the seeds' style.

The qualitative figure follows Prétet et al. (Fig. 3) and Seg-VM-Net (Fig. 10): for a few video
queries, the query's key frame, its top-3 music results — each shown, as in the seeds, by a key frame
of the music video it belongs to — with their distance to the query (x 1000, "for readability"), and
the histogram of the distances between the query and every candidate, with the ground truth's bin in
red and its rank written next to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.retrieval.protocol import SCENARIOS, AVItem, ranks_from_costs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def plot_metric(path: Path, table: pd.DataFrame, metric: str, ylabel: str, *, percent: bool = False) -> None:
    """Bars of ``metric`` (mean ± sd over seeds) per scenario; a panel per direction x (audio, loss)."""
    plt = _pyplot()
    scale = 100.0 if percent else 1.0
    shown = table
    if (table["level"] == "clip").any():
        first = table[table["level"] == "clip"]["segmentation"].iloc[0]
        shown = table[(table["level"] != "clip") | (table["segmentation"] == first)]
    panels = list(shown.groupby(["representation", "loss"], sort=False).groups)
    scenarios = [s for s in SCENARIOS if s in set(shown["scenario"])]
    methods = list(shown.groupby(["level", "method"], sort=False).groups)
    fig, axes = plt.subplots(2, len(panels), figsize=(max(6, 5.5 * len(panels)), 7.5), squeeze=False)
    width = 0.8 / max(len(methods), 1)
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(methods), 2)))
    for row, direction in enumerate(("v2m", "m2v")):
        for col, (representation, loss) in enumerate(panels):
            ax = axes[row][col]
            data = shown[
                (shown["direction"] == direction)
                & (shown["representation"] == representation)
                & (shown["loss"] == loss)
            ]
            for k, (level, method) in enumerate(methods):
                sub = data[(data["level"] == level) & (data["method"] == method)].set_index("scenario")
                means = [scale * sub.loc[s, f"{metric}_mean"] if s in sub.index else np.nan for s in scenarios]
                sds = [scale * sub.loc[s, f"{metric}_sd"] if s in sub.index else np.nan for s in scenarios]
                x = np.arange(len(scenarios)) + (k - (len(methods) - 1) / 2) * width
                label = "clip level" if level == "clip" else f"{level} · {method}"
                ax.bar(x, means, width, yerr=np.nan_to_num(sds), capsize=2, color=colours[k], label=label)
            ax.set_xticks(np.arange(len(scenarios)), scenarios, fontsize=8)
            ax.set_title(
                f"{'video→music' if direction == 'v2m' else 'music→video'} · {representation} · {loss}", fontsize=9
            )
            ax.set_ylabel(ylabel, fontsize=8)
            ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def keyframe(item: AVItem, *, size: int = 96) -> np.ndarray:
    """The item's picture: its ``keyframe``, else the middle frame of its clip, else a grey square."""
    if item.keyframe is not None:
        return item.keyframe
    if item.video_path is not None:
        from training.inputs.video import read_frames

        try:
            frames = read_frames(item.video_path, fps=2.0, size=size)
            return frames[len(frames) // 2]
        except (OSError, RuntimeError, ValueError):
            pass
    return np.full((size, size, 3), 200, dtype=np.uint8)


def plot_qualitative(path: Path, costs: np.ndarray, items: list[AVItem], *, title: str, queries: int = 3) -> None:
    """Seeds' Fig. 3 / Fig. 10 layout for the first ``queries`` video queries of ``costs`` (video x music)."""
    plt = _pyplot()
    queries = max(1, min(queries, len(items)))
    ranks = ranks_from_costs(costs)
    fig, axes = plt.subplots(queries, 5, figsize=(13, 2.6 * queries), squeeze=False)
    for row in range(queries):
        order = np.lexsort((np.arange(costs.shape[1]), costs[row]))
        ax = axes[row][0]
        ax.imshow(keyframe(items[row]))
        ax.set_title(f"query: clip {items[row].clip_id}", fontsize=9)
        for k in range(3):
            ax = axes[row][k + 1]
            if k >= len(order):
                ax.axis("off")
                continue
            j = int(order[k])
            ax.imshow(keyframe(items[j]))
            hit = " (ground truth)" if j == row else ""
            ax.set_title(f"#{k + 1}: 1000 d = {1000 * costs[row, j]:.0f}", fontsize=9, color="red" if hit else "black")
            ax.set_xlabel(f"excerpt {items[j].excerpt_id}{hit}", fontsize=8)
        for ax in axes[row][:4]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[row][4]
        counts, edges = np.histogram(costs[row], bins=min(20, max(5, costs.shape[1] // 2)))
        truth_bin = int(np.clip(np.searchsorted(edges, costs[row, row], side="right") - 1, 0, len(counts) - 1))
        colours = ["tab:red" if b == truth_bin else "tab:grey" for b in range(len(counts))]
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=colours)
        ax.set_title(f"ground truth: rank {int(ranks[row])} of {costs.shape[1]}", fontsize=9, color="tab:red")
        ax.set_xlabel("distance to the query", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
