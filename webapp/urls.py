from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("annotation.urls")),
    path("", include("experiments.urls")),
    path("api/experiments/", include("experiments.api.urls")),
    path("api/mturk/", include("mturk.api.urls")),
    path("mturk/", include("mturk.urls")),
]

if settings.DEBUG and settings.STORAGE_BACKEND == "local":
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
