"""Create experiments and generate their designs (items, catch stimuli, bundles, trials) from a seed."""

from __future__ import annotations

import functools
import itertools
import random
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import Montage, MontageKind, MusicExcerpt, MusicTrack, Pairing, RenderState, VideoClip
from experiments import tasks
from experiments.design.config import MONTAGE_KINDS, DesignError, validate_config
from experiments.design.planner import PlanItem
from experiments.models import (
    Bundle,
    CatchKind,
    CatchStimulus,
    Direction,
    Experiment,
    ExperimentKind,
    ExperimentStatus,
    Item,
    Trial,
)
from experiments.search import SearchSourceError, load_search_source
from experiments.services.pairings import ensure_pairings
from experiments.services.rounds import adaptive_policy, plan_round, store_bundles

Pair = tuple[int, int]  # (clip_id, excerpt_id)


@dataclass(frozen=True)
class ItemSpec:
    """An item before it has database ids for its pairings."""

    pair: Pair | None = None  # rating
    direction: str = ""
    condition: str = ""
    query_id: int | None = None  # clip (V2M) or excerpt (M2V)
    first: Pair | None = None
    second: Pair | None = None
    first_kind: str = ""
    second_kind: str = ""
    search_source: str = ""
    search_rank: int | None = None
    montage: int | None = None  # montage rating
    first_montage: int | None = None  # montage choice (first: the kind named first in its pair)
    second_montage: int | None = None
    montage_group: str = ""  # montage choice: the kind pair, e.g. "S-R" (its sides are balanced apart)

    @property
    def pairs(self) -> tuple[Pair, ...]:
        if self.pair:
            return (self.pair,)
        return (self.first, self.second) if self.first else ()

    @property
    def montages(self) -> tuple[int, ...]:
        if self.montage:
            return (self.montage,)
        return (self.first_montage, self.second_montage) if self.first_montage else ()

    def plan_item(self, pairing_ids: dict[Pair, int]) -> PlanItem:
        """What the planner needs: the stimuli to keep apart in a bundle (montage ids negated, as
        ``Item.stimulus_keys``) and the counterbalancing group of a choice."""
        keys = tuple(pairing_ids[p] for p in self.pairs) or tuple(-m for m in self.montages)
        group = self.montage_group or self.condition
        return PlanItem(
            pairings=keys,
            side_group=f"{self.direction}/{group}" if self.direction else None,
            direction=self.direction,
        )


@transaction.atomic
def create_experiment(
    *,
    slug: str,
    title: str,
    kind: str,
    config: dict,
    seed: int | None = None,
    judgments_per_item: int = 9,
    trials_per_assignment: int = 50,
    catch_trials_per_assignment: int = 1,
    abandon_after_s: int = 1800,
    instructions: str = "",
    consent_text: str = "",
    created_by=None,
) -> Experiment:
    """Validate the parameters, store them with the seed, and generate the design."""
    experiment = create_draft_experiment(
        slug=slug,
        title=title,
        kind=kind,
        config=config,
        seed=seed,
        judgments_per_item=judgments_per_item,
        trials_per_assignment=trials_per_assignment,
        catch_trials_per_assignment=catch_trials_per_assignment,
        abandon_after_s=abandon_after_s,
        instructions=instructions,
        consent_text=consent_text,
        created_by=created_by,
    )
    return generate_design(experiment=experiment)


def check_experiment_parameters(
    *,
    slug: str,
    judgments_per_item: int,
    trials_per_assignment: int,
    catch_trials_per_assignment: int,
    abandon_after_s: int,
) -> None:
    """The rules on an experiment's scalar parameters (raises ``DesignError`` naming the parameter)."""
    try:
        validate_slug(slug)  # the slug is part of worker URLs (/mturk/e/<slug>/), which match only these
    except ValidationError:
        raise DesignError(f"the slug may use only letters, digits, hyphens and underscores, not {slug!r}.") from None
    if len(slug) > Experiment._meta.get_field("slug").max_length:
        raise DesignError(f"the slug is longer than {Experiment._meta.get_field('slug').max_length} characters.")
    if Experiment.objects.filter(slug=slug).exists():
        raise DesignError(f"an experiment with slug {slug!r} already exists.")
    for name, value, minimum in (
        ("judgments_per_item", judgments_per_item, 1),
        ("trials_per_assignment", trials_per_assignment, 1),
        ("catch_trials_per_assignment", catch_trials_per_assignment, 0),
        ("abandon_after_s", abandon_after_s, 60),
    ):
        if not isinstance(value, int) or value < minimum:
            raise DesignError(f"{name} must be an integer ≥ {minimum}, not {value!r}.")


