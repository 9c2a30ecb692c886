"""Every knob of the course in one table: what it accepts, an example, and a bad value the tests set.

A parameters cell ends with ``check_knobs("NN", globals())``, which checks every knob of notebook NN
that needs nothing but the cell's values; a knob that depends on loaded data (a size against the
model's, a batch against the rows) is checked where the data is, by the same call given it:
``check_knobs("02", globals(), rows=len(train_rows))``. A bad value stops with one sentence,
``KNOB=value must be <what it accepts>.``, before any work. A new knob is one line in its cell and one
row here (``tests/test_rerun.py`` sets each row's bad value and expects its sentence).
"""

import numbers
from collections.abc import Callable
from dataclasses import dataclass, replace

from helpers.errors import OneSentence


class KnobError(OneSentence, ValueError):
    """A knob out of range: shown in Jupyter and Colab as its one sentence, without a traceback."""


def is_whole(value: object, low: int = 1, high: float = float("inf")) -> bool:
    """A whole number (not a bool, not 3.0) from ``low`` to ``high``; numpy integers count."""
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high
    )


def check_knob(name: str, value: object, allowed: str, ok) -> None:
    """Stop with ``NAME=value must be <allowed>.`` unless ``ok(value)`` holds (an ``ok`` that fails counts as no)."""
    try:
        good = bool(ok(value))
    except (TypeError, ValueError, KeyError, AttributeError):
        good = False
    if not good:
        raise KnobError(f"{name}={value!r} must be {allowed}.")


@dataclass(frozen=True)
class Knob:
    """What a knob accepts (its sentence's end, formatted with the other knobs and ``needs``), the test, a bad value.

    ``accepts=None``: checked where it is used, by the function named in ``checked_by``."""

    accepts: str | None
    ok: Callable[[object, dict], bool] | None
    bad: str  # Python source of a wrong value, set by tests/test_rerun.py
    needs: tuple[
        str, ...
    ] = ()  # what the check needs besides the knobs, known only once data is loaded
    checked_by: str = ""


def whole(low: int = 1, high: float = float("inf")) -> Callable[[object, dict], bool]:
    return lambda v, _: is_whole(v, low, high)


