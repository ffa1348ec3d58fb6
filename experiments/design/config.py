"""Validation of design parameters (the ``config`` of an experiment), one schema per kind.

The validated, normalised dict is what gets stored on the experiment, so a stored config is always
complete and explicit (defaults filled in) and reproduces the design with the stored seed.
"""

from __future__ import annotations

from typing import Any

from experiments import questionnaire
from experiments.design.adaptive import AdaptiveError, AdaptivePolicy
from experiments.design.planner import PLANNER_VERSION, PLANNER_VERSIONS

DIRECTIONS = ("V2M", "M2V")
CONDITIONS = ("GR", "GS", "SR")
RATING_CATCH_KINDS = ("rating_instruction", "rating_silence")
CHOICE_CATCH_KINDS = ("choice_instruction",)


class DesignError(ValueError):
    """Design parameters that cannot produce an experiment; the message says what to change."""


def _ids(config: dict, key: str, *, required: bool) -> list[int] | None:
    value = config.get(key)
    if value is None:
        if required:
            raise DesignError(f"'{key}' is required: a list of ids.")
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise DesignError(f"'{key}' must be a list of integer ids.")
    if len(set(value)) != len(value):
        raise DesignError(f"'{key}' lists an id more than once.")
    return value


def _positive_int(config: dict, key: str, default: int | None) -> int | None:
    value = config.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DesignError(f"'{key}' must be a positive integer, not {value!r}.")
    return value


