"""Writing and reading export directories exactly as docs/export-format.md specifies."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exportformat import ExportError, empty_table, read_export, read_table, schema, verify_export, write_export
from exportformat.__main__ import main as exportformat_main
from exportformat.schema import Column, Table
from tests.factories.analysis import (
    ChoiceRowFactory,
    RatingRowFactory,
    StimulusRowFactory,
    choices_frame,
    ratings_frame,
    stimuli_frame,
)

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
PROVENANCE = {"source": "tests", "experiments": MANIFEST["experiments"], "exported_at": MANIFEST["exported_at"]}

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


def written(root: Path, *, parquet: bool = True, **tables) -> Path:
    return write_export(root, tables=tables, provenance=PROVENANCE, parquet=parquet).directory


# ------------------------------------------------------------------------------------------- reading


def test_a_handwritten_export_loads_with_the_documented_types(tmp_path):
    export = read_export(write_handmade(tmp_path / "e"))
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
    assert export.notes == [] and export.version == 1 and export.file_format == "csv"
    assert export.tables["stimuli"] is export.stimuli


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "'format' must be"),
        ({"format_version": 99}, "format_version 99 is not supported"),
        ({"format_version": "1"}, "format_version '1' is not supported"),
        ({"row_counts": [2, 1, 2]}, "'row_counts' must be object"),
        ({"row_counts": {"ratings": -1}}, r"row_counts\['ratings'\] must be a row count"),
    ],
)
def test_a_wrong_manifest_is_a_clear_error(tmp_path, change, message):
    root = write_handmade(tmp_path / "e", manifest={**MANIFEST, **change})
    with pytest.raises(ExportError, match=message):
        read_export(root)


def test_a_manifest_without_a_required_key_or_with_bad_json_is_a_clear_error(tmp_path):
    manifest = {key: value for key, value in MANIFEST.items() if key != "experiments"}
    with pytest.raises(ExportError, match="the key 'experiments' is missing"):
        read_export(write_handmade(tmp_path / "a", manifest=manifest))
    root = write_handmade(tmp_path / "b")
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(ExportError, match=r"manifest\.json: invalid JSON"):
        read_export(root)


def test_missing_manifest_and_missing_directory_are_clear_errors(tmp_path):
    with pytest.raises(ExportError, match="not a directory"):
        read_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match=r"manifest\.json is missing"):
        read_export(tmp_path / "empty")


def test_a_missing_column_names_file_and_column(tmp_path):
    broken = RATINGS_CSV.replace("rt_ms,", "reaction,", 1)
    with pytest.raises(ExportError, match=r"ratings.csv: missing column\(s\) rt_ms"):
        read_export(write_handmade(tmp_path / "e", ratings=broken))


def test_an_unparsable_cell_names_file_column_value_and_line(tmp_path):
    broken = RATINGS_CSV.replace(",6,2400,", ",six,2400,", 1)
    with pytest.raises(
        ExportError,
        match=r"ratings\.csv: column 'rating' needs int values; bad value\(s\) \['six'\] on line\(s\) \[2\]",
    ):
        read_export(write_handmade(tmp_path / "e", ratings=broken))


HANDMADE = {"ratings": RATINGS_CSV, "choices": CHOICES_CSV}


@pytest.mark.parametrize(
    ("table", "old", "new", "message"),
    [
        ("ratings", ",6,2400,", ",9,2400,", r"column 'rating' must be 1 … 7; bad value\(s\) \[9\] on line\(s\) \[2\]"),
        ("ratings", "W0123456789abcdef,7,3,1,", "RAWWORKER1,7,3,1,", r"column 'worker_id' must be W \+ 16 hex.*\[3\]"),
        (
            "ratings",
            ",2400,1,false,",
            ",-5,1,false,",
            r"column 'rt_ms' must be ≥ 0; bad value\(s\) \[-5\] on line\(s\) \[2\]",
        ),
        ("ratings", "W0123456789abcdef,7,3,0,", ",7,3,0,", r"column 'worker_id' is empty on line\(s\) \[2\]"),
        (
            "ratings",
            "false,,2026",
            "false,true,2026",
            r"rule 'catch_passed only on catch trials' is broken on line\(s\) \[2\]",
        ),
        ("choices", ",V2M,GS,", ",sideways,GS,", r"column 'direction' must be V2M, M2V; bad value\(s\) \['sideways'\]"),
        (
            "choices",
            ",left,91,S,",
            ",left,92,S,",
            r"rule 'chosen_id is the chosen option' is broken on line\(s\) \[2\]",
        ),
        ("choices", ",5,91,smooth jazz,", ",5,,smooth jazz,", r"rule 'real trials name their items' is broken"),
        ("choices", ",12,92,rock,", ",12,91,rock,", r"rule 'two different options' is broken"),
    ],
)
def test_a_value_the_schema_forbids_names_column_rule_and_line(tmp_path, table, old, new, message):
    broken = HANDMADE[table].replace(old, new, 1)
    assert broken != HANDMADE[table]
    with pytest.raises(ExportError, match=message):
        read_export(write_handmade(tmp_path / "e", **{table: broken}))


def test_a_repeated_stimulus_is_an_error(tmp_path):
    lines = STIMULI_CSV.splitlines(keepends=True)
    with pytest.raises(ExportError, match=r"\(item_kind, item_id\) repeats on line\(s\) \[2, 4\]"):
        read_export(write_handmade(tmp_path / "e", stimuli="".join([*lines, lines[1]])))


def test_line_numbers_count_the_line_breaks_inside_quoted_cells(tmp_path):
    rows = [RatingRowFactory(scene_label="two\nlines"), RatingRowFactory(), RatingRowFactory(rating=4)]
    root = written(tmp_path / "e", ratings=ratings_frame(rows), parquet=False)
    text = (root / "ratings.csv").read_text()
    lines = text.split("\n")
    assert lines[4].count(",4,2500,") == 1  # the third row starts on line 5 (header, 2 lines, 1 line)
    (root / "ratings.csv").write_text("\n".join([*lines[:4], lines[4].replace(",4,2500,", ",0,2500,"), *lines[5:]]))
    with pytest.raises(ExportError, match=r"line\(s\) \[5\]"):
        read_export(root)


def test_a_required_table_that_is_missing_is_an_error_and_an_optional_one_a_note(tmp_path):
    root = write_handmade(tmp_path / "e", choices=None, manifest={**MANIFEST, "row_counts": {}})
    export = read_export(root)
    assert export.choices.empty and list(export.choices.columns) == list(schema.CHOICES)
    assert any("choices.csv is absent" in note for note in export.notes)
    with pytest.raises(ExportError, match=r"choices\.csv is missing: this reader needs the choices table"):
        read_export(root, require=("choices",))


def test_an_empty_table_file_is_a_clear_error(tmp_path):
    with pytest.raises(ExportError, match=r"stimuli\.csv: the file is empty"):
        read_export(write_handmade(tmp_path / "e", stimuli=""))


def test_row_count_mismatch_with_the_manifest_is_noted(tmp_path):
    manifest = {**MANIFEST, "row_counts": {"ratings": 5, "choices": 1, "stimuli": 2}}
    export = read_export(write_handmade(tmp_path / "e", manifest=manifest))
    assert export.notes == ["manifest.json says 5 ratings rows but the file has 2."]
    with pytest.raises(ExportError, match="says 5 ratings rows"):
        read_export(tmp_path / "e", verify=True)


def test_unknown_columns_are_ignored_with_a_note(tmp_path):
    text = STIMULI_CSV.replace("source_file\n", "source_file,comment\n").replace(".mp4\n", ".mp4,hello\n")
    export = read_export(write_handmade(tmp_path / "e", stimuli=text.replace(".m4a\n", ".m4a,\n")))
    assert list(export.stimuli.columns) == list(schema.STIMULI)
    assert export.notes == ["stimuli.csv: column(s) comment are not in the format and were ignored."]


def test_a_column_or_table_newer_than_the_export_reads_as_empty(tmp_path):
    """How issue 12 adds tables and columns: ``since=2``, no reader code of its own."""
    newer = Table(
        "stimuli",
        meaning="stimuli with a column from a later version",
        columns=[*schema.STIMULI.values(), Column("loudness_lufs", "float", "measured loudness", since=2)],
    )
    file = write_handmade(tmp_path / "e") / "stimuli.csv"
    old = read_table(file, newer, version=1)
    assert old["loudness_lufs"].isna().all() and list(old.columns) == list(newer)
    with pytest.raises(ExportError, match=r"missing column\(s\) loudness_lufs"):
        read_table(file, newer, version=2)


# ----------------------------------------------------------------------------------------------- Parquet


def test_parquet_and_csv_copies_load_identically(tmp_path):
    source = read_export(write_handmade(tmp_path / "h"))
    root = written(tmp_path / "e", ratings=source.ratings, choices=source.choices, stimuli=source.stimuli)
    from_csv = read_export(root, file_format="csv")
    from_parquet = verify_export(root)
    assert from_parquet.file_format == "parquet"
    for table in ("ratings", "choices", "stimuli"):
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table))
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(source, table))


def test_a_parquet_only_export_is_read_from_parquet(tmp_path):
    source = read_export(write_handmade(tmp_path / "h"))
    root = written(tmp_path / "e", ratings=source.ratings, choices=source.choices, stimuli=source.stimuli)
    for table in ("ratings", "choices", "stimuli"):
        (root / f"{table}.csv").unlink()
    export = read_export(root)
    assert export.file_format == "parquet" and len(export.ratings) == 2 and export.notes == []


def test_a_corrupt_parquet_file_is_a_clear_error(tmp_path):
    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory()]))
    (root / "ratings.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ExportError, match=r"ratings\.parquet: cannot read Parquet"):
        read_export(root)
    assert len(read_export(root, file_format="csv").ratings) == 1


def test_a_parquet_column_of_the_wrong_type_names_column_and_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory(), RatingRowFactory()]))
    arrow = pq.read_table(root / "ratings.parquet")
    index = arrow.column_names.index("rating")
    pq.write_table(arrow.set_column(index, "rating", pa.array(["4", "four"])), root / "ratings.parquet")
    with pytest.raises(
        ExportError,
        match=r"ratings\.parquet: column 'rating' needs int values; bad value\(s\) \['four'\] on row\(s\) \[2\]",
    ):
        read_export(root)


def test_csv_and_parquet_twins_that_disagree_fail_verification(tmp_path):
    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory(), RatingRowFactory(rating=5)]))
    parquet = read_export(root, file_format="parquet").ratings
    parquet.loc[1, "rating"] = 6
    other = written(tmp_path / "other", ratings=parquet)
    shutil.copy(other / "ratings.parquet", root / "ratings.parquet")
    assert len(read_export(root).ratings) == 2  # a plain read takes one twin (and notes the checksum)
    with pytest.raises(ExportError, match=r"disagree in column 'rating' on line\(s\) \[3\] \(Parquet row\(s\) \[2\]\)"):
        verify_export(root)


# ------------------------------------------------------------------------------------------------ writing


def test_written_csv_uses_the_documented_conventions(tmp_path):
    rows = [
        RatingRowFactory(
            is_catch=True,
            catch_passed=True,
            scene_label='city, "night"',
            presented_at=pd.Timestamp("2026-11-22T20:00:00Z"),
        )
    ]
    root = written(tmp_path / "e", ratings=ratings_frame(rows))
    lines = (root / "ratings.csv").read_bytes().split(b"\n")
    assert lines[0].decode() == ",".join(schema.RATINGS)
    row = lines[1].decode()
    assert ',"city, ""night""",' in row and ",true,true," in row and ",1.0,5.0," in row
    assert re.search(r",2026-11-22T20:00:00\.000Z,", row)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["row_counts"] == {"ratings": 1} | {name: 0 for name in schema.TABLES if name != "ratings"}
    assert (root / "choices.csv").read_text() == ",".join(schema.CHOICES) + "\n"


