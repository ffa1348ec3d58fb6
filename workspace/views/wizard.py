"""The experiment wizard: kind → stimuli → design → review → create.

Each step is a Django form kept in the session; the services check the answers (their errors appear
next to the field they are about) and the review shows what the design implies. Creating stores the
experiment as a draft and queues its design generation as a Celery task (the experiment page shows its
progress), so no request waits for it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from experiments.design.config import DesignError, validate_config
from experiments.services import designs
from webapp.auth import staff_required
from workspace import wizard
from workspace.models import Job, JobKind, JobState
from workspace.services.scheduling import start_job, start_summary

SESSION_KEY = "workspace_wizard"
FORMS = {"kind": wizard.KindForm, "stimuli": wizard.StimuliForm, "design": wizard.DesignForm}


def _state(request: HttpRequest) -> dict:
    return request.session.get(SESSION_KEY, {})


def _save(request: HttpRequest, state: dict) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _jsonable(data: dict) -> dict:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}


def _form(step: str, state: dict, data=None):
    kwargs = {} if step == "kind" else {"kind": state["kind"]["kind"]}
    initial = {k: v for k, v in state.get(step, {}).items() if not k.startswith("_")}
    return FORMS[step](data, initial=initial or None, **kwargs)


def _show_error(form, message: str) -> None:
    _, field = wizard.field_of(message)
    form.add_error(field if field in form.fields else None, message)


def _page(request: HttpRequest, step: str, context: dict) -> HttpResponse:
    state = _state(request)
    context.update(
        {
            "nav": "experiments",
            "step": step,
            "steps": wizard.STEPS,
            "kind_label": dict(designs.ExperimentKind.choices).get(state.get("kind", {}).get("kind"), ""),
            "wizard_state": state,
        }
    )
    return render(request, f"workspace/wizard/{step}.html", context)


def _step_view(step: str, *, check, next_step: str):
    """A wizard step: GET shows its form (with an error a later step left for it), POST checks and moves on."""

    @require_http_methods(["GET", "POST"])
    @staff_required
    def view(request: HttpRequest) -> HttpResponse:
        state = _state(request)
        if step != "kind" and "kind" not in state:
            return redirect("workspace:wizard_kind")
        if request.method == "POST":
            form = _form(step, state, request.POST)
            if form.is_valid():
                state[step] = _jsonable(form.cleaned_data)
                state.pop("summary_job", None)
                try:
                    check(request, state)
                except DesignError as exc:
                    owner, _ = wizard.field_of(str(exc))
                    if owner != step and wizard.STEPS.index(owner) < wizard.STEPS.index(step):
                        state["pending_error"] = {"step": owner, "message": str(exc)}
                        _save(request, state)
                        return redirect(f"workspace:wizard_{owner}")
                    _show_error(form, str(exc))
                else:
                    _save(request, state)
                    if step == "design" and "preview" in request.POST:
                        return _page(request, step, {"form": _form(step, state), "preview": state["design"]})
                    return redirect(f"workspace:wizard_{next_step}")
            return _page(request, step, {"form": form})
        pending = state.get("pending_error")
        if pending and pending["step"] == step and step in state:
            form = _form(step, state, state[step])
            form.is_valid()
            _show_error(form, pending["message"])
            state.pop("pending_error")
            _save(request, state)
        else:
            form = _form(step, state)
        return _page(request, step, {"form": form})

    view.__name__ = f"wizard_{step}"
    return view


def _check_kind(request: HttpRequest, state: dict) -> None:
    designs.check_experiment_parameters(
        slug=state["kind"]["slug"],
        judgments_per_item=1,
        trials_per_assignment=1,
        catch_trials_per_assignment=0,
        abandon_after_s=1800,
    )
    if state.get("stimuli") and state["stimuli"].get("_kind") != state["kind"]["kind"]:
        state.pop("stimuli", None)  # another kind has other stimulus options
        state.pop("design", None)


def _check_stimuli(request: HttpRequest, state: dict) -> None:
    state["stimuli"]["_kind"] = state["kind"]["kind"]
    params = wizard.experiment_parameters(state)
    validate_config(params["kind"], params["config"], new=True)


def _check_design(request: HttpRequest, state: dict) -> None:
    """The quick checks now; the counts (the item builder and the planner: seconds at Langlois' size) are
    worked out by a Celery job that the review page waits for."""
    if state["design"].get("seed") is None:
        # Drawn now, so the review's counts are exactly those of the design that will be generated.
        state["design"]["seed"] = secrets.randbelow(2**31)
    params = wizard.experiment_parameters(state)
    designs.check_experiment_parameters(
        slug=params["slug"],
        judgments_per_item=params["judgments_per_item"],
        trials_per_assignment=params["trials_per_assignment"],
        catch_trials_per_assignment=params["catch_trials_per_assignment"],
        abandon_after_s=1800,
    )
    validate_config(params["kind"], params["config"], new=True)
    if "preview" in request.POST:
        return
    summary_params = {
        key: params[key] for key in ("kind", "config", "seed", "judgments_per_item", "trials_per_assignment")
    } | {"catch_trials_per_assignment": params["catch_trials_per_assignment"]}
    state["summary_job"] = start_summary(params=summary_params, created_by=request.user).pk


kind_step = _step_view("kind", check=_check_kind, next_step="stimuli")
stimuli_step = _step_view("stimuli", check=_check_stimuli, next_step="design")
design_step = _step_view("design", check=_check_design, next_step="review")


@require_http_methods(["GET", "POST"])
@staff_required
def review_step(request: HttpRequest) -> HttpResponse:
    """The counts the design implies and a cost estimate; POST creates the experiment and queues its design."""
    state = _state(request)
    if not all(step in state for step in ("kind", "stimuli", "design")) or "summary_job" not in state:
        return redirect("workspace:wizard_kind")
    job = Job.objects.filter(pk=state["summary_job"], kind=JobKind.SUMMARY).first()
    if job is None:
        return redirect("workspace:wizard_design")
    if job.state == JobState.FAILED:
        owner, _ = wizard.field_of(job.error)
        state["pending_error"] = {"step": owner, "message": job.error}
        state.pop("summary_job")
        _save(request, state)
        return redirect(f"workspace:wizard_{owner}")
    if job.state != JobState.DONE:
        job_url = reverse("workspace:wizard_summary", args=[job.pk])
        return _page(request, "review", {"job": job, "job_url": job_url, "design": state["design"]})
    try:
        params = wizard.experiment_parameters(state)
    except DesignError as exc:
        state["pending_error"] = {"step": "stimuli", "message": str(exc)}
        state.pop("summary_job", None)
        _save(request, state)
        return redirect("workspace:wizard_stimuli")
    if request.method == "POST":
        try:
            experiment = designs.create_draft_experiment(**params, created_by=request.user)
        except DesignError as exc:
            owner, _ = wizard.field_of(str(exc))
            state["pending_error"] = {"step": owner if owner != "review" else "design", "message": str(exc)}
            _save(request, state)
            return redirect(f"workspace:wizard_{state['pending_error']['step']}")
        start_job(kind=JobKind.DESIGN, experiment=experiment, created_by=request.user)
        request.session.pop(SESSION_KEY, None)
        return redirect("workspace:experiment", pk=experiment.pk)
    summary = designs.DesignSummary(**job.data)
    cost_form = wizard.CostForm(request.GET or None)
    reward, channel = Decimal("1.50"), "mturk"
    if cost_form.is_bound and cost_form.is_valid():
        reward, channel = cost_form.cleaned_data["reward"], cost_form.cleaned_data["channel"]
    if not cost_form.is_bound:
        cost_form = wizard.CostForm(initial={"reward": reward, "channel": channel})
    context = {
        "params": params,
        "summary": summary,
        "cost_form": cost_form,
        "cost": wizard.cost_lines(channel=channel, reward=reward, assignments=summary.bundles),
        "design": state["design"],
    }
    return _page(request, "review", context)


@require_GET
@staff_required
def summary_state(request: HttpRequest, job: int) -> JsonResponse:
    """What the review page's progress bar polls while the counts are worked out."""
    found = get_object_or_404(Job, pk=job, kind=JobKind.SUMMARY)
    return JsonResponse(
        {
            "state": found.state,
            "progress": found.progress,
            "step": found.step,
            "error": found.error,
            "finished": found.finished,
        }
    )
