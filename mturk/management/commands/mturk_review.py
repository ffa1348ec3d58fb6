from django.core.management.base import BaseCommand, CommandError

from mturk import selectors
from mturk.services import review_actions, suggestions
from mturk.services.review_actions import Decision

from ._common import user_errors

ACTOR = "command line"


class Command(BaseCommand):
    help = (
        "Review and pay submitted assignments: approve, reject (reason required), bonus, pay (bonus then approve) "
        "or block a worker. Select assignments by id, or every submitted one of a batch. 'suggest' lists "
        "rejections a rule proposes (attention checks below --min-pass-rate); 'confirm-suggestions' carries out "
        "the batch's pending ones -- nothing is rejected before that."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action",
            choices=[
                "approve",
                "reject",
                "bonus",
                "pay",
                "unreject",
                "block",
                "message",
                "suggest",
                "confirm-suggestions",
            ],
        )
        parser.add_argument("--min-pass-rate", type=float, default=0.8, help="suggest: attention-check threshold")
        parser.add_argument("--assignment", action="append", default=[], help="MTurk assignment id (repeatable)")
        parser.add_argument("--batch", type=int, help="every Submitted assignment of this batch")
        parser.add_argument("--worker", action="append", default=[], help="worker id (block; message, repeatable)")
        parser.add_argument("--mode", choices=["sandbox", "live"], help="marketplace (block, message by worker)")
        parser.add_argument("--subject", default="", help="message: the email's subject")
        parser.add_argument("--text", default="", help="message: the email's text")
        parser.add_argument("--reason", default="", help="shown to the worker (reject, bonus, block)")
        parser.add_argument("--amount", help="bonus in USD (bonus; pay: bonus, then approve)")
        parser.add_argument("--feedback", default="", help="optional note to the worker when approving")
        parser.add_argument("--confirm-live", action="store_true", help="required for live assignments")

    def handle(self, *args, **options):
        action, batch = options["action"], selectors.batch_or_none(options["batch"])
        if options["batch"] and batch is None:
            raise CommandError(f"No batch {options['batch']}.")
        with user_errors():
            if action == "block":
                return self._block(options)
            if action == "message":
                return self._message(batch, options)
            if action in {"suggest", "confirm-suggestions"}:
                return self._suggestions(action, batch, options)
            decision = Decision(
                action=action, reason=options["reason"], feedback=options["feedback"], amount=options["amount"]
            )
            assignments = review_actions.select_assignments(assignment_ids=options["assignment"], batch=batch)
            if not assignments:
                return self.stdout.write("No assignments to review.")
            result = review_actions.review_assignments(
                assignments=assignments, decision=decision, confirm_live=options["confirm_live"], actor=ACTOR
            )
        self._report(result, review_actions.DONE[decision.action])

    def _report(self, result, verb: str) -> None:
        if result.failed:
            raise CommandError(result.summary(verb))
        self.stdout.write(self.style.SUCCESS(result.summary(verb)))

    def _block(self, options) -> None:
        if len(options["worker"]) != 1 or not options["mode"]:
            raise CommandError("block needs one --worker and --mode.")
        block = review_actions.block(
            mode=options["mode"], worker_id=options["worker"][0], reason=options["reason"],
            confirm_live=options["confirm_live"], actor=ACTOR,
        )  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"blocked {block.worker_id} on {block.mode}"))

    def _message(self, batch, options) -> None:
        """Email the given workers, or every worker of the selected assignments (by id or batch)."""
        workers, mode = options["worker"], options["mode"]
        if not workers:
            assignments = review_actions.select_assignments(
                assignment_ids=options["assignment"], batch=batch, all_statuses=True
            )
            workers = review_actions.workers_of(assignments)
            mode = review_actions.one_marketplace(assignments, mode_of=review_actions.assignment_mode)
        if not mode:
            raise CommandError("message to --worker needs --mode.")
        failures = review_actions.message(
            mode=mode, worker_ids=workers, subject=options["subject"], text=options["text"],
            confirm_live=options["confirm_live"], actor=ACTOR,
        )  # fmt: skip
        for worker_id, why in failures:
            self.stderr.write(f"  not sent to {worker_id}: {why}")
        self.stdout.write(self.style.SUCCESS(f"messaged {len(set(workers)) - len(failures)} worker(s)"))

    def _suggestions(self, action, batch, options) -> None:
        if batch is None:
            raise CommandError(f"{action} needs --batch with an existing batch.")
        if action == "confirm-suggestions":
            result = review_actions.confirm_suggestions(
                items=selectors.pending_suggestions(batch=batch), confirmed=True,
                confirm_live=options["confirm_live"], actor=ACTOR,
            )  # fmt: skip
            return self._report(result, "rejected")
        suggestions.suggest_for_batch(batch=batch, min_pass_rate=options["min_pass_rate"])
        pending = selectors.pending_suggestions(batch=batch)
        for suggestion in pending:
            assignment = suggestion.assignment
            self.stdout.write(f"  reject {assignment.assignment_id} ({assignment.worker_id}): {suggestion.reason}")
        self.stdout.write(
            f"{len(pending)} pending suggestion(s); carry them out with: "
            f"python manage.py mturk_review confirm-suggestions --batch {batch.pk}"
        )
