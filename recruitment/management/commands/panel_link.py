from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from experiments.selectors.lookup import experiment_by_ref
from recruitment.services import create_panel_link


class Command(BaseCommand):
    help = "Create a reusable panel link for an experiment and print it (with the panel's id parameter)."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--slug", required=True, help="the link's public path: /r/<slug>/")
        parser.add_argument("--completion-url", required=True, help="where finishers go; {code}, {pid} filled in")
        parser.add_argument("--screened-out-url", default="", help="where screened-out workers go")
        parser.add_argument("--id-parameter", default="pid", help="the query parameter carrying the panel's id")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="scheme://host[:port] of the site")

    def handle(self, *args, **options):
        experiment = experiment_by_ref(options["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {options['experiment']!r}.")
        try:
            link = create_panel_link(
                experiment=experiment,
                slug=options["slug"],
                completion_url=options["completion_url"],
                screened_out_url=options["screened_out_url"],
                id_parameter=options["id_parameter"],
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from None
        url = options["base_url"].rstrip("/") + reverse("recruitment:panel_entry", args=[link.slug])
        self.stdout.write(f"{url}?{link.id_parameter}=<the panel's participant id>")
        self.stdout.write(f"completion code {link.completion_code}, screened-out code {link.screened_out_code}")
