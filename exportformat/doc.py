"""The tables of docs/export-format.md, generated from :mod:`exportformat.schema`.

The document is prose written by hand around generated blocks::

    <!-- generated: table ratings -->
    ...
    <!-- end generated -->

(``table <name>`` for each table, ``manifest`` for the manifest keys). :func:`render` regenerates the
blocks; ``python -m exportformat doc`` rewrites the file and ``python -m exportformat doc --check`` fails
when it is out of date (a test runs the check), so the document can never drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from exportformat.schema import MANIFEST, TABLES, Column, Table

DOC = Path(__file__).resolve().parents[1] / "docs" / "export-format.md"
_BLOCK = re.compile(r"(<!-- generated: (?P<what>[a-z_ ]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


class DocumentError(ValueError):
    """The document lacks a generated block, or names one the schema does not know."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _type_cell(column: Column) -> str:
    return f"{column.type} / empty" if column.nullable else column.type


def _since(item_since: int) -> str:
    return f" (since format version {item_since})" if item_since > 1 else ""


def table_block(table: Table) -> str:
    lines = ["| column | type | values | meaning |", "|---|---|---|---|"]
    for column in table.values():
        lines.append(
            f"| `{column.name}` | {_type_cell(column)} | {_cell(column.rule_text())} | "
            f"{_cell(column.meaning)}{_since(column.since)} |"
        )
    rules = [rule.description + _since(rule.since) for rule in table.rules]
    if table.unique:
        rules.append(f"Each ({', '.join(f'`{name}`' for name in table.unique)}) appears once.")
    if rules:
        lines += ["", "Row rules:", *(f"- {rule}" for rule in rules)]
    return "\n".join(lines) + "\n"


def manifest_block() -> str:
    lines = ["| key | type | meaning |", "|---|---|---|"]
    for key in MANIFEST.values():
        optional = "" if key.required else " (optional)"
        lines.append(f"| `{key.name}` | {key.type_text}{optional} | {_cell(key.meaning)}{_since(key.since)} |")
    return "\n".join(lines) + "\n"


def block(what: str) -> str:
    if what == "manifest":
        return manifest_block()
    kind, _, name = what.partition(" ")
    if kind == "table" and name in TABLES:
        return table_block(TABLES[name])
    raise DocumentError(f"unknown generated block {what!r}: use 'manifest' or 'table <name>' ({', '.join(TABLES)}).")


def render(text: str) -> str:
    """``text`` with every generated block regenerated; every table and the manifest must have one."""
    found = [match.group("what") for match in _BLOCK.finditer(text)]
    wanted = ["manifest", *(f"table {name}" for name in TABLES)]
    missing = [what for what in wanted if what not in found]
    if missing:
        raise DocumentError(
            f"the document has no generated block for {', '.join(missing)}: add "
            + " ".join(f"'<!-- generated: {what} -->' '<!-- end generated -->'" for what in missing)
        )
    return _BLOCK.sub(lambda match: match.group(1) + block(match.group("what")) + match.group(4), text)


def check(path: Path = DOC) -> bool:
    text = path.read_text(encoding="utf-8")
    return render(text) == text


def write(path: Path = DOC) -> bool:
    """Regenerate the blocks of ``path``; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
