from django.core.management.base import BaseCommand, CommandError

from mturk.models import AssignmentStatus, HitBatch, MTurkAssignment, ReviewSuggestion
from mturk.services import review, suggestions

from ._common import client, user_errors


class Command(BaseCommand):
    help = (
        "Review and pay submitted assignments: approve, reject (reason required), bonus, pay (bonus then approve) "
        "or block a worker. Select assignments by id, or every submitted one of a batch. 'suggest' lists "
        "rejections a rule proposes (attention checks below --min-pass-rate); 'confirm-suggestions' carries out "
        "the batch's pending ones -- nothing is rejected before that."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action", choices=["approve", "reject", "bonus", "pay", "block", "suggest", "confirm-suggestions"]
        )
        parser.add_argument("--min-pass-rate", type=float, default=0.8, help="suggest: attention-check threshold")
        parser.add_argument("--assignment", action="append", default=[], help="MTurk assignment id (repeatable)")
        parser.add_argument("--batch", type=int, help="every Submitted assignment of this batch")
        parser.add_argument("--worker", help="worker id (block)")
        parser.add_argument("--mode", choices=["sandbox", "live"], help="marketplace (block)")
        parser.add_argument("--reason", default="", help="shown to the worker (reject, bonus, block)")
        parser.add_argument("--amount", help="bonus in USD (bonus, pay)")
        parser.add_argument("--feedback", default="", help="optional note to the worker when approving")
        parser.add_argument("--confirm-live", action="store_true", help="required for live assignments")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "block":
            if not (options["worker"] and options["mode"]):
                raise CommandError("block needs --worker and --mode.")
            mturk = client(options["mode"], options)
            with user_errors():
                block = review.block_worker(
                    mode=options["mode"],
                    worker_id=options["worker"],
                    reason=options["reason"],
                    mturk=mturk,
                    actor="command line",
                )
            self.stdout.write(self.style.SUCCESS(f"blocked {block.worker_id} on {block.mode}"))
            return

        if action in {"suggest", "confirm-suggestions"}:
            return self._suggestions(action, options)

        assignments = MTurkAssignment.objects.select_related("hit__batch")
        if options["assignment"]:
            assignments = assignments.filter(assignment_id__in=options["assignment"])
            missing = set(options["assignment"]) - set(assignments.values_list("assignment_id", flat=True))
            if missing:
                raise CommandError(f"Unknown assignment id(s): {', '.join(sorted(missing))}. Run mturk_sync first?")
        elif options["batch"]:
            if not HitBatch.objects.filter(pk=options["batch"]).exists():
                raise CommandError(f"No batch {options['batch']}.")
            assignments = assignments.filter(hit__batch_id=options["batch"], status=AssignmentStatus.SUBMITTED)
        else:
            raise CommandError("Select assignments with --assignment or --batch.")
        assignments = list(assignments)
        modes = {a.hit.batch.mode for a in assignments}
        if len(modes) > 1:
            raise CommandError("The selection mixes sandbox and live assignments; review them separately.")
        if not assignments:
            self.stdout.write("No assignments to review.")
            return
        mturk = client(modes.pop(), options)
        if action in {"bonus", "pay"} and not options["amount"]:
            raise CommandError(f"{action} needs --amount.")

        def act(assignment):
            if action == "approve":
                return review.approve(
                    assignment=assignment, mturk=mturk, feedback=options["feedback"], actor="command line"
                )
            if action == "reject":
                return review.reject(assignment=assignment, mturk=mturk, reason=options["reason"], actor="command line")
            if action == "bonus":
                return review.send_bonus(
                    assignment=assignment,
                    mturk=mturk,
                    amount=options["amount"],
                    reason=options["reason"],
                    actor="command line",
                )
            return review.pay(
                assignment=assignment,
                mturk=mturk,
                bonus=options["amount"],
                bonus_reason=options["reason"],
                feedback=options["feedback"],
                actor="command line",
            )

        with user_errors():
            result = review.bulk(assignments, act)
        message = result.summary(
            {"approve": "approved", "reject": "rejected", "bonus": "bonused", "pay": "paid"}[action]
        )
        if result.failed:
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(message))

    def _suggestions(self, action, options):
        batch = HitBatch.objects.filter(pk=options["batch"]).first() if options["batch"] else None
        if batch is None:
            raise CommandError(f"{action} needs --batch with an existing batch.")
        if action == "suggest":
            with user_errors():
                suggestions.suggest_for_batch(batch=batch, min_pass_rate=options["min_pass_rate"])
        pending = list(
            ReviewSuggestion.objects.filter(assignment__hit__batch=batch, state=ReviewSuggestion.State.PENDING)
            .select_related("assignment")
            .order_by("pk")
        )
        if action == "suggest":
            for suggestion in pending:
                self.stdout.write(
                    f"  reject {suggestion.assignment.assignment_id} ({suggestion.assignment.worker_id}): {suggestion.reason}"
                )
            self.stdout.write(
                f"{len(pending)} pending suggestion(s); carry them out with: "
                f"python manage.py mturk_review confirm-suggestions --batch {batch.pk}"
            )
            return
        mturk = client(batch.mode, options)
        with user_errors():
            result = suggestions.confirm(suggestions=pending, mturk=mturk, actor="command line", confirmed=True)
        message = result.summary("rejected")
        if result.failed:
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(message))
