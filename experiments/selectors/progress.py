"""Read models for experimenters: progress of an experiment and the answer key of a trial (staff only)."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Q

from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    Experiment,
    Item,
    Participant,
    Response,
    Trial,
)


def experiment_progress(experiment: Experiment, *, short_limit: int = 50) -> dict:
    k = experiment.judgments_per_item
    items = Item.objects.filter(experiment=experiment)
    # Grouped in the database: one row per distinct count, not one per item (79,575 at Langlois' size).
    fill = Counter(
        dict(items.order_by().values("completed_count").annotate(n=Count("pk")).values_list("completed_count", "n"))
    )
    short = (
        items.filter(completed_count__lt=k)
        .select_related("pairing", "first_pairing", "second_pairing")
        .order_by("completed_count", "index")[:short_limit]
    )
    bundles = Counter(
        dict(
            Bundle.objects.filter(experiment=experiment)
            .order_by()
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
    )
    assignments = Counter(
        dict(
            Assignment.objects.filter(experiment=experiment)
            .order_by()
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
    )
    catch = (
        Response.objects.filter(assignment__experiment=experiment, is_catch=True)
        .values("assignment__participant__worker_id")
        .annotate(answered=Count("pk"), failed=Count("pk", filter=Q(catch_passed=False)))
        .order_by("-failed", "assignment__participant__worker_id")
    )
    n_items = sum(fill.values())
    return {
        "k": k,
        "items": n_items,
        "items_complete": sum(n for c, n in fill.items() if c >= k),
        "items_short": sum(n for c, n in fill.items() if c < k),
        "judgments_missing": sum((k - c) * n for c, n in fill.items() if c < k),
        "fill_histogram": sorted(fill.items()),
        "short_items": [
            {
                "index": i.index,
                "pairings": list(i.pairing_ids),
                "completed": i.completed_count,
                "missing": k - i.completed_count,
            }
            for i in short
        ],
        "bundles": {status: bundles.get(status, 0) for status in ("available", "assigned", "completed")},
        "assignments": {
            "started": sum(assignments.values()),
            "active": assignments.get(AssignmentStatus.ACTIVE, 0),
            "completed": assignments.get(AssignmentStatus.COMPLETED, 0),
            "abandoned": assignments.get(AssignmentStatus.ABANDONED, 0),
        },
        # Simulated participants (the demo's crowd) are counted apart, so they are never taken for real people.
        **Participant.objects.filter(experiment=experiment).aggregate(
            participants=Count("pk"), simulated_participants=Count("pk", filter=Q(is_simulated=True))
        ),
        "responses": Response.objects.filter(assignment__experiment=experiment, skipped_reason="").count(),
        **skipped_trials(experiment),
        "catch_by_worker": [
            {
                "worker_id": row["assignment__participant__worker_id"],
                "answered": row["answered"],
                "failed": row["failed"],
            }
            for row in catch
        ],
    }


def skipped_trials(experiment: Experiment, *, flag_at: int = 2) -> dict:
    """Trials skipped because their media would not play, and the pairings skipped ``flag_at`` times or more
    (probably broken files: check them in the library)."""
    skipped = Response.objects.filter(assignment__experiment=experiment).exclude(skipped_reason="")
    per_pairing = Counter(p for item in Item.objects.filter(trials__responses__in=skipped) for p in item.pairing_ids)
    return {
        "skipped": skipped.count(),
        "broken_pairings": sorted((p for p, n in per_pairing.items() if n >= flag_at), key=lambda p: -per_pairing[p]),
        "skips_per_pairing": dict(per_pairing),
    }


def _describe_montage(montage) -> str:
    return f"montage {montage.pk}: {montage.kind} {montage.model or '(original video)'}"


def trial_answer_key(trial: Trial) -> dict:
    """What a trial really is -- for the experimenter's preview only, never for workers."""
    if trial.catch_id:
        catch = trial.catch
        expected = (
            f"answer {catch.expected_rating}"
            if catch.expected_rating
            else f"choose {'left' if trial.first_on_left else 'right'}"
        )
        return {"catch": True, "kind": catch.kind, "expected": expected}
    item = trial.item
    if item.is_montage:
        if item.montage_id:
            return {"catch": False, "montage": _describe_montage(item.montage)}
        first, second = item.first_montage, item.second_montage
        left, right = (first, second) if trial.first_on_left else (second, first)
        return {
            "catch": False,
            "song": first.song_id,
            "left": _describe_montage(left),
            "right": _describe_montage(right),
        }
    if item.pairing_id:
        p = item.pairing
        return {
            "catch": False,
            "pairing": p.pk,
            "clip": f"{p.clip_id} ({p.clip.video.label})",
            "excerpt": f"{p.excerpt_id} ({p.excerpt.track.label})",
        }
    first, second = item.first_pairing, item.second_pairing
    left, right = (first, second) if trial.first_on_left else (second, first)
    left_kind, right_kind = (
        (item.first_kind, item.second_kind) if trial.first_on_left else (item.second_kind, item.first_kind)
    )

    def describe(pairing, kind):
        option = pairing.excerpt if item.direction == "V2M" else pairing.clip
        label = option.track.label if item.direction == "V2M" else option.video.label
        return f"{kind or '-'} {type(option).__name__} {option.pk} ({label})"

    return {
        "catch": False,
        "direction": item.direction,
        "condition": item.condition,
        "left": describe(left, left_kind),
        "right": describe(right, right_kind),
        "search": f"{item.search_source} rank {item.search_rank}" if item.search_source else "",
    }


def completed_assignment_count(experiment: Experiment) -> int:
    """How many assignments of the experiment are complete (what an export and a report analyse)."""
    return Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.COMPLETED).count()
