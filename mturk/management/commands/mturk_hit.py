import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mturk.models import Hit
from mturk.services.hits import add_assignments, expire_hit, extend_hit

from ._common import client, user_errors


class Command(BaseCommand):
    help = "Change a published HIT: expire it now, extend its lifetime, or add assignments (costs money)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["expire", "extend", "add"])
        parser.add_argument("hit", help="MTurk HIT id")
        parser.add_argument("--hours", type=float, help="extend: new expiration this many hours from now")
        parser.add_argument("--number", type=int, help="add: how many assignments")
        parser.add_argument("--confirm-live", action="store_true", help="required for live HITs")

    def handle(self, *args, **options):
        hit = Hit.objects.select_related("batch__study").filter(hit_id=options["hit"]).first()
        if hit is None:
            raise CommandError(f"No HIT {options['hit']} in our database.")
        mturk = client(hit.batch.mode, options)
        with user_errors():
            if options["action"] == "expire":
                expire_hit(hit=hit, mturk=mturk, actor="command line")
                self.stdout.write(self.style.SUCCESS(f"HIT {hit.hit_id} expired"))
            elif options["action"] == "extend":
                if not options["hours"]:
                    raise CommandError("extend needs --hours.")
                until = timezone.now() + dt.timedelta(hours=options["hours"])
                extend_hit(hit=hit, mturk=mturk, until=until, actor="command line")
                self.stdout.write(self.style.SUCCESS(f"HIT {hit.hit_id} now expires {until:%Y-%m-%d %H:%M} UTC"))
            else:
                if not options["number"]:
                    raise CommandError("add needs --number.")
                add_assignments(hit=hit, mturk=mturk, number=options["number"], actor="command line")
                self.stdout.write(
                    self.style.SUCCESS(
                        f"HIT {hit.hit_id} now has {hit.max_assignments + options['number']} assignments"
                    )
                )
