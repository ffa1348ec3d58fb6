from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("annotation.urls")),
    path("", include("experiments.urls")),
    path("api/experiments/", include("experiments.api.urls")),
    path("api/mturk/", include("mturk.api.urls")),
    path("mturk/", include("mturk.urls")),
    path("", include("demo.urls")),
]
