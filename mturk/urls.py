from django.urls import path

from . import views

app_name = "mturk"

urlpatterns = [
    path("e/<slug:slug>/", views.entry, name="entry"),
]
