from decimal import Decimal

from rest_framework import serializers

from mturk.models import Discrepancy, HitBatch, MTurkAssignment, MTurkCall, MTurkStudy, ReviewSuggestion
from mturk.modes import Mode
from mturk.selectors import batch_progress, spending
from mturk.services.review_actions import API_ACTIONS, Decision


def validated(serializer_class: type[serializers.Serializer], data) -> dict:
    """The request body checked by ``serializer_class`` (a 400 naming each bad field otherwise)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def decision(action: str, data: dict) -> Decision:
    return Decision(action=action, reason=data["reason"], feedback=data["feedback"], amount=data.get("amount"))


class StudySerializer(serializers.ModelSerializer):
    spending = serializers.SerializerMethodField()

    class Meta:
        model = MTurkStudy
        fields = ["id", "name", "spending_cap", "spending", "created_at"]

    def get_spending(self, obj) -> dict:
        # Annotated by selectors.study_list: no query per row.
        return {mode.value: spending(study=obj, mode=mode).as_dict() for mode in Mode}


class BatchSerializer(serializers.ModelSerializer):
    estimate = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(choices=Mode.choices)  # required: no default marketplace

    class Meta:
        model = HitBatch
        fields = [
            "id", "study", "mode", "state", "task_url", "frame_height", "title", "description", "keywords",
            "reward", "assignment_duration_s", "auto_approval_delay_s", "lifetime_s", "n_assignments",
            "max_assignments_per_hit", "allow_ten_plus_assignments", "planned_bonus_per_assignment",
            "min_approval_rate", "min_approved_hits", "locales", "require_masters", "exclude_returning_workers",
            "hit_type_id", "live_confirmed_by", "live_confirmed_at", "created_at", "published_at",
            "estimate", "progress",
        ]  # fmt: skip
        read_only_fields = [
            "state", "hit_type_id", "live_confirmed_by", "live_confirmed_at", "created_at", "published_at"
        ]  # fmt: skip
        validators = []  # model constraints are checked by the service (full_clean) with clear messages

    def get_estimate(self, obj) -> dict:
        estimate = obj.cost_estimate()
        return {
            "n_hits": estimate.n_hits,
            "fee_tier": estimate.fee_tier,
            "rewards": str(estimate.rewards_total),
            "fees": str(estimate.fees_total),
            "bonuses": str(estimate.bonuses_total + estimate.bonus_fees_total),
            "total": str(estimate.total),
            "lines": estimate.lines(),
        }

    def get_progress(self, obj) -> dict:
        return batch_progress(obj)  # annotated by selectors.batch_list: no query per row


class AssignmentSerializer(serializers.ModelSerializer):
    hit_id = serializers.CharField(source="hit.hit_id")
    batch = serializers.IntegerField(source="hit.batch_id")
    mode = serializers.CharField(source="hit.batch.mode")
    bonuses = serializers.SerializerMethodField()

    class Meta:
        model = MTurkAssignment
        fields = [
            "assignment_id", "worker_id", "hit_id", "batch", "mode", "status", "accept_time", "submit_time",
            "approval_time", "rejection_time", "auto_approval_time", "requester_feedback", "bonuses",
        ]  # fmt: skip

    def get_bonuses(self, obj) -> list[dict]:
        return [{"amount": str(b.amount), "state": b.state, "error": b.error} for b in obj.bonuses.all()]


class ReviewActionSerializer(serializers.Serializer):
    feedback = serializers.CharField(required=False, allow_blank=True, default="", max_length=1024)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1024)
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, min_value=Decimal("0.01"))
    confirm_live = serializers.BooleanField(required=False, default=False)


class BulkActionSerializer(ReviewActionSerializer):
    action = serializers.ChoiceField(choices=sorted(API_ACTIONS))
    assignment_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=1000)


class BlockSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Mode.choices)
    worker_id = serializers.CharField(max_length=64)
    reason = serializers.CharField(max_length=1024)
    confirm_live = serializers.BooleanField(required=False, default=False)


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = MTurkCall
        fields = [
            "id", "started_at", "operation", "mode", "endpoint", "request", "response", "error_code", "error_message",
            "retry_attempts", "duration_ms", "study", "batch", "actor",
        ]  # fmt: skip


class DiscrepancySerializer(serializers.ModelSerializer):
    class Meta:
        model = Discrepancy
        fields = ["id", "batch", "kind", "worker_id", "assignment_id", "hit_id", "detail", "detected_at", "resolved_at"]


class SuggestionSerializer(serializers.ModelSerializer):
    assignment_id = serializers.CharField(source="assignment.assignment_id")
    worker_id = serializers.CharField(source="assignment.worker_id")

    class Meta:
        model = ReviewSuggestion
        fields = ["id", "assignment_id", "worker_id", "action", "reason", "rule", "state", "created_at", "decided_by"]


class SuggestRequestSerializer(serializers.Serializer):
    min_pass_rate = serializers.FloatField(min_value=0, max_value=1)


class ConfirmSuggestionsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=1000)
    confirmed = serializers.BooleanField(help_text="Must be true: the experimenter's explicit decision.")
    confirm_live = serializers.BooleanField(required=False, default=False)


class HitChangeSerializer(serializers.Serializer):
    hours = serializers.FloatField(required=False, min_value=0.1)
    number = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    confirm_live = serializers.BooleanField(required=False, default=False)
