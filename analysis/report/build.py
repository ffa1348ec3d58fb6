"""``build_report``: load the export, run every registered step, write the page and summary.json."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from analysis.report.context import Context, Omit, ReportOptions, Section, Skip, Step, Writer
from analysis.report.render import render_html
from analysis.report.steps import STEPS
from exportformat import read_export
from mvfit_common.files import atomic_write_text


@dataclass
class ReportResult:
    html: Path
    figures: dict[str, Path]
    tables: dict[str, Path]
    summary: dict[str, Any]
    timings: dict[str, float]
    skipped: dict[str, str]
    sections: list[Section]


def build_report(
    export_dir: str | Path,
    out_dir: str | Path,
    options: ReportOptions | None = None,
    *,
    on_step: Callable[[str, float], None] | None = None,
    steps: list[Step] | None = None,
) -> ReportResult:
    """Run every analysis step on the export and write ``report.html``, figures/, tables/ and summary.json.

    ``steps`` defaults to the registry (:data:`analysis.report.steps.STEPS`).
    """
    options = options or ReportOptions()
    steps = STEPS if steps is None else steps
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    export = read_export(export_dir, file_format=options.file_format)
    load_seconds = time.perf_counter() - started
    if on_step:
        on_step("load", load_seconds)
    ctx = Context(export=export, options=options, out=out, timings={"load": load_seconds})
    writer = Writer(ctx)
    sections: list[Section] = []
    skipped: dict[str, str] = {}
    omitted: list[str] = []
    bar = tqdm(steps, desc="report", unit="step", disable=not options.progress, leave=False)
    with warnings.catch_warnings():
        # seaborn 0.13 calls matplotlib APIs that matplotlib 3.11 deprecates; nothing to act on here.
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="seaborn")
        for step in bar:
            bar.set_postfix_str(step.name)
            section = _run_step(ctx, writer, step, skipped, on_step)
            if section is None:
                omitted.append(step.name)
            else:
                sections.append(section)
    bar.close()
    began = time.perf_counter()
    page = out / "report.html"
    atomic_write_text(page, render_html(ctx, sections))
    ctx.summary["skipped"] = skipped
    ctx.summary["omitted"] = omitted
    ctx.summary["figures"] = sorted(ctx.figures)
    atomic_write_text(out / "summary.json", json.dumps(_jsonable(ctx.summary), indent=2, default=str) + "\n")
    ctx.timings["write html"] = time.perf_counter() - began
    if on_step:
        on_step("write html", ctx.timings["write html"])
    return ReportResult(page, ctx.figures, ctx.tables, ctx.summary, ctx.timings, skipped, sections)


def _run_step(
    ctx: Context,
    writer: Writer,
    step: Step,
    skipped: dict[str, str],
    on_step: Callable[[str, float], None] | None,
) -> Section | None:
    began = time.perf_counter()
    section: Section | None = Section(step.key, step.title)
    try:
        step.run(ctx, writer, section)
    except Omit:
        section = None
    except Skip as reason:
        section = Section(step.key, step.title, notes=[f"Skipped: {reason}."])
        skipped[step.name] = str(reason)
    except (ValueError, np.linalg.LinAlgError) as exc:
        section = Section(step.key, step.title, notes=[f"Could not be computed: {exc}"])
        skipped[step.name] = f"error: {exc}"
    elapsed = time.perf_counter() - began
    ctx.timings[step.name] = elapsed
    if on_step:
        on_step(step.name, elapsed)
    return section


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
