"""Driving a notebook's kernel cell by cell, for the tests that run notebooks as a learner does."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def _ipc_client():
    """tools/run_notebooks.py's kernel (IPC, as ``make run`` starts them), imported from the file."""
    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "tools" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ipc_client


kernel = _ipc_client()  # kernel(nb, cwd, timeout=..., allow_errors=...) -> a started NotebookClient


def defined_and_used(source: str) -> tuple[set[str], set[str], bool]:
    """The names a cell defines, the names it reads, and whether it only imports or defines functions."""
    tree = ast.parse(
        re.sub(r"(?m)^(\s*)([%!])", r"\1# \2", source)
    )  # IPython magics read as comments
    defined, used = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            continue
        for name in (n for n in ast.walk(node) if isinstance(n, ast.Name)):
            (defined if isinstance(name.ctx, ast.Store) else used).add(name.id)
    only_definitions = all(
        isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef)) for n in tree.body
    )
    return defined, used, only_definitions


def cells_using(code: list[tuple[int, nbformat.NotebookNode]]) -> dict[int, list[int]]:
    """For each code cell (by index in the notebook): itself, then the later cells that read what it made, or what
    a cell made from that (a loss made from the model, a table made from the loss), in notebook order.

    A cell of imports and function definitions is run again alone: what it makes is the same object again."""
    info = {index: defined_and_used(cell.source) for index, cell in code}
    groups = {}
    for index, _ in code:
        made, _, only_definitions = info[index]
        groups[index] = [index]
        for later in (i for i, _ in code if i > index and not only_definitions):
            if info[later][1] & made:
                groups[index].append(later)
                made = made | info[later][0]
    return groups


ADVICE = re.compile(r"run the cells from the one with `([^`]+)` down to this one again")


def run_following_advice(client, code, indices) -> list[str]:
    """Run the cells ``indices``; a cell that stops with one sentence naming a cell to start from is followed: the
    cells from that one to the end of the notebook run. Returns the sentences met (an error without one fails)."""
    met = []
    for index in indices:
        try:
            client.execute_cell(code[index], index)
        except CellExecutionError as error:
            advice = ADVICE.search(error.evalue or "")
            assert advice and "\n" not in error.evalue.strip(), (
                f"cell {index}: {error.ename}: {error.evalue}"
            )
            start = [
                i for i, cell in code.items() if advice[1] in cell.source
            ]  # the first, above this one
            assert start and start[0] <= index, (
                f"cell {index}'s advice names {advice[1]!r}, found in cells {start}"
            )
            for later in (i for i in code if i >= start[0]):
                client.execute_cell(code[later], later)
            met.append(f"{error.ename}: {error.evalue}")
            break
    return met
