"""The generated design: items to judge, assignment bundles, and the trials inside each bundle.

None of these rows is ever serialised to a worker as-is: worker-facing JSON is built from
``Trial.position`` and opaque media URLs only (see ``experiments.selectors.worker``).
"""

from django.db import models


class Direction(models.TextChoices):
    V2M = "V2M", "Video → music (a video, two music options)"
    M2V = "M2V", "Music → video (a music excerpt, two video options)"
    MONTAGE = "MV", "Montage (whole-song music videos)"


class Condition(models.TextChoices):
    NONE = "none", "Plain 2AFC"
    GR = "GR", "Ground truth vs random"
    GS = "GS", "Ground truth vs search result"
    SR = "SR", "Search result vs random"


class OptionKind(models.TextChoices):
    GROUND_TRUTH = "G", "Ground truth"
    RANDOM = "R", "Random"
    SEARCH = "S", "Search result"


class Item(models.Model):
    """A unit that needs ``k`` judgments: one pairing to rate, or one two-option choice.

    For a choice, *first* and *second* are design roles, not screen sides: *first* is the option
    named first in the condition (G in GR/GS, S in SR; option "a" in plain 2AFC). Which one appears on
    the left is decided per trial (``Trial.first_on_left``) and counterbalanced.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField(help_text="Position in the generated design (stable for a given seed).")
    pairing = models.ForeignKey(
        "annotation.Pairing", null=True, blank=True, on_delete=models.PROTECT, related_name="rating_items"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    condition = models.CharField(max_length=4, choices=Condition.choices, blank=True)
    query_clip = models.ForeignKey(
        "annotation.VideoClip", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    query_excerpt = models.ForeignKey(
        "annotation.MusicExcerpt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_pairing = models.ForeignKey(
        "annotation.Pairing", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_pairing = models.ForeignKey(
        "annotation.Pairing", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_kind = models.CharField(max_length=1, choices=OptionKind.choices, blank=True)
    second_kind = models.CharField(max_length=1, choices=OptionKind.choices, blank=True)
    montage = models.ForeignKey(
        "annotation.Montage", null=True, blank=True, on_delete=models.PROTECT, related_name="rating_items"
    )
    first_montage = models.ForeignKey(
        "annotation.Montage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_montage = models.ForeignKey(
        "annotation.Montage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    search_source = models.CharField(max_length=300, blank=True)
    search_rank = models.PositiveIntegerField(null=True, blank=True)
    completed_count = models.PositiveIntegerField(
        default=0, help_text="Judgments in completed assignments (maintained on completion)."
    )

    class Meta:
        ordering = ["experiment", "index"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "index"], name="unique_item_index"),
            models.UniqueConstraint(
                fields=["experiment", "pairing"],
                condition=models.Q(pairing__isnull=False),
                name="unique_rating_item_per_pairing",
            ),
            models.CheckConstraint(
                name="item_is_pairing_or_montage_based",
                condition=(
                    models.Q(
                        pairing__isnull=False,
                        first_pairing__isnull=True,
                        second_pairing__isnull=True,
                        montage__isnull=True,
                        first_montage__isnull=True,
                        second_montage__isnull=True,
                        direction="",
                    )
                    | models.Q(
                        pairing__isnull=True,
                        first_pairing__isnull=False,
                        second_pairing__isnull=False,
                        montage__isnull=True,
                        first_montage__isnull=True,
                        second_montage__isnull=True,
                        direction__in=["V2M", "M2V"],
                    )
                    # Montage items: one montage to rate, or two to choose between; no pairing.
                    | models.Q(
                        pairing__isnull=True,
                        first_pairing__isnull=True,
                        second_pairing__isnull=True,
                        montage__isnull=False,
                        first_montage__isnull=True,
                        second_montage__isnull=True,
                        direction="MV",
                    )
                    | models.Q(
                        pairing__isnull=True,
                        first_pairing__isnull=True,
                        second_pairing__isnull=True,
                        montage__isnull=True,
                        first_montage__isnull=False,
                        second_montage__isnull=False,
                        direction="MV",
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["experiment", "montage"],
                condition=models.Q(montage__isnull=False),
                name="unique_rating_item_per_montage",
            ),
            models.CheckConstraint(
                name="item_montage_options_differ",
                condition=models.Q(first_montage__isnull=True) | ~models.Q(first_montage=models.F("second_montage")),
            ),
            models.CheckConstraint(
                name="item_choice_options_differ",
                condition=models.Q(first_pairing__isnull=True) | ~models.Q(first_pairing=models.F("second_pairing")),
            ),
        ]

    def __str__(self) -> str:
        if self.pairing_id:
            return f"item {self.index}: pairing {self.pairing_id}"
        if self.montage_id:
            return f"item {self.index}: montage {self.montage_id}"
        if self.first_montage_id:
            return f"item {self.index}: montages {self.first_montage_id}, {self.second_montage_id}"
        return f"item {self.index}: {self.direction} {self.condition}"

    @property
    def is_montage(self) -> bool:
        return self.direction == Direction.MONTAGE

    @property
    def pairing_ids(self) -> tuple[int, ...]:
        """The pairings it shows (none for a montage item: see ``montage_ids``)."""
        if self.pairing_id:
            return (self.pairing_id,)
        if self.first_pairing_id:
            return (self.first_pairing_id, self.second_pairing_id)
        return ()

    @property
    def montage_ids(self) -> tuple[int, ...]:
        if self.montage_id:
            return (self.montage_id,)
        if self.first_montage_id:
            return (self.first_montage_id, self.second_montage_id)
        return ()

    @property
    def stimulus_keys(self) -> tuple[int, ...]:
        """What the planner keeps apart inside a bundle: pairing ids, or montage ids (negated, so the two
        never collide; an experiment's items are all of one sort anyway)."""
        return self.pairing_ids or tuple(-m for m in self.montage_ids)


class CatchKind(models.TextChoices):
    RATING_INSTRUCTION = "rating_instruction", "Rating: on-screen instruction names the answer"
    RATING_SILENCE = "rating_silence", "Rating: a clip with no music (instructions say: answer 1)"
    CHOICE_INSTRUCTION = "choice_instruction", "Choice: one option says 'choose this one'"


class CatchStimulus(models.Model):
    """An attention check. Its expected answer never leaves the server.

    Rating checks expect ``expected_rating``; choice checks expect the side where ``file`` (the
    target) is shown, with ``foil_file`` on the other side.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="catch_stimuli")
    kind = models.CharField(max_length=24, choices=CatchKind.choices)
    text = models.CharField(max_length=200, blank=True, help_text="The instruction shown in the media, if any.")
    expected_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    source_clip = models.ForeignKey(
        "annotation.VideoClip", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(max_length=500, blank=True)
    foil_file = models.FileField(max_length=500, blank=True)
    state = models.CharField(max_length=16, default="pending", db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["experiment", "pk"]
        verbose_name_plural = "catch stimuli"
        constraints = [
            models.CheckConstraint(
                name="catch_expected_rating_in_scale",
                condition=models.Q(expected_rating__isnull=True)
                | models.Q(expected_rating__gte=1, expected_rating__lte=7),
            ),
        ]

    def __str__(self) -> str:
        return f"catch {self.pk} ({self.kind})"


class BundleStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    ASSIGNED = "assigned", "Assigned to an active assignment"
    COMPLETED = "completed", "Completed"


class Bundle(models.Model):
    """A fixed, ordered set of trials that one worker does as one assignment.

    Each item appears in exactly ``k`` bundles, so completing every bundle once gives every item
    exactly ``k`` judgments. Bundles are offered in ``(round, index)`` order, which fills items
    evenly (least-filled first).
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="bundles")
    index = models.PositiveIntegerField()
    round = models.PositiveIntegerField(help_text="Lowest replica round of the items it holds.")
    status = models.CharField(max_length=16, choices=BundleStatus.choices, default=BundleStatus.AVAILABLE)
    n_trials = models.PositiveIntegerField()
    is_makeup = models.BooleanField(
        default=False, help_text="Made of trials others skipped (their media would not play), re-offered."
    )

    class Meta:
        ordering = ["experiment", "index"]
        constraints = [models.UniqueConstraint(fields=["experiment", "index"], name="unique_bundle_index")]
        indexes = [models.Index(fields=["experiment", "status", "round", "index"], name="bundle_offer_order")]

    def __str__(self) -> str:
        return f"bundle {self.index} of experiment {self.experiment_id}"