@transaction.atomic
def create_draft_experiment(
    *,
    slug: str,
    title: str,
    kind: str,
    config: dict,
    seed: int | None = None,
    judgments_per_item: int = 9,
    trials_per_assignment: int = 50,
    catch_trials_per_assignment: int = 1,
    abandon_after_s: int = 1800,
    instructions: str = "",
    consent_text: str = "",
    created_by=None,
) -> Experiment:
    """Validate and store an experiment as a draft; :func:`generate_design` then builds its design (the
    workspace's wizard runs that step as a Celery task)."""
    check_experiment_parameters(
        slug=slug,
        judgments_per_item=judgments_per_item,
        trials_per_assignment=trials_per_assignment,
        catch_trials_per_assignment=catch_trials_per_assignment,
        abandon_after_s=abandon_after_s,
    )
    return Experiment.objects.create(
        slug=slug,
        title=title,
        kind=kind,
        seed=seed if seed is not None else secrets.randbelow(2**31),
        config=validate_config(kind, config, new=True),
        judgments_per_item=judgments_per_item,
        trials_per_assignment=trials_per_assignment,
        catch_trials_per_assignment=catch_trials_per_assignment,
        abandon_after_s=abandon_after_s,
        instructions=instructions or default_instructions(kind),
        consent_text=consent_text or DEFAULT_CONSENT,
        created_by=created_by,
    )


@transaction.atomic
def generate_design(*, experiment: Experiment) -> Experiment:
    """(Re)build items, catch stimuli, bundles and trials from the stored seed and config.

    Allowed until the first participant arrives; afterwards the design is frozen.
    """
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.participants.exists():
        raise DesignError("participants have started this experiment; its design can no longer change.")
    config = validate_config(experiment.kind, experiment.config)
    Trial.objects.filter(bundle__experiment=experiment).delete()
    Bundle.objects.filter(experiment=experiment).delete()
    Item.objects.filter(experiment=experiment).delete()
    CatchStimulus.objects.filter(experiment=experiment).delete()

    item_rng = random.Random(f"{experiment.seed}:items")
    specs = _BUILDERS[experiment.kind](config, item_rng)
    if not specs:
        raise DesignError("the design has no items: check the clip and excerpt selection.")
    pairing_ids = ensure_pairings(pairs=itertools.chain.from_iterable(s.pairs for s in specs))
    items = Item.objects.bulk_create([_item_row(experiment, index, s, pairing_ids) for index, s in enumerate(specs)])

    catch_pool = _create_catch_stimuli(experiment, config, random.Random(f"{experiment.seed}:catch"))
    policy = adaptive_policy(experiment, config)
    plan = plan_round(
        experiment,
        config,
        [s.plan_item(pairing_ids) for s in specs],
        # Adaptive: the first min_ratings rounds are planned now, later ones from the answers.
        k=policy.min_answers if policy else experiment.judgments_per_item,
        seed=f"{experiment.seed}:plan",
        n_catch=len(catch_pool),
    )
    store_bundles(experiment, plan, items, catch_pool, first_index=0, first_round=0)

    experiment.config = config
    experiment.status = ExperimentStatus.DESIGNED
    experiment.designed_at = timezone.now()
    experiment.save(update_fields=["config", "status", "designed_at"])
    for catch in catch_pool:
        transaction.on_commit(functools.partial(tasks.render_catch_stimulus.delay, catch.pk))
    return experiment


@dataclass(frozen=True)
class DesignSummary:
    """What a design would hold, worked out by the same builders and planner without writing anything."""

    items: int
    pairings: int
    pairings_ready: int
    judgments: int
    bundles: int
    trials: int
    catch_trials: int

    @property
    def pairings_to_render(self) -> int:
        return self.pairings - self.pairings_ready


