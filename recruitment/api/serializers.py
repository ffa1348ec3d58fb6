"""Serializers of the recruitment API: problem reports, bonus rules, worker caps, Prolific actions."""

from __future__ import annotations

from rest_framework import serializers

from experiments.models import ProblemReport


class ProblemReportSerializer(serializers.ModelSerializer):
    experiment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    channel = serializers.CharField(source="participant.source", read_only=True)

    class Meta:
        model = ProblemReport
        fields = [
            "id", "experiment", "participant", "channel", "position", "category", "text",
            "created_at", "resolved_at", "resolved_by", "staff_note",
        ]  # fmt: skip
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    reports = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class BonusRuleSerializer(serializers.Serializer):
    experiment = serializers.SlugField()
    flat_cents = serializers.IntegerField(min_value=0, default=0)
    per_check_cents = serializers.IntegerField(min_value=0, default=0)
    per_bundle_cents = serializers.IntegerField(min_value=0, default=0)
    max_cents = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class BonusPaySerializer(BonusRuleSerializer):
    total_cents = serializers.IntegerField(min_value=0, help_text="The total the preview showed.")
    reason = serializers.CharField(max_length=1024)
    confirm_live = serializers.BooleanField(default=False)


class BonusLineSerializer(serializers.Serializer):
    participant = serializers.IntegerField(source="participant.pk")
    channel = serializers.CharField()
    completed_bundles = serializers.IntegerField()
    correct_checks = serializers.IntegerField()
    cents = serializers.IntegerField()
    paid_here = serializers.BooleanField()


class BonusPreviewSerializer(serializers.Serializer):
    rule = serializers.CharField(source="rule.describe")
    total_cents = serializers.IntegerField()
    by_channel = serializers.DictField(child=serializers.IntegerField(), source="by_channel_dict")
    lines = BonusLineSerializer(many=True)


class FailureSerializer(serializers.Serializer):
    participant = serializers.IntegerField()
    error = serializers.CharField()


class BonusPaymentSerializer(serializers.Serializer):
    paid_cents = serializers.IntegerField()
    outside = serializers.DictField(child=serializers.IntegerField())
    failed = FailureSerializer(many=True)


class WorkerCapSerializer(serializers.Serializer):
    max_bundles_per_worker = serializers.IntegerField(min_value=1, allow_null=True)


class ProlificActionSerializer(serializers.Serializer):
    detail = serializers.CharField()
