"""Loading and writing export directories exactly as docs/export-format.md specifies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import schema
from analysis.io import ExportError, empty_table, load_export, write_export
from tests.factories.analysis import RatingRowFactory, ratings_frame
from tests.support.export_doc import DOC, documented_columns

MANIFEST = {
    "format": "mvfit-export",
    "format_version": 1,
    "exported_at": "2026-11-22T21:03:04.123Z",
    "source": "mvfit 0.1.0 @ host",
    "experiments": [{"id": 3, "slug": "langlois-fit", "kind": "rating", "seed": 1234, "config": {}}],
    "row_counts": {"ratings": 2, "choices": 1, "stimuli": 2},
    "pseudonymised": True,
    "simulation": None,
}

RATINGS_CSV = (
    ",".join(schema.RATINGS) + "\n"
    "W0123456789abcdef,7,3,0,11,5,beach,51,1.5,5,9,smooth jazz,91,30.25,5,6,2400,1,false,,"
    "2026-11-22T21:03:04.123Z,2026-11-22T21:03:10.500Z,2026-11-22T21:03:10.750Z\n"
    "W0123456789abcdef,7,3,1,,,,,,,,,,,,1,900,2,true,true,"
    "2026-11-22T21:03:11.000Z,2026-11-22T21:03:17.000Z,2026-11-22T21:03:17.100Z\n"
)
CHOICES_CSV = (
    ",".join(schema.CHOICES) + "\n"
    'W0123456789abcdef,8,4,0,V2M,GS,51,"city, night",5,91,smooth jazz,9,S,12,92,rock,10,G,13,'
    "ranking-file:runs/vmnet-3.csv,1,left,91,S,false,3100,2,false,,"
    "2026-11-22T21:04:00.000Z,2026-11-22T21:04:12.000Z,2026-11-22T21:04:12.200Z\n"
)
STIMULI_CSV = (
    ",".join(schema.STIMULI) + "\n"
    "clip,51,5,beach,1.5,5,77,,/media/clips/51.mp4,/media/videos/5.mp4\n"
    "excerpt,91,9,smooth jazz,30.25,5,78,,/media/excerpts/91.m4a,/media/tracks/9.m4a\n"
)


def write_handmade(root: Path, *, manifest=None, ratings=RATINGS_CSV, choices=CHOICES_CSV, stimuli=STIMULI_CSV):
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(manifest or MANIFEST))
    for name, text in (("ratings", ratings), ("choices", choices), ("stimuli", stimuli)):
        if text is not None:
            (root / f"{name}.csv").write_text(text)
    return root


def test_a_handwritten_export_loads_with_the_documented_types(tmp_path):
    export = load_export(write_handmade(tmp_path / "e"))
    ratings = export.ratings
    assert list(ratings.columns) == list(schema.RATINGS)
    first, catch = ratings.iloc[0], ratings.iloc[1]
    assert first["worker_id"] == "W0123456789abcdef"
    assert first["rating"] == 6 and first["excerpt_start_s"] == 30.25 and first["genre_label"] == "smooth jazz"
    assert not first["is_catch"] and pd.isna(first["catch_passed"])
    assert first["presented_at"] == pd.Timestamp("2026-11-22T21:03:04.123Z")
    assert (
        catch["is_catch"] and catch["catch_passed"] and pd.isna(catch["pairing_id"]) and pd.isna(catch["scene_label"])
    )
    assert str(ratings["pairing_id"].dtype) == "Int64" and str(ratings["is_catch"].dtype) == "boolean"
    choice = export.choices.iloc[0]
    assert choice["query_label"] == "city, night"  # quoted field with a comma
    assert choice["search_rank"] == 1 and not choice["first_preferred"]
    assert export.manifest["experiments"][0]["slug"] == "langlois-fit"
    assert export.notes == []


def test_the_schema_lists_exactly_the_columns_of_the_format_document():
    for table, columns in schema.TABLES.items():
        assert documented_columns(table) == list(columns), table


def test_the_schema_types_match_the_format_document():
    # The type cell of each row, e.g. "int / empty" -> "int"; the right_* row has no type of its own.
    text = DOC.read_text(encoding="utf-8")
    for table, columns in schema.TABLES.items():
        section = text.split(f"## `{table}.csv`", 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            cells = [cell.strip() for cell in line.split("|")]
            if not line.startswith("| `") or not cells[2]:
                continue
            for name in re.findall(r"`([a-z_]+)`", cells[1]):
                assert cells[2].split(" /")[0] == columns[name], (table, name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "'format' must be"),
        ({"format_version": 2}, "format_version 2 is not supported"),
    ],
)
def test_a_wrong_manifest_is_a_clear_error(tmp_path, change, message):
    root = write_handmade(tmp_path / "e", manifest={**MANIFEST, **change})
    with pytest.raises(ExportError, match=message):
        load_export(root)


def test_missing_manifest_and_missing_directory_are_clear_errors(tmp_path):
    with pytest.raises(ExportError, match="not a directory"):
        load_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match=r"manifest\.json is missing"):
        load_export(tmp_path / "empty")


def test_a_missing_column_names_file_and_column(tmp_path):
    broken = RATINGS_CSV.replace("rt_ms,", "reaction,", 1)
    with pytest.raises(ExportError, match=r"ratings.csv: missing column\(s\) rt_ms"):
        load_export(write_handmade(tmp_path / "e", ratings=broken))


def test_an_unparsable_cell_is_a_clear_error(tmp_path):
    broken = RATINGS_CSV.replace(",6,2400,", ",six,2400,", 1)
    with pytest.raises(ExportError, match=r"ratings\.csv: cannot parse"):
        load_export(write_handmade(tmp_path / "e", ratings=broken))


def test_absent_tables_load_empty_with_a_note(tmp_path):
    export = load_export(write_handmade(tmp_path / "e", choices=None, manifest={**MANIFEST, "row_counts": {}}))
    assert export.choices.empty and list(export.choices.columns) == list(schema.CHOICES)
    assert any("choices.csv is absent" in note for note in export.notes)


def test_row_count_mismatch_with_the_manifest_is_noted(tmp_path):
    manifest = {**MANIFEST, "row_counts": {"ratings": 5, "choices": 1, "stimuli": 2}}
    export = load_export(write_handmade(tmp_path / "e", manifest=manifest))
    assert export.notes == ["manifest.json says 5 ratings rows but the file has 2."]


def test_written_csv_uses_the_documented_conventions(tmp_path):
    rows = [
        RatingRowFactory(
            is_catch=True,
            catch_passed=True,
            scene_label='city, "night"',
            presented_at=pd.Timestamp("2026-11-22T20:00:00Z"),
        )
    ]
    root = write_export(
        tmp_path / "e",
        manifest=MANIFEST,
        ratings=ratings_frame(rows),
        choices=_empty("choices"),
        stimuli=_empty("stimuli"),
    )
    lines = (root / "ratings.csv").read_bytes().split(b"\n")
    assert lines[0].decode() == ",".join(schema.RATINGS)
    row = lines[1].decode()
    assert ',"city, ""night""",' in row and ",true,true," in row
    assert re.search(r",2026-11-22T20:00:00\.000Z,", row)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["row_counts"] == {"ratings": 1, "choices": 0, "stimuli": 0}
    assert (root / "choices.csv").read_text() == ",".join(schema.CHOICES) + "\n"


