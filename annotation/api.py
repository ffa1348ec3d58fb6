"""REST API of the stimulus library (staff only: ``IsAdminUser``).

* ``POST /api/library/imports/`` ``{"source": "folder"|"manifest", "path": ..., "kind"?, "label"?, ...}``
  imports a server-side folder or manifest (inside ``MVFIT_IMPORT_ROOTS``) in a Celery task; answers 202
  with the batch (poll ``GET /api/library/imports/<id>/``; it is finished at once in eager mode).
* ``POST /api/library/uploads/`` multipart ``file``, ``kind``, ``label`` (+ ``title``, ``license``,
  ``attribution``, ``source_url``): 201 imported, 200 duplicate, 400 rejected (with the reason), 413 a
  body over ``MVFIT_MAX_UPLOAD_MB`` (refused before it is read: ``annotation.uploads``).
* ``GET /api/library/imports/`` and ``/api/library/imports/<id>/``: batches with per-file outcomes.
* ``GET /api/library/progress/``: library counts, pairings per render state.
* ``GET /api/library/montages/`` (``?song=&kind=&state=``, paginated) and ``POST`` (a model's montage of a
  song + baselines, queued for workers: 201 with the montages); ``GET /api/library/montages/<id>/`` (state,
  progress, the video's URL once ready), ``.../<id>/provenance/`` (segment -> clip JSON), ``POST
  .../<id>/retry/`` (a failed one). docs/montage.md, "Montages in the platform".
"""

from __future__ import annotations

from pathlib import Path

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from annotation.models import ImportBatch, ImportItem, Montage, MontageKind, MusicTrack, RenderState
from annotation.services import imports, scheduling
from annotation.services.montages import DEFAULT_FPS, DEFAULT_SEGMENTS, MontageOptions, MontageRequestError
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


# --- montages (docs/montage.md) ---------------------------------------------------------------------

BASELINES = [MontageKind.RANDOM.value, MontageKind.ANTI.value, MontageKind.ORIGINAL.value]


class MontageSerializer(serializers.ModelSerializer):
    song_title = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField(help_text="The montage's video; null until it is ready.")
    has_provenance = serializers.SerializerMethodField()

    class Meta:
        model = Montage
        fields = [
            "id",
            "song",
            "song_title",
            "kind",
            "strategy",
            "model",
            "segments",
            "seed",
            "constraints",
            "state",
            "progress",
            "step",
            "error",
            "attempts",
            "video_url",
            "has_provenance",
            "provenance_sha256",
            "n_segments",
            "duration_s",
            "mean_distance",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_song_title(self, montage: Montage) -> str:
        return montage.song.title or montage.song.original_name

    def get_video_url(self, montage: Montage) -> str | None:
        return montage.file.url if montage.state == RenderState.READY and montage.file else None

    def get_has_provenance(self, montage: Montage) -> bool:
        return montage.state == RenderState.READY and montage.provenance is not None


class MontageFilterSerializer(serializers.Serializer):
    song = serializers.IntegerField(required=False, min_value=1)
    kind = serializers.ChoiceField(choices=MontageKind.choices, required=False)
    state = serializers.ChoiceField(choices=RenderState.choices, required=False)


class MontageRequestSerializer(serializers.Serializer):
    """A model's montage of a song and its baselines (the options of ``MontageOptions``)."""

    song = serializers.PrimaryKeyRelatedField(queryset=MusicTrack.objects.all())
    model = serializers.CharField(max_length=200, help_text="NAME@VERSION of a published retrieval model")
    segments = serializers.CharField(max_length=60, default=DEFAULT_SEGMENTS, help_text="beats:N, fixed:S, foote, flux")
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**63 - 1)
    no_reuse = serializers.BooleanField(default=True)
    no_same_source = serializers.BooleanField(default=False)
    continuity_bonus = serializers.FloatField(default=0.0)
    min_segment_s = serializers.FloatField(default=0.5)
    max_segment_s = serializers.FloatField(default=4.0)
    fps = serializers.IntegerField(default=DEFAULT_FPS)
    baselines = serializers.ListField(
        child=serializers.ChoiceField(choices=BASELINES),
        default=BASELINES,
        help_text="R (random clips), anti (farthest clips), G (the song's own music video, when it has one)",
    )

    def options(self) -> MontageOptions:
        data = self.validated_data
        return MontageOptions(**{k: data[k] for k in MontageOptions.__dataclass_fields__})


class Montages(generics.ListAPIView):
    """GET: montages, by song, kind and model (filters ``song``, ``kind``, ``state``). POST: request some."""

    permission_classes = [IsAdminUser]
    serializer_class = MontageSerializer

    def get_queryset(self):
        filters = MontageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.montages(**filters.validated_data)

    @extend_schema(
        parameters=[
            OpenApiParameter("song", int, description="a music track's id"),
            OpenApiParameter("kind", str, enum=MontageKind.values),
            OpenApiParameter("state", str, enum=RenderState.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=MontageRequestSerializer,
        responses={201: MontageSerializer(many=True), 400: OpenApiTypes.OBJECT},
        description="The model's montage (S) and the baselines asked for, existing ones as they are; new or "
        "failed ones are queued for the workers. 400: a bad field, or a request that cannot be built "
        "(``detail`` says why).",
    )
    def post(self, request):
        serializer = MontageRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rows = scheduling.request_montages(
                song=serializer.validated_data["song"],
                model=serializer.validated_data["model"],
                options=serializer.options(),
                baselines=serializer.validated_data["baselines"],
                user=request.user,
            )
        except MontageRequestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MontageSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class MontageDetail(generics.RetrieveAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = MontageSerializer

    def get_queryset(self):
        return selectors.montages()


class MontageProvenance(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        summary="A ready montage's provenance (format mvfit-montage)",
        description="Per segment: the song span, the clip, its source video and time range, the model "
        "distance. 404 for a montage that is not ready, and for G (the song's own video has none).",
    )
    def get(self, request, pk: int):
        montage = get_object_or_404(Montage, pk=pk)
        if montage.state != RenderState.READY or montage.provenance is None:
            why = (
                "the song's own music video (G) has no provenance"
                if montage.kind == MontageKind.ORIGINAL
                else (f"montage {montage.pk} is {montage.state}: its provenance exists once it is ready")
            )
            return Response({"detail": why}, status=status.HTTP_404_NOT_FOUND)
        return Response(montage.provenance)


class MontageRetry(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={202: MontageSerializer, 409: OpenApiTypes.OBJECT},
        description="Queue a failed montage again (202); 409 when it has not failed.",
    )
    def post(self, request, pk: int):
        montage = get_object_or_404(Montage, pk=pk)
        try:
            montage = scheduling.retry_montage(montage=montage)
        except MontageRequestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            MontageSerializer(selectors.montages().get(pk=montage.pk)).data, status=status.HTTP_202_ACCEPTED
        )
