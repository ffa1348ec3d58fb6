from django.conf import settings
from django.db import models


class StimulusSet(models.Model):
    """A named selection of clips and excerpts from the library, made on the library page for an experiment."""

    name = models.CharField(max_length=120, unique=True)
    clips = models.ManyToManyField("annotation.VideoClip", blank=True, related_name="stimulus_sets")
    excerpts = models.ManyToManyField("annotation.MusicExcerpt", blank=True, related_name="stimulus_sets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="stimulus_set_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name