def summarise_design(
    *,
    kind: str,
    config: dict,
    seed: int,
    judgments_per_item: int,
    trials_per_assignment: int,
    catch_trials_per_assignment: int,
) -> DesignSummary:
    """The counts a design implies (items, distinct pairings and how many are rendered, judgments, bundles).

    Runs the kind's item builder and the planner on stand-in pairing ids, so the counts are the ones
    :func:`generate_design` will produce with the same seed; raises ``DesignError`` like it would.
    """
    config = validate_config(kind, config, new=True)
    specs = _BUILDERS[kind](config, random.Random(f"{seed}:items"))
    if not specs:
        raise DesignError("the design has no items: check the clip and excerpt selection.")
    stand_in = {pair: i for i, pair in enumerate(sorted({p for s in specs for p in s.pairs}))}
    draft = Experiment(
        kind=kind,
        judgments_per_item=judgments_per_item,
        trials_per_assignment=trials_per_assignment,
        catch_trials_per_assignment=catch_trials_per_assignment,
    )
    policy = adaptive_policy(draft, config)
    plan = plan_round(
        draft,
        config,
        [s.plan_item(stand_in) for s in specs],
        k=policy.min_answers if policy else judgments_per_item,
        seed=f"{seed}:plan",
        n_catch=len(config["catch"]["kinds"]) if catch_trials_per_assignment else 0,
    )
    clips = {c for c, _ in stand_in}
    excerpts = {e for _, e in stand_in}
    ready = Pairing.objects.filter(clip_id__in=clips, excerpt_id__in=excerpts, state=RenderState.READY)
    n_ready = sum(
        1 for pair in ready.values_list("clip_id", "excerpt_id").iterator(chunk_size=10_000) if pair in stand_in
    )
    n_trials = sum(len(b.trials) for b in plan)
    n_real = sum(b.n_real for b in plan)
    return DesignSummary(
        items=len(specs),
        pairings=len(stand_in),
        pairings_ready=n_ready,
        judgments=n_real,
        bundles=len(plan),
        trials=n_trials,
        catch_trials=n_trials - n_real,
    )


def _item_row(experiment: Experiment, index: int, spec: ItemSpec, pairing_ids: dict[Pair, int]) -> Item:
    if spec.montages:
        return Item(
            experiment=experiment,
            index=index,
            direction=Direction.MONTAGE,
            montage_id=spec.montage,
            first_montage_id=spec.first_montage,
            second_montage_id=spec.second_montage,
        )
    if spec.pair:
        return Item(experiment=experiment, index=index, pairing_id=pairing_ids[spec.pair])
    return Item(
        experiment=experiment,
        index=index,
        direction=spec.direction,
        condition=spec.condition,
        query_clip_id=spec.query_id if spec.direction == "V2M" else None,
        query_excerpt_id=spec.query_id if spec.direction == "M2V" else None,
        first_pairing_id=pairing_ids[spec.first],
        second_pairing_id=pairing_ids[spec.second],
        first_kind=spec.first_kind,
        second_kind=spec.second_kind,
        search_source=spec.search_source,
        search_rank=spec.search_rank,
    )


def _require_existing(model, ids: list[int], what: str) -> None:
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise DesignError(f"{len(missing)} {what} id(s) do not exist: {shown}.")


# --- item builders, one per kind ------------------------------------------------------------


def _ready_montages(config: dict) -> dict[int, list[Montage]]:
    """The ready montages of the chosen songs (by song id) that the model filter admits (G always)."""
    block = config["montages"]
    songs = block["songs"]
    if songs != "all":
        _require_existing(MusicTrack, songs, "song")
    qs = Montage.objects.filter(state=RenderState.READY).order_by("song_id", "pk")
    if songs != "all":
        qs = qs.filter(song_id__in=songs)
    if block["model"]:
        qs = qs.filter(Q(kind=MontageKind.ORIGINAL) | Q(model__in=block["model"]))
    by_song: dict[int, list[Montage]] = {song: [] for song in (songs if songs != "all" else [])}
    for montage in qs:
        by_song.setdefault(montage.song_id, []).append(montage)
    if not any(by_song.values()):
        raise DesignError(
            "no ready montages were found for the chosen songs"
            + (f" and model(s) {', '.join(block['model'])}" if block["model"] else "")
            + ": request them first (annotation.services.scheduling.request_montages; see docs/montage.md)."
        )
    return by_song


