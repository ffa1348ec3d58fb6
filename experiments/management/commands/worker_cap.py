from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from experiments.selectors.lookup import experiment_by_ref
from experiments.services.caps import set_worker_cap


class Command(BaseCommand):
    help = "Cap how many bundles one worker may do in a study (--max N), or lift the cap (--none)."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        cap = parser.add_mutually_exclusive_group(required=True)
        cap.add_argument("--max", type=int, help="bundles per worker")
        cap.add_argument("--none", action="store_true", help="no cap")

    def handle(self, *args, **options):
        experiment = experiment_by_ref(options["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {options['experiment']!r}.")
        try:
            experiment = set_worker_cap(experiment=experiment, max_bundles=None if options["none"] else options["max"])
        except ValidationError as exc:
            raise CommandError("; ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
        cap = experiment.max_bundles_per_worker
        self.stdout.write(f"{experiment.slug}: " + (f"at most {cap} bundle(s) per worker" if cap else "no cap"))