def percent(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 100


def distinct_sizes(v: object, full_dim: int) -> bool:
    return (
        not isinstance(v, str)
        and 0 < len(set(v)) == len(v)
        and all(is_whole(x, 1, full_dim) for x in v)
    )


METRIC = Knob("one of {metrics}", lambda v, _: v in _["metrics"], "'mrr'")
MODEL = Knob(
    None, None, "'no-such/model'", checked_by="helpers.sources.model_path, where the model loads"
)
SIZES = "a list of different sizes from 1 to {full_dim}, e.g. {default_dims}"
FOCUS_DIM = Knob(
    "one of the evaluated sizes {dims}",
    lambda v, c: is_whole(v) and v in c["dims"],
    "48",
    ("dims",),
)
TRAINING_TEXTS = "a whole number of training texts such as 12_000"
WHOLE = {  # knob -> what a whole number of it counts, and an example
    "K": "results such as 10",
    "LATENCY_QUERIES": "queries such as 100",
    "UPSERT_BATCH": "points such as 256",
    "TOP": "passages such as 5",
    "SPEED_TEXTS": "passages such as 256",
    "SPEED_REPEATS": "timings such as 5",
}


def counted(knob: str, bad: str = "0") -> Knob:
    return Knob(f"a whole number of {WHOLE[knob]}", whole(), bad)


KNOBS: dict[str, dict[str, Knob]] = {
    "01": {
        "MODEL": MODEL,
        "EVAL_DIMS": Knob(
            SIZES, lambda v, c: v is None or distinct_sizes(v, c["full_dim"]), "64", ("full_dim",)
        ),
        "FOCUS_DIM": FOCUS_DIM,
        "PCA_FIT_TEXTS": Knob(TRAINING_TEXTS, whole(), "-5"),
        "METRIC": METRIC,
    },
    "02": {
        "MODEL": MODEL,
        "MATRYOSHKA_DIMS": Knob(
            SIZES,
            lambda v, c: v is None or distinct_sizes(v, c["full_dim"]),
            "[64, 64]",
            ("full_dim",),
        ),
        "BATCH_SIZE": Knob(
            "a whole number from 1 to the {rows} training rows, such as 32",
            lambda v, c: is_whole(v, 1, c["rows"]),
            "0",
            ("rows",),
        ),
        "LEARNING_RATE": Knob(
            "a small positive number such as 2e-5",
            lambda v, _: isinstance(v, float) and 0 < v < 1,
            "-1",
        ),
        "EPOCHS": Knob("a positive whole number such as 1", whole(), "1.5"),
        "WARMUP": Knob(
            "a fraction of the steps, from 0 up to (not including) 1",
            lambda v, _: not isinstance(v, bool) and 0 <= v < 1,
            "1.5",
        ),
        "MAX_SEQ_LENGTH": Knob(
            "None or a whole number of tokens from 8 to 512, such as 128",
            lambda v, _: v is None or is_whole(v, 8, 512),
            "4",
        ),
        "MINI_BATCH_SIZE": Knob(
            "None (plain MNRL) or a whole number of texts such as 32",
            lambda v, _: v is None or is_whole(v),
            "0",
        ),
        "PRECISION": Knob(
            '"auto" (bf16 or fp16 on a GPU) or "fp32"', lambda v, _: v in ("auto", "fp32"), "'fp8'"
        ),
        "QUERY_PROMPT": Knob(
            "None or the text put before each query",
            lambda v, _: v is None or isinstance(v, str),
            "42",
        ),
        "PCA_FIT_TEXTS": Knob(
            "0 (no rotation) or a whole number of training texts such as 12_000", whole(0), "-1"
        ),
        "SEED": Knob("a whole number such as 42", whole(0), "'x'"),
    },
    "03": {"METRIC": replace(METRIC, bad="'MRR@10'"), "FOCUS_DIM": replace(FOCUS_DIM, bad="100")},
    "04": {
        "TRUNCATE_DIM": Knob(
            "a whole number from 1 to the model's {full_dim} dimensions, such as one of {default_dims}",
            lambda v, c: is_whole(v, 1, c["full_dim"]),
            "1024",
            ("full_dim",),
        )
    },
    "05": {
        "METRIC": replace(METRIC, bad="'ndcg'"),
        "FOCUS_DIM": Knob(
            "one of notebook 02's sizes {MATRYOSHKA_DIMS}",
            lambda v, k: is_whole(v) and v in k["MATRYOSHKA_DIMS"],
            "3",
        ),
        "PCA_CONTROL_TEXTS": Knob(TRAINING_TEXTS, whole(), "0"),
    },
    "06": {
        "SHORTLIST_DIMS": Knob(
            SIZES, lambda v, c: distinct_sizes(v, c["full_dim"]), "[64, 64]", ("full_dim",)
        ),
        "SHORTLIST_K": Knob(
            "a list of whole numbers, at least one of them K={K} or more",
            lambda v, k: all(is_whole(x) for x in v) and max(v) >= k["K"],
            "[5]",
        ),
        "K": counted("K"),
        "TARGET_RETENTION": Knob(
            "a percentage above 0 and at most 100, such as 99.0", lambda v, _: percent(v), "150"
        ),
        "PREFIX_DIM": Knob(
            "one of SHORTLIST_DIMS={SHORTLIST_DIMS}",
            lambda v, k: is_whole(v) and v in k["SHORTLIST_DIMS"],
            "128",
        ),
        "LATENCY_QUERIES": counted("LATENCY_QUERIES"),
        "REPEATS": Knob("a whole number of repeats such as 5", whole(), "2.5"),
    },
    "07": {
        "METRIC": replace(METRIC, bad="'recall'"),
        "PRECISIONS": Knob(
            'a list drawn from "float32", "int8", "binary" that includes "float32" (the reference)',
            lambda v, _: (
                "float32" in v and len(set(v)) == len(v) and set(v) <= {"float32", "int8", "binary"}
            ),
            "['float32', 'int4']",
        ),
        "RESCORE_MULTIPLIER": Knob("a whole number such as 4", whole(), "0"),
        "RETENTION_TARGETS": Knob(
            "a list of percentages above 0 and at most 100, such as [99, 95, 90]",
            lambda v, _: all(percent(t) for t in v),
            "[150]",
        ),
        "SCALES": Knob(
            'a dict of names to corpus sizes, such as {{"1M": 10**6}}',
            lambda v, _: all(isinstance(n, str) and is_whole(c) for n, c in v.items()),
            "{'1M': -1}",
        ),
    },
    "08": {
        "PG_URL": Knob(
            'None (start PostgreSQL here) or a connection string such as "postgresql://user:password@host:5432/db"',
            lambda v, _: (
                v is None or (isinstance(v, str) and v.startswith(("postgresql://", "postgres://")))
            ),
            "'postgresql://nobody@127.0.0.1:9/none'",
            checked_by="helpers.engines.connect_postgres, for a server that does not answer",
        ),
        "TABLE": Knob(
            "a table name of lower-case letters, digits and _ such as 'mrl_course', at most 50 characters",
            lambda v, _: (
                isinstance(v, str)
                and 0 < len(v) <= 50
                and v[0].isalpha()
                and all(c.islower() or c.isdigit() or c == "_" for c in v)
            ),
            "'items; DROP TABLE items'",
        ),
        "QDRANT_LOCATION": Knob(
            '":memory:", a folder, or a URL such as "http://localhost:6333"',
            lambda v, _: isinstance(v, str) and v.strip(),
            "'http://127.0.0.1:9'",
            checked_by="helpers.engines.connect_qdrant, for a server that does not answer",
        ),
        "COLLECTION": Knob(
            "a name such as 'mrl-course'", lambda v, _: isinstance(v, str) and v.strip(), "''"
        ),
        "PREFIX_DIM": Knob(
            "a whole number from 1 to the model's {full_dim} dimensions, such as one of {default_dims}",
            lambda v, c: is_whole(v, 1, c["full_dim"]),
            "1000",
            ("full_dim",),
        ),
        "K_SHORTLIST": Knob(
            "None (the K notebook 06 chose) or a whole number from K={K} to 1000 (pgvector's largest hnsw.ef_search)",
            lambda v, k: v is None or is_whole(v, k["K"], 1000),
            "5",
        ),
        "K": counted("K"),
        "UPSERT_BATCH": counted("UPSERT_BATCH"),
        "LATENCY_QUERIES": counted("LATENCY_QUERIES", "-1"),
        "REPEATS": Knob("a whole number of repeats such as 3", whole(), "0"),
    },
    "09": {
        "TOP": counted("TOP"),
        "PRESET_DIMS": Knob(
            "a list of sizes such as [384, 64, 32]",
            lambda v, _: not isinstance(v, str) and all(is_whole(d) for d in v),
            "64",
        ),
        "RESCORE_MULTIPLIER": Knob("a whole number such as 4", whole(), "'4'"),
    },
    "10": {
        "METRIC": METRIC,
        "LAYERS": Knob(
            "a list of different layer counts from 1 to the model's {depth}, starting with {depth}, e.g. [{depth}, "
            "{half}]",
            lambda v, c: (
                isinstance(v, list)
                and len(set(v)) == len(v) > 1
                and v[0] == c["depth"]
                and all(is_whole(k, 1, c["depth"]) for k in v)
            ),
            "[6, 6]",
            ("depth",),
        ),
        "EVAL_DIMS": Knob(
            "a list of different sizes notebook 02 trained, from {MATRYOSHKA_DIMS}, the full size first",
            lambda v, k: (
                isinstance(v, list)
                and len(set(v)) == len(v) > 0
                and v[0] == max(k["MATRYOSHKA_DIMS"])
                and set(v) <= set(k["MATRYOSHKA_DIMS"])
            ),
            "[384, 100]",
        ),
        "SERVE_LAYERS": Knob(
            "one of LAYERS {LAYERS}", lambda v, k: is_whole(v) and v in k["LAYERS"], "5"
        ),
        "SERVE_DIM": Knob(
            "one of EVAL_DIMS {EVAL_DIMS}", lambda v, k: is_whole(v) and v in k["EVAL_DIMS"], "100"
        ),
        "SPEED_TEXTS": counted("SPEED_TEXTS"),
        "SPEED_REPEATS": counted("SPEED_REPEATS", "2.5"),
        "MAX_STEPS": Knob(
            "-1 (notebook 02's steps) or a whole number of steps such as 32",
            lambda v, _: v == -1 or is_whole(v),
            "0",
        ),
    },
}


def check_knobs(notebook: str, knobs: dict, **data) -> None:
    """Check the knobs of notebook ``notebook`` found in ``knobs`` (its globals) that need no more than ``data``.

    Stops at the first bad one with ``KnobError: NAME=value must be <what it accepts>.``"""
    from helpers.evaluation import MEASURES, matryoshka_dims

    context = {"metrics": list(MEASURES), **data}
    if "full_dim" in data:
        context["default_dims"] = matryoshka_dims(data["full_dim"])
    if "depth" in data:
        context["half"] = data["depth"] // 2
    values = {**knobs, **context}
    for name, knob in KNOBS[notebook].items():
        if knob.ok is None or name not in knobs or not set(knob.needs) <= set(data):
            continue
        check_knob(
            name, knobs[name], knob.accepts.format(**values), lambda v, k=knob: k.ok(v, values)
        )