def _montage_rating_specs(config: dict) -> list[ItemSpec]:
    kinds = config["montages"]["kinds"]
    specs = []
    for song, montages in sorted(_ready_montages(config).items()):
        chosen = [m for m in montages if m.kind in kinds]
        if not chosen and config["montages"]["songs"] != "all":
            raise DesignError(f"song {song} has no ready montage of kind(s) {', '.join(kinds)}.")
        specs.extend(ItemSpec(direction=Direction.MONTAGE, montage=m.pk) for m in chosen)
    return specs


def _kind_order(montage: Montage) -> tuple[int, str, int]:
    return MONTAGE_KINDS.index(montage.kind), montage.model, montage.pk


def _montage_choice_specs(config: dict) -> list[ItemSpec]:
    """Two different ready montages of one song per item; ``first`` is the one whose kind the pair names
    first (for ``["S", "S"]`` and for the default every-pair design: kind order G, S, R, anti, then model)."""
    pairs = config["montages"]["pairs"]
    explicit = config["montages"]["songs"] != "all"
    specs = []
    for song, montages in sorted(_ready_montages(config).items()):
        montages = sorted(montages, key=_kind_order)
        if pairs is None:
            if len(montages) < 2 and explicit:
                raise DesignError(f"song {song} has {len(montages)} ready montage(s); a choice needs two.")
            candidates = list(itertools.combinations(montages, 2))
        else:
            candidates = []
            for first_kind, second_kind in pairs:
                firsts = [m for m in montages if m.kind == first_kind]
                seconds = [m for m in montages if m.kind == second_kind]
                found = [
                    (a, b)
                    for a, b in itertools.product(firsts, seconds)
                    # S-S: two different models' montages, each pair once
                    if a.pk != b.pk
                    and (first_kind != second_kind or _kind_order(a) < _kind_order(b))
                    and (first_kind != second_kind or a.model != b.model)
                ]
                if not found:
                    if not explicit:
                        continue
                    what = "two models' S montages" if first_kind == second_kind else f"{first_kind} and {second_kind}"
                    raise DesignError(
                        f"song {song} has no ready montages for the pair [{first_kind!r}, {second_kind!r}]: it needs "
                        f"{what} (ready: {', '.join(sorted({m.kind for m in montages})) or 'none'})."
                    )
                candidates.extend(found)
        specs.extend(
            ItemSpec(
                direction=Direction.MONTAGE,
                first_montage=a.pk,
                second_montage=b.pk,
                montage_group=f"{a.kind}-{b.kind}",
            )
            for a, b in candidates
        )
    return specs


def _rating_specs(config: dict, rng: random.Random) -> list[ItemSpec]:
    if config.get("montages"):
        return _montage_rating_specs(config)
    if config["pairs"]:
        pairs = [tuple(p) for p in config["pairs"]]
        _require_existing(VideoClip, sorted({c for c, _ in pairs}), "clip")
        _require_existing(MusicExcerpt, sorted({e for _, e in pairs}), "excerpt")
    else:
        _require_existing(VideoClip, config["clip_ids"], "clip")
        _require_existing(MusicExcerpt, config["excerpt_ids"], "excerpt")
        pairs = list(itertools.product(config["clip_ids"], config["excerpt_ids"]))
    if config["sample_pairs"]:
        if config["sample_pairs"] > len(pairs):
            raise DesignError(f"sample_pairs={config['sample_pairs']} exceeds the {len(pairs)} available pairs.")
        pairs = rng.sample(pairs, config["sample_pairs"])
    return [ItemSpec(pair=p) for p in pairs]


