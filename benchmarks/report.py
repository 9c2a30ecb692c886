"""Render benchmarks/README.md's "Performance" section and plot from ``benchmarks/results/*.json``.

    python benchmarks/report.py          # print the section and redraw benchmarks/results/performance.png
    python tools/docs.py                 # write the section into benchmarks/README.md ({{performance}})

Nothing in the section is typed by hand: every number is read from the files the benchmark
scripts wrote. ``tools/docs.py`` renders it only after checking that S1 and S2 carry the committed
run's fingerprints (a figure of another benchmark or model is refused), and ``--check`` fails when
the README differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent / "README.md"
PLOT = RESULTS / "performance.png"


def load() -> dict[str, object]:
    data = {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in ("s1_evaluation", "s2_search", "s3_training", "t1_wall_time")
    }
    s4 = RESULTS / "s4_pgvector.json"
    data["s4_pgvector"] = json.loads(s4.read_text()) if s4.is_file() else None
    return data


def fmt_spread(s: dict[str, float], digits: int = 2, unit: str = "") -> str:
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def table(intro: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table after a blank line, its introduction and another blank line."""
    return [
        "",
        *intro.split("\n"),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def measured_on(fingerprints: dict[str, str]) -> str:
    """The fingerprints a figure rests on, for its row: test split 52b27458e6e0, model 3c2da5e1147c."""
    names = {"test": "test split", "ood": "ood split", "model_matryoshka": "model"}
    return ", ".join(
        f"{names.get(k, k)} {v}" for k, v in sorted(fingerprints.items(), reverse=True)
    )


def when(result: dict[str, object]) -> str:
    """``; date 2026-12-06, commit 2fb05b8`` where a result carries them (t1_wall_time.py), else nothing."""
    parts = [f"{k} {result[k]}" for k in ("date", "commit") if result.get(k)]
    return f"; {', '.join(parts)}" if parts else ""


def render(data: dict[str, object]) -> str:
    s1, s2, s3, t1 = (
        data["s1_evaluation"],
        data["s2_search"],
        data["s3_training"],
        data["t1_wall_time"],
    )
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    lines = [
        f"Measured on this project's CI-like machine ({s1['machine']['cpus']} CPUs, no GPU). Each row's figure",
        "comes from one run of the script named in it, as median (min–max) where repeats were run; the JSON",
        "files in `benchmarks/results/` hold all of it, with the fingerprints of the benchmark split and",
        "model a figure rests on, and `benchmarks/report.py` renders this section from them.",
        "",
        "| | figure | measured | target | met |",
        "|---|---|---|---|---|",
        f"| S1 | encode-once evaluator vs `InformationRetrievalEvaluator` per dim, "
        f"{len(s1['dims'])} dims ({s1['data']}, cut from the {measured_on(s1['fingerprints'])}) | "
        f"{fmt_spread(s1['speedup'], 2, '×')} faster; "
        f"largest metric difference {s1['max_abs_metric_diff']:.1e} | ≥ 3.5×, ≤ 1e-6 | "
        f"{yes(s1['speedup']['median'] >= 3.5 and s1['max_abs_metric_diff'] <= 1e-6)} |",
    ]
    for full in ("384", "768"):
        for lib in ("numpy", "faiss"):
            s = s2["summary"][full][lib]
            full_ms = s2["latency_ms"][full][full][lib]["median_ms"]
            small_ms = s2["latency_ms"][full]["64"][lib]["median_ms"]
            lines.append(
                f"| S2 | exact top-10, {full}-d → 64-d, {lib}, 100k random unit vectors | "
                f"{full_ms:.2f} → {small_ms:.2f} ms/query: {s['speedup_64']:.1f}× = "
                f"{s['share_of_ratio_%']:.0f}% of the {s['dim_ratio']:.0f}× dimension ratio | ≥ 80% | "
                f"{yes(s['share_of_ratio_%'] >= 80)} |"
            )
    q = s2["adaptive_quality"]
    for lib in ("numpy", "faiss"):
        s = s2["summary"]["384"][lib]
        lines.append(
            f"| S2 | adaptive: 64-d shortlist of {q['k']}, 384-d rerank ({lib}) | "
            f"keeps {q['kept_%']:.1f}% of full-size MRR@10 ({measured_on(s2['fingerprints'])}) "
            f"at {s['adaptive_speedup']:.1f}× the speed of 384-d search | ≥ 99% at ≥ 4× | "
            f"{yes(q['kept_%'] >= 99 and s['adaptive_speedup'] >= 4)} |"
        )
    sps, peak = s3["seconds_per_step"], s3["peak_memory_mib"]
    lines += [
        f"| S3 | seconds per step, batch {s3['batch_size']}, max_seq_length {s3['max_seq_length']}: "
        f"MNRL vs MatryoshkaLoss | {fmt_spread(sps['mnrl'])} vs {fmt_spread(sps['matryoshka'])} s: "
        f"overhead {s3['matryoshka_overhead_%']:+.1f}%; {s3['tokens_per_second']['matryoshka']:.0f} "
        f"tokens/s; peak memory {peak['mnrl']['peak_mib']:.0f} vs {peak['matryoshka']['peak_mib']:.0f} "
        f"MiB ({peak['mnrl']['kind']}) | ≤ 3% | {yes(s3['matryoshka_overhead_%'] <= 3)} |",
    ]
    for name in ("make test", "make run"):
        if name in t1:
            r = t1[name]
            limit = 10 if name == "make test" else 20
            lines.append(
                f"| T1 | `{name}` wall time (empty runs folder{when(r)}) | {r['minutes']:.1f} min, "
                f"exit {r['returncode']} | ≤ {limit} min | "
                f"{yes(r['returncode'] == 0 and r['minutes'] <= limit)} |"
            )
    s4 = data["s4_pgvector"]
    if s4:
        lines += table(
            f"S4, notebook 08's funnel in PostgreSQL as the corpus grows (`benchmarks/s4_pgvector.py`: {s4['engine']}; "
            f"{s4['vectors']}; `maintenance_work_mem` {s4['maintenance_work_mem']}; {s4['queries_timed']} queries, one "
            "at a time; recall@10 against exact full-vector search, beside the exact numpy funnel's at the same "
            "shortlist, "
            "and one query's exact full-vector scan in numpy for scale):",
            [
                "vectors",
                "load (COPY)",
                "HNSW build",
                "table",
                "prefix index",
                "shortlist",
                "ef_search",
                "median ms",
                "p90 ms",
                "recall@10",
                "exact funnel's recall@10",
                "numpy exact 384-d scan, ms",
            ],
            [
                [
                    f"{size['vectors']:,}",
                    f"{size['load_s']:.0f} s",
                    f"{size['index_build_s']:.0f} s",
                    f"{size['table_MiB']:.0f} MiB",
                    f"{size['prefix_index_MiB']:.0f} MiB",
                    f"{r['shortlist']}",
                    f"{r['ef_search']}",
                    f"{r['median_ms']:.2f}",
                    f"{r['p90_ms']:.2f}",
                    f"{r['recall@10']:.3f}",
                    f"{r['numpy_exact_funnel_recall@10']:.3f}",
                    f"{size['numpy_exact_full_search_ms']:.1f}",
                ]
                for size in s4["sizes"]
                for r in size["runs"]
            ],
        )
    lines += ["", f"![Performance]({PLOT.relative_to(README.parent)})"]
    return "\n".join(lines)


def plot(data: dict[str, object]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1, figsize=(6, 3.6), squeeze=False)
    axes = axes[0]
    s2 = data["s2_search"]
    for full, rows in s2["latency_ms"].items():
        dims = sorted(int(d) for d in rows if d.isdigit())
        for lib in ("numpy", "faiss"):
            axes[0].plot(
                dims,
                [rows[str(d)][lib]["median_ms"] for d in dims],
                marker="o",
                label=f"{lib}, {full}-d model",
            )
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("dims searched")
    axes[0].set_ylabel("ms per query (median)")
    axes[0].set_title("S2: exact top-10 on 100k vectors")
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-plot", action="store_true", help="print the section only")
    args = parser.parse_args()
    data = load()
    print(render(data))
    if not args.no_plot:
        plot(data)
        print(f"\nredrew {PLOT.relative_to(README.parent.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
