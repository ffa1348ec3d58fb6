from django.conf import settings
from django.urls import path

from . import api, views

app_name = "annotation"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("credits/", views.credits, name="credits"),
    path("library/", views.library, name="library"),
    path("library/sets/", views.save_stimulus_set, name="save_set"),
    path("library/montages/", views.montages, name="montages"),
    path("library/montages/<int:pk>/retry/", views.retry_montage, name="montage_retry"),
    path("api/library/imports/", api.ImportBatches.as_view(), name="api-imports"),
    path("api/library/imports/<int:pk>/", api.ImportBatchDetail.as_view(), name="api-import-detail"),
    path("api/library/uploads/", api.Upload.as_view(), name="api-uploads"),
    path("api/library/progress/", api.Progress.as_view(), name="api-progress"),
    path("api/library/montages/", api.Montages.as_view(), name="api-montages"),
    path("api/library/montages/<int:pk>/", api.MontageDetail.as_view(), name="api-montage-detail"),
    path("api/library/montages/<int:pk>/provenance/", api.MontageProvenance.as_view(), name="api-montage-provenance"),
    path("api/library/montages/<int:pk>/retry/", api.MontageRetry.as_view(), name="api-montage-retry"),
]

if settings.STORAGE_BACKEND == "local":
    # Local media storage is served by Django (with Range support for <video> seeking); S3 serves itself.
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", views.media_file, name="media"))
