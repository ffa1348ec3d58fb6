from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.excerpts import RenderState


class MontageKind(models.TextChoices):
    """What chose the clips (docs/montage.md): the crowd compares these against each other."""

    ORIGINAL = "G", "The song's own music video (G)"
    MODEL = "S", "A model's nearest clips (S)"
    RANDOM = "R", "Random clips (R)"
    ANTI = "anti", "The farthest clips (anti)"


class MontageStrategy(models.TextChoices):
    ORIGINAL = "original", "Original video"
    NEAREST = "nearest", "Nearest clips"
    RANDOM = "random", "Random clips"
    FARTHEST = "farthest", "Farthest clips"


#: The one strategy each kind is built with.
KIND_STRATEGY = {
    MontageKind.ORIGINAL: MontageStrategy.ORIGINAL,
    MontageKind.MODEL: MontageStrategy.NEAREST,
    MontageKind.RANDOM: MontageStrategy.RANDOM,
    MontageKind.ANTI: MontageStrategy.FARTHEST,
}


class Montage(models.Model):
    """A music video for a whole song (seed 004): the song's segments each matched to a library clip.

    ``kind`` G is the song's own music video (``song.source_video``), remuxed to the montage format; the
    others are built by ``training.montage.make_montage`` with ``model`` (``NAME@VERSION`` of the model
    registry, or a documented stand-in) under ``constraints``. The same request (song, kind, model,
    segmentation, seed, constraints) names one montage: asking again returns it. ``file`` is written
    atomically before the state becomes ready, with ``provenance`` (segment -> clip, source, time range,
    distance, model version, seed) and its SHA-256.
    """

    song = models.ForeignKey("annotation.MusicTrack", on_delete=models.CASCADE, related_name="montages")
    kind = models.CharField(max_length=8, choices=MontageKind.choices)
    strategy = models.CharField(max_length=16, choices=MontageStrategy.choices)
    model = models.CharField(max_length=200, blank=True, help_text="NAME@VERSION of the retrieval model; empty for G.")
    segments = models.CharField(
        max_length=60, blank=True, help_text="Segmentation of the song, e.g. beats:4, fixed:2, foote; empty for G."
    )
    seed = models.BigIntegerField(default=0)
    constraints = models.JSONField(
        default=dict,
        blank=True,
        help_text="allow_reuse, no_same_source, continuity, min_segment_s, max_segment_s (docs/montage.md).",
    )
    state = models.CharField(max_length=16, choices=RenderState.choices, default=RenderState.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    step = models.CharField(max_length=200, blank=True, help_text="What the worker is doing now.")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    file = models.FileField(max_length=500, blank=True)
    provenance = models.JSONField(null=True, blank=True)
    provenance_sha256 = models.CharField(max_length=64, blank=True)
    n_segments = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    mean_distance = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["song", "kind", "model", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["song", "kind", "model", "segments", "seed", "constraints"], name="unique_montage_request"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=MontageKind.ORIGINAL, strategy=MontageStrategy.ORIGINAL)
                    | Q(kind=MontageKind.MODEL, strategy=MontageStrategy.NEAREST)
                    | Q(kind=MontageKind.RANDOM, strategy=MontageStrategy.RANDOM)
                    | Q(kind=MontageKind.ANTI, strategy=MontageStrategy.FARTHEST)
                ),
                name="montage_kind_strategy",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=MontageKind.ORIGINAL, model="", segments="")
                    | (~Q(kind=MontageKind.ORIGINAL) & ~Q(model="") & ~Q(segments=""))
                ),
                name="montage_model_unless_original",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="montage_progress_percent"),
            models.CheckConstraint(
                condition=~Q(state=RenderState.READY) | (~Q(file="") & Q(duration_s__gt=0)),
                name="montage_ready_has_file",
            ),
            models.CheckConstraint(
                condition=~Q(state=RenderState.READY)
                | Q(kind=MontageKind.ORIGINAL)
                | (~Q(provenance_sha256="") & Q(n_segments__gte=1)),
                name="montage_ready_has_provenance",
            ),
            models.CheckConstraint(
                condition=Q(mean_distance__isnull=True) | Q(mean_distance__gte=0), name="montage_distance_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        what = self.model or "original video"
        return f"montage {self.pk} ({self.kind}, {what}) of track {self.song_id}"
