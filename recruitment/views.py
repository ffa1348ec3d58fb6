"""The panel link's entry page. Thin: parse, call the service, redirect or explain."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from experiments.models import Experiment
from experiments.views.worker import message_page
from recruitment import prolific, services
from recruitment.models import PanelLink


@require_GET
@never_cache
def panel_entry(request: HttpRequest, slug: str) -> HttpResponse:
    link = get_object_or_404(PanelLink.objects.select_related("experiment"), slug=slug)
    cookie = services.resume_cookie_name(link)
    try:
        visit = services.enter_via_panel(
            link=link,
            panel_id=request.GET.get(link.id_parameter, ""),
            resume_cookie=request.COOKIES.get(cookie, ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except services.PanelRefused as refused:
        return message_page(request, refused.title, refused.message, status=refused.status)
    return _to_the_study(request, visit, cookie)


@require_GET
@never_cache
def prolific_entry(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, slug=slug)
    cookie = prolific.cookie_name(experiment)
    try:
        visit = prolific.enter_via_prolific(
            experiment=experiment,
            query=request.GET.dict(),
            resume_cookie=request.COOKIES.get(cookie, ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except services.PanelRefused as refused:
        return message_page(request, refused.title, refused.message, status=refused.status)
    return _to_the_study(request, visit, cookie)


def _to_the_study(request: HttpRequest, visit: services.PanelVisit, cookie: str) -> HttpResponse:
    """Redirect to the worker page, binding the entry to this browser with the sealed resume cookie."""
    response = redirect("experiments:worker", token=visit.participant.token)
    response.set_cookie(
        cookie,
        visit.resume_cookie,
        max_age=services.RESUME_MAX_AGE_S,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    response["Referrer-Policy"] = "no-referrer"
    return response