def _afc_specs(config: dict, rng: random.Random) -> list[ItemSpec]:
    if config.get("montages"):
        return _montage_choice_specs(config)
    specs = []
    if config["triples"]:
        for direction, query, a, b in config["triples"]:
            specs.append(_choice_spec(direction, query, a, b, "none", "", ""))
        clips: set[int] = set()
        excerpts: set[int] = set()
        for direction, query, a, b in config["triples"]:
            queries, options = (clips, excerpts) if direction == "V2M" else (excerpts, clips)
            queries.add(query)
            options.update((a, b))
        _require_existing(VideoClip, sorted(clips), "clip")
        _require_existing(MusicExcerpt, sorted(excerpts), "excerpt")
        return specs
    _require_existing(VideoClip, config["clip_ids"], "clip")
    _require_existing(MusicExcerpt, config["excerpt_ids"], "excerpt")
    per_query = config["items_per_query"]
    for direction in config["directions"]:
        queries, options = (
            (config["clip_ids"], config["excerpt_ids"])
            if direction == "V2M"
            else (config["excerpt_ids"], config["clip_ids"])
        )
        n_pairs = len(options) * (len(options) - 1) // 2
        if per_query > n_pairs:
            raise DesignError(
                f"items_per_query={per_query} exceeds the {n_pairs} distinct option pairs for {direction}."
            )
        for query in queries:
            seen: set[frozenset[int]] = set()
            while len(seen) < per_query:
                a, b = rng.sample(options, 2)
                if frozenset((a, b)) in seen:
                    continue
                seen.add(frozenset((a, b)))
                specs.append(_choice_spec(direction, query, a, b, "none", "", ""))
    return specs


def _choice_spec(
    direction: str,
    query: int,
    first: int,
    second: int,
    condition: str,
    first_kind: str,
    second_kind: str,
    search_source: str = "",
    search_rank: int | None = None,
) -> ItemSpec:
    def pair(option: int) -> Pair:
        return (query, option) if direction == "V2M" else (option, query)

    return ItemSpec(
        direction=direction,
        condition=condition,
        query_id=query,
        first=pair(first),
        second=pair(second),
        first_kind=first_kind,
        second_kind=second_kind,
        search_source=search_source,
        search_rank=search_rank,
    )


def _preference_specs(config: dict, rng: random.Random) -> list[ItemSpec]:
    try:
        source = load_search_source(config["search"]) if config["search"] else None
    except SearchSourceError as exc:
        raise DesignError(str(exc)) from exc
    clips = VideoClip.objects.all()
    if config["clip_ids"] is not None:
        _require_existing(VideoClip, config["clip_ids"], "clip")
        clips = clips.filter(pk__in=config["clip_ids"])
    excerpts = MusicExcerpt.objects.all()
    if config["excerpt_ids"] is not None:
        _require_existing(MusicExcerpt, config["excerpt_ids"], "excerpt")
        excerpts = excerpts.filter(pk__in=config["excerpt_ids"])
    else:
        excerpts = excerpts.filter(ground_truth_clip__isnull=False)
    clip_video = dict(clips.values_list("pk", "video_id"))
    if config["clip_ids"] is None:
        linked = set(excerpts.values_list("ground_truth_clip_id", flat=True))
        clip_video = {c: v for c, v in clip_video.items() if c in linked}
    excerpt_rows = list(excerpts.values_list("pk", "track_id", "ground_truth_clip_id"))
    excerpt_track = {e: t for e, t, _ in excerpt_rows}
    # G pairs whose two halves are both in the pools.
    gt_of_excerpt = {e: c for e, _, c in excerpt_rows if c is not None and c in clip_video}
    gt_of_clip = {c: e for e, c in gt_of_excerpt.items()}
    if not gt_of_excerpt:
        raise DesignError(
            "the preference test needs ground-truth pairs: excerpts cut from a music video's soundtrack "
            "(MusicExcerpt.ground_truth_clip) whose clip is in the clip pool. None were found."
        )
    # Each option's "source": a clip's video, or for an excerpt the video its track came from (or the track).
    pools = {"V2M": sorted(excerpt_track), "M2V": sorted(clip_video)}
    queries = {"V2M": sorted(gt_of_clip), "M2V": sorted(gt_of_excerpt)}
    partner = {"V2M": gt_of_clip, "M2V": gt_of_excerpt}

    def option_source(direction: str, option: int) -> tuple[str, int]:
        return ("track", excerpt_track[option]) if direction == "V2M" else ("video", clip_video[option])

    specs = []
    for direction in config["directions"]:
        chosen = queries[direction]
        if config["queries_per_direction"]:
            if config["queries_per_direction"] > len(chosen):
                raise DesignError(
                    f"queries_per_direction={config['queries_per_direction']} exceeds the {len(chosen)} "
                    f"{direction} queries that have a ground-truth partner."
                )
            chosen = sorted(rng.sample(chosen, config["queries_per_direction"]))
        pool = pools[direction]
        in_pool = set(pool)
        for query in chosen:
            g = partner[direction][query]
            s = rank = None
            if source is not None:
                try:
                    ranked = source.ranked(direction=direction, query_id=query)
                except SearchSourceError as exc:
                    raise DesignError(str(exc)) from exc
                hit = next((r for r in ranked if r.candidate_id != g and r.candidate_id in in_pool), None)
                if hit is None:
                    raise DesignError(
                        f"search source {source.name} has no result (other than the ground truth) for "
                        f"{direction} query {query}; add it or restrict the queries (clip_ids/excerpt_ids)."
                    )
                s, rank = hit.candidate_id, hit.rank
            excluded_sources = {option_source(direction, g)}
            randoms = [o for o in pool if o not in (g, s) and option_source(direction, o) not in excluded_sources]
            if not randoms:
                raise DesignError(
                    f"no random option is available for {direction} query {query}: the pool is too small."
                )
            for condition in config["conditions"]:
                kinds = {"G": g, "S": s}
                first_kind, second_kind = condition[0], condition[1]
                first = kinds.get(first_kind) if first_kind != "R" else rng.choice(randoms)
                second = kinds.get(second_kind) if second_kind != "R" else rng.choice(randoms)
                specs.append(
                    _choice_spec(
                        direction,
                        query,
                        first,
                        second,
                        condition,
                        first_kind,
                        second_kind,
                        search_source=source.name if "S" in condition else "",
                        search_rank=rank if "S" in condition else None,
                    )
                )
    return specs