def test_the_manifest_records_provenance_versions_counts_and_checksums(tmp_path):
    import hashlib

    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory()]), parquet=False)
    manifest = json.loads((root / "manifest.json").read_text())
    assert list(manifest)[:2] == ["format", "format_version"] and manifest["format_version"] == schema.FORMAT_VERSION
    assert manifest["source"] == "tests" and manifest["exported_at"] == PROVENANCE["exported_at"]
    assert manifest["pseudonymised"] is True and manifest["simulation"] is None
    assert set(manifest["software"]) == {"python", "pandas", "pyarrow"}
    assert set(manifest["files"]) == {table.csv for table in schema.TABLES.values()}
    for name, entry in manifest["files"].items():
        data = (root / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_a_file_changed_after_export_is_noted_and_fails_verification(tmp_path):
    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory(), RatingRowFactory()]), parquet=False)
    text = (root / "ratings.csv").read_text().splitlines(keepends=True)
    (root / "ratings.csv").write_text("".join(text[:2]))  # one row lost
    export = read_export(root)
    assert any("ratings.csv differs from the file manifest.json describes" in note for note in export.notes)
    with pytest.raises(ExportError, match="SHA-256 mismatch"):
        verify_export(root)
    assert exportformat_main(["check", str(root)]) == 1


