from django.urls import path

from experiments.api import views

app_name = "experiments_api"

urlpatterns = [
    path("", views.ExperimentListCreate.as_view(), name="list"),
    path("export", views.export, name="export"),
    path("release-abandoned", views.release_abandoned, name="release_abandoned"),
    path("<int:pk>/", views.ExperimentDetail.as_view(), name="detail"),
    path("<int:pk>/design", views.regenerate_design, name="design"),
    path("<int:pk>/open", views.open_experiment, name="open"),
    path("<int:pk>/close", views.close_experiment, name="close"),
    path("<int:pk>/progress", views.progress, name="progress"),
    path("<int:pk>/invites", views.invites, name="invites"),
]
