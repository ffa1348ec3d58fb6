from rest_framework import serializers

from experiments.models import Experiment, ExperimentKind


class ExperimentCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=80)
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ExperimentKind.choices)
    config = serializers.JSONField()
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62)
    judgments_per_item = serializers.IntegerField(default=9, min_value=1, max_value=1000)
    trials_per_assignment = serializers.IntegerField(default=50, min_value=1, max_value=10000)
    catch_trials_per_assignment = serializers.IntegerField(default=1, min_value=0, max_value=100)
    abandon_after_s = serializers.IntegerField(default=1800, min_value=60)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    consent_text = serializers.CharField(required=False, allow_blank=True, default="")


class ExperimentSerializer(serializers.ModelSerializer):
    """An experiment as annotated by ``experiments.selectors.experiments`` (no per-row queries)."""

    n_items = serializers.IntegerField(read_only=True)
    n_bundles = serializers.IntegerField(read_only=True)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "slug",
            "title",
            "kind",
            "status",
            "seed",
            "config",
            "judgments_per_item",
            "trials_per_assignment",
            "catch_trials_per_assignment",
            "abandon_after_s",
            "instructions",
            "consent_text",
            "created_at",
            "designed_at",
            "opened_at",
            "closed_at",
            "n_items",
            "n_bundles",
        ]
        read_only_fields = fields


class InviteRequestSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=10000)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class OpenRequestSerializer(serializers.Serializer):
    allow_unrendered = serializers.BooleanField(default=False)
