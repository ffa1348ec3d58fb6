"""HTML views of the stimulus library: health check, public credits, staff library browser, montages, media files."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation import selectors
from annotation.forms import LibraryFilterForm, MontageRequestForm, SaveSetForm
from annotation.media.formats import served_as
from annotation.models import Montage, RenderState
from annotation.services import scheduling, sets
from annotation.services.montages import MontageRequestError
from webapp.auth import staff_required
from webapp.http import ranged_file_response


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers and the test harness."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@require_GET
def credits(request: HttpRequest) -> HttpResponse:
    """Public page: the licence and attribution of every imported file."""
    return render(request, "annotation/credits.html", selectors.credited_assets())


PAGE_SIZE = 24


def _library_page(request: HttpRequest, *, save_form: SaveSetForm, status: int = 200) -> HttpResponse:
    filter_form = LibraryFilterForm(request.GET)
    flt = filter_form.to_filter()
    page = Paginator(selectors.library_items(flt).values_list("pk", flat=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "nav": "library",
        "summary": selectors.library_summary(),
        "filter_form": filter_form,
        "flt": flt,
        "kinds": selectors.LIBRARY_KINDS,
        "choices": selectors.library_filter_choices(),
        "states": RenderState.choices,
        "page": page,
        "rows": selectors.library_rows(kind=flt.kind, ids=page.object_list),
        "save_form": save_form,
        "sets": selectors.stimulus_sets(),
    }
    return render(request, "annotation/library.html", context, status=status)


@require_GET
@staff_required
def library(request: HttpRequest) -> HttpResponse:
    """Staff page: browse clips, excerpts or pairings with thumbnails and filters; tick items to save a set."""
    return _library_page(request, save_form=SaveSetForm())


@require_POST
@staff_required
def save_stimulus_set(request: HttpRequest) -> HttpResponse:
    """Staff: save the ticked items (or everything matching the filters) as a new named set, or add them to one.

    The filters ride along in the query string, so a failure shows the same page with the errors."""
    form = SaveSetForm(request.POST)
    if not form.is_valid():
        return _library_page(request, save_form=form, status=400)
    if form.cleaned_data["all_matching"]:
        clip_ids, excerpt_ids = selectors.library_selection(LibraryFilterForm(request.GET).to_filter())
    else:
        clip_ids, excerpt_ids = request.POST.getlist("clip"), request.POST.getlist("excerpt")
    try:
        if target := form.cleaned_data["add_to"]:
            saved = sets.add_to_stimulus_set(set_id=target.pk, clip_ids=clip_ids, excerpt_ids=excerpt_ids)
        else:
            saved = sets.create_stimulus_set(
                name=form.cleaned_data["name"], clip_ids=clip_ids, excerpt_ids=excerpt_ids, user=request.user
            )
    except sets.StimulusSetError as exc:
        form.add_error(exc.field if exc.field == "name" else None, str(exc))
        return _library_page(request, save_form=form, status=400)
    messages.success(request, f"Saved the stimulus set “{saved.name}”.")
    return redirect(f"{reverse('annotation:library')}?{request.GET.urlencode()}")


def _montages_page(request: HttpRequest, *, form: MontageRequestForm, status: int = 200) -> HttpResponse:
    try:
        song = int(request.GET.get("song", ""))
    except ValueError:
        song = None
    context = {
        "nav": "montages",
        "groups": selectors.montage_groups(song=song),
        "song": song,
        "form": form,
        "models": selectors.published_models(),
        "states": RenderState,
    }
    return render(request, "annotation/montages.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def montages(request: HttpRequest) -> HttpResponse:
    """Staff page: the montages of each song side by side, their provenance; POST requests a montage + baselines."""
    songs = selectors.montage_songs()
    if request.method == "GET":
        return _montages_page(request, form=MontageRequestForm(songs=songs))
    form = MontageRequestForm(request.POST, songs=songs)
    if not form.is_valid():
        return _montages_page(request, form=form, status=400)
    try:
        rows = scheduling.request_montages(
            song=form.cleaned_data["song"],
            model=form.cleaned_data["model"].strip(),
            options=form.options(),
            baselines=form.cleaned_data["baselines"],
            user=request.user,
        )
    except MontageRequestError as exc:
        form.add_error(None, str(exc))
        return _montages_page(request, form=form, status=400)
    messages.success(request, f"Requested {len(rows)} montages of “{form.cleaned_data['song']}”; workers build them.")
    return redirect(f"{reverse('annotation:montages')}?song={form.cleaned_data['song'].pk}")


@require_POST
@staff_required
def retry_montage(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: build a failed montage again."""
    montage = get_object_or_404(Montage, pk=pk)
    try:
        scheduling.retry_montage(montage=montage)
    except MontageRequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Montage {montage.pk} is queued again.")
    return redirect(f"{reverse('annotation:montages')}?song={montage.song_id}")


@require_GET
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a file of local media storage to staff, with HTTP Range support (browsers seek in <video>).

    Staff only: crowd workers get their trial's media through the experiments app's signed, per-assignment
    URLs, never by guessing storage names. Only routed with local storage; S3 hands out signed URLs itself.

    The content type comes from the stored name's extension (``annotation.media.formats``; the library
    names stored copies after their probed container), always with ``nosniff``; anything that is not
    media a browser plays inline is sent as a download, so no stored file ever renders as a page.
    """
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("not found")
    try:
        full = Path(default_storage.path(path))
    except (SuspiciousFileOperation, NotImplementedError) as exc:
        raise Http404("not found") from exc
    if not full.is_file() or full.name.startswith("."):
        raise Http404("not found")
    content_type, inline = served_as(full.name)
    return ranged_file_response(request, path, content_type=content_type, attachment=not inline)
