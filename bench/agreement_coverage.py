"""Benchmark: do the subject-bootstrap intervals of analysis.agreement cover the planted values?

    python bench/agreement_coverage.py                # 200 planted crowds (about a minute)
    python bench/agreement_coverage.py --reps 50 --bootstrap 500

Each replicate draws a new planted crowd (analysis.crowds: new workers, items, persistent tastes and
answers) and computes the 95 % intervals; the planted value is the expectation of the estimator given
the drawn crowd ("these subjects": ``expected_test_retest``, ``expected_between``, and for the
ceiling the Bayes rate of the drawn workers, which the estimate bounds from above) and the same for new
subjects on these items ("new subjects": ``population``, what a bootstrap over subjects is about).
Prints the share of intervals that contain the planted value, the share where it lies above the
interval, the mean estimate and its bias, and the mean interval width.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.agreement import agreement
from analysis.crowds import PlantedCrowd, planted_choices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=400)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--answers", type=int, default=5)
    parser.add_argument("--repeat-share", type=float, default=0.3)
    parser.add_argument("--idiosyncrasy-sd", type=float, default=1.0)
    parser.add_argument("--difficulty-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = []
    for rep in range(args.reps):
        crowd = PlantedCrowd(
            items=args.items,
            workers=args.workers,
            answers_per_item=args.answers,
            repeat_share=args.repeat_share,
            idiosyncrasy_sd=args.idiosyncrasy_sd,
            difficulty_share=args.difficulty_share,
            accuracy=(0.6, 0.95),
            seed=args.seed + rep,
        )
        choices, truth = planted_choices(crowd)
        row = agreement(choices, bootstrap=args.bootstrap, seed=rep).table.set_index("group").loc["all"]
        population = truth["population"]
        for target, measure, planted in (
            ("these subjects", "test_retest", truth["expected_test_retest"]),
            ("these subjects", "between", truth["expected_between"]),
            ("these subjects", "ceiling", truth["ceiling"]),
            ("new subjects", "test_retest", population["test_retest"]),
            ("new subjects", "between", population["between"]),
            ("new subjects", "ceiling", population["ceiling"]),
        ):
            rows.append(
                {
                    "target": target,
                    "measure": measure,
                    "planted": planted,
                    "estimate": row[measure],
                    "covered": row[f"{measure}_low"] <= planted <= row[f"{measure}_high"],
                    "above": planted > row[f"{measure}_high"],
                    "width": row[f"{measure}_high"] - row[f"{measure}_low"],
                }
            )
    runs = pd.DataFrame(rows)
    table = runs.groupby(["target", "measure"], sort=False).agg(
        planted=("planted", "mean"),
        estimate=("estimate", "mean"),
        coverage=("covered", "mean"),
        planted_above_interval=("above", "mean"),
        width=("width", "mean"),
    )
    table["bias"] = table["estimate"] - table["planted"]
    print(
        f"{args.reps} planted crowds: {args.items} items x {args.answers} answers, {args.workers} workers, "
        f"{100 * args.repeat_share:.0f} % repeats, idiosyncrasy SD {args.idiosyncrasy_sd:g}, "
        f"{100 * args.difficulty_share:.0f} % hard items; {args.bootstrap} bootstrap draws; nominal 95 %\n"
    )
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    se = np.sqrt(0.95 * 0.05 / args.reps)
    print(f"\n(Monte Carlo SE of a coverage near 0.95: {se:.3f}; {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
