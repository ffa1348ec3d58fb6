from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from experiments.selectors.lookup import experiment_by_ref
from recruitment import prolific


class Command(BaseCommand):
    help = (
        "Print the study URL to give Prolific for an experiment; with --study-id and --completion-code, "
        "register the Prolific study so that its participants can enter."
    )

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="scheme://host[:port] of the site")
        parser.add_argument("--study-id", default="", help="the study's id on Prolific (24 hex digits)")
        parser.add_argument("--completion-code", default="", help="the study's COMPLETED code on Prolific")
        parser.add_argument("--screened-out-code", default="", help="its SCREENED_OUT code (optional)")
        parser.add_argument(
            "--failed-attention-code",
            default="",
            help="its FAILED_ATTENTION_CHECK code (optional; below 80 %% correct)",
        )

    def handle(self, *args, **options):
        experiment = experiment_by_ref(options["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {options['experiment']!r}.")
        url = options["base_url"].rstrip("/") + reverse("recruitment:prolific_entry", args=[experiment.slug])
        self.stdout.write(f"study URL for Prolific: {url}?{prolific.study_url_parameters()}")
        if not options["study_id"]:
            return
        try:
            study = prolific.register_study(
                experiment=experiment,
                study_id=options["study_id"],
                completion_code=options["completion_code"],
                screened_out_code=options["screened_out_code"],
                failed_attention_code=options["failed_attention_code"],
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from None
        self.stdout.write(f"registered Prolific study {study.study_id} (completion code {study.completion_code})")
