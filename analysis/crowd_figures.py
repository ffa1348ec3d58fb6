"""Figure of the 2AFC noise ceiling next to model accuracies (docs/analysis.md)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def ceiling_figure(comparison: pd.DataFrame) -> plt.Figure:
    """Per group: the human ceiling (bar with its 95 % interval), each model's accuracy against single
    human answers (points with Wilson intervals), and chance (dashed line at 50 %).

    ``comparison``: :func:`analysis.agreement.ceiling_comparison`'s table.
    """
    groups = list(dict.fromkeys(comparison["group"]))
    ceilings = comparison.drop_duplicates("group").set_index("group").loc[groups]
    models = [m for m in dict.fromkeys(comparison["model"].dropna())]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(groups) + 2), 3.6))
    x = np.arange(len(groups))
    error = np.vstack([ceilings["ceiling"] - ceilings["ceiling_low"], ceilings["ceiling_high"] - ceilings["ceiling"]])
    ax.bar(
        x,
        100 * ceilings["ceiling"].to_numpy(dtype=float),
        width=0.6,
        color="#c7d7ea",
        label="human ceiling (between subjects)",
    )
    ax.errorbar(
        x,
        100 * ceilings["ceiling"].to_numpy(dtype=float),
        yerr=100 * np.nan_to_num(error),
        fmt="none",
        ecolor="#4c72b0",
        capsize=4,
    )
    offsets = np.linspace(-0.18, 0.18, len(models)) if len(models) > 1 else [0.0]
    colours = plt.get_cmap("tab10")
    for k, model in enumerate(models):
        rows = comparison[comparison["model"] == model].set_index("group").reindex(groups)
        yerr = np.vstack([rows["accuracy"] - rows["accuracy_low"], rows["accuracy_high"] - rows["accuracy"]])
        ax.errorbar(
            x + offsets[k],
            100 * rows["accuracy"].to_numpy(dtype=float),
            yerr=100 * np.nan_to_num(yerr),
            fmt="o",
            color=colours(k + 1),
            capsize=3,
            label=f"{model} vs single answers",
        )
    ax.axhline(50, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(x, groups)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy against one human answer (%)")
    ax.set_title("No model can beat the ceiling that human agreement sets")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
