from django.contrib import admin

from .models import ImportBatch, ImportItem, MusicExcerpt, MusicTrack, Pairing, Video, VideoClip


class ImportItemInline(admin.TabularInline):
    model = ImportItem
    extra = 0
    readonly_fields = ["path", "kind", "outcome", "reason", "sha256", "video", "track"]
    can_delete = False


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "source", "location", "n_imported", "n_duplicate", "n_rejected", "created_at"]
    list_filter = ["source"]
    inlines = [ImportItemInline]


@admin.register(ImportItem)
class ImportItemAdmin(admin.ModelAdmin):
    list_display = ["pk", "batch", "path", "kind", "outcome", "reason"]
    list_filter = ["outcome", "kind"]
    search_fields = ["path", "reason", "sha256"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["pk", "original_name", "label", "duration_s", "width", "height", "fps", "codec", "license"]
    list_filter = ["label", "codec", "license"]
    search_fields = ["original_name", "label", "sha256", "title"]


@admin.register(MusicTrack)
class MusicTrackAdmin(admin.ModelAdmin):
    list_display = ["pk", "original_name", "label", "duration_s", "sample_rate", "channels", "codec", "license"]
    list_filter = ["label", "codec", "license"]
    search_fields = ["original_name", "label", "sha256", "title"]


@admin.register(VideoClip)
class VideoClipAdmin(admin.ModelAdmin):
    list_display = ["pk", "video", "start_s", "duration_s", "seed", "state"]
    list_filter = ["state"]


@admin.register(MusicExcerpt)
class MusicExcerptAdmin(admin.ModelAdmin):
    list_display = ["pk", "track", "start_s", "duration_s", "seed", "state", "loudness_lufs"]
    list_filter = ["state"]


@admin.register(Pairing)
class PairingAdmin(admin.ModelAdmin):
    list_display = ["pk", "clip", "excerpt", "state", "attempts", "rendered_at"]
    list_filter = ["state"]
    raw_id_fields = ["clip", "excerpt"]
