"""Metric-vs-dimension and retention plots from the results store.

Introduced in notebook 01 (metric vs dim) and notebook 03 (retention, before/after).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from helpers.results import with_retention


def plot_metric_vs_dim(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("mrr@10", "recall@10", "ndcg@10"),
    retention: bool = False,
    path: Path | None = None,
):
    """One panel per metric, one line per model, dims on a log2 axis; optionally as retention %.

    Saves a PNG to ``path`` when given and returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        data = with_retention(table, metric) if retention else table
        column = "retention_%" if retention else metric
        for model, rows in data.groupby("model", sort=False):
            rows = rows.sort_values("dim")
            ax.plot(rows["dim"], rows[column], marker="o", label=model)
        dims = sorted(table["dim"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.set_xlabel("embedding dimensions kept")
        ax.set_ylabel(f"{metric} retention (%)" if retention else metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
