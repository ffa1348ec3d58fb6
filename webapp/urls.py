from django.contrib import admin
from django.urls import include, path

from webapp import api_docs

# The admin's "View site" goes to the workspace home, not to a 404.
admin.site.site_url = "/home/"
admin.site.site_header = "mvfit administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("annotation.urls")),
    path("", include("experiments.urls")),
    path("api/schema/", api_docs.schema, name="api-schema"),
    path("api/docs/", api_docs.swagger_ui, name="api-docs"),
    path("api/experiments/", include("experiments.api.urls")),
    path("api/mturk/", include("mturk.api.urls")),
    path("api/recruitment/", include("recruitment.api.urls")),
    path("mturk/", include("mturk.urls")),
    path("", include("recruitment.urls")),
    path("", include("demo.urls")),
    path("", include("workspace.urls")),
]