def _subset(config: dict, key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> list[str]:
    value = config.get(key, list(default))
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise DesignError(f"'{key}' must be a non-empty list drawn from {', '.join(allowed)}; got {value!r}.")
    return [v for v in allowed if v in value]


def _catch(config: dict, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = config.get("catch", {})
    if not isinstance(value, dict):
        raise DesignError("'catch' must be an object like {\"kinds\": [...]}.")
    kinds = value.get("kinds", list(allowed))
    if not isinstance(kinds, list) or any(k not in allowed for k in kinds):
        raise DesignError(f"catch 'kinds' must be drawn from {', '.join(allowed)}; got {kinds!r}.")
    return {"kinds": kinds}


def _adaptive(config: dict) -> dict[str, Any] | None:
    """Opt-in adaptive allocation (``experiments.design.adaptive``); ``None`` keeps fixed k."""
    value = config.get("adaptive")
    if value is None:
        return None
    shape = '{"target_half_width": 0.8, "min_ratings": 3, "confidence": 0.95}'
    if not isinstance(value, dict):
        raise DesignError(f"'adaptive' must be an object like {shape}.")
    unknown = sorted(set(value) - {"target_half_width", "min_ratings", "confidence"})
    if unknown:
        raise DesignError(f"unknown adaptive parameter(s): {', '.join(unknown)}; expected {shape}.")
    width = value.get("target_half_width")
    minimum = value.get("min_ratings", 3)
    confidence = value.get("confidence", 0.95)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (width, confidence)) or not (
        isinstance(minimum, int) and not isinstance(minimum, bool)
    ):
        raise DesignError(f"adaptive parameters are numbers (min_ratings an integer), like {shape}; got {value!r}.")
    try:  # the values' rules live with the policy; k (its cap) is checked when the design is generated
        AdaptivePolicy(target_half_width=width, min_answers=minimum, cap=minimum, confidence=confidence)
    except AdaptiveError as exc:
        raise DesignError(f"adaptive: {exc}") from None
    return {"target_half_width": float(width), "min_ratings": minimum, "confidence": float(confidence)}


MONTAGE_KINDS = ("G", "S", "R", "anti")  # annotation.MontageKind's values, in the order items name them
MONTAGE_RATING_KEYS = {"songs", "kinds", "model"}
MONTAGE_CHOICE_KEYS = {"songs", "pairs", "model"}


def _montages(config: dict, *, choice: bool) -> dict[str, Any]:
    """The ``montages`` block: whole-song music videos (annotation.Montage) as stimuli, docs/experiments.md.

    ``songs``: track ids or ``"all"`` (every song with ready montages); ``model``: only montages by this
    model (or these models; G has none and is always eligible). Choices: ``pairs`` of kinds, e.g.
    ``[["S", "R"], ["S", "G"]]`` (``["S", "S"]``: two models' montages); default every pair among a
    song's montages. Ratings: ``kinds`` to rate, default all. Which montages exist is checked when the
    design is generated.
    """
    value = config["montages"]
    allowed = MONTAGE_CHOICE_KEYS if choice else MONTAGE_RATING_KEYS
    shape = '{"songs": [1, 2] | "all", "pairs": [["S", "R"], ["S", "G"]], "model": "NAME@VERSION"}'
    if not choice:
        shape = '{"songs": [1, 2] | "all", "kinds": ["G", "S", "R", "anti"], "model": "NAME@VERSION"}'
    if not isinstance(value, dict):
        raise DesignError(f"'montages' must be an object like {shape}.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise DesignError(
            f"unknown montages parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}."
        )
    others = sorted(set(config) - {"montages", "catch", "adaptive"})
    if others:
        raise DesignError(
            f"a montage design takes its stimuli from 'montages' only; remove {', '.join(others)} "
            "(montages and clip/excerpt pairings cannot be mixed in one experiment)."
        )
    songs = value.get("songs", "all")
    if songs != "all":
        songs = _ids({"montages.songs": songs}, "montages.songs", required=True)
        if not songs:
            raise DesignError("'montages.songs' is empty: list song (music track) ids, or \"all\".")
    model = value.get("model")
    if model is not None:
        models = [model] if isinstance(model, str) else model
        if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
            raise DesignError("'montages.model' must be a model name (NAME@VERSION) or a list of them.")
        if len(set(models)) != len(models):
            raise DesignError("'montages.model' lists a model more than once.")
        model = sorted(models)
    out: dict[str, Any] = {"songs": songs, "model": model}
    if choice:
        pairs = value.get("pairs")
        if pairs is not None:
            if not isinstance(pairs, list) or not pairs:
                raise DesignError('\'montages.pairs\' must be a non-empty list of kind pairs like [["S", "R"]].')
            normalised = []
            for pair in pairs:
                if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(k in MONTAGE_KINDS for k in pair)):
                    raise DesignError(
                        f"bad montage pair {pair!r}: expected two kinds drawn from {', '.join(MONTAGE_KINDS)}, "
                        'e.g. ["S", "R"].'
                    )
                if pair[0] == pair[1] and pair[0] != "S":
                    raise DesignError(
                        f"montage pair {list(pair)!r}: two montages of one kind are compared only for S "
                        '(["S", "S"]: two models\' montages of a song).'
                    )
                ordered = sorted(pair, key=MONTAGE_KINDS.index)
                if ordered in normalised:
                    raise DesignError(f"'montages.pairs' lists {ordered!r} more than once.")
                normalised.append(ordered)
            if ["S", "S"] in normalised and model is not None and len(model) < 2:
                raise DesignError('the pair ["S", "S"] compares two models: \'montages.model\' must name at least two.')
            pairs = normalised
        out["pairs"] = pairs
    else:
        out["kinds"] = _subset(value, "kinds", MONTAGE_KINDS, MONTAGE_KINDS)
    return out


def _montage_design(config: dict, *, choice: bool, catch_kinds: tuple[str, ...]) -> dict[str, Any]:
    return {
        "montages": _montages(config, choice=choice),
        "catch": _catch(config, catch_kinds),
        "adaptive": _adaptive(config),
    }


def _check_keys(config: dict, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise DesignError(f"unknown design parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}.")


def validate_rating(config: dict) -> dict[str, Any]:
    _check_keys(config, {"clip_ids", "excerpt_ids", "pairs", "sample_pairs", "catch", "adaptive", "montages"})
    if "montages" in config:
        return _montage_design(config, choice=False, catch_kinds=RATING_CATCH_KINDS)
    pairs = config.get("pairs")
    if pairs is not None:
        if not isinstance(pairs, list) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, int) for x in p) for p in pairs
        ):
            raise DesignError("'pairs' must be a list of [clip_id, excerpt_id] pairs.")
        normalised = [[int(c), int(e)] for c, e in pairs]
        if len({tuple(p) for p in normalised}) != len(normalised):
            raise DesignError("'pairs' lists a (clip, excerpt) pair more than once.")
        if not normalised:
            raise DesignError("'pairs' is empty.")
        clip_ids = excerpt_ids = None
    else:
        normalised = None
        clip_ids = _ids(config, "clip_ids", required=True)
        excerpt_ids = _ids(config, "excerpt_ids", required=True)
        if not clip_ids or not excerpt_ids:
            raise DesignError("a full factorial needs at least one clip and one excerpt.")
    return {
        "clip_ids": clip_ids,
        "excerpt_ids": excerpt_ids,
        "pairs": normalised,
        "sample_pairs": _positive_int(config, "sample_pairs", None),
        "catch": _catch(config, RATING_CATCH_KINDS),
        "adaptive": _adaptive(config),
    }


