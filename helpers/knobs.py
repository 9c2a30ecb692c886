"""Every knob of the course in one table: what it accepts, its test, a bad value (tests/test_rerun.py sets it).

A parameters cell ends with ``check_knobs("NN", globals())``. A knob whose sentence names loaded data (a lower-case
field such as ``{full_dim}``) is checked once that data is given to the same call (``full_dim=...``); an upper-case
field names another knob. A bad value stops with one sentence.
"""

import numbers
import string
from typing import NamedTuple

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


class Knob(NamedTuple):
    """The end of a bad value's sentence (formatted with the knobs and data), its test ``ok(value, values)`` and a
    bad value as Python source. ``accepts=None``: checked where it is used (``MODEL``: by ``sources.model_path``)."""

    accepts: str | None
    ok: object = None
    bad: str = "0"


# the tests ``ok(value, values)``; ``values`` holds the knobs and the data the call was given
def whole(low=1, high=float("inf")):
    return lambda v, _: is_whole(v, low, high)


def up_to(key):  # a whole number from 1 to a size of the data
    return lambda v, c: is_whole(v, 1, c[key])


def one_of(key):  # a whole number among a list: another knob, or the data's
    return lambda v, c: is_whole(v) and v in c[key]


def none_or(ok):
    return lambda v, c: v is None or ok(v, c)


def sizes(v, c) -> bool:  # different sizes, each from 1 to the model's
    return not isinstance(v, str) and 0 < len(set(v)) == len(v) and all(is_whole(x, 1, c["full_dim"]) for x in v)


def percent(v, _=None) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 100


def layers(v, c) -> bool:  # different layer counts, the full depth first
    return type(v) is list and len(set(v)) == len(v) > 1 and v[0] == c["depth"] and all(up_to("depth")(k, c) for k in v)


def trained_sizes(v, c) -> bool:  # a subset of notebook 02's sizes, its full size first
    dims = c["MATRYOSHKA_DIMS"]
    return type(v) is list and len(set(v)) == len(v) > 0 and v[0] == max(dims) and set(v) <= set(dims)


def table_name(v, _) -> bool:
    return 0 < len(v) <= 50 and v[0].isalpha() and all(c.islower() or c.isdigit() or c == "_" for c in v)


SIZES = "a list of different sizes from 1 to {full_dim}, e.g. {default_dims}"
TRUNCATE = "a whole number from 1 to the model's {full_dim} dimensions, such as one of {default_dims}"
METRIC = Knob("one of {metrics}", lambda v, c: v in c["metrics"], "'mrr'")
FOCUS_DIM = Knob("one of the evaluated sizes {dims}", one_of("dims"), "48")
MODEL = Knob(None, bad="'no-such/model'")
COLUMNS = ("query", "positive", "negative", "group")  # the course's names for your data's columns
PROMPT = Knob("None or the text put before each query", none_or(lambda v, _: type(v) is str), "42")
TEXTS = "a whole number of training texts such as 12_000"
RESULTS = Knob("a whole number of results such as 10", whole())
QUERIES = Knob("a whole number of queries such as 100", whole())
MULTIPLIER = Knob("a whole number such as 4", whole())
PG_URL = 'None (start PostgreSQL here) or a connection string such as "postgresql://user:password@host:5432/db"'
K_SHORTLIST = "None (the K notebook 06 chose) or a whole number from K={K} to 1000 (pgvector's largest hnsw.ef_search)"
LAYERS = "a list of different layer counts from 1 to the model's {depth}, starting with {depth}, e.g. [{depth}, {half}]"


