"""Staff: recruitment across channels -- MTurk batches (cost, cap, sandbox first, publish, sync, the review
queue with bulk approve/reject/bonus/un-reject), Prolific studies, panel links, and the problems workers
reported. Each view parses the form, calls the channel's selectors and services, and redirects with a message."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from experiments.bonus_rules import BonusRule, BonusRuleError
from experiments.models import Experiment
from experiments.selectors.bonus import bonus_preview, recent_experiments
from experiments.selectors.exclusion import group_list
from experiments.selectors.problems import problem_reports
from experiments.services import bonuses, problems
from mturk import selectors as mturk_selectors
from mturk.client import MTurkError
from mturk.models import AssignmentStatus
from mturk.safety import LiveModeNotConfirmed
from mturk.services import review_actions
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.publishing import PublishError, pay_check_for, publish_batch
from mturk.services.reconciliation import default_participant_source, sync_and_reconcile
from mturk.services.review import ReviewError
from recruitment import prolific_services
from recruitment import selectors as recruitment_selectors
from recruitment.models import ProlificStudy
from recruitment.prolific_client import ProlificError
from webapp.auth import staff_required

staff = staff_required
LIST_LIMIT = 100
REVIEW_ACTIONS = ("approve", "reject", "bonus", "pay", "unreject")
RULE_FIELDS = ("experiment", "flat_cents", "per_check_cents", "per_bundle_cents", "max_cents")
FAILURES = (MTurkError, ReviewError, SpendingCapExceeded, PublishError, LiveModeNotConfirmed, ValueError)


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


@require_GET
@staff
def recruitment(request: HttpRequest) -> HttpResponse:
    context = {
        "nav": "recruitment",
        "batches": mturk_selectors.batch_list()[:LIST_LIMIT],
        "prolific_studies": recruitment_selectors.prolific_study_list()[:LIST_LIMIT],
        "panel_links": recruitment_selectors.panel_link_list()[:LIST_LIMIT],
        "reports": problem_reports(limit=LIST_LIMIT),
        "groups": group_list()[:LIST_LIMIT],
    }
    return render(request, "workspace/recruitment.html", context)


@require_GET
@staff
def mturk_batch(request: HttpRequest, pk: int) -> HttpResponse:
    batch = mturk_selectors.get_batch(pk=pk)
    context = {
        "nav": "recruitment",
        "batch": batch,
        "progress": mturk_selectors.batch_progress(batch),
        "estimate": batch.cost_estimate(),
        "pay": pay_check_for(batch),
        "spending": mturk_selectors.spending(study=batch.study, mode=batch.mode),
        "to_review": mturk_selectors.review_queue(batch=batch, status=AssignmentStatus.SUBMITTED)[:LIST_LIMIT],
        "rejected": mturk_selectors.review_queue(batch=batch, status=AssignmentStatus.REJECTED)[:LIST_LIMIT],
        "actions": REVIEW_ACTIONS,
    }
    return render(request, "workspace/recruitment_batch.html", context)


@require_POST
@staff
def mturk_batch_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish (live needs the confirmation box) or sync the batch."""
    batch = mturk_selectors.get_batch(pk=pk)
    confirm = request.POST.get("confirm_live") == "yes"
    try:
        if request.POST.get("action") == "publish":
            mturk = open_mturk(mode=batch.mode, confirm_live=confirm, actor=_actor(request))
            report = publish_batch(batch=batch, mturk=mturk, confirm_live=confirm, actor=_actor(request))
            messages.success(
                request,
                f"{len(report.created)} HIT(s) created, {len(report.recovered)} recovered, "
                f"{report.already_published} already on MTurk.",
            )
        elif request.POST.get("action") == "sync":
            mturk = open_mturk(mode=batch.mode, confirm_live=True, actor=_actor(request))  # reading moves no money
            summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=[batch])
            messages.success(request, f"Synced: {summary.as_dict()}")
        else:
            messages.error(request, "Unknown action.")
    except FAILURES as exc:
        messages.error(request, str(exc))
    return redirect("workspace:recruitment_batch", pk=pk)


