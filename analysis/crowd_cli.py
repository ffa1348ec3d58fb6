"""``python -m analysis agreement`` and ``python -m analysis truth`` (docs/analysis.md).

Registered by :func:`add_commands` from :mod:`analysis.cli`; each parser carries its handler.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from mvfit_common.files import atomic_write


def add_commands(commands: argparse._SubParsersAction) -> None:
    from analysis.agreement import DEFAULT_GROUPS, ITEM_KEY
    from analysis.cli_rules import add_rule_arguments
    from analysis.truth import METHODS, RATING_MODES

    agree = commands.add_parser(
        "agreement", help="2AFC test-retest consistency, between-subject agreement and the noise ceiling"
    )
    agree.add_argument("export_dir", type=Path)
    agree.add_argument("--out", type=Path, help="directory for agreement.csv and human_ceiling.json")
    agree.add_argument("--group-by", nargs="*", choices=ITEM_KEY, default=list(DEFAULT_GROUPS))
    agree.add_argument("--bootstrap", type=int, default=1000, help="subject-clustered bootstrap draws")
    agree.add_argument(
        "--ceiling-group", default="all", help="group whose ceiling goes into human_ceiling.json, e.g. 'V2M none'"
    )
    agree.add_argument("--seed", type=int, default=0)
    agree.add_argument("--no-clean", action="store_true", help="use every answer (no exclusion rules)")
    agree.add_argument("--format", dest="file_format", choices=["auto", "csv", "parquet"], default="auto")
    add_rule_arguments(agree)
    agree.set_defaults(handler=run_agreement)

    truth = commands.add_parser("truth", help="infer item labels with confidences (Dawid-Skene, GLAD, majority)")
    truth.add_argument("export_dir", type=Path)
    truth.add_argument("--out", type=Path, required=True, help="CSV of inferred labels, one row per item")
    truth.add_argument("--table", choices=["choices", "ratings"], default="choices")
    truth.add_argument("--method", choices=METHODS, default="ds")
    truth.add_argument("--mode", choices=RATING_MODES, default="binary", help="ratings: fit/poor or the 7 values")
    truth.add_argument("--workers-out", type=Path, help="CSV of the model's per-worker skill")
    truth.add_argument("--iterations", type=int, default=100, help="EM iterations (ds, glad)")
    truth.add_argument("--seed", type=int, default=0, help="breaks exact ties")
    truth.add_argument("--no-clean", action="store_true", help="use every answer (no exclusion rules)")
    truth.add_argument("--format", dest="file_format", choices=["auto", "csv", "parquet"], default="auto")
    add_rule_arguments(truth)
    truth.set_defaults(handler=run_truth)


def _tables(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from analysis.cleaning import clean
    from analysis.cli_rules import rules_from
    from exportformat import read_export

    export = read_export(args.export_dir, file_format=args.file_format)
    if args.no_clean:
        return export.ratings, export.choices, list(export.notes)
    cleaned = clean(export.ratings, export.choices, rules_from(args))
    return cleaned.ratings, cleaned.choices, [*export.notes, *cleaned.notes]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False)


def run_agreement(args: argparse.Namespace) -> int:
    from analysis.agreement import agreement

    _, choices, notes = _tables(args)
    result = agreement(choices, group_by=tuple(args.group_by), bootstrap=args.bootstrap, seed=args.seed)
    overall = result.ceiling(args.ceiling_group)
    shown = ["group", "subjects", "items", "retest_pairs", "test_retest", "between_pairs", "between", "ceiling"]
    print(result.table[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"\n{args.ceiling_group}: no model can be right about single human answers more often than "
        f"{100 * overall['accuracy']:.1f} % "
        f"(95 % CI {100 * overall['low']:.1f}-{100 * overall['high']:.1f} %, subject bootstrap, "
        f"{args.bootstrap} draws)"
    )
    for note in [*notes, *result.notes]:
        print(f"  note: {note}")
    if args.out:
        _write_csv(result.table, args.out / "agreement.csv")
        with atomic_write(args.out / "human_ceiling.json") as tmp:
            tmp.write_text(json.dumps(overall, indent=2) + "\n")
        print(f"wrote {args.out / 'agreement.csv'} and {args.out / 'human_ceiling.json'}")
    return 0


def run_truth(args: argparse.Namespace) -> int:
    from analysis.truth import infer_choices, infer_ratings

    if args.iterations < 1:
        raise ValueError("--iterations must be positive")
    ratings, choices, notes = _tables(args)
    if args.table == "choices":
        result = infer_choices(choices, method=args.method, n_iter=args.iterations, seed=args.seed)
    else:
        result = infer_ratings(ratings, method=args.method, mode=args.mode, n_iter=args.iterations, seed=args.seed)
    _write_csv(result.items, args.out)
    if args.workers_out:
        _write_csv(result.workers, args.workers_out)
    items = result.items
    print(
        f"{args.method}: {len(items):,} items from {int(items['answers'].sum()):,} answers of "
        f"{len(result.workers):,} workers; mean confidence {items['confidence'].mean():.3f}; wrote {args.out}"
    )
    for note in [*notes, *result.notes]:
        print(f"  note: {note}")
    return 0