def validate_afc(config: dict) -> dict[str, Any]:
    _check_keys(
        config, {"clip_ids", "excerpt_ids", "directions", "items_per_query", "triples", "catch", "adaptive", "montages"}
    )
    if "montages" in config:
        return _montage_design(config, choice=True, catch_kinds=CHOICE_CATCH_KINDS)
    triples = config.get("triples")
    if triples is not None:
        if not isinstance(triples, list) or not triples:
            raise DesignError("'triples' must be a non-empty list of [direction, query_id, option_a_id, option_b_id].")
        normalised = []
        for t in triples:
            if not (
                isinstance(t, list | tuple)
                and len(t) == 4
                and t[0] in DIRECTIONS
                and all(isinstance(x, int) for x in t[1:])
                and t[2] != t[3]
            ):
                raise DesignError(f'bad triple {t!r}: expected ["V2M"|"M2V", query_id, option_a_id, option_b_id].')
            normalised.append([t[0], int(t[1]), int(t[2]), int(t[3])])
        return {"triples": normalised, "catch": _catch(config, CHOICE_CATCH_KINDS), "adaptive": _adaptive(config)}
    directions = _subset(config, "directions", DIRECTIONS, ("V2M",))
    clip_ids = _ids(config, "clip_ids", required=True)
    excerpt_ids = _ids(config, "excerpt_ids", required=True)
    option_pool = {"V2M": excerpt_ids, "M2V": clip_ids}
    for d in directions:
        if len(option_pool[d]) < 2:
            raise DesignError(f"{d} needs at least two options to choose between.")
    return {
        "clip_ids": clip_ids,
        "excerpt_ids": excerpt_ids,
        "directions": directions,
        "items_per_query": _positive_int(config, "items_per_query", 1),
        "triples": None,
        "catch": _catch(config, CHOICE_CATCH_KINDS),
        "adaptive": _adaptive(config),
    }


def validate_preference(config: dict) -> dict[str, Any]:
    _check_keys(
        config,
        {
            "clip_ids",
            "excerpt_ids",
            "directions",
            "conditions",
            "queries_per_direction",
            "search",
            "block_by_direction",
            "catch",
        },
    )
    conditions = _subset(config, "conditions", CONDITIONS, CONDITIONS)
    needs_search = any("S" in c for c in conditions)
    search = _search_source(config.get("search")) if needs_search else None
    block = config.get("block_by_direction", True)
    if not isinstance(block, bool):
        raise DesignError("'block_by_direction' must be true or false.")
    return {
        "clip_ids": _ids(config, "clip_ids", required=False),
        "excerpt_ids": _ids(config, "excerpt_ids", required=False),
        "directions": _subset(config, "directions", DIRECTIONS, DIRECTIONS),
        "conditions": conditions,
        "queries_per_direction": _positive_int(config, "queries_per_direction", None),
        "search": search,
        "block_by_direction": block,
        "catch": _catch(config, CHOICE_CATCH_KINDS),
    }


def _search_source(search: Any) -> dict[str, str]:
    if isinstance(search, dict) and search.get("kind") == "model":
        from training.registry import valid_name

        name, version = search.get("name"), search.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if set(search) - {"kind", "name", "version"} or not valid_name(name) or not valid_name(version):
            raise DesignError(
                'a model search source is {"kind": "model", "name": "...", "version": "..."}: name and version '
                "of a model published with python -m training publish-model (letters, digits, '.', '_', '-')."
            )
        return {"kind": "model", "name": name, "version": version}
    if not isinstance(search, dict) or search.get("kind") not in ("ranking-file", "features") or not search.get("path"):
        raise DesignError(
            "conditions GS and SR need a search source: "
            '"search": {"kind": "ranking-file" | "features", "path": "..."} or '
            '{"kind": "model", "name": "...", "version": "..."}.'
        )
    return {"kind": search["kind"], "path": str(search["path"])}


