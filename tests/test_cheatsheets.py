"""The out-of-domain source: cheatsheet parsing by hand-worked examples, the sdist checks, the smoke path."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from course_data.cheatsheets import (
    CHEAT_SDIST,
    SHEETS_DIR,
    fetch_cheat_sdist,
    read_sheets,
    sheet_pairs,
)
from course_data.splits import load_ood_benchmark


def write_sheets_tarball(path, sheets):
    """``sheets`` as a .tar.gz in the sdist's layout."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in sheets.items():
            info = tarfile.TarInfo(SHEETS_DIR + name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


TAR = """# To extract an archive:
tar -xvf foo.tar

# List the contents:
tar -tvf foo.tar
tar -tzvf foo.tgz
# Note: -z means gzip
tar -czf foo.tgz foo/
"""
GZIP = """# To compress a file, keeping the original
# (needs gzip 1.6 or later):
gzip -k file

# To unpack a tarball:
tar -xvf foo.tar
"""


def test_sheet_entries_hand_worked():
    assert list(sheet_pairs("tar", TAR)) == [
        ("how to extract an archive with tar", "tar -xvf foo.tar"),
        ("how to list the contents with tar", "tar -tvf foo.tar\ntar -tzvf foo.tgz"),
        (None, "tar -czf foo.tgz foo/"),  # a note, not a task: a distractor
    ]
    # a comment over two lines: its first line names the task; CRLF reads like LF
    assert list(sheet_pairs("gzip", GZIP.replace("\n", "\r\n")))[0] == (
        "how to compress a file, keeping the original with gzip",
        "gzip -k file",
    )


def test_benchmark_stores_each_command_once(tmp_path):
    sdist = write_sheets_tarball(tmp_path / "sheets.tar.gz", {"tar": TAR, "gzip": GZIP})
    assert read_sheets(sdist) == {"tar": TAR, "gzip": GZIP}
    bench = load_ood_benchmark(None, tmp_path, sdist)
    assert len(bench.corpus) == 4  # "tar -xvf foo.tar" is in both sheets and stored once
    by_text = {text: doc for doc, text in bench.corpus.items()}
    queries = {text: qid for qid, text in bench.queries.items()}
    assert bench.qrels[queries["how to unpack a tarball with gzip"]] == {
        by_text["tar -xvf foo.tar"]
    }
    assert bench.qrels[queries["how to extract an archive with tar"]] == {
        by_text["tar -xvf foo.tar"]
    }
    assert len(bench.queries) == 4


def test_smoke_profile_reads_synthetic_sheets_through_the_same_parser(smoke_profile, tmp_path):
    bench = load_ood_benchmark(smoke_profile, tmp_path / "smoke")
    assert len(bench.queries) == 30 and len(bench.corpus) == 30
    assert all(q.startswith("how to ") for q in bench.queries.values())


def test_damaged_sdist_named(tmp_path):
    (tmp_path / CHEAT_SDIST).write_bytes(b"not the sdist")
    with pytest.raises(ValueError, match="is damaged .*SHA-256.*delete it and run again"):
        fetch_cheat_sdist(tmp_path)
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b broken")
    with pytest.raises(ValueError, match="not a readable .tar.gz"):
        read_sheets(bad)


def test_no_network_gets_one_sentence(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "network is unreachable")

    monkeypatch.setattr(subprocess, "run", refuse)
    with pytest.raises(
        ConnectionError, match=r"Cannot download cheat==2.5.1 .*pip download --no-deps"
    ):
        fetch_cheat_sdist(tmp_path / "sources")
