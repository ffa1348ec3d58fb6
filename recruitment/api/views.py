"""Staff-only JSON API for recruitment across channels (DRF default permission: IsAdminUser): problem reports,
bonus rules (preview, pay), per-worker caps and Prolific actions. Each view parses its input and calls one
selector or service."""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.bonus_rules import BonusRule, BonusRuleError
from experiments.models import Experiment
from experiments.selectors.bonus import bonus_preview
from experiments.selectors.problems import problem_reports_queryset
from experiments.services import problems
from experiments.services.bonuses import pay_bonus_rule
from experiments.services.caps import set_worker_cap
from recruitment import prolific_services
from recruitment.models import ProlificStudy
from recruitment.prolific_client import ProlificError
from webapp.schema import detail_response

from . import serializers as s

ERRORS = {code: detail_response(f"RecruitmentRefusal{code}") for code in (400, 404, 409, 502)}
PROLIFIC_ACTIONS = ("publish", "sync", "blocklist")


def translate_errors(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except prolific_services.SpendingCapExceeded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ProlificError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
        except (BonusRuleError, ValueError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)

    return wrapper


def _actor(request) -> str:
    return f"api: {request.user.username}"


def _rule(data: dict) -> tuple[Experiment, BonusRule]:
    experiment = get_object_or_404(Experiment, slug=data["experiment"])
    rule = BonusRule(
        flat_cents=data["flat_cents"],
        per_check_cents=data["per_check_cents"],
        per_bundle_cents=data["per_bundle_cents"],
        max_cents=data["max_cents"],
    )
    return experiment, rule


class ProblemReportList(generics.ListAPIView):
    """Problems workers reported from the worker page; open ones unless ``?all=1``; ``?experiment=<slug>``."""

    serializer_class = s.ProblemReportSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("experiment", str, description="an experiment's slug"),
            OpenApiParameter("all", bool, description="include resolved reports"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return problem_reports_queryset(
            experiment_slug=self.request.query_params.get("experiment") or None,
            open_only=self.request.query_params.get("all") not in ("1", "true"),
        )


class ResolveProblems(APIView):
    @extend_schema(request=s.ResolveSerializer, responses={200: s.ProlificActionSerializer, **ERRORS})
    def post(self, request):
        data = s.ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        n = problems.resolve_reports(
            report_ids=data.validated_data["reports"],
            actor=_actor(request),
            note=data.validated_data["note"],
        )
        return Response({"detail": f"{n} report(s) resolved."})


class BonusRulePreview(APIView):
    @extend_schema(request=s.BonusRuleSerializer, responses={200: s.BonusPreviewSerializer, **ERRORS})
    @translate_errors
    def post(self, request):
        data = s.BonusRuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment, rule = _rule(data.validated_data)
        preview = bonus_preview(experiment=experiment, rule=rule)
        preview_data = {
            "rule": preview.rule,
            "total_cents": preview.total_cents,
            "by_channel_dict": preview.by_channel(),
            "lines": preview.lines,
        }
        return Response(s.BonusPreviewSerializer(preview_data).data)


class BonusRulePay(APIView):
    @extend_schema(request=s.BonusPaySerializer, responses={200: s.BonusPaymentSerializer, **ERRORS})
    @translate_errors
    def post(self, request):
        data = s.BonusPaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment, rule = _rule(data.validated_data)
        payment = pay_bonus_rule(
            experiment=experiment,
            rule=rule,
            previewed_total_cents=data.validated_data["total_cents"],
            reason=data.validated_data["reason"],
            actor=_actor(request),
            confirm_live=data.validated_data["confirm_live"],
        )
        body = {
            "paid_cents": payment.paid_cents,
            "outside": payment.outside,
            "failed": [{"participant": pk, "error": why} for pk, why in payment.failed],
        }
        return Response(body, status=status.HTTP_207_MULTI_STATUS if payment.failed else status.HTTP_200_OK)


class WorkerCap(APIView):
    @extend_schema(request=s.WorkerCapSerializer, responses={200: s.WorkerCapSerializer, **ERRORS})
    @translate_errors
    def put(self, request, slug):
        experiment = get_object_or_404(Experiment, slug=slug)
        data = s.WorkerCapSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment = set_worker_cap(experiment=experiment, max_bundles=data.validated_data["max_bundles_per_worker"])
        return Response({"max_bundles_per_worker": experiment.max_bundles_per_worker})


class ProlificAction(APIView):
    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=PROLIFIC_ACTIONS)],
        responses={200: s.ProlificActionSerializer, **ERRORS},
    )
    @translate_errors
    def post(self, request, pk, action):
        if action not in PROLIFIC_ACTIONS:
            return Response({"detail": f"unknown action {action!r}"}, status=status.HTTP_404_NOT_FOUND)
        study = get_object_or_404(ProlificStudy.objects.exclude(study_id=""), pk=pk)
        with prolific_services.client() as api:
            if action == "publish":
                detail = f"study {study.study_id}: {prolific_services.publish(study=study, api=api).remote_status}"
            elif action == "sync":
                detail = f"{prolific_services.sync_submissions(study=study, api=api)} submissions synced"
            else:
                detail = f"{prolific_services.push_blocklist(study=study, api=api)} participant(s) on the blocklist"
        return Response({"detail": detail})