VALIDATORS = {"rating": validate_rating, "afc": validate_afc, "preference": validate_preference}

PARTICIPANT_STEPS = ("screening", "questionnaire")  # config keys common to every kind
SCREEN_KINDS = ("none", "antiphase", "huggins", "both")
ON_SCREEN_FAIL = ("return", "submit")
SCREENING_KEYS = {"headphones", "trials", "pass_at", "on_fail"}


def validate_screening(value: Any) -> dict[str, Any]:
    """``"screening": {"headphones": "none" | "antiphase" | "huggins" | "both", "trials": 6, "pass_at": 5,
    "on_fail": "return" | "submit"}`` — the headphone screen every participant passes before the trials
    (docs/experiments.md#headphone-screening). ``trials`` and ``pass_at`` are per test."""
    if not isinstance(value, dict):
        raise DesignError('\'screening\' must be an object like {"headphones": "huggins"}.')
    unknown = sorted(set(value) - SCREENING_KEYS)
    if unknown:
        raise DesignError(
            f"unknown screening parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(SCREENING_KEYS))}."
        )
    headphones = value.get("headphones", "none")
    if headphones not in SCREEN_KINDS:
        raise DesignError(f"screening 'headphones' must be one of {', '.join(SCREEN_KINDS)}, not {headphones!r}.")
    trials = _positive_int(value, "trials", 6)
    pass_at = _positive_int(value, "pass_at", min(5, trials))
    if pass_at > trials:
        raise DesignError(f"screening 'pass_at' ({pass_at}) cannot exceed 'trials' ({trials}).")
    if trials > 20:
        raise DesignError(f"screening 'trials' must be at most 20 per test, not {trials}.")
    on_fail = value.get("on_fail", "return")
    if on_fail not in ON_SCREEN_FAIL:
        raise DesignError(f"screening 'on_fail' must be one of {', '.join(ON_SCREEN_FAIL)}, not {on_fail!r}.")
    return {"headphones": headphones, "trials": trials, "pass_at": pass_at, "on_fail": on_fail}


# Stored configs from before the planner was versioned carry no "planner_version": they were planned by 1.
UNVERSIONED_PLANNER_VERSION = 1


def validate_config(kind: str, config: dict, *, new: bool = False) -> dict[str, Any]:
    """Validate and normalise; the result records the planner version that builds (or rebuilt) the design.

    ``new``: the config of a design being created, which always gets the current planner version;
    older versions are accepted only when rebuilding a stored design that recorded them.
    """
    if kind not in VALIDATORS:
        raise DesignError(f"experiment kind must be one of {', '.join(VALIDATORS)}, not {kind!r}.")
    if not isinstance(config, dict):
        raise DesignError("the design config must be a JSON object.")
    version = config.get("planner_version", PLANNER_VERSION if new else UNVERSIONED_PLANNER_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version not in PLANNER_VERSIONS:
        raise DesignError(f"'planner_version' must be one of {', '.join(map(str, PLANNER_VERSIONS))}, not {version!r}.")
    if new and version != PLANNER_VERSION:
        raise DesignError(
            f"'planner_version' {version} only rebuilds designs that were planned with it; "
            f"new designs use {PLANNER_VERSION} (leave it out)."
        )
    rest = {key: value for key, value in config.items() if key not in ("planner_version", *PARTICIPANT_STEPS)}
    validated = {**VALIDATORS[kind](rest), "planner_version": version}
    # Screening and questionnaire are left out of configs without them, so stored designs stay as they were.
    if "screening" in config:
        validated["screening"] = validate_screening(config["screening"])
    if "questionnaire" in config:
        try:
            validated["questionnaire"] = questionnaire.validate_definition(config["questionnaire"])
        except questionnaire.QuestionnaireError as exc:
            raise DesignError(str(exc)) from exc
    return validated
