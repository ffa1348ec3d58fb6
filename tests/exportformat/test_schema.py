"""The schema is the format document: docs/export-format.md's tables are generated from it."""

from __future__ import annotations

import re

import pytest

from exportformat import doc, schema
from exportformat.__main__ import main
from exportformat.schema import Column, Table
from tests.support.export_doc import DOC, documented_columns


def test_the_format_document_is_generated_from_the_schema():
    assert doc.DOC == DOC
    assert doc.check(DOC), "docs/export-format.md is out of date: run python -m exportformat doc"
    assert main(["doc", "--check"]) == 0


def test_the_check_notices_a_hand_edited_table(tmp_path):
    edited = tmp_path / "export-format.md"
    edited.write_text(DOC.read_text(encoding="utf-8").replace("| `rating` | int |", "| `rating` | float |"))
    assert not doc.check(edited) and main(["doc", "--check", "--path", str(edited)]) == 1
    assert main(["doc", "--path", str(edited)]) == 0 and doc.check(edited)


def test_every_table_needs_a_generated_block():
    text = DOC.read_text(encoding="utf-8").replace("<!-- generated: table stimuli -->", "<!-- table stimuli -->")
    with pytest.raises(doc.DocumentError, match="no generated block for table stimuli"):
        doc.render(text)


def test_the_schema_lists_exactly_the_columns_of_the_format_document():
    for table, columns in schema.TABLES.items():
        assert documented_columns(table) == list(columns), table


def test_the_schema_types_match_the_format_document():
    text = DOC.read_text(encoding="utf-8")
    for table, columns in schema.TABLES.items():
        section = text.split(f"## `{table}.csv`", 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            cells = [cell.strip() for cell in line.split("|")]
            if line.startswith("| `"):
                name = re.findall(r"`([a-z_][a-z0-9_]*)`", cells[1])[0]
                column = columns[name]
                assert cells[2] == (f"{column.type} / empty" if column.nullable else column.type), (table, name)


def test_tables_are_ordered_mappings_of_columns():
    assert list(schema.RATINGS)[:4] == ["worker_id", "assignment_id", "experiment_id", "trial_index"]
    assert schema.CHOICES["chosen_side"].allowed == ("left", "right")
    assert schema.TABLES["stimuli"] is schema.STIMULI and schema.STIMULI.unique == ("item_kind", "item_id")
    assert schema.CHOICES.csv == "choices.csv" and schema.CHOICES.parquet == "choices.parquet"


def test_a_column_says_from_which_version_it_exists():
    table = Table("t", meaning="", columns=[Column("a", "int", ""), Column("b", "str", "", since=2)])
    assert [c.name for c in table.at_version(1)] == ["a"] and [c.name for c in table.at_version(2)] == ["a", "b"]
    with pytest.raises(ValueError, match="type must be one of"):
        Column("c", "decimal", "")
    with pytest.raises(ValueError, match="duplicate column names"):
        Table("t", meaning="", columns=[Column("a", "int", ""), Column("a", "int", "")])


def test_timestamps_are_utc_milliseconds_with_z():
    from datetime import datetime, timedelta, timezone

    local = datetime(2026, 11, 22, 22, 3, 4, 123999, tzinfo=timezone(timedelta(hours=1)))
    assert schema.format_timestamp(local) == "2026-11-22T21:03:04.123Z" and schema.format_timestamp(None) == ""
