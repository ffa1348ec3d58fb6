from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from experiments.models import Experiment
from experiments.services.participants import create_invite_links


class Command(BaseCommand):
    help = "Print single-use signed invite links for an experiment (off-MTurk participants)."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="scheme://host[:port] of the site")
        parser.add_argument("--note", default="")

    def handle(self, *args, **options):
        ref = options["experiment"]
        experiment = Experiment.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {ref!r}.")
        try:
            links = create_invite_links(experiment=experiment, count=options["count"], note=options["note"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        base = options["base_url"].rstrip("/")
        for _, token in links:
            self.stdout.write(base + reverse("experiments:invite", args=[token]))
