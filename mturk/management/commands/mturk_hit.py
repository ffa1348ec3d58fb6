from django.core.management.base import BaseCommand, CommandError

from mturk import selectors
from mturk.services import review_actions
from mturk.services.review_actions import HitChange

from ._common import user_errors


class Command(BaseCommand):
    help = "Change a published HIT: expire it now, extend its lifetime, or add assignments (costs money)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["expire", "extend", "add"])
        parser.add_argument("hit", help="MTurk HIT id")
        parser.add_argument("--hours", type=float, help="extend: new expiration this many hours from now")
        parser.add_argument("--number", type=int, help="add: how many assignments")
        parser.add_argument("--confirm-live", action="store_true", help="required for live HITs")

    def handle(self, *args, **options):
        hit = selectors.hit_or_none(options["hit"])
        if hit is None:
            raise CommandError(f"No HIT {options['hit']} in our database.")
        action, hours, number = options["action"], options["hours"], options["number"]
        with user_errors():
            change = HitChange(action=action, hours=hours, number=number)
            review_actions.change_hit(
                hit=hit, change=change, confirm_live=options["confirm_live"], actor="command line"
            )
        hit = selectors.hit_or_none(options["hit"])
        done = {
            "expire": "expired",
            "extend": f"now expires {hit.expiration:%Y-%m-%d %H:%M} UTC" if hit.expiration else "extended",
            "add": f"now has {hit.max_assignments} assignments",
        }[action]
        self.stdout.write(self.style.SUCCESS(f"HIT {hit.hit_id} {done}"))
