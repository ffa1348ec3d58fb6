"""Langlois' Table 1 as a protocol: every variant over several seeds (splits), with a paired test.

The seed reports one number per model ("Two-Stream ResNet50 53.2 % ± 1.62, I3D 55.94 % ± 1.61") and
says I3D "significantly outperformed" the ResNet model. One run on one split cannot test that, so
``python -m training table1`` trains each variant's head (frozen features, the fast path) once per
seed; the seed sets both the split by video and the initialisation, and all variants of one seed see
the same split, so their test items are the same and can be compared item by item:

* **mean ± sd** of the test accuracy over the seeds (sd with ddof 1: the spread between splits);
* **95 % Wilson interval** of the pooled test decisions of all seeds (``training.stats``); an item
  tested under several seeds counts each time, so read it as the precision of the mean accuracy
  over these splits, not over new videos;
* **exact McNemar test** for every pair of variants on their discordant decisions, pooled over the
  seeds (b = items only the first variant gets right, c = only the second; two-sided binomial test of
  b against b + c at ½, statsmodels' ``mcnemar(exact=True)``);
* chance (50 %), and the **human ceiling** when the export's manifest carries one
  (``human_ceiling``, written by the reliability analysis of repeated 2AFC items).

Finished runs are read back (``OUT/<variant>-seed<k>/``), so an interrupted table resumes.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar

from mvfit_common.stats import wilson_interval
from training.errors import TrainingInputError
from training.features.extractors import VARIANT_LABELS
from training.features.store import Stream
from training.preference.pipeline import PreferenceRunConfig, train_preference
from training.runs import write_json


@dataclass(frozen=True)
class VariantRow:
    variant: str
    accuracies: list[float]  # per seed
    correct: int
    n: int

    @property
    def label(self) -> str:
        return VARIANT_LABELS.get(self.variant, self.variant)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def sd(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)


@dataclass(frozen=True)
class PairedTest:
    first: str
    second: str
    only_first: int  # b: first right, second wrong
    only_second: int  # c
    p_value: float


@dataclass(frozen=True)
class Table1:
    rows: list[VariantRow]
    paired: list[PairedTest]
    seeds: list[int]
    test_sizes: list[int]
    ceiling: dict | None

    def to_dict(self) -> dict:
        return {
            "seeds": self.seeds,
            "test_items_per_seed": self.test_sizes,
            "chance": 0.5,
            "variants": [
                {
                    "variant": r.variant,
                    "label": r.label,
                    "accuracy_per_seed": r.accuracies,
                    "mean": r.mean,
                    "sd": r.sd,
                    "pooled_correct": r.correct,
                    "pooled_n": r.n,
                    "wilson95": list(r.interval),
                }
                for r in self.rows
            ],
            "paired_exact_mcnemar": [vars(p) for p in self.paired],
            "human_ceiling": self.ceiling,
        }


def seed_correctness(run_dir: Path) -> pd.Series:
    """Per test item (index in the export's item order): was the symmetric P(A) on the chosen side?"""
    items = pd.read_csv(run_dir / "items.csv")
    items = items[items["split"] == "test"]
    correct = ((items["p_a"] > 0.5) & (items["label"] == 1)) | ((items["p_a"] < 0.5) & (items["label"] == 0))
    return pd.Series(correct.to_numpy(), index=items.index)


def run_table1(
    base: PreferenceRunConfig,
    *,
    variants: list[str],
    seeds: list[int],
    streams: dict[str, list[Stream]],
    progress: bool = True,
    log=print,
    human_ceiling: str | Path | None = None,
) -> Table1:
    """Train (or read back) every variant x seed under ``base.out`` and compute the table.

    ``human_ceiling``: a JSON file ``{"accuracy": …}`` (``python -m analysis agreement --out DIR`` writes
    ``DIR/human_ceiling.json``); without it the export manifest's ``human_ceiling`` is used, if any.
    """
    if len(seeds) < 2:
        raise TrainingInputError("table1 needs at least 2 seeds for a spread (the protocol asks for 5 or more).")
    if len(set(variants)) != len(variants) or not variants:
        raise TrainingInputError("give each variant once.")
    out = Path(base.out)
    decisions: dict[str, list[pd.Series]] = {v: [] for v in variants}
    for seed in seeds:
        for variant in variants:
            run = out / f"{variant}-seed{seed}"
            if not (run / "checkpoint.pt").exists():
                log(f"== {VARIANT_LABELS[variant]}, seed {seed} -> {run}")
                config = replace(base, out=str(run), variant=variant, seed=seed)
                train_preference(config, streams=streams[variant], progress=progress, log=lambda *_: None)
            decisions[variant].append(seed_correctness(run))
    test_sizes = [len(series) for series in decisions[variants[0]]]
    for variant in variants:
        if [len(s) for s in decisions[variant]] != test_sizes:
            raise TrainingInputError(f"{variant}: its runs were split differently from {variants[0]}'s.")
    rows = [
        VariantRow(
            variant=v,
            accuracies=[float(s.mean()) for s in decisions[v]],
            correct=int(sum(s.sum() for s in decisions[v])),
            n=int(sum(len(s) for s in decisions[v])),
        )
        for v in variants
    ]
    paired = []
    for first, second in itertools.combinations(variants, 2):
        a = np.concatenate([s.to_numpy() for s in decisions[first]])
        b = np.concatenate([s.to_numpy() for s in decisions[second]])
        only_first, only_second = int(np.sum(a & ~b)), int(np.sum(~a & b))
        table = [[int(np.sum(a & b)), only_first], [only_second, int(np.sum(~a & ~b))]]
        p_value = float(mcnemar(table, exact=True).pvalue) if only_first + only_second else 1.0
        paired.append(PairedTest(first, second, only_first, only_second, p_value))
    manifest = json.loads((Path(base.export) / "manifest.json").read_text(encoding="utf-8"))
    if human_ceiling is not None:
        try:
            manifest = {"human_ceiling": json.loads(Path(human_ceiling).read_text(encoding="utf-8"))}
        except (OSError, json.JSONDecodeError) as exc:
            raise TrainingInputError(f"--human-ceiling {human_ceiling}: not a readable JSON file ({exc}).") from exc
    result = Table1(rows=rows, paired=paired, seeds=list(seeds), test_sizes=test_sizes, ceiling=_ceiling(manifest))
    write_json(out / "table1.json", result.to_dict())
    (out / "table1.txt").write_text(format_table1(result) + "\n", encoding="utf-8")
    return result


def _ceiling(manifest: dict) -> dict | None:
    """The export's human ceiling on 2AFC accuracy, if its writer measured one from repeated items."""
    value = manifest.get("human_ceiling")
    if value is None:
        return None
    if isinstance(value, int | float):
        return {"accuracy": float(value)}
    if isinstance(value, dict) and isinstance(value.get("accuracy"), int | float):
        return value
    raise TrainingInputError("manifest.json: human_ceiling must be a number or {'accuracy': number, ...}.")


def format_table1(table: Table1) -> str:
    seeds = len(table.seeds)
    sizes = sorted(set(table.test_sizes))
    size_text = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
    lines = [
        f"Table 1 protocol: {seeds} seeds (a new split by video and initialisation each), {size_text} test items per seed",
        "",
        f"{'Model':<26} {'Test accuracy':<22} {'95 % CI (Wilson, pooled)':<26} {'correct / n':>13}",
        f"{'':<26} {f'mean ± sd, {seeds} seeds':<22}",
        f"{'Random guessing':<26} {'50 %':<22}",
    ]
    for row in table.rows:
        low, high = row.interval
        lines.append(
            f"{row.label:<26} {f'{100 * row.mean:.1f} ± {100 * row.sd:.1f} %':<22} "
            f"{f'{100 * low:.1f}-{100 * high:.1f} %':<26} {f'{row.correct} / {row.n}':>13}"
        )
    if table.ceiling:
        extra = f" ({table.ceiling['method']})" if table.ceiling.get("method") else ""
        lines.append(f"{'Human ceiling' + extra:<26} {100 * table.ceiling['accuracy']:.1f} %")
    if table.paired:
        lines += ["", "Paired comparisons on the same test items (exact McNemar, discordant items pooled over seeds):"]
        labels = {row.variant: row.label for row in table.rows}
        for test in table.paired:
            lines.append(
                f"  {labels[test.first]} vs {labels[test.second]}: only the first right {test.only_first}, "
                f"only the second right {test.only_second}; p = {test.p_value:.3g}"
            )
    return "\n".join(line.rstrip() for line in lines)
