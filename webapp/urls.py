from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from experiments.views.demo_report import demo_report

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("annotation.urls")),
    path("", include("experiments.urls")),
    path("api/experiments/", include("experiments.api.urls")),
    path("api/mturk/", include("mturk.api.urls")),
    path("mturk/", include("mturk.urls")),
    path("reports/demo/", demo_report, name="demo_report"),
]

if settings.DEBUG and settings.STORAGE_BACKEND == "local":
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
