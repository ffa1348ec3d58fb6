from django.core.management.base import BaseCommand, CommandError

from experiments.selectors.lookup import experiment_by_ref
from experiments.services.exclusion import add_to_group


class Command(BaseCommand):
    help = "Put experiments into an exclusion group: a worker may take part in only one study of the group."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the group's name (letters, digits, - and _)")
        parser.add_argument("experiments", nargs="+", help="experiment ids or slugs")

    def handle(self, *args, **options):
        experiments = []
        for ref in options["experiments"]:
            if (experiment := experiment_by_ref(ref)) is None:
                raise CommandError(f"no experiment with id or slug {ref!r}.")
            experiments.append(experiment)
        group, conflicts = add_to_group(name=options["name"], experiments=experiments)
        self.stdout.write(f"{group.name}: {', '.join(e.slug for e in group.experiments.order_by('pk'))}")
        if conflicts:
            self.stdout.write(f"{len(conflicts)} worker(s) had already taken part in two of these studies")
