"""Staff-only JSON API for publishing, monitoring and paying (DRF default permission: IsAdminUser)."""

from __future__ import annotations

import datetime as dt
import functools

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from mturk.client import MTurkError
from mturk.models import Discrepancy, Hit, HitBatch, MTurkAssignment, MTurkCall, MTurkStudy, ReviewSuggestion
from mturk.modes import Mode
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services import hits as hit_changes
from mturk.services import review, suggestions
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.publishing import PublishError, create_batch, publish_batch
from mturk.services.reconciliation import default_participant_source, sync_and_reconcile

from . import serializers as s


def translate_errors(view):
    """Service errors become clear JSON answers; nothing half-done is hidden behind a 500."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except LiveModeNotConfirmed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except SpendingCapExceeded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        except (UnsafeTaskURL, review.ReviewError, ValueError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except (PublishError, MTurkError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)

    return wrapper


def _actor(request) -> str:
    return f"api: {request.user.username}"


class BalanceView(APIView):
    @translate_errors
    def get(self, request):
        mode = Mode(request.query_params.get("mode", ""))  # ValueError -> 400: say which marketplace
        confirm = request.query_params.get("confirm_live") in {"1", "true"}
        balance = open_mturk(mode=mode, confirm_live=confirm, actor=_actor(request)).get_account_balance()
        on_hold = str(balance.on_hold) if balance.on_hold is not None else None
        return Response({"mode": mode, "available": str(balance.available), "on_hold": on_hold})


class StudyList(generics.ListCreateAPIView):
    queryset = MTurkStudy.objects.all()
    serializer_class = s.StudySerializer


class StudyDetail(generics.RetrieveUpdateAPIView):
    queryset = MTurkStudy.objects.all()
    serializer_class = s.StudySerializer


class BatchList(generics.ListCreateAPIView):
    queryset = HitBatch.objects.select_related("study")
    serializer_class = s.BatchSerializer

    @translate_errors
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        batch = create_batch(created_by=_actor(request), **data)
        return Response(self.get_serializer(batch).data, status=status.HTTP_201_CREATED)


class BatchDetail(generics.RetrieveAPIView):
    queryset = HitBatch.objects.select_related("study")
    serializer_class = s.BatchSerializer


class BatchPublish(APIView):
    @translate_errors
    def post(self, request, pk):
        batch = get_object_or_404(HitBatch, pk=pk)
        confirm = bool(request.data.get("confirm_live", False))
        mturk = open_mturk(mode=batch.mode, confirm_live=confirm, actor=_actor(request))
        report = publish_batch(batch=batch, mturk=mturk, confirm_live=confirm, actor=_actor(request))
        batch.refresh_from_db()
        return Response(
            {
                "created": [h.hit_id for h in report.created],
                "recovered": [h.hit_id for h in report.recovered],
                "already_published": report.already_published,
                "batch": s.BatchSerializer(batch).data,
            }
        )


class BatchSync(APIView):
    @translate_errors
    def post(self, request, pk):
        batch = get_object_or_404(HitBatch, pk=pk)
        mturk = open_mturk(mode=batch.mode, confirm_live=True, actor=_actor(request))  # reading moves no money
        summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=[batch])
        return Response(summary.as_dict())


class AssignmentList(generics.ListAPIView):
    serializer_class = s.AssignmentSerializer

    def get_queryset(self):
        queryset = MTurkAssignment.objects.select_related("hit__batch").prefetch_related("bonuses")
        if batch := self.request.query_params.get("batch"):
            queryset = queryset.filter(hit__batch_id=batch)
        if status_ := self.request.query_params.get("status"):
            queryset = queryset.filter(status=status_)
        return queryset


REVIEW_ACTIONS = {"approve", "reject", "bonus", "pay"}


def _act(action: str, assignment: MTurkAssignment, mturk, data: dict, actor: str):
    if action == "approve":
        return review.approve(assignment=assignment, mturk=mturk, feedback=data["feedback"], actor=actor)
    if action == "reject":
        return review.reject(assignment=assignment, mturk=mturk, reason=data["reason"], actor=actor)
    if action == "bonus":
        if data.get("amount") is None:
            raise review.ReviewError("A bonus needs an amount.")
        return review.send_bonus(
            assignment=assignment, mturk=mturk, amount=data["amount"], reason=data["reason"], actor=actor
        )
    return review.pay(
        assignment=assignment,
        mturk=mturk,
        bonus=data.get("amount"),
        bonus_reason=data["reason"],
        feedback=data["feedback"],
        actor=actor,
    )


class AssignmentAction(APIView):
    @translate_errors
    def post(self, request, assignment_id, action):
        if action not in REVIEW_ACTIONS:
            return Response({"detail": f"Unknown action {action!r}."}, status=status.HTTP_404_NOT_FOUND)
        assignment = get_object_or_404(
            MTurkAssignment.objects.select_related("hit__batch"), assignment_id=assignment_id
        )
        serializer = s.ReviewActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mturk = open_mturk(mode=assignment.hit.batch.mode, confirm_live=data["confirm_live"], actor=_actor(request))
        _act(action, assignment, mturk, data, _actor(request))
        assignment.refresh_from_db()
        return Response(s.AssignmentSerializer(assignment).data)


class AssignmentBulk(APIView):
    @translate_errors
    def post(self, request):
        serializer = s.BulkActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        found = MTurkAssignment.objects.select_related("hit__batch").filter(assignment_id__in=data["assignment_ids"])
        by_id = {a.assignment_id: a for a in found}
        assignments = [by_id[i] for i in dict.fromkeys(data["assignment_ids"]) if i in by_id]  # request order
        missing = set(data["assignment_ids"]) - {a.assignment_id for a in assignments}
        if missing:
            return Response({"detail": f"Unknown assignment ids: {sorted(missing)}"}, status=status.HTTP_404_NOT_FOUND)
        modes = {a.hit.batch.mode for a in assignments}
        if len(modes) != 1:
            raise ValueError("The selection mixes sandbox and live assignments; send them separately.")
        mturk = open_mturk(mode=modes.pop(), confirm_live=data["confirm_live"], actor=_actor(request))
        result = review.bulk(assignments, lambda a: _act(data["action"], a, mturk, data, _actor(request)))
        return Response(
            {
                "succeeded": [a.assignment_id for a in result.succeeded],
                "failed": [{"assignment_id": a.assignment_id, "error": error} for a, error in result.failed],
            },
            status=status.HTTP_207_MULTI_STATUS if result.failed else status.HTTP_200_OK,
        )


class WorkerBlockView(APIView):
    @translate_errors
    def post(self, request):
        serializer = s.BlockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mturk = open_mturk(mode=data["mode"], confirm_live=data["confirm_live"], actor=_actor(request))
        block = review.block_worker(
            mode=data["mode"], worker_id=data["worker_id"], reason=data["reason"], mturk=mturk, actor=_actor(request)
        )
        return Response({"worker_id": block.worker_id, "mode": block.mode, "state": block.state})


class CallList(generics.ListAPIView):
    queryset = MTurkCall.objects.all()
    serializer_class = s.CallSerializer


class DiscrepancyList(generics.ListAPIView):
    serializer_class = s.DiscrepancySerializer

    def get_queryset(self):
        queryset = Discrepancy.objects.all()
        if self.request.query_params.get("open") in {"1", "true"}:
            queryset = queryset.filter(resolved_at__isnull=True)
        return queryset


class SuggestionList(generics.ListAPIView):
    serializer_class = s.SuggestionSerializer

    def get_queryset(self):
        queryset = ReviewSuggestion.objects.select_related("assignment")
        if batch := self.request.query_params.get("batch"):
            queryset = queryset.filter(assignment__hit__batch_id=batch)
        if state := self.request.query_params.get("state"):
            queryset = queryset.filter(state=state)
        return queryset


class BatchSuggest(APIView):
    """Run the attention-check rule: records pending suggestions, sends nothing to MTurk."""

    @translate_errors
    def post(self, request, pk):
        batch = get_object_or_404(HitBatch, pk=pk)
        serializer = s.SuggestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = suggestions.suggest_for_batch(batch=batch, min_pass_rate=serializer.validated_data["min_pass_rate"])
        return Response(s.SuggestionSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class ConfirmSuggestions(APIView):
    @translate_errors
    def post(self, request):
        serializer = s.ConfirmSuggestionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        items = list(
            ReviewSuggestion.objects.select_related("assignment__hit__batch").filter(
                pk__in=data["ids"], state=ReviewSuggestion.State.PENDING
            )
        )
        modes = {item.assignment.hit.batch.mode for item in items}
        if len(modes) != 1:
            raise ValueError("Select pending suggestions of one marketplace.")
        mturk = open_mturk(mode=modes.pop(), confirm_live=data["confirm_live"], actor=_actor(request))
        result = suggestions.confirm(suggestions=items, mturk=mturk, actor=_actor(request), confirmed=data["confirmed"])
        return Response(
            {
                "confirmed": [item.pk for item in result.succeeded],
                "failed": [{"id": item.pk, "error": error} for item, error in result.failed],
            },
            status=status.HTTP_207_MULTI_STATUS if result.failed else status.HTTP_200_OK,
        )


class HitChange(APIView):
    """Expire, extend (``hours``) or add assignments (``number``, under the spending cap) to one HIT."""

    @translate_errors
    def post(self, request, hit_id, action):
        if action not in {"expire", "extend", "add"}:
            return Response({"detail": f"Unknown action {action!r}."}, status=status.HTTP_404_NOT_FOUND)
        hit = get_object_or_404(Hit.objects.select_related("batch__study"), hit_id=hit_id)
        serializer = s.HitChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mturk = open_mturk(mode=hit.batch.mode, confirm_live=data["confirm_live"], actor=_actor(request))
        if action == "expire":
            hit_changes.expire_hit(hit=hit, mturk=mturk, actor=_actor(request))
        elif action == "extend":
            if not data.get("hours"):
                raise ValueError("extend needs hours.")
            until = timezone.now() + dt.timedelta(hours=data["hours"])
            hit_changes.extend_hit(hit=hit, mturk=mturk, until=until, actor=_actor(request))
        else:
            if not data.get("number"):
                raise ValueError("add needs number.")
            hit_changes.add_assignments(hit=hit, mturk=mturk, number=data["number"], actor=_actor(request))
        hit.refresh_from_db()
        return Response({"hit_id": hit.hit_id, "max_assignments": hit.max_assignments, "expiration": hit.expiration})