class BundlePairing(models.Model):
    """Every pairing a bundle shows; the unique constraint forbids a pairing twice in one bundle."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="bundle_pairings")
    pairing = models.ForeignKey("annotation.Pairing", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bundle", "pairing"], name="unique_pairing_per_bundle")]
        indexes = [models.Index(fields=["pairing", "bundle"], name="bundle_pairing_by_pairing")]

    def __str__(self) -> str:
        return f"pairing {self.pairing_id} in bundle {self.bundle_id}"


class Trial(models.Model):
    """One screen of a bundle: a real item or a catch stimulus, at a fixed position."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="trials")
    position = models.PositiveIntegerField()
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.CASCADE, related_name="trials")
    catch = models.ForeignKey(CatchStimulus, null=True, blank=True, on_delete=models.PROTECT, related_name="trials")
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    first_on_left = models.BooleanField(
        default=True, help_text="Choice trials: the item's first option (or the catch target) is shown on the left."
    )

    class Meta:
        ordering = ["bundle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "position"], name="unique_trial_position"),
            models.CheckConstraint(
                name="trial_is_item_or_catch",
                condition=models.Q(item__isnull=False, catch__isnull=True)
                | models.Q(item__isnull=True, catch__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"trial {self.position} of bundle {self.bundle_id}"

    @property
    def is_catch(self) -> bool:
        return self.catch_id is not None
