"""``python -m analysis montage EXPORT [--models-dir DIR] [--out DIR]`` (docs/analysis.md, "Montages").

Registered by :func:`add_commands` from :mod:`analysis.cli`; the parser carries its handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from mvfit_common.files import atomic_write

TABLE_FILES = {
    "preferences": "montage_preferences.csv",
    "bradley_terry": "montage_bradley_terry.csv",
    "ratings": "montage_ratings.csv",
    "retrieval": "montage_retrieval.csv",
    "correlation": "montage_recall_vs_preference.csv",
    "exclusions": "montage_exclusions.csv",
}
FIGURE_FILE = "montages.png"


def add_commands(commands: argparse._SubParsersAction) -> None:
    from analysis.cli_rules import add_rule_arguments

    montage = commands.add_parser(
        "montage", help="montage study: preference shares per model, Bradley-Terry ranking, ratings, recall vs people"
    )
    montage.add_argument("export_dir", type=Path)
    montage.add_argument(
        "--models-dir", type=Path, help="model registry ($MVFIT_DATA_DIR/models) for R@K and median rank"
    )
    montage.add_argument("--out", type=Path, help=f"directory for the CSV tables and {FIGURE_FILE}")
    montage.add_argument("--bootstrap", type=int, default=1000, help="worker-bootstrap resamples for the BT CIs")
    montage.add_argument(
        "--bt-ridge", type=float, default=0.1, help="ridge used when a Bradley-Terry MLE does not exist"
    )
    montage.add_argument("--seed", type=int, default=0)
    montage.add_argument("--format", dest="file_format", choices=["auto", "csv", "parquet"], default="auto")
    add_rule_arguments(montage)
    montage.set_defaults(handler=run_montage)


def _fmt(frame: pd.DataFrame, drop: tuple[str, ...] = ("method",)) -> str:
    shown = frame.drop(columns=[c for c in drop if c in frame.columns])
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def run_montage(args: argparse.Namespace) -> int:
    from analysis.cli_rules import rules_from
    from analysis.montage import PREFERENCE_METHOD, RATING_METHOD, analyse_montages
    from exportformat import read_export

    if args.bootstrap < 0:
        raise ValueError("--bootstrap must be >= 0")
    export = read_export(args.export_dir, file_format=args.file_format)
    result = analyse_montages(
        export,
        rules=rules_from(args),
        models_dir=args.models_dir,
        bootstrap=args.bootstrap,
        seed=args.seed,
        ridge=args.bt_ridge,
    )
    c = result.counts
    print(
        f"{c['judgments']:,} montage judgments by {c['workers']:,} workers on {c['songs']:,} songs "
        f"(after exclusions; {c['excluded_workers']} worker(s) flagged); {c['ratings']:,} ratings"
    )
    print(f"\nPreference for each model's montage ({PREFERENCE_METHOD}):")
    pref = result.preferences[
        [
            "model",
            "opponent",
            "n",
            "workers",
            "songs",
            "share",
            "ci_low",
            "ci_high",
            "p_gee",
            "p_holm",
            "pooled_share",
            "p_pooled_binomial",
        ]
    ]
    print(_fmt(pref) if not pref.empty else "  (none)")
    print(f"\nBradley-Terry ranking of all systems ({args.bootstrap} worker-bootstrap resamples, seed {args.seed}):")
    print(_fmt(result.bradley_terry) if not result.bradley_terry.empty else "  (none)")
    if not result.ratings.empty:
        print(f"\nMontage ratings, 1-7 ({RATING_METHOD}):")
        print(_fmt(result.ratings))
    if not result.retrieval.empty:
        print("\nRetrieval metrics of the same models (model registry rankings vs the export's ground truth):")
        print(_fmt(result.retrieval))
    if not result.correlation.empty:
        print("\nDoes recall predict what people prefer? Spearman across models (R@K or -median rank vs BT score):")
        print(_fmt(result.correlation))
    for note in [*export.notes, *result.notes]:
        print(f"  note: {note}")
    if args.out:
        _write(args.out, result)
        print(f"wrote {len(TABLE_FILES)} CSV tables and {FIGURE_FILE} to {args.out}")
    return 0


def _write(out: Path, result) -> None:
    import matplotlib.pyplot as plt

    from analysis import figures

    out.mkdir(parents=True, exist_ok=True)
    for attribute, name in TABLE_FILES.items():
        with atomic_write(out / name) as tmp:
            getattr(result, attribute).to_csv(tmp, index=False, lineterminator="\n")
    if not result.bradley_terry.empty:
        fig = figures.montage_figure(result.bradley_terry, result.preferences, result.retrieval)
        with atomic_write(out / FIGURE_FILE) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
