from collections.abc import Callable
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from mturk import selectors
from mturk.models import HitBatch
from mturk.services.experiments import create_batch_for_experiment
from mturk.services.publishing import create_batch, pay_check_for

from ._common import dollars, user_errors


class Command(BaseCommand):
    help = (
        "Create a draft HIT batch and print its cost estimate (nothing is sent to MTurk yet). Either for an "
        "experiment (--experiment SLUG: frames its MTurk entry page, one assignment per open bundle) or for any "
        "page (--study NAME --task-url URL)."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--experiment", help="experiment slug")
        target.add_argument("--study", help="study name (see mturk_study), with --task-url")
        parser.add_argument("--cap", type=dollars, help="spending cap in USD (creates the experiment's MTurk study)")
        parser.add_argument("--mode", choices=["sandbox", "live"], required=True)
        parser.add_argument("--task-url", help="the worker page MTurk will frame (HTTPS for live); with --study")
        parser.add_argument("--title", default="", help="default: the experiment's title")
        parser.add_argument("--description", default="", help="default: a sentence about the experiment")
        parser.add_argument("--keywords", default="music, video, rating")
        parser.add_argument("--reward", required=True, type=dollars, help="USD per assignment, e.g. 1.50")
        parser.add_argument(
            "--assignments", type=int, help="worker assignments in total (default for an experiment: open bundles)"
        )
        parser.add_argument("--per-hit", type=int, default=9, help="assignments per HIT (>9 needs --allow-ten-plus)")
        parser.add_argument("--allow-ten-plus", action="store_true", help="accept MTurk's 40 %% fee tier")
        parser.add_argument("--bonus", type=dollars, default=Decimal("0.00"), help="planned bonus per assignment")
        parser.add_argument("--approval-rate", type=int, help="minimum approval rate in percent")
        parser.add_argument("--approved-hits", type=int, help="minimum number of approved HITs")
        parser.add_argument("--locale", action="append", default=[], help="e.g. US or US-NY (repeatable)")
        parser.add_argument("--masters", action="store_true", help="require Masters (adds 5 %% fee)")
        parser.add_argument("--allow-returning", action="store_true", help="do not exclude workers who took part")
        parser.add_argument("--duration", type=int, default=3600, help="seconds a worker has per assignment")
        parser.add_argument("--lifetime", type=int, default=7 * 24 * 3600, help="seconds the HITs stay available")
        parser.add_argument("--auto-approve", type=int, default=3 * 24 * 3600, help="seconds until auto-approval")
        parser.add_argument("--minutes", type=int, help="expected minutes per assignment (the fair-pay check)")
        parser.add_argument("--frame-height", type=int, default=800, help="pixels, 0 = whole window")

    def handle(self, *args, **options):
        create, target = self._target(options)
        with user_errors():
            batch = create(**target, **self._settings(options))
        self.stdout.write(self.style.SUCCESS(f"batch {batch.pk} ({batch.mode}, draft)"))
        for line in batch.cost_estimate().lines():
            self.stdout.write("  " + line)
        self.stdout.write(f"  pay check: {pay_check_for(batch).summary()}")
        flag = " --confirm-live" if batch.mode == "live" else ""
        self.stdout.write(f"publish with: python manage.py mturk_publish {batch.pk}{flag}")

    def _target(self, options) -> tuple[Callable[..., HitBatch], dict]:
        """The experiment's batch (sized by its open bundles) or any page's batch in an existing study."""
        common = {
            "title": options["title"],
            "description": options["description"],
            "n_assignments": options["assignments"],
        }
        if options["experiment"]:
            if (experiment := selectors.experiment_by_slug(options["experiment"])) is None:
                raise CommandError(f"No experiment {options['experiment']!r}.")
            return create_batch_for_experiment, {**common, "experiment": experiment, "spending_cap": options["cap"]}
        if (study := selectors.study_named(options["study"])) is None:
            raise CommandError(f"No study {options['study']!r}: create it first with mturk_study --cap.")
        missing = [flag for flag in ("task_url", "title", "description", "assignments") if not options[flag]]
        if missing:
            raise CommandError("With --study, also give " + ", ".join("--" + m.replace("_", "-") for m in missing))
        return create_batch, {**common, "study": study, "task_url": options["task_url"]}

    @staticmethod
    def _settings(options) -> dict:
        return {
            "mode": options["mode"], "keywords": options["keywords"], "reward": options["reward"],
            "created_by": "command line", "max_assignments_per_hit": options["per_hit"],
            "allow_ten_plus_assignments": options["allow_ten_plus"],
            "planned_bonus_per_assignment": options["bonus"], "min_approval_rate": options["approval_rate"],
            "min_approved_hits": options["approved_hits"], "locales": options["locale"],
            "require_masters": options["masters"], "exclude_returning_workers": not options["allow_returning"],
            "assignment_duration_s": options["duration"], "lifetime_s": options["lifetime"],
            "auto_approval_delay_s": options["auto_approve"], "frame_height": options["frame_height"],
            "estimated_minutes": options["minutes"],
        }  # fmt: skip
