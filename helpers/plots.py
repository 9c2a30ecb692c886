"""Plots: metric vs dimension and retention (notebooks 01, 03), adaptive retrieval (06), Pareto (07)."""

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


def plot_adaptive(
    table: pd.DataFrame,
    reference: dict[str, float],
    metrics: Sequence[str] = ("mrr@10", "recall@10"),
    path: Path | None = None,
):
    """Metric vs shortlist size ``k_shortlist``, one line per ``shortlist_dim``; full-size search dashed.

    ``table`` has columns ``shortlist_dim``, ``k_shortlist`` and the metrics; ``reference`` holds
    the full-size search's metrics. Introduced in notebook 06.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for dim, rows in table.groupby("shortlist_dim"):
            rows = rows.sort_values("k_shortlist")
            ax.plot(
                rows["k_shortlist"], rows[metric], marker="o", label=f"{dim}-d shortlist, full-size rerank"
            )
        ax.axhline(reference[metric], color="black", linestyle="--", label="full-size search")
        ax.set_xscale("log")
        ticks = sorted(table["k_shortlist"].unique())
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.set_xlabel("shortlist size K")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_pareto(table: pd.DataFrame, metric: str = "mrr@10", path: Path | None = None):
    """Quality vs bytes per vector for a dims x precision grid; the Pareto frontier joined by a line.

    ``table`` has columns ``dim``, ``precision``, ``bytes``, ``metric`` and a boolean ``pareto``.
    Introduced in notebook 07.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for precision, rows in table.groupby("precision", sort=False):
        ax.scatter(rows["bytes"], rows[metric], label=precision, s=40)
        for _, row in rows.iterrows():
            ax.annotate(
                str(row["dim"]),
                (row["bytes"], row[metric]),
                textcoords="offset points",
                xytext=(4, 3),
                fontsize=7,
            )
    front = table[table["pareto"]].sort_values("bytes")
    ax.plot(front["bytes"], front[metric], color="black", linewidth=1, label="Pareto frontier")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector (log scale; labels = dims kept)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
