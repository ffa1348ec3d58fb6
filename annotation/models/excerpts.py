from django.db import models


class RenderState(models.TextChoices):
    PENDING = "pending", "Pending"
    RENDERING = "rendering", "Rendering"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Excerpt(models.Model):
    """A seeded excerpt of a source file, cut and normalised once into ``prepared_file``."""

    start_s = models.FloatField()
    duration_s = models.FloatField()
    seed = models.BigIntegerField(
        help_text="RNG seed that chose start_s; re-running the sampler with it reproduces it."
    )
    sampling = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the span was chosen: the run's base seed, the excerpt's index and the sampling options.",
    )
    prepared_file = models.FileField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=RenderState.choices, default=RenderState.PENDING, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="While rendering: last sign of life of the worker preparing it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    prepared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class VideoClip(Excerpt):
    """A short clip of a video (picture only after preparation: H.264, configured size, no audio)."""

    video = models.ForeignKey("annotation.Video", on_delete=models.CASCADE, related_name="clips")
    poster_file = models.FileField(
        max_length=500, blank=True, help_text="A JPEG frame from the middle of the clip (library thumbnails)."
    )

    class Meta:
        ordering = ["video", "start_s"]
        constraints = [
            models.UniqueConstraint(fields=["video", "start_s", "duration_s"], name="unique_clip_span"),
            models.CheckConstraint(condition=models.Q(start_s__gte=0, duration_s__gt=0), name="clip_span_valid"),
        ]

    def __str__(self) -> str:
        return f"clip {self.pk} of video {self.video_id} @ {self.start_s:.2f}s+{self.duration_s:.2f}s"


class MusicExcerpt(Excerpt):
    """A short excerpt of a music track (after preparation: AAC, loudness-normalised)."""

    track = models.ForeignKey("annotation.MusicTrack", on_delete=models.CASCADE, related_name="excerpts")
    ground_truth_clip = models.OneToOneField(
        VideoClip,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ground_truth_excerpt",
        help_text="For a music video's soundtrack: the clip of the same span of the same video (a G pair).",
    )
    loudness_lufs = models.FloatField(null=True, blank=True, help_text="Integrated loudness after normalisation.")

    class Meta:
        ordering = ["track", "start_s"]
        constraints = [
            models.UniqueConstraint(fields=["track", "start_s", "duration_s"], name="unique_excerpt_span"),
            models.CheckConstraint(condition=models.Q(start_s__gte=0, duration_s__gt=0), name="excerpt_span_valid"),
        ]

    def __str__(self) -> str:
        return f"excerpt {self.pk} of track {self.track_id} @ {self.start_s:.2f}s+{self.duration_s:.2f}s"
