"""Staff-only JSON API for publishing, monitoring and paying (DRF default permission: IsAdminUser).

Each view parses its input and calls one selector or service; querysets live in ``mturk.selectors``,
the review policy in ``mturk.services.review_actions``.
"""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, status
from rest_framework import serializers as fields
from rest_framework.response import Response
from rest_framework.views import APIView

from mturk import selectors
from mturk.client import MTurkError
from mturk.modes import Mode
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services import review_actions, suggestions
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.publishing import PublishError, create_batch, publish_batch
from mturk.services.reconciliation import default_participant_source, sync_and_reconcile
from mturk.services.review import ReviewError
from webapp.schema import detail_response

from . import serializers as s

ERRORS = {code: detail_response(f"MTurkRefusal{code}") for code in (400, 403, 404, 409, 502)}
CONFIRM = inline_serializer("ConfirmLive", {"confirm_live": fields.BooleanField(default=False)})


def _bulk_schema(name: str, ok: str, key: str, kind) -> dict:
    failed = inline_serializer(f"{name}Failure", {key: kind, "error": fields.CharField()})
    body = inline_serializer(name, {ok: fields.ListField(child=kind), "failed": failed.__class__(many=True)})
    return {200: body, 207: body, **ERRORS}


def translate_errors(view):
    """Service errors become clear JSON answers; nothing half-done is hidden behind a 500."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except review_actions.UnknownAssignments as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        except LiveModeNotConfirmed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except SpendingCapExceeded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        except (UnsafeTaskURL, ReviewError, ValueError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except (PublishError, MTurkError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)

    return wrapper


def _actor(request) -> str:
    return f"api: {request.user.username}"


class BalanceView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("mode", str, enum=["sandbox", "live"], required=True),
            OpenApiParameter("confirm_live", bool),
        ],
        responses={
            200: inline_serializer(
                "Balance",
                {
                    "mode": fields.CharField(),
                    "available": fields.CharField(),
                    "on_hold": fields.CharField(allow_null=True),
                },
            ),
            **ERRORS,
        },
    )
    @translate_errors
    def get(self, request):
        mode = Mode(request.query_params.get("mode", ""))  # ValueError -> 400: say which marketplace
        confirm = request.query_params.get("confirm_live") in {"1", "true"}
        balance = open_mturk(mode=mode, confirm_live=confirm, actor=_actor(request)).get_account_balance()
        on_hold = str(balance.on_hold) if balance.on_hold is not None else None
        return Response({"mode": mode, "available": str(balance.available), "on_hold": on_hold})


class StudyList(generics.ListCreateAPIView):
    serializer_class = s.StudySerializer

    def get_queryset(self):
        return selectors.study_list()


class StudyDetail(generics.RetrieveUpdateAPIView):
    serializer_class = s.StudySerializer

    def get_queryset(self):
        return selectors.study_list()


class BatchList(generics.ListCreateAPIView):
    serializer_class = s.BatchSerializer

    def get_queryset(self):
        return selectors.batch_list()

    @translate_errors
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = create_batch(created_by=_actor(request), **serializer.validated_data)
        return Response(self.get_serializer(selectors.get_batch(pk=batch.pk)).data, status=status.HTTP_201_CREATED)


class BatchDetail(generics.RetrieveAPIView):
    serializer_class = s.BatchSerializer

    def get_queryset(self):
        return selectors.batch_list()


class BatchPublish(APIView):
    @extend_schema(
        request=CONFIRM,
        responses={
            200: inline_serializer(
                "PublishReport",
                {
                    "created": fields.ListField(child=fields.CharField()),
                    "recovered": fields.ListField(child=fields.CharField()),
                    "already_published": fields.BooleanField(),
                    "batch": s.BatchSerializer(),
                },
            ),
            **ERRORS,
        },
    )
    @translate_errors
    def post(self, request, pk):
        batch = selectors.get_batch(pk=pk)
        confirm = bool(request.data.get("confirm_live", False))
        mturk = open_mturk(mode=batch.mode, confirm_live=confirm, actor=_actor(request))
        report = publish_batch(batch=batch, mturk=mturk, confirm_live=confirm, actor=_actor(request))
        return Response(
            {
                "created": [h.hit_id for h in report.created],
                "recovered": [h.hit_id for h in report.recovered],
                "already_published": report.already_published,
                "batch": s.BatchSerializer(selectors.get_batch(pk=pk)).data,
            }
        )


class BatchSync(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, **ERRORS})
    @translate_errors
    def post(self, request, pk):
        batch = selectors.get_batch(pk=pk)
        mturk = open_mturk(mode=batch.mode, confirm_live=True, actor=_actor(request))  # reading moves no money
        summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=[batch])
        return Response(summary.as_dict())


class AssignmentList(generics.ListAPIView):
    serializer_class = s.AssignmentSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.assignment_list(batch_id=params.get("batch"), status=params.get("status"))


def _bulk_answer(result, *, ok: str, key: str, ident) -> Response:
    return Response(
        {
            ok: [ident(item) for item in result.succeeded],
            "failed": [{key: ident(i), "error": e} for i, e in result.failed],
        },
        status=status.HTTP_207_MULTI_STATUS if result.failed else status.HTTP_200_OK,
    )


class AssignmentAction(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=sorted(review_actions.API_ACTIONS))],
        request=s.ReviewActionSerializer,
        responses={200: s.AssignmentSerializer, **ERRORS},
    )
    @translate_errors
    def post(self, request, assignment_id, action):
        if action not in review_actions.API_ACTIONS:
            return Response({"detail": f"Unknown action {action!r}."}, status=status.HTTP_404_NOT_FOUND)
        assignment = selectors.get_assignment(assignment_id=assignment_id)
        data = s.validated(s.ReviewActionSerializer, request.data)
        review_actions.review_one(
            assignment=assignment, decision=s.decision(action, data), confirm_live=data["confirm_live"],
            actor=_actor(request),
        )  # fmt: skip
        return Response(s.AssignmentSerializer(selectors.get_assignment(assignment_id=assignment_id)).data)


class AssignmentBulk(APIView):
    @extend_schema(
        request=s.BulkActionSerializer,
        responses=_bulk_schema("BulkReview", "succeeded", "assignment_id", fields.CharField()),
    )
    @translate_errors
    def post(self, request):
        data = s.validated(s.BulkActionSerializer, request.data)
        assignments = review_actions.select_assignments(assignment_ids=data["assignment_ids"])
        result = review_actions.review_assignments(
            assignments=assignments, decision=s.decision(data["action"], data), confirm_live=data["confirm_live"],
            actor=_actor(request),
        )  # fmt: skip
        return _bulk_answer(result, ok="succeeded", key="assignment_id", ident=lambda a: a.assignment_id)


class WorkerBlockView(APIView):
    @extend_schema(
        request=s.BlockSerializer,
        responses={
            200: inline_serializer(
                "Block", {"worker_id": fields.CharField(), "mode": fields.CharField(), "state": fields.CharField()}
            ),
            **ERRORS,
        },
    )
    @translate_errors
    def post(self, request):
        data = s.validated(s.BlockSerializer, request.data)
        block = review_actions.block(actor=_actor(request), **data)
        return Response({"worker_id": block.worker_id, "mode": block.mode, "state": block.state})


class CallList(generics.ListAPIView):
    serializer_class = s.CallSerializer

    def get_queryset(self):
        return selectors.call_list()


class DiscrepancyList(generics.ListAPIView):
    serializer_class = s.DiscrepancySerializer

    def get_queryset(self):
        return selectors.discrepancy_list(open_only=self.request.query_params.get("open") in {"1", "true"})


class SuggestionList(generics.ListAPIView):
    serializer_class = s.SuggestionSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.suggestion_list(batch_id=params.get("batch"), state=params.get("state"))


class BatchSuggest(APIView):
    """Run the attention-check rule: records pending suggestions, sends nothing to MTurk."""

    @extend_schema(request=s.SuggestRequestSerializer, responses={201: s.SuggestionSerializer(many=True), **ERRORS})
    @translate_errors
    def post(self, request, pk):
        data = s.validated(s.SuggestRequestSerializer, request.data)
        created = suggestions.suggest_for_batch(batch=selectors.get_batch(pk=pk), min_pass_rate=data["min_pass_rate"])
        return Response(s.SuggestionSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class ConfirmSuggestions(APIView):
    @extend_schema(
        request=s.ConfirmSuggestionsSerializer,
        responses=_bulk_schema("ConfirmedSuggestions", "confirmed", "id", fields.IntegerField()),
    )
    @translate_errors
    def post(self, request):
        data = s.validated(s.ConfirmSuggestionsSerializer, request.data)
        result = review_actions.confirm_suggestions(
            items=selectors.pending_suggestions(pks=data["ids"]), confirmed=data["confirmed"],
            confirm_live=data["confirm_live"], actor=_actor(request),
        )  # fmt: skip
        return _bulk_answer(result, ok="confirmed", key="id", ident=lambda item: item.pk)


class HitChange(APIView):
    """Expire, extend (``hours``) or add assignments (``number``, under the spending cap) to one HIT."""

    @extend_schema(
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=sorted(review_actions.HIT_ACTIONS))],
        request=s.HitChangeSerializer,
        responses={
            200: inline_serializer(
                "HitChanged",
                {
                    "hit_id": fields.CharField(),
                    "max_assignments": fields.IntegerField(),
                    "expiration": fields.DateTimeField(),
                },
            ),
            **ERRORS,
        },
    )
    @translate_errors
    def post(self, request, hit_id, action):
        if action not in review_actions.HIT_ACTIONS:
            return Response({"detail": f"Unknown action {action!r}."}, status=status.HTTP_404_NOT_FOUND)
        hit = selectors.get_hit(hit_id=hit_id)
        data = s.validated(s.HitChangeSerializer, request.data)
        change = review_actions.HitChange(action=action, hours=data.get("hours"), number=data.get("number"))
        review_actions.change_hit(hit=hit, change=change, confirm_live=data["confirm_live"], actor=_actor(request))
        hit = selectors.get_hit(hit_id=hit_id)
        return Response({"hit_id": hit.hit_id, "max_assignments": hit.max_assignments, "expiration": hit.expiration})
