"""Benchmark: the full analysis report on a simulated Langlois-scale export.

    python bench/analysis.py                      # 1,061 videos x 75 songs x 9 ratings = 716,175 ratings
    python bench/analysis.py --videos 200 --songs 30 --ratings-per-pairing 3   # a quick look
    python bench/analysis.py --tracemalloc        # also the Python-heap peak of every step (slower)

Prints, per step, wall time and memory (process peak RSS so far from getrusage, current RSS, and with
--tracemalloc the step's own heap peak), then the totals next to the targets (< 60 s, < 4 GB) as
ratios, and CSV vs Parquet loading measured side by side. Run it on a quiet machine and quote
`uptime` with the numbers: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.report import ReportOptions, build_report
from analysis.simulate import SimulationConfig, simulate, write_simulation
from exportformat import read_export

TARGET_SECONDS = 60.0
TARGET_BYTES = 4 * 1024**3


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def current_rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def gib(value: float) -> str:
    return f"{value / 1024**3:.2f} GiB"


class StepPrinter:
    def __init__(self, use_tracemalloc: bool) -> None:
        self.use_tracemalloc = use_tracemalloc
        print(
            f"{'step':<18}{'seconds':>9}{'peak RSS':>12}{'RSS now':>12}"
            + (f"{'heap peak':>12}" if use_tracemalloc else "")
        )

    def __call__(self, name: str, seconds: float) -> None:
        line = f"{name:<18}{seconds:>9.2f}{gib(peak_rss()):>12}{gib(current_rss()):>12}"
        if self.use_tracemalloc:
            line += f"{gib(tracemalloc.get_traced_memory()[1]):>12}"
            tracemalloc.reset_peak()
        print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=1061)
    parser.add_argument("--songs", type=int, default=75)
    parser.add_argument("--genres", type=int, default=25)
    parser.add_argument("--ratings-per-pairing", type=int, default=9)
    parser.add_argument("--subjects", type=int, default=53, help="preference-test subjects (VM-NET: 53)")
    parser.add_argument("--afc-trials", type=int, default=21_159, help="plain 2AFC trials (Langlois: 21,159)")
    parser.add_argument("--keep", type=Path, help="keep export and report in this directory")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="mvfit-bench-"))
    export_dir, report_dir = workdir / "export", workdir / "report"
    if args.tracemalloc:
        tracemalloc.start()
    printer = StepPrinter(args.tracemalloc)

    config = SimulationConfig(
        videos=args.videos,
        songs=args.songs,
        genres=args.genres,
        ratings_per_pairing=args.ratings_per_pairing,
        pref_subjects=args.subjects,
        afc_trials=args.afc_trials,
    )
    began = time.perf_counter()
    simulation = simulate(config)
    printer("simulate", time.perf_counter() - began)
    began = time.perf_counter()
    write_simulation(simulation, export_dir, parquet=True, machine_distances=bool(args.subjects))
    printer("write export", time.perf_counter() - began)
    real = int((~simulation.ratings["is_catch"]).sum())
    print(
        f"export: {real:,} ratings + {len(simulation.ratings) - real:,} attention checks, "
        f"{len(simulation.choices):,} choices, {len(simulation.stimuli):,} stimuli -> {export_dir}"
    )
    del simulation

    # CSV (the canonical form) and Parquet, side by side.
    timings = {}
    for file_format in ("csv", "parquet"):
        began = time.perf_counter()
        read_export(export_dir, file_format=file_format)
        timings[file_format] = time.perf_counter() - began
    print(
        f"load csv {timings['csv']:.2f} s, parquet {timings['parquet']:.2f} s: "
        f"parquet/csv = {timings['parquet'] / timings['csv']:.2f}"
    )

    machine = export_dir / "machine_distances.csv"
    options = ReportOptions(file_format="csv", machine_distances=machine if machine.exists() else None, progress=False)
    print("report (CSV input):")
    began = time.perf_counter()
    result = build_report(export_dir, report_dir, options, on_step=printer)
    total = time.perf_counter() - began
    peak = peak_rss()
    print(f"report total {total:.1f} s (target {TARGET_SECONDS:.0f} s): ratio {total / TARGET_SECONDS:.2f}")
    print(f"peak RSS {gib(peak)} (target {gib(TARGET_BYTES)}): ratio {peak / TARGET_BYTES:.2f}")
    if result.skipped:
        print(f"skipped steps: {result.skipped}")
    if args.keep:
        print(f"report: {result.html}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if total < TARGET_SECONDS and peak < TARGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
