from django.db import models

from .excerpts import RenderState


class Pairing(models.Model):
    """A video clip combined with a music excerpt: the stimulus a worker rates.

    The rendered file is made by muxing the prepared clip and excerpt with stream copy.
    """

    clip = models.ForeignKey("annotation.VideoClip", on_delete=models.CASCADE, related_name="pairings")
    excerpt = models.ForeignKey("annotation.MusicExcerpt", on_delete=models.CASCADE, related_name="pairings")
    rendered_file = models.FileField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=RenderState.choices, default=RenderState.PENDING, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="While rendering: last sign of life of the worker rendering it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clip", "excerpt"]
        constraints = [models.UniqueConstraint(fields=["clip", "excerpt"], name="unique_pairing")]

    def __str__(self) -> str:
        return f"pairing {self.pk}: clip {self.clip_id} x excerpt {self.excerpt_id}"
