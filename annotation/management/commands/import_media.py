"""python manage.py import_media PATH — import a folder, a manifest CSV or one file into the library.

What it may read (``annotation.import_roots``): the file, folder or manifest named, and -- for a folder
or a manifest -- files inside that folder (the manifest's folder), inside ``MVFIT_IMPORT_ROOTS`` and
inside each ``--allow-root PATH``. A manifest row or a symlink pointing anywhere else is rejected
without being opened, so a manifest written by someone else cannot pull in, say, /etc/passwd.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import selectors
from annotation.manifests import ManifestError, read_manifest
from annotation.media import MediaKind
from annotation.models import ImportBatch, ImportItem
from annotation.services import imports


class Command(BaseCommand):
    help = (
        "Import media into the stimulus library. PATH is a folder (imported recursively; labels from "
        "sub-folder names unless --label), a manifest CSV (path,kind,label,... columns) or a single file."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", choices=[k.value for k in MediaKind], help="default: inferred per file")
        parser.add_argument("--label", help="scene category / genre for every file (folder or single file)")
        parser.add_argument("--license", default="", help="licence for every file (folder or single file)")
        parser.add_argument("--attribution", default="", help="attribution for every file (folder or single file)")
        parser.add_argument("--title", default="", help="title (single file)")
        parser.add_argument(
            "--allow-root",
            action="append",
            default=[],
            type=Path,
            metavar="PATH",
            help="also let manifest rows and symlinks read files inside PATH (repeatable); by default only "
            "the named folder (or the manifest's folder) and MVFIT_IMPORT_ROOTS",
        )

    def handle(self, *args, path: Path, kind, label, license, attribution, title, allow_root, verbosity, **options):
        self.verbosity = verbosity
        path = path.expanduser()
        extra_roots = [root.expanduser() for root in allow_root]
        if missing := [str(root) for root in extra_roots if not root.is_dir()]:
            raise CommandError(f"--allow-root must name existing folders: {', '.join(missing)}")
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        credits = {"license": license, "attribution": attribution}
        if path.is_file() and path.suffix.lower() == ".csv":
            batch = self._manifest(path, extra_roots=extra_roots)
        elif path.is_dir():
            batch = self._folder(path, kind=kind, label=label, extra_roots=extra_roots, **credits)
        else:
            if not label:
                raise CommandError("importing a single file needs --label (its scene category or genre)")
            batch = imports.import_single_file(path=path, kind=kind, label=label, title=title, **credits).batch
            batch.refresh_from_db()
        self._report(batch)

    def _manifest(self, path: Path, *, extra_roots: list[Path]) -> ImportBatch:
        try:
            total = len(read_manifest(path))
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        with self._bar(total, self.verbosity) as bar:
            return imports.import_manifest(manifest=path, progress=self._advance(bar), extra_roots=extra_roots)

    def _folder(self, path: Path, *, kind, label, extra_roots: list[Path], **credits: str) -> ImportBatch:
        total = len(imports.folder_entries(path, kind=kind, label=label))
        if total == 0:
            csv = next(path.glob("*.csv"), None)
            hint = f" To import a manifest, pass the .csv file itself ({csv.name})." if csv else ""
            raise CommandError(f"{path} holds no media files to import.{hint}")
        with self._bar(total, self.verbosity) as bar:
            return imports.import_folder(
                folder=path, kind=kind, label=label, progress=self._advance(bar), extra_roots=extra_roots, **credits
            )

    def _bar(self, total: int, verbosity: int) -> tqdm:
        return tqdm(total=total, desc="importing", unit="file", disable=verbosity < 1)

    @staticmethod
    def _advance(bar: tqdm):
        def advance(item: ImportItem) -> None:
            bar.set_postfix_str(Path(item.path).name[:40], refresh=False)
            bar.update(1)

        return advance

    def _report(self, batch: ImportBatch) -> None:
        if batch.error:
            raise CommandError(f"import #{batch.pk} stopped: {batch.error}")
        self.stdout.write(
            f"import #{batch.pk}: {batch.n_imported} imported, {batch.n_duplicate} duplicate, "
            f"{batch.n_rejected} rejected"
        )
        # Duplicates are routine on re-runs: listed only with -v 2.
        for item in selectors.import_problems(batch=batch, with_duplicates=self.verbosity >= 2):
            style = self.style.WARNING if item.outcome == ImportItem.Outcome.REJECTED else self.style.NOTICE
            self.stdout.write(style(f"  {item.outcome:<9} {item.path}: {item.reason}"))
