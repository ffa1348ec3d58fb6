from django.core.management.base import BaseCommand, CommandError

from mturk import selectors
from mturk.modes import Mode
from mturk.services.reconciliation import default_participant_source, modes_to_sync, sync_and_reconcile

from ._common import client, user_errors


class Command(BaseCommand):
    help = "Sync HITs and assignments from MTurk (all pages) and reconcile them with our participants."

    def add_arguments(self, parser):
        parser.add_argument("--mode", choices=Mode.values, help="only this marketplace (default: every one in use)")
        parser.add_argument("--batch", type=int, help="only this batch")
        parser.add_argument("--confirm-live", action="store_true", help="required to read live MTurk")

    def handle(self, *args, **options):
        batches = None
        modes = [Mode(options["mode"])] if options["mode"] else modes_to_sync()
        if options["batch"]:
            batch = selectors.batch_or_none(options["batch"])
            if batch is None:
                raise CommandError(f"No batch {options['batch']}.")
            batches, modes = [batch], [Mode(batch.mode)]
        if not modes:
            self.stdout.write("Nothing published yet.")
            return
        for mode in modes:
            mturk = client(mode, options)
            with user_errors():
                summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=batches)
            data = summary.as_dict()
            self.stdout.write(
                f"{mode}: {data['hits_seen']} HIT(s) listed, {data['hits_updated']} updated, "
                f"{data['hits_adopted']} adopted; assignments {data['assignments_created']} new, "
                f"{data['assignments_updated']} updated"
            )
            for batch_pk, counts in data["batches"].items():
                details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v)
                self.stdout.write(f"  batch {batch_pk}: {details or 'no assignments yet'}")
        for discrepancy in selectors.discrepancy_list(open_only=True).reverse():
            self.stdout.write(
                self.style.WARNING(f"  ! {discrepancy} (batch {discrepancy.batch_id}) {discrepancy.detail}")
            )
