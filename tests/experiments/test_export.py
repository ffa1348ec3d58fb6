"""Exports: exactly the columns docs/export-format.md documents, pseudonymised, typed, flagged."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from experiments.models import Participant, Trial
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from experiments.services.pseudonyms import pseudonymise
from exportformat import schema
from tests.factories.experiments import answer_trial, make_experiment, make_library
from tests.support.export_doc import documented_columns

pytestmark = pytest.mark.django_db
PSEUDONYM = re.compile(r"^W[0-9a-f]{16}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def do_assignment(experiment, worker: str, *, finish: bool = True, side: str = "left", rating: int = 4):
    participant = enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=uuid.uuid4().hex)
    assignment = allocate_assignment(participant=participant)
    trials = list(Trial.objects.filter(bundle=assignment.bundle).select_related("catch").order_by("position"))
    for trial in trials if finish else trials[:1]:
        value = {"chosen_side": side} if experiment.is_choice else {"rating": rating}
        answer_trial(assignment, trial.position, rt_ms=900, play_count=2, **value)
    return assignment


@pytest.fixture
def studies(tmp_path):
    rating_library = make_library(n_clips=3, n_excerpts=2)
    rating = open_experiment(
        experiment=make_experiment(
            library=rating_library,
            slug="fit",
            judgments_per_item=2,
            trials_per_assignment=3,
            catch_trials_per_assignment=1,
        ),
        allow_unrendered=True,
    )
    music_videos = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    ranking = tmp_path / "rank.csv"
    with ranking.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
        for i, clip in enumerate(music_videos.clip_ids):
            writer.writerow(["clip", clip, music_videos.excerpt_ids[(i + 1) % 4], 1, 0.5, "m1"])
    preference = open_experiment(
        experiment=make_experiment(
            kind="preference",
            library=music_videos,
            slug="prefs",
            config={
                "directions": ["V2M"],
                "clip_ids": music_videos.clip_ids,
                "excerpt_ids": music_videos.excerpt_ids,
                "search": {"kind": "ranking-file", "path": str(ranking)},
            },
            judgments_per_item=1,
            trials_per_assignment=4,
            catch_trials_per_assignment=1,
        ),
        allow_unrendered=True,
    )
    do_assignment(rating, "RAWWORKER1")
    do_assignment(rating, "RAWWORKER2", finish=False)
    do_assignment(preference, "RAWWORKER1", side="left")
    do_assignment(preference, "RAWWORKER3", side="right")
    return rating, preference


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_export_has_exactly_the_documented_files_and_columns(studies, tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json"] + [f"{t}.{ext}" for t in schema.TABLES for ext in ("csv", "parquet")]
    )
    for table in schema.TABLES:
        with (out / f"{table}.csv").open(newline="") as handle:
            header = next(csv.reader(handle))
        assert header == documented_columns(table), table
        parquet = pd.read_parquet(out / f"{table}.parquet")
        assert list(parquet.columns) == header
        assert len(parquet) == len(read_csv(out / f"{table}.csv"))
    raw = (out / "ratings.csv").read_bytes()
    assert b"\r\n" not in raw and raw.endswith(b"\n")

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "mvfit-export" and manifest["format_version"] == schema.FORMAT_VERSION
    assert manifest["pseudonymised"] is True and manifest["simulation"] is None
    assert [e["slug"] for e in manifest["experiments"]] == ["fit", "prefs"]
    assert all({"id", "slug", "kind", "seed", "config"} <= set(e) for e in manifest["experiments"])
    assert manifest["row_counts"] == {t: len(read_csv(out / f"{t}.csv")) for t in schema.TABLES}
    assert TIMESTAMP.match(manifest["exported_at"])


def test_ratings_rows_are_pseudonymised_typed_sorted_and_flag_catch_trials(studies, tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    rating, _ = studies
    out = tmp_path / "export"
    call_command("export_responses", str(rating.pk), "--out", str(out))
    rows = read_csv(out / "ratings.csv")
    # Only the completed assignment (RAWWORKER2 stopped after one trial).
    assert len(rows) == 4
    assert {r["worker_id"] for r in rows} == {pseudonymise("RAWWORKER1", key="k1")}
    assert all(PSEUDONYM.match(r["worker_id"]) for r in rows)
    for path in out.iterdir():
        assert b"RAWWORKER" not in path.read_bytes()
    assert [int(r["trial_index"]) for r in rows] == [0, 1, 2, 3]
    catch = [r for r in rows if r["is_catch"] == "true"]
    real = [r for r in rows if r["is_catch"] == "false"]
    assert len(catch) == 1 and len(real) == 3
    assert catch[0]["catch_passed"] in ("true", "false") and catch[0]["pairing_id"] == ""
    for r in real:
        assert r["catch_passed"] == "" and r["rating"] == "4" and r["rt_ms"] == "900" and r["play_count"] == "2"
        assert r["scene_label"] and r["genre_label"] and float(r["clip_duration_s"]) == 5.0
        assert TIMESTAMP.match(r["received_at"]) and r["presented_at"] == ""

    incomplete = tmp_path / "all"
    call_command("export_responses", "fit", "--out", str(incomplete), "--include-incomplete", "--no-parquet")
    assert len(read_csv(incomplete / "ratings.csv")) == 5
    assert not (incomplete / "ratings.parquet").exists()
    assert json.loads((incomplete / "manifest.json").read_text())["assignments"] == "all"

    arrow = pq.read_schema(out / "ratings.parquet")  # the documented Arrow types
    assert arrow.field("rating").type == pa.int64() and arrow.field("is_catch").type == pa.bool_()
    assert arrow.field("received_at").type == pa.timestamp("ms", tz="UTC")
    assert pd.read_parquet(out / "ratings.parquet")["presented_at"].isna().all()


def test_choice_rows_carry_kinds_sides_and_search_provenance(studies, tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    _, _preference = studies
    out = tmp_path / "export"
    call_command("export_responses", "prefs", "--out", str(out))
    rows = [r for r in read_csv(out / "choices.csv") if r["is_catch"] == "false"]
    assert len(rows) == 8 and {r["direction"] for r in rows} == {"V2M"}
    for r in rows:
        assert r["condition"] in ("GR", "GS", "SR")
        assert {r["left_kind"], r["right_kind"]} == set(r["condition"])
        chosen = r["left_id"] if r["chosen_side"] == "left" else r["right_id"]
        assert r["chosen_id"] == chosen
        assert r["chosen_kind"] == (r["left_kind"] if r["chosen_side"] == "left" else r["right_kind"])
        assert r["first_preferred"] == ("true" if r["chosen_kind"] == r["condition"][0] else "false")
        if "S" in r["condition"]:
            assert r["search_source"].startswith("ranking-file:") and r["search_source"].endswith("@m1")
            assert r["search_rank"] == "1"
        else:
            assert r["search_source"] == "" and r["search_rank"] == ""
    stimuli = {(s["item_kind"], s["item_id"]): s for s in read_csv(out / "stimuli.csv")}
    for r in rows:
        query = stimuli[("clip", r["query_id"])]
        assert query["label"] == r["query_label"] and query["ground_truth_id"]
        for side in ("left", "right"):
            option = stimuli[("excerpt", r[f"{side}_id"])]
            assert option["label"] == r[f"{side}_label"] and option["source_id"] == r[f"{side}_source_id"]
        if "G" in r["condition"]:
            g = r["left_id"] if r["left_kind"] == "G" else r["right_id"]
            assert query["ground_truth_id"] == g
    catch = [r for r in read_csv(out / "choices.csv") if r["is_catch"] == "true"]
    assert len(catch) == 2 and all(c["condition"] == "none" and c["catch_passed"] in ("true", "false") for c in catch)


def test_export_without_a_pseudonym_key_refuses_clearly(studies, tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = None
    with pytest.raises(CommandError, match="MVFIT_PSEUDONYM_KEY"):
        call_command("export_responses", "fit", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="no experiment"):
        call_command("export_responses", "nope", "--out", str(tmp_path / "x"))


def test_the_export_api_returns_a_zip_to_staff_only(studies, staff_client, django_user_model, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    rating, preference = studies
    url = reverse("experiments_api:export") + f"?experiment={rating.pk}&experiment={preference.pk}"
    client = Client()
    assert client.get(url).status_code in (401, 403)
    worker = django_user_model.objects.create_user(username="someone", password="x-Secret-99")
    client.force_login(worker)
    assert client.get(url).status_code == 403
    response = staff_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"manifest.json", "ratings.csv", "choices.csv", "stimuli.csv"} <= set(archive.namelist())
    assert staff_client.get(reverse("experiments_api:export") + "?experiment=999999").status_code == 400
    assert Participant.objects.count() == 4


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_the_analysis_and_training_loaders_accept_a_real_export(studies, tmp_path, settings, file_format):
    """The contract end to end: what export_responses writes is what analysis/ and training/ read."""
    import exportformat
    from annotation.models import MusicExcerpt, VideoClip
    from training.data.export import read_export

    settings.MVFIT_PSEUDONYM_KEY = "k1"
    VideoClip.objects.update(prepared_file="prepared/clip.mp4")  # training insists on media paths
    MusicExcerpt.objects.update(prepared_file="prepared/excerpt.m4a")
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out))
    loaded = exportformat.read_export(out, file_format=file_format)
    assert len(loaded.ratings) == 4 and len(loaded.choices) == 10
    assert loaded.ratings["is_catch"].sum() == 1 and loaded.choices["is_catch"].sum() == 2
    training = read_export(out)
    assert len(training.choices) == 8 and training.dropped_catch_trials == 2


def test_the_csv_and_parquet_files_of_an_export_load_to_identical_tables(studies, tmp_path, settings):
    """One missing-value convention: an empty CSV cell and a Parquet null are the same thing."""
    import pandas as pd

    from exportformat import read_export

    settings.MVFIT_PSEUDONYM_KEY = "k1"
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out))
    from_csv, from_parquet = read_export(out, file_format="csv"), read_export(out, file_format="parquet")
    for table in ("ratings", "choices", "stimuli"):
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table), check_exact=True)
    plain_2afc_kinds = from_parquet.choices["left_kind"]
    assert plain_2afc_kinds.isna().any(), "an empty option kind must read back as missing, not as ''"


def test_m2v_choice_rows_have_an_excerpt_query_and_clip_options(tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    library = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    experiment = open_experiment(
        experiment=make_experiment(
            kind="preference",
            library=library,
            slug="m2v",
            config={
                "directions": ["M2V"],
                "conditions": ["GR"],
                "clip_ids": library.clip_ids,
                "excerpt_ids": library.excerpt_ids,
            },
            judgments_per_item=1,
            trials_per_assignment=4,
            catch_trials_per_assignment=0,
        ),
        allow_unrendered=True,
    )
    do_assignment(experiment, "RAWWORKER1", side="right")
    out = tmp_path / "export"
    call_command("export_responses", "m2v", "--out", str(out), "--no-parquet")
    rows = read_csv(out / "choices.csv")
    stimuli = {(s["item_kind"], s["item_id"]): s for s in read_csv(out / "stimuli.csv")}
    assert rows and {r["direction"] for r in rows} == {"M2V"}
    for r in rows:
        query = stimuli[("excerpt", r["query_id"])]
        assert (query["label"], query["source_id"]) == (r["query_label"], r["query_source_id"])
        for side in ("left", "right"):
            option = stimuli[("clip", r[f"{side}_id"])]
            assert (option["label"], option["source_id"]) == (r[f"{side}_label"], r[f"{side}_source_id"])
        assert r["chosen_id"] == r["right_id"] and r["search_source"] == ""
        g = r["left_id"] if r["left_kind"] == "G" else r["right_id"]
        assert query["ground_truth_id"] == g


def test_the_export_reads_back_verified_and_equal_to_the_database(studies, tmp_path, settings):
    """Platform export -> exportformat reader: every file checks out and the values are the database's."""
    import exportformat
    from experiments.models import Response
    from experiments.selectors import export as export_rows
    from exportformat import schema

    settings.MVFIT_PSEUDONYM_KEY = "k1"
    rating, preference = studies
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out))
    export = exportformat.verify_export(out)  # checksums, row counts, CSV = Parquet, every rule
    assert export.notes == [] and export.manifest["assignments"] == "completed"
    assert set(export.manifest["files"]) == {f"{t}.{x}" for t in schema.TABLES for x in ("csv", "parquet")}

    stored = Response.objects.filter(assignment__experiment=rating, assignment__status="completed")
    by_trial = {(r.assignment_id, r.trial.position): r for r in stored.select_related("trial")}
    assert len(export.ratings) == len(by_trial)
    for row in export.ratings.itertuples():
        response = by_trial[(row.assignment_id, row.trial_index)]
        assert row.rating == response.rating and row.rt_ms == response.rt_ms and row.is_catch == response.is_catch
        assert row.received_at == pd.Timestamp(response.received_at).floor("ms")
    records = list(export_rows.choice_rows([rating, preference], key="k1"))
    expected = exportformat.prepare_table(records, schema.CHOICES)
    pd.testing.assert_frame_equal(export.choices, expected)


