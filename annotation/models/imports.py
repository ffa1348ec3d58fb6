from django.conf import settings
from django.db import models


class ImportBatch(models.Model):
    """One import run (a folder, a manifest CSV, or an upload). Per-file outcomes are ImportItems."""

    class Source(models.TextChoices):
        FOLDER = "folder", "Folder"
        MANIFEST = "manifest", "Manifest CSV"
        UPLOAD = "upload", "Upload"
        FILE = "file", "Single file"

    source = models.CharField(max_length=16, choices=Source.choices)
    location = models.TextField(help_text="Folder or manifest path, or the uploaded file name.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    n_imported = models.PositiveIntegerField(default=0)
    n_duplicate = models.PositiveIntegerField(default=0)
    n_rejected = models.PositiveIntegerField(default=0)
    options = models.JSONField(
        default=dict, blank=True, help_text="Import options (default kind/label, licence) so a worker can run it."
    )
    read_roots = models.JSONField(
        default=list,
        blank=True,
        help_text="Real paths of the folders (or files) this batch may read; re-runs enforce the same "
        "(annotation.import_roots). Empty: it may read nothing from the server's disk.",
    )
    error = models.TextField(
        blank=True, help_text="Why the whole batch stopped (e.g. a manifest without a kind column)."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.get_source_display()} import #{self.pk} ({self.location})"


class ImportItem(models.Model):
    """The outcome for one file of an import batch, with a human-readable reason when rejected."""

    class Outcome(models.TextChoices):
        IMPORTED = "imported", "Imported"
        DUPLICATE = "duplicate", "Duplicate (same sha256 already in the library)"
        REJECTED = "rejected", "Rejected"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="items")
    path = models.TextField()
    kind = models.CharField(max_length=16, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    video = models.ForeignKey("annotation.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    track = models.ForeignKey(
        "annotation.MusicTrack", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["batch", "pk"]

    def __str__(self) -> str:
        return f"{self.path}: {self.outcome}"