KNOBS: dict[str, dict[str, Knob]] = {
    "01": {
        "OWN_DATA": Knob(None, bad="'no/such/pairs.csv'"),  # checked by course_data.own
        "OWN_COLUMNS": Knob(
            "None or a dict of your column names to the course's, such as {{'question': 'query'}}",
            none_or(lambda v, _: len(set(v.values())) == len(v) and set(v.values()) <= set(COLUMNS)),
            "{'question': 'text'}",
        ),
        "OWN_MODEL": Knob(None, bad="'no-such/model'"),  # checked by profiles.model_path
        "OWN_QUERY_PROMPT": PROMPT._replace(bad="7"),
        "MODEL": MODEL,
        "EVAL_DIMS": Knob(SIZES, none_or(sizes), "64"),
        "FOCUS_DIM": FOCUS_DIM,
        "PCA_FIT_TEXTS": Knob(TEXTS, whole(), "-5"),
        "METRIC": METRIC,
    },
    "02": {
        "MODEL": MODEL,
        "MATRYOSHKA_DIMS": Knob(SIZES, none_or(sizes), "[64, 64]"),
        "BATCH_SIZE": Knob("a whole number from 1 to the {rows} training rows, such as 32", up_to("rows")),
        "LEARNING_RATE": Knob(
            "a small positive number such as 2e-5", lambda v, _: type(v) is float and 0 < v < 1, "-1"
        ),
        "EPOCHS": Knob("a positive whole number such as 1", whole(), "1.5"),
        "WARMUP": Knob(
            "a fraction of the steps, from 0 up to (not including) 1",
            lambda v, _: type(v) is not bool and 0 <= v < 1,
            "1.5",
        ),
        "MAX_SEQ_LENGTH": Knob(
            "None or a whole number of tokens from 8 to 512, such as 128", none_or(whole(8, 512)), "4"
        ),
        "MINI_BATCH_SIZE": Knob("None (plain MNRL) or a whole number of texts such as 32", none_or(whole())),
        "PRECISION": Knob('"auto" (bf16 or fp16 on a GPU) or "fp32"', lambda v, _: v in ("auto", "fp32"), "'fp8'"),
        "QUERY_PROMPT": PROMPT,
        "PCA_FIT_TEXTS": Knob(f"0 (no rotation) or {TEXTS}", whole(0), "-1"),
        "SEED": Knob("a whole number such as 42", whole(0), "'x'"),
    },
    "03": {"METRIC": METRIC._replace(bad="'MRR@10'"), "FOCUS_DIM": FOCUS_DIM._replace(bad="100")},
    "04": {"TRUNCATE_DIM": Knob(TRUNCATE, up_to("full_dim"), "1024")},
    "05": {
        "METRIC": METRIC._replace(bad="'ndcg'"),
        "FOCUS_DIM": Knob("one of notebook 02's sizes {MATRYOSHKA_DIMS}", one_of("MATRYOSHKA_DIMS"), "3"),
        "PCA_CONTROL_TEXTS": Knob(TEXTS, whole()),
    },
    "06": {
        "SHORTLIST_DIMS": Knob(SIZES, sizes, "[64, 64]"),
        "SHORTLIST_K": Knob(
            "a list of whole numbers, at least one of them K={K} or more",
            lambda v, c: all(is_whole(x) for x in v) and max(v) >= c["K"],
            "[5]",
        ),
        "K": RESULTS,
        "TARGET_RETENTION": Knob("a percentage above 0 and at most 100, such as 99.0", percent, "150"),
        "PREFIX_DIM": Knob("one of SHORTLIST_DIMS={SHORTLIST_DIMS}", one_of("SHORTLIST_DIMS"), "128"),
        "LATENCY_QUERIES": QUERIES,
        "REPEATS": Knob("a whole number of repeats such as 5", whole(), "2.5"),
    },
    "07": {
        "METRIC": METRIC._replace(bad="'recall'"),
        "PRECISIONS": Knob(
            'a list drawn from "float32", "int8", "binary" that includes "float32" (the reference)',
            lambda v, _: "float32" in v and len(set(v)) == len(v) and set(v) <= {"float32", "int8", "binary"},
            "['float32', 'int4']",
        ),
        "RESCORE_MULTIPLIER": MULTIPLIER,
        "RETENTION_TARGETS": Knob(
            "a list of percentages above 0 and at most 100, such as [99, 95, 90]",
            lambda v, _: all(map(percent, v)),
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
            PG_URL,
            none_or(lambda v, _: v.startswith(("postgresql://", "postgres://"))),
            "'postgresql://nobody@127.0.0.1:9/none'",
        ),
        "TABLE": Knob(
            "a table name of lower-case letters, digits and _ such as 'mrl_course', at most 50 characters",
            table_name,
            "'items; DROP TABLE items'",
        ),
        "QDRANT_LOCATION": Knob(
            '":memory:", a folder, or a URL such as "http://localhost:6333"',
            lambda v, _: v.strip(),
            "'http://127.0.0.1:9'",
        ),
        "COLLECTION": Knob("a name such as 'mrl-course'", lambda v, _: v.strip(), "''"),
        "PREFIX_DIM": Knob(TRUNCATE, up_to("full_dim"), "1000"),
        "K_SHORTLIST": Knob(K_SHORTLIST, lambda v, c: v is None or is_whole(v, c["K"], 1000), "5"),
        "K": RESULTS,
        "UPSERT_BATCH": Knob("a whole number of points such as 256", whole()),
        "LATENCY_QUERIES": QUERIES._replace(bad="-1"),
        "REPEATS": Knob("a whole number of repeats such as 3", whole()),
    },
    "09": {
        "TOP": Knob("a whole number of passages such as 5", whole()),
        "PRESET_DIMS": Knob(
            "a list of sizes such as [384, 64, 32]", lambda v, _: type(v) is not str and all(map(is_whole, v)), "64"
        ),
        "RESCORE_MULTIPLIER": MULTIPLIER._replace(bad="'4'"),
    },
    "10": {
        "METRIC": METRIC,
        "LAYERS": Knob(LAYERS, layers, "[6, 6]"),
        "EVAL_DIMS": Knob(
            "a list of different sizes notebook 02 trained, from {MATRYOSHKA_DIMS}, the full size first",
            trained_sizes,
            "[384, 100]",
        ),
        "SERVE_LAYERS": Knob("one of LAYERS {LAYERS}", one_of("LAYERS"), "5"),
        "SERVE_DIM": Knob("one of EVAL_DIMS {EVAL_DIMS}", one_of("EVAL_DIMS"), "100"),
        "SPEED_TEXTS": Knob("a whole number of passages such as 256", whole()),
        "SPEED_REPEATS": Knob("a whole number of timings such as 5", whole(), "2.5"),
        "LATENCY_QUERIES": QUERIES._replace(bad="2.5"),
        "INT8_ROWS": Knob("True or False", lambda v, _: isinstance(v, bool), "'yes'"),
        "MAX_STEPS": Knob(
            "-1 (notebook 02's steps) or a whole number of steps such as 32", lambda v, _: v == -1 or is_whole(v)
        ),
    },
}


def check_knobs(notebook: str, knobs: dict, **data) -> None:
    """Check notebook ``notebook``'s knobs in ``knobs`` (its globals) whose sentences need no data beyond ``data``."""
    from helpers.evaluation import MEASURES, matryoshka_dims

    values = {**{k: v for k, v in knobs.items() if k.isupper()}, "metrics": list(MEASURES), **data}
    if "full_dim" in data:
        values["default_dims"] = matryoshka_dims(data["full_dim"])
    if "depth" in data:
        values["half"] = data["depth"] // 2
    for name, knob in KNOBS[notebook].items():
        fields = {field for _, field, _, _ in string.Formatter().parse(knob.accepts or "") if field}
        if knob.ok is not None and name in knobs and fields <= values.keys():
            check_knob(name, knobs[name], knob.accepts.format(**values), lambda v, k=knob: k.ok(v, values))
