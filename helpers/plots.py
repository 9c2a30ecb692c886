"""Quality against embedding size, one line per model (notebooks 01, 03, 05, 10)."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd


def plot_metric_vs_dim(
    table: pd.DataFrame, metrics=("mrr@10", "recall@10", "ndcg@10"), retention: bool = False, path: Path | None = None
):
    """One panel per metric, a line per model, dims on a log2 axis; ``retention``: % of each model's full size."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for model, rows in table.groupby("model", sort=False):
            rows = rows.sort_values("dim")
            values = 100 * rows[metric] / rows[metric].iloc[-1] if retention else rows[metric]
            ax.plot(rows["dim"], values, marker="o", label=model)
        dims = sorted(table["dim"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.set(xlabel="embedding dimensions kept", ylabel=f"{metric} retention (%)" if retention else metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