def test_the_writer_refuses_rows_the_reader_would_refuse_and_writes_nothing(tmp_path):
    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory()]))
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    bad = [RatingRowFactory(), RatingRowFactory(worker_id="A1B2C3RAWMTURKID")]
    with pytest.raises(
        ExportError, match=r"(?s)ratings rows .*column 'worker_id' must be W \+ 16 hex digits.*row\(s\) \[1\]"
    ):
        written(root, ratings=bad)
    with pytest.raises(ExportError, match=r"column 'rating' needs int values; \['good'\] on row\(s\) \[0\]"):
        written(root, ratings=[RatingRowFactory(rating="good")])
    with pytest.raises(ExportError, match=r"column\(s\) mood are not in the ratings table"):
        written(root, ratings=[{**RatingRowFactory(), "mood": "happy"}])
    with pytest.raises(ExportError, match=r"no table\(s\) subjects"):
        write_export(root, tables={"subjects": []}, provenance=PROVENANCE)
    with pytest.raises(ExportError, match=r"unknown key\(s\) colour"):
        write_export(root, tables={}, provenance={**PROVENANCE, "colour": "blue"})
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before


def test_rewriting_without_parquet_removes_stale_twins(tmp_path):
    root = written(tmp_path / "e", ratings=ratings_frame([RatingRowFactory()]))
    assert (root / "ratings.parquet").exists()
    written(root, ratings=ratings_frame([RatingRowFactory(), RatingRowFactory()]), parquet=False)
    assert not list(root.glob("*.parquet")) and not list(root.glob(".partial-*"))
    assert len(verify_export(root).ratings) == 2


