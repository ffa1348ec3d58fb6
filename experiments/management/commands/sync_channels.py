from django.core.management.base import BaseCommand, CommandError

from experiments.recruiters import sync_all
from experiments.selectors.lookup import experiment_by_ref


class Command(BaseCommand):
    help = "Sync an experiment on every channel (MTurk batches and assignments, Prolific submissions): read only."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")

    def handle(self, *args, **options):
        experiment = experiment_by_ref(options["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {options['experiment']!r}.")
        results = sync_all(experiment=experiment, actor="command line")
        for channel, summary in results.items():
            self.stdout.write(f"{channel}: {summary}")
        if any(summary.startswith("failed:") for summary in results.values()):
            raise CommandError("a channel could not be synced (above); the others were.")