@require_POST
@staff
def mturk_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One decision for the selected assignments of this batch; every failure is reported, none stops the rest."""
    batch = mturk_selectors.get_batch(pk=pk)
    try:
        decision = review_actions.Decision(
            action=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
            feedback=request.POST.get("feedback", ""),
            amount=request.POST.get("amount") or None,
        )
        pks = [int(v) for v in request.POST.getlist("assignment") if v.isdigit()]
        selected = [a for a in review_actions.select_assignments(pks=pks) if a.hit.batch_id == batch.pk]
        if not selected:
            raise ReviewError("Select one or more assignments.")
        if decision.action not in REVIEW_ACTIONS:
            raise ReviewError(f"Unknown action {decision.action}.")
        result = review_actions.review_assignments(
            assignments=selected,
            decision=decision,
            confirm_live=request.POST.get("confirm_live") == "yes",
            actor=_actor(request),
        )
    except FAILURES as exc:
        messages.error(request, str(exc))
    else:
        summary = result.summary(review_actions.DONE[decision.action])
        (messages.error if result.failed else messages.success)(request, summary)
    return redirect("workspace:recruitment_batch", pk=pk)


@require_POST
@staff
def mturk_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Email the workers of the selected assignments through MTurk (NotifyWorkers)."""
    batch = mturk_selectors.get_batch(pk=pk)
    pks = [int(v) for v in request.POST.getlist("assignment") if v.isdigit()]
    selected = [a for a in review_actions.select_assignments(pks=pks) if a.hit.batch_id == batch.pk]
    try:
        failures = review_actions.message(
            mode=batch.mode,
            worker_ids=review_actions.workers_of(selected),
            subject=request.POST.get("subject", ""),
            text=request.POST.get("text", ""),
            confirm_live=True,  # a message moves no money
            actor=_actor(request),
        )
    except FAILURES as exc:
        messages.error(request, str(exc))
    else:
        reached = len(review_actions.workers_of(selected)) - len(failures)
        text = f"messaged {reached} worker(s)"
        if failures:
            messages.error(request, text + "; not reached: " + "; ".join(f"{w}: {why}" for w, why in failures[:5]))
        else:
            messages.success(request, text)
    return redirect("workspace:recruitment_batch", pk=pk)


@require_POST
@staff
def prolific_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish (checked against the cap and the pay floor), sync submissions, or push the blocklist."""
    study = get_object_or_404(ProlificStudy.objects.exclude(study_id=""), pk=pk)
    action = request.POST.get("action")
    try:
        with prolific_services.client() as api:
            if action == "publish":
                messages.success(request, f"Prolific: {prolific_services.publish(study=study, api=api).remote_status}")
            elif action == "sync":
                messages.success(
                    request, f"{prolific_services.sync_submissions(study=study, api=api)} submissions synced"
                )
            elif action == "blocklist":
                n = prolific_services.push_blocklist(study=study, api=api)
                messages.success(request, f"{n} participant(s) on the study's blocklist")
            else:
                messages.error(request, "Unknown action.")
    except ProlificError as exc:
        messages.error(request, str(exc))
    return redirect("workspace:recruitment_prolific", pk=pk)


@require_GET
@staff
def prolific_study(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(recruitment_selectors.prolific_study_list(), pk=pk)
    context = {
        "nav": "recruitment",
        "study": study,
        "pay": prolific_services.pay_check_for(study),
        "submissions": recruitment_selectors.submission_queue(study=study)[:LIST_LIMIT],
        "actions": prolific_services.REVIEW_ACTIONS,
    }
    return render(request, "workspace/recruitment_prolific.html", context)


@require_POST
@staff
def prolific_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, reject (with Prolific's 100-character reason) or ask to return the selected submissions."""
    study = get_object_or_404(ProlificStudy.objects.exclude(study_id=""), pk=pk)
    pks = [int(v) for v in request.POST.getlist("submission") if v.isdigit()]
    try:
        with prolific_services.client() as api:
            done, failed = prolific_services.review_submissions(
                study=study,
                submission_pks=pks,
                action=request.POST.get("action", ""),
                message=request.POST.get("message", ""),
                category=request.POST.get("category", ""),
                api=api,
            )
    except ProlificError as exc:
        messages.error(request, str(exc))
    else:
        text = f"{request.POST.get('action')}: {len(done)} done"
        if failed:
            messages.error(request, text + "; failed: " + "; ".join(f"{sid}: {why}" for sid, why in failed[:5]))
        else:
            messages.success(request, text)
    return redirect("workspace:recruitment_prolific", pk=pk)


