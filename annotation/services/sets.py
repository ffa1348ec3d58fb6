"""Named stimulus sets: a selection of library clips and excerpts, saved under a name for an experiment.

Made on the staff library page (tick items, name the set); read back with
``annotation.selectors.resolve_stimulus_set`` (the experiment wizard turns a set into clip and excerpt ids).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotation.models import MusicExcerpt, StimulusSet, VideoClip

NAME_MAX = StimulusSet._meta.get_field("name").max_length


class StimulusSetError(ValueError):
    """The set cannot be saved as asked; ``field`` names the input the message is about (``name`` or ``items``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def _ids(values: Iterable[int | str], *, what: str) -> list[int]:
    try:
        ids = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise StimulusSetError(f"{what} ids must be whole numbers.", field="items") from None
    if any(i <= 0 for i in ids):
        raise StimulusSetError(f"{what} ids must be positive.", field="items")
    return ids


def _check_exist(model, ids: list[int], *, what: str) -> None:
    missing = sorted(set(ids) - set(model.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise StimulusSetError(f"no {what} with id {shown} in the library (deleted?).", field="items")


def _validated_items(clip_ids, excerpt_ids) -> tuple[list[int], list[int]]:
    clips, excerpts = _ids(clip_ids, what="clip"), _ids(excerpt_ids, what="excerpt")
    if not clips and not excerpts:
        raise StimulusSetError("tick at least one clip or excerpt for the set.", field="items")
    _check_exist(VideoClip, clips, what="clip")
    _check_exist(MusicExcerpt, excerpts, what="excerpt")
    return clips, excerpts


@transaction.atomic
def create_stimulus_set(
    *,
    name: str,
    clip_ids: Iterable[int | str],
    excerpt_ids: Iterable[int | str],
    user: AbstractBaseUser | None,
) -> StimulusSet:
    """Save a new set named ``name`` (unique, 1 to 120 characters) with these clips and excerpts (at least one,
    all existing). Raises :class:`StimulusSetError` and saves nothing when the input is wrong."""
    name = (name or "").strip()
    if not name:
        raise StimulusSetError("give the set a name.", field="name")
    if len(name) > NAME_MAX:
        raise StimulusSetError(f"the name is longer than {NAME_MAX} characters.", field="name")
    clips, excerpts = _validated_items(clip_ids, excerpt_ids)
    if StimulusSet.objects.filter(name=name).exists():
        raise StimulusSetError(f"a set named {name!r} already exists: choose another name.", field="name")
    try:
        with transaction.atomic():
            stimulus_set = StimulusSet.objects.create(
                name=name, created_by=user if user is not None and user.is_authenticated else None
            )
    except IntegrityError:  # saved by someone else between the check and the insert
        raise StimulusSetError(f"a set named {name!r} already exists: choose another name.", field="name") from None
    stimulus_set.clips.set(clips)
    stimulus_set.excerpts.set(excerpts)
    return stimulus_set


@transaction.atomic
def add_to_stimulus_set(*, set_id: int, clip_ids: Iterable[int | str], excerpt_ids: Iterable[int | str]) -> StimulusSet:
    """Add clips and excerpts to an existing set (items already in it are kept once)."""
    stimulus_set = StimulusSet.objects.select_for_update().filter(pk=set_id).first()
    if stimulus_set is None:
        raise StimulusSetError(f"there is no stimulus set {set_id}.", field="name")
    clips, excerpts = _validated_items(clip_ids, excerpt_ids)
    stimulus_set.clips.add(*clips)
    stimulus_set.excerpts.add(*excerpts)
    return stimulus_set
