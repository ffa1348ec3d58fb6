from django.urls import path

from recruitment import views

app_name = "recruitment"

urlpatterns = [
    path("r/<slug:slug>/", views.panel_entry, name="panel_entry"),
    path("prolific/e/<slug:slug>/", views.prolific_entry, name="prolific_entry"),
]