def _bonus_rule(data) -> BonusRule:
    """The rule from a form's amounts in cents (blank is 0; a blank maximum is no maximum)."""

    def cents(name: str) -> int:
        value = (data.get(name) or "0").strip()
        if not value.isdigit():
            raise BonusRuleError(f"{name.replace('_', ' ')}: a whole number of cents, not {value!r}.")
        return int(value)

    maximum = (data.get("max_cents") or "").strip()
    return BonusRule(
        flat_cents=cents("flat_cents"),
        per_check_cents=cents("per_check_cents"),
        per_bundle_cents=cents("per_bundle_cents"),
        max_cents=cents("max_cents") if maximum else None,
    )


@require_GET
@staff
def bonus_rules(request: HttpRequest) -> HttpResponse:
    """Choose a rule and an experiment; see what each participant would get, per channel, before paying."""
    context = {
        "nav": "recruitment",
        "experiments": recent_experiments(limit=LIST_LIMIT),
        "form": request.GET,
    }
    slug = request.GET.get("experiment")
    if slug:
        experiment = get_object_or_404(Experiment, slug=slug)
        try:
            context["preview"] = bonus_preview(experiment=experiment, rule=_bonus_rule(request.GET))
        except BonusRuleError as exc:
            messages.error(request, str(exc))
        context["experiment"] = experiment
    return render(request, "workspace/recruitment_bonus.html", context)


@require_POST
@staff
def pay_bonus_rule(request: HttpRequest) -> HttpResponse:
    experiment = get_object_or_404(Experiment, slug=request.POST.get("experiment", ""))
    try:
        payment = bonuses.pay_bonus_rule(
            experiment=experiment,
            rule=_bonus_rule(request.POST),
            previewed_total_cents=int(request.POST.get("total_cents") or -1),
            reason=request.POST.get("reason", ""),
            actor=_actor(request),
            confirm_live=request.POST.get("confirm_live") == "yes",
        )
    except (BonusRuleError, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        text = f"Paid {payment.paid_cents / 100:.2f}."
        text += "".join(f" {ch}: {c / 100:.2f} to pay outside the platform." for ch, c in payment.outside.items())
        if payment.failed:
            failures = "; ".join(f"participant {pk}: {why}" for pk, why in payment.failed[:5])
            messages.error(request, f"{text} {len(payment.failed)} not paid (pay again to retry them): {failures}")
        else:
            messages.success(request, text)
    query = urlencode({k: request.POST.get(k, "") for k in RULE_FIELDS})
    return redirect(f"{reverse('workspace:recruitment_bonus')}?{query}")


@require_POST
@staff
def resolve_problems(request: HttpRequest) -> HttpResponse:
    pks = [int(v) for v in request.POST.getlist("report") if v.isdigit()]
    n = problems.resolve_reports(report_ids=pks, actor=_actor(request), note=request.POST.get("note", ""))
    messages.success(request, f"{n} report(s) resolved.")
    return redirect("workspace:recruitment")
