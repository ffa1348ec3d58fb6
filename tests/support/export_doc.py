"""The column tables of docs/export-format.md, parsed so tests can hold the code to the document."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "export-format.md"


def documented_columns(table: str) -> list[str]:
    """The column names of one table (``ratings``, ``choices``, ``stimuli``) in documented order."""
    section = DOC.read_text(encoding="utf-8").split(f"## `{table}.csv`", 1)[1].split("\n## ", 1)[0]
    columns = []
    for line in section.splitlines():
        if line.startswith("| `"):
            # The first cell may name several columns (`right_id`, `right_label`, ...).
            columns += re.findall(r"`([a-z_][a-z0-9_]*)`", line.split("|")[1])
    return columns
