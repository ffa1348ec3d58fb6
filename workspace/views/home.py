"""The public front page, the staff login (landing on the workspace home) and the home page itself."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webapp.auth import staff_required
from workspace import selectors


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Public: what this site is. Says nothing about any study (a worker arrives by a study link, not here)."""
    return render(request, "workspace/index.html")


class LoginView(auth_views.LoginView):
    """Django's login (django-axes counts its failures), in the workspace's layout; lands on the home page."""

    template_name = "workspace/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("workspace:index")


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff: the library and the experiments at a glance, with the way to each part of the workspace."""
    return render(request, "workspace/home.html", {"summary": selectors.home_summary(), "nav": "home"})
