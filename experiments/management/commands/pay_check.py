from django.core.management.base import BaseCommand, CommandError

from experiments.selectors.lookup import experiment_by_ref
from experiments.selectors.pay import pay_check


class Command(BaseCommand):
    help = "The effective hourly pay of a reward: median time on task (or an estimate) against the floor."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--reward-cents", type=int, required=True, help="what one session pays, cents")
        parser.add_argument("--minutes", type=float, default=None, help="estimated minutes, before anyone finished")

    def handle(self, *args, **options):
        experiment = experiment_by_ref(options["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {options['experiment']!r}.")
        check = pay_check(
            experiment=experiment, reward_cents=options["reward_cents"], estimated_minutes=options["minutes"]
        )
        self.stdout.write(check.summary())
        if check.blocking:
            raise CommandError("below the pay floor (MVFIT_PAY_FLOOR_BLOCKS is on): raise the reward.")
