"""Staff-only REST API (DRF default permission: IsAdminUser). Thin: validate, call a service."""

from __future__ import annotations

import os

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as fields
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from experiments.api import serializers
from experiments.design.config import DesignError
from experiments.models import Experiment
from experiments.selectors import experiments as selectors
from experiments.selectors.progress import experiment_progress
from experiments.services import allocation, designs, lifecycle, participants
from experiments.services.export import export_zip
from webapp.schema import detail_response

DESIGN_CHANGE = {200: serializers.ExperimentSerializer, 409: detail_response("DesignConflict")}


def _shown(experiment: Experiment) -> dict:
    """An experiment a service returned, serialized with the list's counts."""
    return serializers.ExperimentSerializer(selectors.experiment_with_counts(experiment.pk)).data


class ExperimentListCreate(ListAPIView):
    serializer_class = serializers.ExperimentSerializer

    def get_queryset(self):
        return selectors.experiments_with_counts()

    @extend_schema(request=serializers.ExperimentCreateSerializer, responses={201: serializers.ExperimentSerializer})
    def post(self, request: Request) -> Response:
        data = serializers.ExperimentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            experiment = designs.create_experiment(created_by=request.user, **data.validated_data)
        except DesignError as exc:
            raise ValidationError({"design": [str(exc)]}) from exc
        return Response(_shown(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetail(RetrieveAPIView):
    serializer_class = serializers.ExperimentSerializer

    def get_queryset(self):
        return selectors.experiments_with_counts()


def _design_call(fn, **kwargs) -> Response:
    try:
        experiment = fn(**kwargs)
    except DesignError as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(_shown(experiment))


@extend_schema(request=None, responses=DESIGN_CHANGE, summary="Plan the design again from its stored seed")
@api_view(["POST"])
def regenerate_design(request: Request, pk: int) -> Response:
    return _design_call(designs.generate_design, experiment=get_object_or_404(Experiment, pk=pk))


@extend_schema(request=serializers.OpenRequestSerializer, responses=DESIGN_CHANGE, summary="Open for workers")
@api_view(["POST"])
def open_experiment(request: Request, pk: int) -> Response:
    data = serializers.OpenRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return _design_call(
        lifecycle.open_experiment, experiment=get_object_or_404(Experiment, pk=pk), **data.validated_data
    )


@extend_schema(request=None, responses=DESIGN_CHANGE, summary="Close: no new work is handed out")
@api_view(["POST"])
def close_experiment(request: Request, pk: int) -> Response:
    return _design_call(lifecycle.close_experiment, experiment=get_object_or_404(Experiment, pk=pk))


@extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Progress: items, bundles, participants, answers")
@api_view(["GET"])
def progress(request: Request, pk: int) -> Response:
    return Response(experiment_progress(get_object_or_404(Experiment, pk=pk)))


@extend_schema(
    request=serializers.InviteRequestSerializer,
    responses={201: inline_serializer("InviteLinks", {"links": fields.ListField(child=fields.URLField())})},
    summary="Make single-use invite links",
)
@api_view(["POST"])
def invites(request: Request, pk: int) -> Response:
    experiment = get_object_or_404(Experiment, pk=pk)
    data = serializers.InviteRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    links = participants.create_invite_links(experiment=experiment, **data.validated_data)
    return Response(
        {"links": [request.build_absolute_uri(reverse("experiments:invite", args=[token])) for _, token in links]},
        status=status.HTTP_201_CREATED,
    )


@extend_schema(
    request=None,
    responses={200: inline_serializer("Released", {"released": fields.IntegerField()})},
    summary="Put the bundles of abandoned assignments back on offer",
)
@api_view(["POST"])
def release_abandoned(request: Request) -> Response:
    return Response({"released": allocation.release_abandoned_assignments()})


@extend_schema(
    parameters=[
        OpenApiParameter("experiment", int, many=True, required=True, description="experiment id(s), repeated"),
        OpenApiParameter("include_incomplete", bool, description="also answers of unfinished assignments"),
    ],
    responses={
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="docs/export-format.md, zipped"),
        400: OpenApiTypes.OBJECT,
    },
    summary="Download the export (zip)",
)
@api_view(["GET"])
def export(request: Request) -> FileResponse:
    """GET /api/experiments/export?experiment=3&experiment=4[&include_incomplete=1] -> zip."""
    ids = request.query_params.getlist("experiment")
    if not ids or not all(i.isdigit() for i in ids):
        raise ValidationError({"experiment": ["give one or more experiment ids: ?experiment=3&experiment=4"]})
    experiments, missing = selectors.experiments_by_ids(ids)
    if missing:
        raise ValidationError({"experiment": [f"no experiment with id(s) {missing}"]})
    include = request.query_params.get("include_incomplete") in ("1", "true", "yes")
    path = export_zip(experiments=experiments, include_incomplete=include)
    handle = path.open("rb")
    os.unlink(path)  # the open handle keeps the data readable until the response is sent
    slugs = "+".join(e.slug for e in experiments)
    return FileResponse(
        handle, as_attachment=True, filename=f"mvfit-export-{slugs}.zip", content_type="application/zip"
    )
