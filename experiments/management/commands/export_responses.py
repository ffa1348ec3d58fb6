from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from experiments.selectors.lookup import experiment_by_ref
from experiments.services.export import write_export
from exportformat import ExportError


class Command(BaseCommand):
    help = "Export responses of experiments (by id or slug) as docs/export-format.md describes."

    def add_arguments(self, parser):
        parser.add_argument("experiments", nargs="+", help="experiment ids or slugs")
        parser.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
        parser.add_argument(
            "--include-incomplete",
            action="store_true",
            help="also export answers of active and abandoned assignments (default: completed assignments only)",
        )
        parser.add_argument("--no-parquet", action="store_true", help="write CSV only")

    def handle(self, *args, **options):
        experiments = []
        for ref in options["experiments"]:
            found = experiment_by_ref(ref)
            if found is None:
                raise CommandError(f"no experiment with id or slug {ref!r}.")
            experiments.append(found)
        try:
            result = write_export(
                experiments=experiments,
                out_dir=options["out"],
                include_incomplete=options["include_incomplete"],
                parquet=not options["no_parquet"],
                progress=True,
            )
        except (ImproperlyConfigured, ExportError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # --out is a file, not writable, on a full disk...
            raise CommandError(f"could not write the export to {options['out']}: {exc}") from exc
        counts = ", ".join(f"{n} {name}" for name, n in result.row_counts.items())
        self.stdout.write(self.style.SUCCESS(f"wrote {result.directory}: {counts} ({', '.join(result.files)})"))
