from django.core.management.base import BaseCommand

from ._common import add_mode_arguments, client, user_errors


class Command(BaseCommand):
    help = "Show the MTurk account balance (sandbox balances are always $10,000)."

    def add_arguments(self, parser):
        add_mode_arguments(parser)

    def handle(self, *args, **options):
        mturk = client(options["mode"], options)
        with user_errors():
            balance = mturk.get_account_balance()
        on_hold = f", on hold ${balance.on_hold}" if balance.on_hold is not None else ""
        self.stdout.write(f"{options['mode']} balance: available ${balance.available}{on_hold}")
