from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mturk import selectors
from mturk.modes import WORKER_SITES
from mturk.selectors import spending
from mturk.services.publishing import pay_check_for, publish_batch

from ._common import client, user_errors


class Command(BaseCommand):
    help = "Publish a HIT batch on MTurk. Safe to re-run: HITs already created are never created again."

    def add_arguments(self, parser):
        parser.add_argument("batch", type=int)
        parser.add_argument("--confirm-live", action="store_true", help="required for a live batch")
        parser.add_argument("--dry-run", action="store_true", help="show the estimate, balance and cap, then stop")

    def handle(self, *args, **options):
        batch = selectors.batch_or_none(options["batch"])
        if batch is None:
            raise CommandError(f"No batch {options['batch']}.")
        self.stdout.write(f"batch {batch.pk}: {batch.title!r} on {batch.mode.upper()} MTurk")
        for line in batch.cost_estimate().lines():
            self.stdout.write("  " + line)
        self.stdout.write("  " + spending(study=batch.study, mode=batch.mode).line())
        self.stdout.write(f"  pay check: {pay_check_for(batch).summary()}")
        mturk = client(batch.mode, options)
        with user_errors():
            balance = mturk.get_account_balance()
        self.stdout.write(f"  account balance ${balance.available}")
        if options["dry_run"]:
            return
        todo = selectors.hits_to_publish(batch)
        with tqdm(total=todo, unit="HIT", desc="publishing", disable=todo == 0) as bar, user_errors():
            report = publish_batch(
                batch=batch,
                mturk=mturk,
                confirm_live=options["confirm_live"],
                actor="command line",
                on_hit=lambda hit, outcome: bar.update(1),
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.created)} HIT(s) created, {len(report.recovered)} recovered from an earlier run, "
                f"{report.already_published} already published."
            )
        )
        self.stdout.write(f"Workers find it at {WORKER_SITES[batch.mode]} (HIT type {batch.hit_type_id}).")
