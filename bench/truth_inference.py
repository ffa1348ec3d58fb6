"""Benchmark: how well do majority vote, Dawid-Skene and GLAD recover a planted 2AFC truth?

    python bench/truth_inference.py                 # the grid of docs/analysis.md (about 7 minutes on 2 shared cores)
    python bench/truth_inference.py --reps 2 --shares 0 0.3 --answers 5 --csv out.csv
    python bench/truth_inference.py --langlois      # wall time at Langlois' scale instead

Crowds come from :func:`analysis.crowds.planted_choices`: every item has a planted better option, each
honest worker a planted accuracy (uniform in --accuracy), a share of workers are spammers who answer at
random, always click "left" or choose the worse option ("reversed"; --kind), and each item gets --answers answers from distinct workers.
For every cell of the grid and every replicate (seed) the three models label every item; the table
gives the mean share of items whose label is the planted one (± its SD over replicates), DS's gain
over MV with the replicates where it wins, and how well the models' per-worker skill ranks the planted
accuracies of honest workers (Spearman) and separates spammers (AUC).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from scipy.stats import mannwhitneyu, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.crowds import SPAMMER_KINDS, PlantedCrowd, planted_choices
from analysis.truth import METHODS, infer_choices


def one_run(crowd: PlantedCrowd) -> dict[str, float]:
    choices, truth = planted_choices(crowd)
    planted = truth["items"].set_index(["query_id", "a_id", "b_id"])["true_id"]
    row: dict[str, float] = {}
    for method in METHODS:
        result = infer_choices(choices, method=method)
        inferred = result.items.set_index(["query_id", "option_a", "option_b"])["label_id"]
        row[method] = float((inferred.to_numpy() == planted.loc[list(inferred.index)].to_numpy()).mean())
        if method == "mv":
            continue
        skills = result.workers.merge(truth["workers"], on="worker_id")
        honest = skills[~skills["spammer"]]
        row[f"{method}_skill_rho"] = float(spearmanr(honest["skill"], honest["accuracy"]).statistic)
        spam = skills[skills["spammer"]]
        if len(spam) and len(honest):
            u = mannwhitneyu(honest["skill"], spam["skill"]).statistic
            row[f"{method}_spam_auc"] = float(u / (len(honest) * len(spam)))
    return row


def langlois_timing() -> int:
    """Wall time of truth inference and agreement on a simulated Langlois-scale export."""
    from analysis.agreement import agreement
    from analysis.simulate import SimulationConfig, simulate
    from analysis.truth import infer_ratings

    started = time.perf_counter()
    config = SimulationConfig(videos=1061, songs=75, genres=25, ratings_per_pairing=9, afc_trials=21_159, seed=0)
    simulation = simulate(config)
    print(
        f"simulated {len(simulation.ratings):,} rating rows and {len(simulation.choices):,} choice rows "
        f"in {time.perf_counter() - started:.1f} s"
    )
    steps = [
        *(
            (f"ratings, binary, {method}", lambda m=method: infer_ratings(simulation.ratings, method=m))
            for method in ("mv", "ds")
        ),
        ("ratings, ordinal, ds", lambda: infer_ratings(simulation.ratings, method="ds", mode="ordinal")),
        *((f"choices, {method}", lambda m=method: infer_choices(simulation.choices, method=m)) for method in METHODS),
        ("agreement, 1,000 bootstrap draws", lambda: agreement(simulation.choices, bootstrap=1000)),
    ]
    for name, step in steps:
        started = time.perf_counter()
        step()
        print(f"{name:<36} {time.perf_counter() - started:6.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--workers", type=int, default=25)
    parser.add_argument("--answers", type=int, nargs="+", default=[3, 5, 7], help="answers per item")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.2, 0.4], help="spammer shares")
    parser.add_argument("--kind", choices=SPAMMER_KINDS, nargs="+", default=list(SPAMMER_KINDS))
    parser.add_argument("--accuracy", type=float, nargs=2, default=(0.55, 0.95), help="honest workers' range")
    parser.add_argument("--difficulty-share", type=float, default=0.3, help="share of hard items")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="also write every replicate's row")
    parser.add_argument("--langlois", action="store_true", help="time the models at Langlois' scale instead")
    args = parser.parse_args(argv)
    if args.langlois:
        return langlois_timing()

    started = time.perf_counter()
    rows = []
    for kind in args.kind:
        for share in args.shares:
            if share == 0 and kind != args.kind[0]:
                continue  # no spammers: the kind does not matter
            for answers in args.answers:
                for rep in range(args.reps):
                    crowd = PlantedCrowd(
                        items=args.items,
                        workers=args.workers,
                        answers_per_item=answers,
                        accuracy=tuple(args.accuracy),
                        spammer_share=share,
                        spammer_kind=kind,
                        difficulty_share=args.difficulty_share,
                        seed=args.seed + rep,
                    )
                    result = one_run(crowd)
                    rows.append({"spammers": kind if share else "-", "share": share, "answers": answers, **result})
    runs = pd.DataFrame(rows)
    keys = ["spammers", "share", "answers"]
    grouped = runs.groupby(keys, sort=False)
    table = grouped[list(METHODS)].mean().mul(100)
    for method in METHODS:
        table[f"{method} sd"] = grouped[method].std(ddof=1).mul(100)
    table["ds-mv"] = (runs["ds"] - runs["mv"]).groupby([runs[k] for k in keys], sort=False).mean().mul(100)
    table["ds wins"] = (runs["ds"] > runs["mv"]).groupby([runs[k] for k in keys], sort=False).sum()
    table["ds rho"] = grouped["ds_skill_rho"].mean()
    table["glad rho"] = grouped["glad_skill_rho"].mean()
    if "ds_spam_auc" in runs:
        table["ds spam AUC"] = grouped["ds_spam_auc"].mean()
    columns = ["mv", "mv sd", "ds", "ds sd", "glad", "glad sd", "ds-mv", "ds wins", "ds rho", "glad rho"]
    columns += [c for c in ("ds spam AUC",) if c in table]
    print(
        f"{args.items} items, {args.workers} workers (honest accuracy {args.accuracy[0]:g}-{args.accuracy[1]:g}, "
        f"{100 * args.difficulty_share:.0f} % hard items), {args.reps} replicates per row; "
        "accuracy = % of items labelled with the planted option\n"
    )
    shown = table[columns].copy()
    for column in columns:
        digits = 2 if column.endswith(("rho", "AUC")) else 1
        shown[column] = shown[column].map(lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}")
    shown["ds wins"] = table["ds wins"].astype(int).astype(str) + f"/{args.reps}"
    print(shown.to_string())
    print(
        f"\nDS beats MV in {int((runs['ds'] > runs['mv']).sum())} of {len(runs)} runs, ties in "
        f"{int((runs['ds'] == runs['mv']).sum())}; mean gain {100 * (runs['ds'] - runs['mv']).mean():.1f} points "
        f"({time.perf_counter() - started:.0f} s)"
    )
    if args.csv:
        runs.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
