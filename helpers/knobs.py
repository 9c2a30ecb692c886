"""Every knob of the course in one table: what it accepts, an example, a bad value (tests/test_rerun.py sets it).

A parameters cell ends with ``check_knobs("NN", globals())``; a knob that depends on loaded data is checked where
the data is, by the same call given it (``rows=len(train_rows)``). A bad value stops with one sentence.
"""

import numbers
from dataclasses import dataclass, replace

from helpers.errors import OneSentence


class KnobError(OneSentence, ValueError):
    """A knob out of range: shown in Jupyter and Colab as its one sentence, without a traceback."""


def is_whole(value: object, low: int = 1, high: float = float("inf")) -> bool:
    """A whole number (not a bool, not 3.0) from ``low`` to ``high``; numpy integers count."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high


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
    """The end of a bad value's sentence (formatted with the knobs and ``needs``), its test ``ok(value, values)``,
    a bad value as Python source, and what the check needs that is known only once data is loaded.
    ``accepts=None``: checked where the value is used (``MODEL``: by ``helpers.sources.model_path``)."""

    accepts: str | None
    ok: object = None
    bad: str = "0"
    needs: tuple[str, ...] = ()


def whole(low: int = 1, high: float = float("inf")):
    return lambda v, _: is_whole(v, low, high)


def one_of(key: str):  # a whole number among a list: another knob, or the data's
    return lambda v, c: is_whole(v) and v in c[key]


def sizes(v, c) -> bool:  # different sizes, each from 1 to the model's
    return not isinstance(v, str) and 0 < len(set(v)) == len(v) and all(is_whole(x, 1, c["full_dim"]) for x in v)


def percent(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 100


METRIC = Knob("one of {metrics}", lambda v, c: v in c["metrics"], "'mrr'")
SIZES = Knob("a list of different sizes from 1 to {full_dim}, e.g. {default_dims}", sizes, "[64, 64]", ("full_dim",))
NONE_OR_SIZES = replace(SIZES, ok=lambda v, c: v is None or sizes(v, c))
TRUNCATE = "a whole number from 1 to the model's {full_dim} dimensions, such as one of {default_dims}"
FOCUS_DIM = Knob("one of the evaluated sizes {dims}", one_of("dims"), "48", ("dims",))
TEXTS = Knob("a whole number of training texts such as 12_000", whole())

KNOBS: dict[str, dict[str, Knob]] = {
    "01": {
        "MODEL": Knob(None, bad="'no-such/model'"),
        "EVAL_DIMS": replace(NONE_OR_SIZES, bad="64"),
        "FOCUS_DIM": FOCUS_DIM,
        "PCA_FIT_TEXTS": replace(TEXTS, bad="-5"),
        "METRIC": METRIC,
    },
    "02": {
        "MODEL": Knob(None, bad="'no-such/model'"),
        "MATRYOSHKA_DIMS": NONE_OR_SIZES,
        "BATCH_SIZE": Knob(
            "a whole number from 1 to the {rows} training rows, such as 32",
            lambda v, c: is_whole(v, 1, c["rows"]),
            needs=("rows",),
        ),
        "LEARNING_RATE": Knob(
            "a small positive number such as 2e-5", lambda v, _: isinstance(v, float) and 0 < v < 1, "-1"
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
            "None (plain MNRL) or a whole number of texts such as 32", lambda v, _: v is None or is_whole(v)
        ),
        "PRECISION": Knob('"auto" (bf16 or fp16 on a GPU) or "fp32"', lambda v, _: v in ("auto", "fp32"), "'fp8'"),
        "QUERY_PROMPT": Knob("None or the text put before each query", lambda v, _: v is None or type(v) is str, "42"),
        "PCA_FIT_TEXTS": Knob("0 (no rotation) or a whole number of training texts such as 12_000", whole(0), "-1"),
        "SEED": Knob("a whole number such as 42", whole(0), "'x'"),
    },
    "03": {"METRIC": replace(METRIC, bad="'MRR@10'"), "FOCUS_DIM": replace(FOCUS_DIM, bad="100")},
    "04": {"TRUNCATE_DIM": Knob(TRUNCATE, lambda v, c: is_whole(v, 1, c["full_dim"]), "1024", ("full_dim",))},
    "05": {
        "METRIC": replace(METRIC, bad="'ndcg'"),
        "FOCUS_DIM": Knob("one of notebook 02's sizes {MATRYOSHKA_DIMS}", one_of("MATRYOSHKA_DIMS"), "3"),
        "PCA_CONTROL_TEXTS": TEXTS,
    },
    "06": {
        "SHORTLIST_DIMS": SIZES,
        "SHORTLIST_K": Knob(
            "a list of whole numbers, at least one of them K={K} or more",
            lambda v, c: all(is_whole(x) for x in v) and max(v) >= c["K"],
            "[5]",
        ),
        "K": Knob("a whole number of results such as 10", whole()),
        "TARGET_RETENTION": Knob("a percentage above 0 and at most 100, such as 99.0", lambda v, _: percent(v), "150"),
        "PREFIX_DIM": Knob("one of SHORTLIST_DIMS={SHORTLIST_DIMS}", one_of("SHORTLIST_DIMS"), "128"),
        "LATENCY_QUERIES": Knob("a whole number of queries such as 100", whole()),
        "REPEATS": Knob("a whole number of repeats such as 5", whole(), "2.5"),
    },
    "07": {
        "METRIC": replace(METRIC, bad="'recall'"),
        "PRECISIONS": Knob(
            'a list drawn from "float32", "int8", "binary" that includes "float32" (the reference)',
            lambda v, _: "float32" in v and len(set(v)) == len(v) and set(v) <= {"float32", "int8", "binary"},
            "['float32', 'int4']",
        ),
        "RESCORE_MULTIPLIER": Knob("a whole number such as 4", whole()),
        "RETENTION_TARGETS": Knob(
            "a list of percentages above 0 and at most 100, such as [99, 95, 90]",
            lambda v, _: all(percent(t) for t in v),
            "[150]",
        ),
        "SCALES": Knob(
            'a dict of names to corpus sizes, such as {{"1M": 10**6}}',
            lambda v, _: all(type(n) is str and is_whole(c) for n, c in v.items()),
            "{'1M': -1}",
        ),
    },
    "08": {  # PG_URL and QDRANT_LOCATION: also by helpers.engines, for a server that does not answer
        "PG_URL": Knob(
            'None (start PostgreSQL here) or a connection string such as "postgresql://user:password@host:5432/db"',
            lambda v, _: v is None or v.startswith(("postgresql://", "postgres://")),
            "'postgresql://nobody@127.0.0.1:9/none'",
        ),
        "TABLE": Knob(
            "a table name of lower-case letters, digits and _ such as 'mrl_course', at most 50 characters",
            lambda v, _: 0 < len(v) <= 50 and v[0].isalpha() and all(c.islower() or c.isdigit() or c == "_" for c in v),
            "'items; DROP TABLE items'",
        ),
        "QDRANT_LOCATION": Knob(
            '":memory:", a folder, or a URL such as "http://localhost:6333"',
            lambda v, _: v.strip(),
            "'http://127.0.0.1:9'",
        ),
        "COLLECTION": Knob("a name such as 'mrl-course'", lambda v, _: v.strip(), "''"),
        "PREFIX_DIM": Knob(TRUNCATE, lambda v, c: is_whole(v, 1, c["full_dim"]), "1000", ("full_dim",)),
        "K_SHORTLIST": Knob(
            "None (the K notebook 06 chose) or a whole number from K={K} to 1000 (pgvector's largest hnsw.ef_search)",
            lambda v, c: v is None or is_whole(v, c["K"], 1000),
            "5",
        ),
        "K": Knob("a whole number of results such as 10", whole()),
        "UPSERT_BATCH": Knob("a whole number of points such as 256", whole()),
        "LATENCY_QUERIES": Knob("a whole number of queries such as 100", whole(), "-1"),
        "REPEATS": Knob("a whole number of repeats such as 3", whole()),
    },
    "09": {
        "TOP": Knob("a whole number of passages such as 5", whole()),
        "PRESET_DIMS": Knob(
            "a list of sizes such as [384, 64, 32]", lambda v, _: type(v) is not str and all(map(is_whole, v)), "64"
        ),
        "RESCORE_MULTIPLIER": Knob("a whole number such as 4", whole(), "'4'"),
    },
    "10": {
        "METRIC": METRIC,
        "LAYERS": Knob(
            "a list of different layer counts from 1 to the model's {depth}, starting with {depth}, "
            "e.g. [{depth}, {half}]",
            lambda v, c: (
                type(v) is list
                and len(set(v)) == len(v) > 1
                and v[0] == c["depth"]
                and all(is_whole(k, 1, c["depth"]) for k in v)
            ),
            "[6, 6]",
            ("depth",),
        ),
        "EVAL_DIMS": Knob(
            "a list of different sizes notebook 02 trained, from {MATRYOSHKA_DIMS}, the full size first",
            lambda v, c: (
                type(v) is list
                and len(set(v)) == len(v) > 0
                and v[0] == max(c["MATRYOSHKA_DIMS"])
                and set(v) <= set(c["MATRYOSHKA_DIMS"])
            ),
            "[384, 100]",
        ),
        "SERVE_LAYERS": Knob("one of LAYERS {LAYERS}", one_of("LAYERS"), "5"),
        "SERVE_DIM": Knob("one of EVAL_DIMS {EVAL_DIMS}", one_of("EVAL_DIMS"), "100"),
        "SPEED_TEXTS": Knob("a whole number of passages such as 256", whole()),
        "SPEED_REPEATS": Knob("a whole number of timings such as 5", whole(), "2.5"),
        "MAX_STEPS": Knob(
            "-1 (notebook 02's steps) or a whole number of steps such as 32", lambda v, _: v == -1 or is_whole(v)
        ),
    },
}


def check_knobs(notebook: str, knobs: dict, **data) -> None:
    """Check notebook ``notebook``'s knobs in ``knobs`` (its globals) that need no more than ``data``."""
    from helpers.evaluation import MEASURES, matryoshka_dims

    values = {**knobs, "metrics": list(MEASURES), **data}
    if "full_dim" in data:
        values["default_dims"] = matryoshka_dims(data["full_dim"])
    if "depth" in data:
        values["half"] = data["depth"] // 2
    for name, knob in KNOBS[notebook].items():
        if knob.ok is not None and name in knobs and set(knob.needs) <= set(data):
            check_knob(name, knobs[name], knob.accepts.format(**values), lambda v, k=knob: k.ok(v, values))
