from django.db import models

from annotation.links import DATABASE_PATTERN, validate_http_url


class MediaAsset(models.Model):
    """Fields shared by every imported source file. Content identity is the sha256 of the bytes."""

    file = models.FileField(max_length=500, upload_to="library/%Y/%m/")
    sha256 = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=300)
    size_bytes = models.BigIntegerField()
    duration_s = models.FloatField()
    codec = models.CharField(max_length=40)
    container = models.CharField(max_length=60, blank=True)
    label = models.CharField(max_length=100, db_index=True, help_text="Scene category or genre.")
    title = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    license = models.CharField(max_length=120, blank=True)
    attribution = models.TextField(blank=True)
    source_url = models.URLField(
        max_length=500, blank=True, validators=[validate_http_url], help_text="http:// or https:// only."
    )
    import_batch = models.ForeignKey("annotation.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        constraints = []

    def __str__(self) -> str:
        return f"{self.original_name} [{self.label}]"


class Video(MediaAsset):
    """A source video; ``label`` is its scene category."""

    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    fps = models.FloatField()
    has_audio = models.BooleanField(default=False)
    audio_codec = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["label", "original_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_s__gt=0), name="video_duration_positive"),
            models.CheckConstraint(condition=models.Q(width__gt=0, height__gt=0, fps__gt=0), name="video_geometry"),
            models.CheckConstraint(
                condition=models.Q(source_url="") | models.Q(source_url__iregex=DATABASE_PATTERN),
                name="video_source_url_http",
            ),
        ]


class MusicTrack(MediaAsset):
    """A music track; ``label`` is its genre.

    A track extracted from a music video points at that video through ``source_video``: the pair is
    the ground truth ("G") of the VM-NET preference test.
    """

    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    source_video = models.OneToOneField(
        Video, null=True, blank=True, on_delete=models.CASCADE, related_name="soundtrack"
    )

    class Meta:
        ordering = ["label", "original_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_s__gt=0), name="track_duration_positive"),
            models.CheckConstraint(condition=models.Q(sample_rate__gt=0, channels__gt=0), name="track_audio_format"),
            models.CheckConstraint(
                condition=models.Q(source_url="") | models.Q(source_url__iregex=DATABASE_PATTERN),
                name="track_source_url_http",
            ),
        ]