def test_parquet_and_csv_copies_load_identically(tmp_path):
    source = load_export(write_handmade(tmp_path / "h"))
    root = write_export(
        tmp_path / "e",
        manifest=MANIFEST,
        ratings=source.ratings,
        choices=source.choices,
        stimuli=source.stimuli,
        parquet=True,
    )
    from_csv = load_export(root, file_format="csv")
    from_parquet = load_export(root)
    assert from_parquet.file_format == "parquet"
    for table in ("ratings", "choices", "stimuli"):
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table))
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(source, table))


def test_a_parquet_only_export_is_read_from_parquet(tmp_path):
    source = load_export(write_handmade(tmp_path / "h"))
    root = write_export(
        tmp_path / "e",
        manifest=MANIFEST,
        ratings=source.ratings,
        choices=source.choices,
        stimuli=source.stimuli,
        parquet=True,
    )
    for table in ("ratings", "choices", "stimuli"):
        (root / f"{table}.csv").unlink()
    export = load_export(root)
    assert export.file_format == "parquet" and len(export.ratings) == 2 and export.notes == []


labels = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scenes=st.lists(labels, min_size=1, max_size=5),
    ratings=st.lists(st.integers(1, 7), min_size=1, max_size=5),
    passed=st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=5),
)
def test_any_table_survives_a_write_and_load_round_trip(tmp_path, scenes, ratings, passed):
    n = min(len(scenes), len(ratings), len(passed))
    rows = [
        RatingRowFactory(
            scene_label=scenes[i], rating=ratings[i], catch_passed=passed[i], is_catch=passed[i] is not None
        )
        for i in range(n)
    ]
    frame = ratings_frame(rows)
    root = tmp_path / f"round-{abs(hash((tuple(scenes), tuple(ratings), tuple(map(str, passed)))))}"
    write_export(root, manifest=MANIFEST, ratings=frame, choices=_empty("choices"), stimuli=_empty("stimuli"))
    loaded = load_export(root).ratings
    pd.testing.assert_frame_equal(loaded, frame)


def _empty(name):
    return empty_table(name)


def test_timestamps_keep_millisecond_precision(tmp_path):
    row = RatingRowFactory(presented_at=pd.Timestamp("2026-01-02T03:04:05.678Z"))
    root = write_export(
        tmp_path / "e",
        manifest=MANIFEST,
        ratings=ratings_frame([row]),
        choices=_empty("choices"),
        stimuli=_empty("stimuli"),
    )
    loaded = load_export(root).ratings
    assert loaded.loc[0, "presented_at"] == pd.Timestamp("2026-01-02T03:04:05.678Z")
    assert ",2026-01-02T03:04:05.678Z," in (root / "ratings.csv").read_text()
