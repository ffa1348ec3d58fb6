from django.contrib import admin, messages

from .models import (
    ImportBatch,
    ImportItem,
    Montage,
    MusicExcerpt,
    MusicTrack,
    Pairing,
    RenderState,
    StimulusSet,
    Video,
    VideoClip,
)
from .services import scheduling


@admin.action(description="Prepare selected (cut + encode once)")
def prepare_selected(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    kind = "clip_ids" if queryset.model is VideoClip else "excerpt_ids"
    count = scheduling.schedule_preparation(**{kind: ids})
    modeladmin.message_user(request, f"Scheduled preparation of {count} item(s).", messages.SUCCESS)


@admin.action(description="Render selected pairings")
def render_selected(modeladmin, request, queryset):
    count = scheduling.schedule_render(pairing_ids=queryset.values_list("pk", flat=True))
    modeladmin.message_user(request, f"Scheduled rendering of {count} pairing(s).", messages.SUCCESS)


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


class MediaAssetAdmin(admin.ModelAdmin):
    """Media enters the library only through the import service (probed, named after its container);
    the admin edits labels and credits (``source_url``: http(s) only, by the model field's validator)."""

    readonly_fields = ["file", "sha256", "size_bytes", "container", "codec", "import_batch"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Video)
class VideoAdmin(MediaAssetAdmin):
    list_display = ["pk", "original_name", "label", "duration_s", "width", "height", "fps", "codec", "license"]
    list_filter = ["label", "codec", "license"]
    search_fields = ["original_name", "label", "sha256", "title"]


@admin.register(MusicTrack)
class MusicTrackAdmin(MediaAssetAdmin):
    list_display = ["pk", "original_name", "label", "duration_s", "sample_rate", "channels", "codec", "license"]
    list_filter = ["label", "codec", "license"]
    search_fields = ["original_name", "label", "sha256", "title"]


@admin.register(VideoClip)
class VideoClipAdmin(admin.ModelAdmin):
    list_display = ["pk", "video", "start_s", "duration_s", "seed", "state"]
    list_filter = ["state"]
    raw_id_fields = ["video"]
    actions = [prepare_selected]


@admin.register(MusicExcerpt)
class MusicExcerptAdmin(admin.ModelAdmin):
    list_display = ["pk", "track", "start_s", "duration_s", "seed", "state", "loudness_lufs"]
    list_filter = ["state"]
    raw_id_fields = ["track", "ground_truth_clip"]
    actions = [prepare_selected]


@admin.register(Pairing)
class PairingAdmin(admin.ModelAdmin):
    list_display = ["pk", "clip", "excerpt", "state", "attempts", "rendered_at"]
    list_filter = ["state"]
    raw_id_fields = ["clip", "excerpt"]
    actions = [render_selected]


@admin.register(StimulusSet)
class StimulusSetAdmin(admin.ModelAdmin):
    """Sets are made on the library page (``annotation.services.sets``); here they can be read and renamed."""

    list_display = ["name", "created_by", "created"]
    search_fields = ["name"]
    raw_id_fields = ["clips", "excerpts"]
    readonly_fields = ["created_by", "created"]


@admin.action(description="Build selected failed montages again")
def retry_montages(modeladmin, request, queryset):
    failed = list(queryset.filter(state=RenderState.FAILED))
    for montage in failed:
        scheduling.retry_montage(montage=montage)
    modeladmin.message_user(request, f"Queued {len(failed)} failed montage(s) again.", messages.SUCCESS)


@admin.register(Montage)
class MontageAdmin(admin.ModelAdmin):
    """Montages are requested on the montage page or the API (``scheduling.request_montages``); read-only here."""

    list_display = ["pk", "song", "kind", "model", "segments", "seed", "state", "progress", "duration_s"]
    list_filter = ["kind", "state"]
    list_select_related = ["song"]
    search_fields = ["model", "song__original_name", "song__title"]
    raw_id_fields = ["song"]
    actions = [retry_montages]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
