"""Rows of an export, exactly as docs/export-format.md defines them (values still Python-typed).

Reads only. Which responses: those of completed assignments unless ``include_incomplete``. Column
names and order come from ``exportformat.schema``; every row has every column of its table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage

from annotation.models import Montage, MusicExcerpt, VideoClip
from experiments.models import AssignmentStatus, Experiment, Response
from experiments.services.pseudonyms import pseudonymise
from exportformat import schema

_BASE = [
    "assignment_id",
    "assignment__experiment_id",
    "assignment__participant__worker_id",
    "trial__position",
    "rating",
    "chosen_side",
    "rt_ms",
    "play_count",
    "is_catch",
    "catch_passed",
    "presented_at",
    "answered_at",
    "received_at",
]


def is_montage_experiment(experiment: Experiment) -> bool:
    """Its stimuli are montages (config ``montages``): its answers go to montage_ratings/montage_choices."""
    return bool(experiment.config.get("montages"))


def _in_table_order(table: dict[str, str], values: dict) -> dict:
    """Every column of ``table`` in documented order; columns a row does not describe are empty (None)."""
    return {column: values.get(column) for column in table}


def responses(experiments: Iterable[Experiment], *, include_incomplete: bool = False):
    # Skipped trials (media that would not play) are not judgments: they are in skipped_trials.csv.
    qs = Response.objects.filter(assignment__experiment__in=list(experiments), skipped_reason="")
    if not include_incomplete:
        qs = qs.filter(assignment__status=AssignmentStatus.COMPLETED)
    return qs.order_by("assignment__experiment_id", "assignment_id", "trial__position")


def _common(row: dict, key: str) -> dict:
    return {
        "worker_id": pseudonymise(row["assignment__participant__worker_id"], key=key),
        "assignment_id": row["assignment_id"],
        "experiment_id": row["assignment__experiment_id"],
        "trial_index": row["trial__position"],
    }


def _tail(row: dict) -> dict:
    return {
        "rt_ms": row["rt_ms"],
        "play_count": row["play_count"],
        "is_catch": row["is_catch"],
        "catch_passed": row["catch_passed"],
        "presented_at": row["presented_at"],
        "answered_at": row["answered_at"],
        "received_at": row["received_at"],
    }


def rating_rows(experiments: list[Experiment], *, key: str, include_incomplete: bool = False) -> Iterator[dict]:
    rating_experiments = [e for e in experiments if not e.is_choice and not is_montage_experiment(e)]
    p = "trial__item__pairing__"
    c = "trial__catch__source_clip__"
    fields = [
        *_BASE,
        f"{p}id",
        f"{p}clip_id",
        f"{p}clip__video_id",
        f"{p}clip__video__label",
        f"{p}clip__start_s",
        f"{p}clip__duration_s",
        f"{p}excerpt_id",
        f"{p}excerpt__track_id",
        f"{p}excerpt__track__label",
        f"{p}excerpt__start_s",
        f"{p}excerpt__duration_s",
        f"{c}id",
        f"{c}video_id",
        f"{c}video__label",
        f"{c}start_s",
        f"{c}duration_s",
    ]
    for row in responses(rating_experiments, include_incomplete=include_incomplete).values(*fields).iterator(2000):
        if row[f"{p}id"] is not None:
            stimulus = {
                "pairing_id": row[f"{p}id"],
                "video_id": row[f"{p}clip__video_id"],
                "scene_label": row[f"{p}clip__video__label"],
                "clip_id": row[f"{p}clip_id"],
                "clip_start_s": row[f"{p}clip__start_s"],
                "clip_duration_s": row[f"{p}clip__duration_s"],
                "music_id": row[f"{p}excerpt__track_id"],
                "genre_label": row[f"{p}excerpt__track__label"],
                "excerpt_id": row[f"{p}excerpt_id"],
                "excerpt_start_s": row[f"{p}excerpt__start_s"],
                "excerpt_duration_s": row[f"{p}excerpt__duration_s"],
            }
        else:
            # A catch trial: describe the clip it showed, if it showed a real one (no music).
            stimulus = {}
            if row[f"{c}id"] is not None:
                stimulus = {
                    "video_id": row[f"{c}video_id"],
                    "scene_label": row[f"{c}video__label"],
                    "clip_id": row[f"{c}id"],
                    "clip_start_s": row[f"{c}start_s"],
                    "clip_duration_s": row[f"{c}duration_s"],
                }
        yield _in_table_order(schema.RATINGS, {**_common(row, key), **stimulus, "rating": row["rating"], **_tail(row)})


# What a stimulus is cut from: a clip from a video, an excerpt from a music track.
_SOURCE = {"clip": "video", "excerpt": "track"}
# V2M: a clip query with excerpt options; M2V the other way round.
_QUERY_KIND = {"V2M": "clip", "M2V": "excerpt"}
_OPTION_KIND = {"V2M": "excerpt", "M2V": "clip"}


def _stimulus(row: dict, prefix: str, kind: str) -> tuple:
    """(id, label, source id) of the clip or excerpt at ``prefix`` in a ``values()`` row."""
    source = _SOURCE[kind]
    return row[f"{prefix}{kind}_id"], row[f"{prefix}{kind}__{source}__label"], row[f"{prefix}{kind}__{source}_id"]


def _option(row: dict, role: str, direction: str) -> dict:
    p = f"trial__item__{role}_pairing__"
    item_id, label, source_id = _stimulus(row, p, _OPTION_KIND[direction])
    return {
        "id": item_id,
        "label": label,
        "source_id": source_id,
        "kind": row[f"trial__item__{role}_kind"],
        "pairing_id": row[f"{p}id"],
    }


def choice_rows(experiments: list[Experiment], *, key: str, include_incomplete: bool = False) -> Iterator[dict]:
    choice_experiments = [e for e in experiments if e.is_choice and not is_montage_experiment(e)]
    i = "trial__item__"
    option_fields = [
        f"{i}{role}_pairing__{f}"
        for role in ("first", "second")
        for f in (
            "id",
            "excerpt_id",
            "excerpt__track_id",
            "excerpt__track__label",
            "clip_id",
            "clip__video_id",
            "clip__video__label",
        )
    ]
    fields = [
        *_BASE,
        "trial__direction",
        "trial__first_on_left",
        f"{i}id",
        f"{i}condition",
        f"{i}first_kind",
        f"{i}second_kind",
        f"{i}search_source",
        f"{i}search_rank",
        f"{i}query_clip_id",
        f"{i}query_clip__video_id",
        f"{i}query_clip__video__label",
        f"{i}query_excerpt_id",
        f"{i}query_excerpt__track_id",
        f"{i}query_excerpt__track__label",
        *option_fields,
    ]
    for row in responses(choice_experiments, include_incomplete=include_incomplete).values(*fields).iterator(2000):
        direction = row["trial__direction"]
        out = {**_common(row, key), "direction": direction}
        side = row["chosen_side"]
        if row[f"{i}id"] is None:  # catch trial: no real options
            out |= {
                "condition": "none",
                "left_kind": "",
                "right_kind": "",
                "search_source": "",
                "chosen_side": side,
                "chosen_id": None,
                "chosen_kind": "",
                "first_preferred": None,
            }
        else:
            first, second = _option(row, "first", direction), _option(row, "second", direction)
            left, right = (first, second) if row["trial__first_on_left"] else (second, first)
            chosen = left if side == "left" else right
            condition = row[f"{i}condition"]
            query = _stimulus(row, f"{i}query_", _QUERY_KIND[direction])
            out |= {
                "condition": condition,
                "query_id": query[0],
                "query_label": query[1],
                "query_source_id": query[2],
                **{f"left_{k}": v for k, v in left.items()},
                **{f"right_{k}": v for k, v in right.items()},
                "search_source": row[f"{i}search_source"],
                "search_rank": row[f"{i}search_rank"],
                "chosen_side": side,
                "chosen_id": chosen["id"],
                "chosen_kind": chosen["kind"],
                "first_preferred": (chosen is first) if condition != "none" else None,
            }
        yield _in_table_order(schema.CHOICES, out | _tail(row))


def referenced_items(*, ratings: list[dict], choices: list[dict]) -> dict[str, set[int]]:
    """The clip and excerpt ids that exported rows reference (``stimulus_rows``' arguments)."""
    clip_ids = {r["clip_id"] for r in ratings if r["clip_id"] is not None}
    excerpt_ids = {r["excerpt_id"] for r in ratings if r["excerpt_id"] is not None}
    for r in choices:
        if r["query_id"] is None:
            continue
        queries, options = (clip_ids, excerpt_ids) if r["direction"] == "V2M" else (excerpt_ids, clip_ids)
        queries.add(r["query_id"])
        options.update((r["left_id"], r["right_id"]))
    return {"clip_ids": clip_ids, "excerpt_ids": excerpt_ids}


def _file_location(name: str) -> str:
    if not name:
        return ""
    try:
        return default_storage.path(name)  # local storage: an absolute path training can open
    except NotImplementedError:
        return name  # remote storage (S3): the key


def stimulus_rows(*, clip_ids: set[int], excerpt_ids: set[int]) -> Iterator[dict]:
    clips = VideoClip.objects.filter(pk__in=clip_ids).select_related("video").order_by("pk")
    gt_excerpt = dict(
        MusicExcerpt.objects.filter(ground_truth_clip_id__in=clip_ids).values_list("ground_truth_clip_id", "pk")
    )
    for clip in clips.iterator(2000):
        yield {
            "item_kind": "clip",
            "item_id": clip.pk,
            "source_id": clip.video_id,
            "label": clip.video.label,
            "start_s": clip.start_s,
            "duration_s": clip.duration_s,
            "seed": clip.seed,
            "ground_truth_id": gt_excerpt.get(clip.pk),
            "file": _file_location(clip.prepared_file.name),
            "source_file": _file_location(clip.video.file.name),
        }
    excerpts = MusicExcerpt.objects.filter(pk__in=excerpt_ids).select_related("track").order_by("pk")
    for excerpt in excerpts.iterator(2000):
        yield {
            "item_kind": "excerpt",
            "item_id": excerpt.pk,
            "source_id": excerpt.track_id,
            "label": excerpt.track.label,
            "start_s": excerpt.start_s,
            "duration_s": excerpt.duration_s,
            "seed": excerpt.seed,
            "ground_truth_id": excerpt.ground_truth_clip_id,
            "file": _file_location(excerpt.prepared_file.name),
            "source_file": _file_location(excerpt.track.file.name),
        }


# --- montages (whole-song music videos as stimuli) -------------------------------------------------

_MONTAGE_FIELDS = ("id", "song_id", "kind", "model")


def montage_rating_rows(experiments: list[Experiment], *, key: str, include_incomplete: bool = False) -> Iterator[dict]:
    chosen = [e for e in experiments if not e.is_choice and is_montage_experiment(e)]
    m = "trial__item__montage__"
    fields = [*_BASE, *(f"{m}{f}" for f in _MONTAGE_FIELDS)]
    for row in responses(chosen, include_incomplete=include_incomplete).values(*fields).iterator(2000):
        yield _in_table_order(
            schema.MONTAGE_RATINGS,
            {
                **_common(row, key),
                "montage_id": row[f"{m}id"],
                "song_id": row[f"{m}song_id"],
                "kind": row[f"{m}kind"],
                "model": row[f"{m}model"],
                "rating": row["rating"],
                **_tail(row),
            },
        )


def montage_choice_rows(experiments: list[Experiment], *, key: str, include_incomplete: bool = False) -> Iterator[dict]:
    chosen = [e for e in experiments if e.is_choice and is_montage_experiment(e)]
    i = "trial__item__"
    fields = [
        *_BASE,
        "trial__first_on_left",
        *(f"{i}{role}_montage__{f}" for role in ("first", "second") for f in _MONTAGE_FIELDS),
    ]
    for row in responses(chosen, include_incomplete=include_incomplete).values(*fields).iterator(2000):
        out = {**_common(row, key), "chosen_side": row["chosen_side"]}
        if row[f"{i}first_montage__id"] is not None:
            first, second = (
                {f: row[f"{i}{role}_montage__{f}"] for f in _MONTAGE_FIELDS} for role in ("first", "second")
            )
            left, right = (first, second) if row["trial__first_on_left"] else (second, first)
            out |= {
                "song_id": first["song_id"],
                **{
                    f"{side}_{k}": option[f]
                    for side, option in (("left", left), ("right", right))
                    for k, f in (("montage_id", "id"), ("kind", "kind"), ("model", "model"))
                },
                "chosen_montage_id": (left if row["chosen_side"] == "left" else right)["id"],
            }
        yield _in_table_order(schema.MONTAGE_CHOICES, out | _tail(row))


def referenced_montages(*, montage_ratings: list[dict], montage_choices: list[dict]) -> set[int]:
    """The montage ids that exported montage rows reference (``montage_rows``' argument)."""
    ids = {r["montage_id"] for r in montage_ratings if r["montage_id"] is not None}
    for r in montage_choices:
        ids.update(v for v in (r["left_montage_id"], r["right_montage_id"]) if v is not None)
    return ids


def montage_rows(*, montage_ids: set[int]) -> Iterator[dict]:
    montages = Montage.objects.filter(pk__in=montage_ids).select_related("song").order_by("pk")
    for montage in montages.iterator(2000):
        original = montage.kind == "G"
        yield {
            "montage_id": montage.pk,
            "song_id": montage.song_id,
            "song_title": montage.song.title or montage.song.original_name,
            "genre_label": montage.song.label,
            "kind": montage.kind,
            "model": montage.model,
            "strategy": montage.strategy,
            "segments": montage.segments,
            "seed": None if original else montage.seed,
            "n_segments": montage.n_segments,
            "duration_s": montage.duration_s,
            "mean_distance": montage.mean_distance,
            "provenance_sha256": montage.provenance_sha256 or None,
            "file": _file_location(montage.file.name),
        }
