from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from mturk.models import MTurkStudy
from mturk.modes import Mode
from mturk.selectors import spending

from ._common import dollars

CENT = Decimal("0.01")


class Command(BaseCommand):
    help = "Create an MTurk study (or change its spending cap) and show what it has spent."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--cap", type=dollars, help="spending cap in USD per marketplace (required when creating)")

    def handle(self, *args, **options):
        study = MTurkStudy.objects.filter(name=options["name"]).first()
        if study is None:
            if options["cap"] is None:
                raise CommandError(f"No study {options['name']!r} yet: create it with --cap <USD>.")
            study = MTurkStudy.objects.create(name=options["name"], spending_cap=options["cap"].quantize(CENT))
            self.stdout.write(self.style.SUCCESS(f"created study {study.pk}: {study.name}"))
        elif options["cap"] is not None:
            study.spending_cap = options["cap"].quantize(CENT)
            study.save(update_fields=["spending_cap"])
            self.stdout.write(f"spending cap of {study.name!r} set to ${study.spending_cap}")
        for mode in Mode:
            self.stdout.write(spending(study=study, mode=mode).line())
