from django.core.management.base import BaseCommand

from mturk.modes import Mode
from mturk.selectors import spending
from mturk.services.studies import save_study

from ._common import dollars, user_errors


class Command(BaseCommand):
    help = "Create an MTurk study (or change its spending cap) and show what it has spent."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--cap", type=dollars, help="spending cap in USD per marketplace (required when creating)")

    def handle(self, *args, **options):
        with user_errors():
            study, created = save_study(name=options["name"], spending_cap=options["cap"])
        if created:
            self.stdout.write(self.style.SUCCESS(f"created study {study.pk}: {study.name}"))
        elif options["cap"] is not None:
            self.stdout.write(f"spending cap of {study.name!r} set to ${study.spending_cap}")
        for mode in Mode:
            self.stdout.write(spending(study=study, mode=mode).line())
