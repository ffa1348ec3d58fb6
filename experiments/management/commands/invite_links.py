from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.urls import reverse

from experiments.selectors.lookup import experiment_by_ref
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
        experiment = experiment_by_ref(ref)
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {ref!r}.")
        base = options["base_url"].rstrip("/")
        try:
            URLValidator(schemes=["http", "https"])(base)
        except ValidationError:
            raise CommandError(f"--base-url must look like https://host[:port], not {options['base_url']!r}.") from None
        try:
            links = create_invite_links(experiment=experiment, count=options["count"], note=options["note"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for _, token in links:
            self.stdout.write(base + reverse("experiments:invite", args=[token]))
