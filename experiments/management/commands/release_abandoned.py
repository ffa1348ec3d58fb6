from django.core.management.base import BaseCommand

from experiments.services.allocation import release_abandoned_assignments


class Command(BaseCommand):
    help = "Release assignments idle past their experiment's timeout so their bundles are offered again."

    def handle(self, *args, **options):
        released = release_abandoned_assignments()
        self.stdout.write(f"released {released} abandoned assignment(s)")