def test_the_check_command_accepts_a_valid_export(tmp_path, capsys):
    root = written(
        tmp_path / "e",
        ratings=ratings_frame([RatingRowFactory()]),
        choices=choices_frame([ChoiceRowFactory()]),
        stimuli=stimuli_frame([StimulusRowFactory()]),
    )
    assert exportformat_main(["check", str(root)]) == 0
    counts = ", ".join(f"{name} {int(name in ('ratings', 'choices', 'stimuli'))}" for name in schema.TABLES) + " rows"
    assert f"a valid mvfit export, format version {schema.FORMAT_VERSION} ({counts})" in capsys.readouterr().out


# --------------------------------------------------------------------------------- round trip (Hypothesis)

labels = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12)
awkward = st.one_of(labels, st.sampled_from(["a,b", 'say "hi"', "two\nlines", " padded ", "ünïcødé"]))
seconds = st.floats(min_value=0, max_value=1e7, allow_nan=False) | st.sampled_from([0.0, 5.0, 1e-05, 0.1 + 0.2])
stamps = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2090-01-01").to_pydatetime()
).map(lambda d: pd.Timestamp(d, tz="UTC").floor("ms"))


@st.composite
def rating_rows(draw):
    n = draw(st.integers(0, 5))
    rows = []
    for i in range(n):
        passed = draw(st.sampled_from([True, False, None]))
        rows.append(
            RatingRowFactory(
                trial_index=i,
                scene_label=draw(st.one_of(st.none(), awkward)),
                genre_label=draw(awkward),
                rating=draw(st.integers(1, 7)),
                clip_start_s=draw(seconds),
                excerpt_duration_s=draw(st.one_of(st.none(), seconds)),
                rt_ms=draw(st.one_of(st.none(), st.integers(0, 2**40))),
                is_catch=passed is not None,
                catch_passed=passed,
                presented_at=draw(st.one_of(st.none(), stamps)),
                received_at=draw(stamps),
            )
        )
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rating_rows())
def test_any_table_survives_a_write_and_read_round_trip_in_both_encodings(tmp_path, rows):
    frame = ratings_frame(rows)
    root = tmp_path / f"round-{abs(hash(repr(rows)))}"
    written(root, ratings=frame)
    for file_format in ("csv", "parquet"):
        pd.testing.assert_frame_equal(read_export(root, file_format=file_format).ratings, frame)


def _reference_cell(column: Column, value) -> str:
    """How docs/export-format.md renders a value, with nothing but Python (the platform's historical writer)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if column.type == "bool":
        return "true" if value else "false"
    if column.type == "timestamp":
        return schema.format_timestamp(pd.Timestamp(value).to_pydatetime())
    if column.type == "float":
        return repr(float(value))
    return str(value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rating_rows())
def test_the_csv_is_byte_identical_to_pythons_csv_module(tmp_path, rows):
    root = tmp_path / f"bytes-{abs(hash(repr(rows)))}"
    written(root, ratings=rows, parquet=False)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(schema.RATINGS)
    for row in rows:
        writer.writerow([_reference_cell(column, row.get(name)) for name, column in schema.RATINGS.items()])
    assert (root / "ratings.csv").read_text(encoding="utf-8") == expected.getvalue()


def test_empty_tables_have_the_documented_dtypes():
    frame = empty_table("choices")
    assert list(frame.columns) == list(schema.CHOICES) and len(frame) == 0
    assert str(frame["left_id"].dtype) == "Int64" and str(frame["received_at"].dtype) == "datetime64[ms, UTC]"