def test_the_csv_files_are_byte_identical_to_the_historical_writer(studies, tmp_path, settings):
    """What the platform wrote before exportformat (Python's csv module, repr floats) is what it writes now."""
    from experiments.selectors import export as export_rows
    from exportformat import schema

    settings.MVFIT_PSEUDONYM_KEY = "k1"
    rating, preference = studies
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out), "--no-parquet")

    def cell(kind: str, value) -> str:  # the platform's csv_cell before this package existed
        if value is None:
            return ""
        if kind == "bool":
            return "true" if value else "false"
        if kind == "timestamp":
            return schema.format_timestamp(value)
        if kind == "float":
            return repr(float(value))
        return "" if value == "" else str(value)

    ratings = list(export_rows.rating_rows([rating, preference], key="k1"))
    choices = list(export_rows.choice_rows([rating, preference], key="k1"))
    stimuli = list(export_rows.stimulus_rows(**export_rows.referenced_items(ratings=ratings, choices=choices)))
    for table, records in (("ratings", ratings), ("choices", choices), ("stimuli", stimuli)):
        expected = io.StringIO()
        writer = csv.writer(expected, lineterminator="\n")
        writer.writerow(schema.TABLES[table])
        for record in records:
            writer.writerow([cell(c.type, record[name]) for name, c in schema.TABLES[table].items()])
        assert (out / f"{table}.csv").read_text(encoding="utf-8") == expected.getvalue(), table


def test_analysis_cleans_a_platform_export(studies, tmp_path, settings):
    import exportformat
    from analysis.cleaning import clean

    settings.MVFIT_PSEUDONYM_KEY = "k1"
    out = tmp_path / "export"
    call_command("export_responses", "fit", "prefs", "--out", str(out))
    export = exportformat.read_export(out)
    cleaned = clean(export.ratings, export.choices)
    assert len(cleaned.ratings) == 3 and not cleaned.ratings["is_catch"].any()
    assert len(cleaned.choices) == 8 and not cleaned.choices["is_catch"].any()
