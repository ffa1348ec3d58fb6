"""``python -m exportformat check DIR`` verifies an export; ``python -m exportformat doc [--check]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exportformat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="read every file of an export strictly (checksums, twins, rules)")
    check.add_argument("directory", type=Path)
    doc = commands.add_parser("doc", help="regenerate the tables of docs/export-format.md from the schema")
    doc.add_argument("--check", action="store_true", help="only report whether the document is up to date")
    doc.add_argument("--path", type=Path, default=None)
    args = parser.parse_args(argv)

    from exportformat import doc as document
    from exportformat.errors import ExportError

    if args.command == "doc":
        path = args.path or document.DOC
        if args.check:
            if document.check(path):
                return 0
            print(f"{path} is out of date: run python -m exportformat doc", file=sys.stderr)
            return 1
        print(f"{path}: {'updated' if document.write(path) else 'up to date'}")
        return 0
    from exportformat.read import verify_export

    try:
        export = verify_export(args.directory)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{name} {len(frame)}" for name, frame in export.tables.items())
    print(f"{args.directory}: a valid mvfit export, format version {export.version} ({counts} rows).")
    for note in export.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