_BUILDERS = {
    ExperimentKind.RATING: _rating_specs,
    ExperimentKind.AFC: _afc_specs,
    ExperimentKind.PREFERENCE: _preference_specs,
}


# --- catch stimuli ----------------------------------------------------------------------------


def _create_catch_stimuli(experiment: Experiment, config: dict, rng: random.Random) -> list[CatchStimulus]:
    if not experiment.catch_trials_per_assignment:
        return []
    rows = []
    kinds = config["catch"]["kinds"]
    if not kinds:
        raise DesignError("catch trials are requested (catch_trials_per_assignment > 0) but 'catch.kinds' is empty.")
    if CatchKind.RATING_INSTRUCTION in kinds:
        for value in sorted(rng.sample(range(2, 8), 3)):
            rows.append(
                CatchStimulus(
                    experiment=experiment,
                    kind=CatchKind.RATING_INSTRUCTION,
                    text=f"Attention check: please answer {value}",
                    expected_rating=value,
                )
            )
    if CatchKind.RATING_SILENCE in kinds:
        clip_ids = sorted(
            Item.objects.filter(experiment=experiment, pairing__isnull=False)
            .values_list("pairing__clip_id", flat=True)
            .distinct()
        )
        rows.append(
            CatchStimulus(
                experiment=experiment,
                kind=CatchKind.RATING_SILENCE,
                expected_rating=1,
                source_clip_id=rng.choice(clip_ids) if clip_ids else None,
            )
        )
    if CatchKind.CHOICE_INSTRUCTION in kinds:
        rows.append(
            CatchStimulus(
                experiment=experiment,
                kind=CatchKind.CHOICE_INSTRUCTION,
                text="Attention check: choose THIS option",
            )
        )
    return CatchStimulus.objects.bulk_create(rows)


def default_instructions(kind: str) -> str:
    if kind == ExperimentKind.RATING:
        return (
            "You will watch short videos with music. Play each one to the end, then rate how well the music "
            "and the video fit, from 1 (Extremely poor fit) to 7 (Extremely good fit). You can play a clip again "
            "before answering. Some clips are attention checks: if a clip has no music at all, answer 1; if a clip "
            "tells you which answer to give, give that answer. Keys 1-7 answer; Space plays."
        )
    return (
        "Each question shows two options. Play both to the end, then choose the one where music and video fit "
        "better. You can replay them before answering. Some questions are attention checks that tell you which "
        "option to choose: follow them. Keys ← and → choose left or right; Space plays."
    )


DEFAULT_CONSENT = (
    "This is a research study about how well music fits video. It takes about the time shown in the task "
    "description. Your answers are stored with a pseudonymous identifier and used for research only. You may "
    "stop at any time. By continuing you confirm that you are at least 18 years old and agree to take part."
)
