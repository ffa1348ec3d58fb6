"""REST API of the stimulus library (staff only: ``IsAdminUser``).

* ``POST /api/library/imports/`` ``{"source": "folder"|"manifest", "path": ..., "kind"?, "label"?, ...}``
  imports a server-side folder or manifest (inside ``MVFIT_IMPORT_ROOTS``) in a Celery task; answers 202
  with the batch (poll ``GET /api/library/imports/<id>/``; it is finished at once in eager mode).
* ``POST /api/library/uploads/`` multipart ``file``, ``kind``, ``label`` (+ ``title``, ``license``,
  ``attribution``, ``source_url``): 201 imported, 200 duplicate, 400 rejected (with the reason), 413 a
  body over ``MVFIT_MAX_UPLOAD_MB`` (refused before it is read: ``annotation.uploads``).
* ``GET /api/library/imports/`` and ``/api/library/imports/<id>/``: batches with per-file outcomes.
* ``GET /api/library/progress/``: library counts, pairings per render state.
"""

from __future__ import annotations

from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.import_roots import NOT_ALLOWED, PathNotAllowed, allowed_path, configured_roots
from annotation.links import validate_http_url
from annotation.manifests import ManifestError
from annotation.media import MediaKind
from annotation.models import ImportBatch, ImportItem
from annotation.services import imports, scheduling
from annotation.uploads import guard_upload

KIND_CHOICES = [k.value for k in MediaKind]


class ImportItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportItem
        fields = ["id", "path", "kind", "outcome", "reason", "sha256", "video", "track"]


class ImportBatchSerializer(serializers.ModelSerializer):
    items = ImportItemSerializer(many=True, read_only=True)
    finished = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "source",
            "location",
            "created_at",
            "finished_at",
            "finished",
            "error",
            "n_imported",
            "n_duplicate",
            "n_rejected",
            "items",
        ]

    def get_finished(self, batch: ImportBatch) -> bool:
        return batch.finished_at is not None


class ServerImportSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=[ImportBatch.Source.FOLDER, ImportBatch.Source.MANIFEST])
    path = serializers.CharField(max_length=1000)
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False, help_text="folder only; default inferred")
    label = serializers.CharField(max_length=100, required=False, help_text="folder only; default sub-folder name")
    license = serializers.CharField(max_length=120, required=False, default="")
    attribution = serializers.CharField(required=False, default="")

    def validate_path(self, value: str) -> str:
        roots = configured_roots()
        try:
            return str(allowed_path(value, roots=roots))
        except PathNotAllowed:
            raise serializers.ValidationError(
                f"{NOT_ALLOWED} (the import roots: {', '.join(roots)}; set MVFIT_IMPORT_ROOTS to allow more)"
            ) from None

    def validate(self, attrs: dict) -> dict:
        path = Path(attrs["path"])
        if attrs["source"] == ImportBatch.Source.FOLDER and not path.is_dir():
            raise serializers.ValidationError({"path": "a folder import needs a folder"})
        if attrs["source"] == ImportBatch.Source.MANIFEST and not path.is_file():
            raise serializers.ValidationError({"path": "a manifest import needs a CSV file"})
        return attrs


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    label = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=300, required=False, default="")
    license = serializers.CharField(max_length=120, required=False, default="")
    attribution = serializers.CharField(required=False, default="")
    source_url = serializers.URLField(
        max_length=500, required=False, default="", validators=[validate_http_url], help_text="http(s) only"
    )


class ImportBatchDetail(generics.RetrieveAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = ImportBatchSerializer

    def get_queryset(self):
        return selectors.import_batches()


class ImportBatches(generics.ListAPIView):
    """GET: import batches, newest first. POST: import a server-side folder or manifest."""

    permission_classes = [IsAdminUser]
    serializer_class = ImportBatchSerializer

    def get_queryset(self):
        return selectors.import_batches()

    @extend_schema(request=ServerImportSerializer, responses={202: ImportBatchSerializer, 400: OpenApiTypes.OBJECT})
    def post(self, request):
        serializer = ServerImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = (
            {k: data.get(k) for k in ("kind", "label", "license", "attribution")}
            if data["source"] == ImportBatch.Source.FOLDER
            else {}
        )
        try:
            batch = scheduling.queue_import_batch(
                source=data["source"], location=Path(data["path"]), user=request.user, options=options
            )
        except (ManifestError, NotADirectoryError, PathNotAllowed) as exc:
            return Response({"path": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class Upload(APIView):
    permission_classes = [IsAdminUser]
    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        guard_upload(request, file_limit=imports.max_file_bytes())  # before anything reads the body
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: ImportItemSerializer,
            200: ImportItemSerializer,
            400: ImportItemSerializer,
            413: OpenApiTypes.OBJECT,
        },
        description="201: imported; 200: a duplicate of a file already in the library; 400: rejected (``detail`` says why).",
    )
    def post(self, request):
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        item = imports.import_upload(uploaded=data.pop("file"), user=request.user, **data)
        code = {
            ImportItem.Outcome.IMPORTED: status.HTTP_201_CREATED,
            ImportItem.Outcome.DUPLICATE: status.HTTP_200_OK,
            ImportItem.Outcome.REJECTED: status.HTTP_400_BAD_REQUEST,
        }[item.outcome]
        body = ImportItemSerializer(item).data
        if item.outcome == ImportItem.Outcome.REJECTED:
            body["detail"] = f"{item.batch.location} was rejected: {item.reason}"
        return Response(body, status=code)


class Progress(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, summary="Library counts: videos, tracks, clips, excerpts, pairings"
    )
    def get(self, request):
        return Response(selectors.library_summary())
