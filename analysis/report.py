"""The analysis report: one self-contained HTML file plus the PNG figures and CSV tables behind it.

``build_report(export_dir, out_dir, options)`` runs every step that the export has data for. A step
that cannot run (no choices, three ratings, one worker, ...) becomes a clear note in its section
instead of an error, so the demo's handful of rows and a full Langlois-scale study give the same
kind of report.
"""

from __future__ import annotations

import base64
import html
import io
import json
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from analysis import bradley_terry as bt
from analysis import figures, preference, profiles, reliability
from analysis.calibration import fit_mixed_model, zscore_by_worker
from analysis.cleaning import CleanResult, ExclusionRules, clean
from exportformat import Export, read_export, schema
from mvfit_common.files import atomic_write_text


class Skip(Exception):
    """A step has too little data; the message becomes the section's note."""


@dataclass
class ReportOptions:
    rules: ExclusionRules = field(default_factory=ExclusionRules)
    profile_value: str = "z"
    linkage: str = "average"
    video_clusters: int | None = None
    genre_clusters: int | None = None
    max_k: int = 10
    clustermap_max_videos: int = 100
    mixed_max_rows: int | None = 20_000
    item_effects: bool = False
    item_max_rows: int = 3_000
    split_half_splits: int = 200
    machine_distances: Path | None = None
    bt_ridge: float = 0.1
    seed: int = 0
    file_format: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.profile_value not in {"z", "rating"}:
            raise ValueError("profile_value must be 'z' (worker z-scores) or 'rating'")
        if self.linkage not in profiles.LINKAGES:
            raise ValueError(f"linkage must be one of {', '.join(profiles.LINKAGES)}")
        for name in ("video_clusters", "genre_clusters"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.split_half_splits < 1:
            raise ValueError("split_half_splits must be at least 1")


@dataclass
class Section:
    key: str
    title: str
    parts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self, value: str) -> None:
        self.parts.append(f"<p>{value}</p>")


@dataclass
class Context:
    export: Export
    options: ReportOptions
    out: Path
    cleaned: CleanResult | None = None
    ratings: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, Path] = field(default_factory=dict)
    clustering: profiles.Clustering | None = None
    profile_matrix: pd.DataFrame | None = None
    shares: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _p(value: float) -> str:
    if value is None or np.isnan(value):
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


class Writer:
    """Saves figures (PNG) and tables (CSV) under the output directory and renders them to HTML."""

    def __init__(self, context: Context) -> None:
        self.context = context
        (context.out / "figures").mkdir(parents=True, exist_ok=True)
        (context.out / "tables").mkdir(parents=True, exist_ok=True)

    def figure(self, section: Section, name: str, figure, caption: str) -> None:
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        data = buffer.getvalue()
        path = self.context.out / "figures" / f"{name}.png"
        path.write_bytes(data)
        self.context.figures[name] = path
        encoded = base64.b64encode(data).decode("ascii")
        section.parts.append(
            f'<figure id="fig-{name}"><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)} <span class=file>figures/{name}.png</span></figcaption></figure>"
        )

    def table(
        self,
        section: Section,
        name: str | None,
        frame: pd.DataFrame,
        *,
        caption: str = "",
        index: bool = False,
        max_rows: int = 40,
        formatters: dict[str, Callable[[Any], str]] | None = None,
    ) -> None:
        if name:
            path = self.context.out / "tables" / f"{name}.csv"
            frame.to_csv(path, index=index, lineterminator="\n")
            self.context.tables[name] = path
        shown = frame.head(max_rows)
        rendered = shown.to_html(
            index=index,
            border=0,
            classes="data",
            na_rep="-",
            float_format=lambda v: f"{v:.3f}",
            formatters=formatters,
            escape=True,
        )
        more = f" Showing {max_rows} of {len(frame):,} rows." if len(frame) > max_rows else ""
        link = f" <span class=file>tables/{name}.csv</span>" if name else ""
        section.parts.append(
            f"<div class=table>{rendered}<p class=caption>{html.escape(caption)}{more}{link}</p></div>"
        )


# ------------------------------------------------------------------------------------------- steps


def step_provenance(ctx: Context, w: Writer) -> Section:
    section = Section("provenance", "Data provenance")
    manifest = ctx.export.manifest
    counts = manifest.get("row_counts") or {}
    rows = [
        ("export directory", str(ctx.export.path)),
        ("exported at", manifest.get("exported_at", "-")),
        ("source", manifest.get("source", "-")),
        ("format", f"{manifest.get('format')} v{manifest.get('format_version')} (read as {ctx.export.file_format})"),
        ("pseudonymised worker ids", str(manifest.get("pseudonymised", "-"))),
    ]
    for table in ("ratings", "choices", "stimuli"):
        loaded = len(getattr(ctx.export, table))
        rows.append((f"{table} rows", f"{loaded:,} loaded / {counts.get(table, '-')} in manifest"))
    simulation = ctx.export.simulation
    if simulation:
        rows.append(("simulation seed", str(simulation.get("config", {}).get("seed", "-"))))
    rows.append(("analysis seed", str(ctx.options.seed)))
    rows.append(("report generated", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    rows.append(
        (
            "software",
            f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
            f"statsmodels {_version('statsmodels')}, scipy {_version('scipy')}",
        )
    )
    w.table(section, None, pd.DataFrame(rows, columns=["item", "value"]))
    experiments = manifest.get("experiments") or []
    if experiments:
        frame = pd.DataFrame(
            [
                {k: e.get(k) for k in ("id", "slug", "kind", "seed")} | {"config": json.dumps(e.get("config"))}
                for e in experiments
            ]
        )
        w.table(section, None, frame, caption="Experiments in this export (manifest.json).")
    options = asdict(ctx.options)
    options["rules"] = ctx.options.rules.as_dict()
    options["machine_distances"] = str(ctx.options.machine_distances) if ctx.options.machine_distances else None
    section.parts.append(
        f"<details><summary>Analysis settings</summary><pre>{html.escape(json.dumps(options, indent=2))}</pre></details>"
    )
    section.notes.extend(ctx.export.notes)
    ctx.summary["provenance"] = {
        "exported_at": manifest.get("exported_at"),
        "rows": {t: len(getattr(ctx.export, t)) for t in ("ratings", "choices", "stimuli")},
        "simulated": bool(simulation),
    }
    return section


def _version(module: str) -> str:
    import importlib

    return getattr(importlib.import_module(module), "__version__", "?")


def step_exclusions(ctx: Context, w: Writer) -> Section:
    section = Section("exclusions", "Exclusions")
    ctx.cleaned = clean(ctx.export.ratings, ctx.export.choices, ctx.options.rules)
    log = ctx.cleaned.exclusions
    if log.empty:
        raise Skip("the export has neither ratings nor choices")
    section.text(
        "Rules run in the order listed, per table. <em>workers flagged</em> counts the workers a rule "
        "catches on its own; <em>rows removed</em> counts rows not already removed by an earlier rule."
    )
    w.table(section, "exclusions", log, caption="Exclusion rules with counts.")
    w.table(section, "worker_flags", ctx.cleaned.worker_flags, caption="Flagged workers (pseudonyms).", max_rows=15)
    section.notes.extend(ctx.cleaned.notes)
    ctx.summary["exclusions"] = log.to_dict(orient="records")
    return section


def step_ratings(ctx: Context, w: Writer) -> Section:
    section = Section("ratings", "Fit ratings: overview and calibration")
    assert ctx.cleaned is not None
    ratings = ctx.cleaned.ratings
    if ratings.empty:
        raise Skip("no fit ratings in this export (after exclusions)")
    ratings = ratings.assign(z=zscore_by_worker(ratings))
    ctx.ratings = ratings
    per_pairing = ratings.groupby("pairing_id", observed=True).size()
    overview = {
        "ratings": len(ratings),
        "workers": ratings["worker_id"].nunique(),
        "pairings": int(per_pairing.size),
        "videos": ratings["video_id"].nunique(),
        "music tracks": ratings["music_id"].nunique(),
        "scene categories": ratings["scene_label"].nunique(),
        "genres": ratings["genre_label"].nunique(),
        "ratings per pairing (median, min-max)": f"{per_pairing.median():g} ({per_pairing.min()}-{per_pairing.max()})",
        "mean rating (SD)": f"{ratings['rating'].mean():.2f} ({ratings['rating'].std():.2f})",
    }
    w.table(section, None, pd.DataFrame(list(overview.items()), columns=["quantity", "value"]))
    w.figure(section, "rating_overview", figures.rating_overview(ratings), "Ratings and worker calibration.")
    undefined = int(ratings["z"].isna().sum())
    section.text(
        "Per-worker z-scores (rating minus the worker's mean, divided by the worker's SD) remove each "
        "worker's location and scale; they are the default input of the genre-fit profiles."
    )
    if undefined:
        section.notes.append(f"{undefined} rating(s) have no z-score (worker with one rating or a constant rating).")
    ctx.summary["ratings"] = {k: (v if isinstance(v, int | str) else int(v)) for k, v in overview.items()}
    return section


def step_mixed(ctx: Context, w: Writer) -> Section:
    section = Section("mixed", "Mixed model: scene x genre with worker random intercepts")
    ratings = _need_ratings(ctx)
    if len(ratings) < 20 or ratings["worker_id"].nunique() < 3:
        raise Skip("the mixed model needs at least 20 ratings from at least 3 workers")
    options = ctx.options
    result = fit_mixed_model(
        ratings,
        max_rows=options.mixed_max_rows,
        item_effects=options.item_effects,
        item_max_rows=options.item_max_rows,
        seed=options.seed,
    )
    formula = "rating ~ scene x genre + (1 | worker)"
    if result.item_effects:
        formula = "rating ~ scene x genre + (1 | worker) + (1 | video) + (1 | music track)"
    section.text(
        f"<code>{html.escape(formula)}</code>, REML, fitted on {result.n_rows:,} of {result.n_rows_total:,} "
        f"ratings ({result.n_workers:,} workers); converged: {result.converged}."
    )
    variance = pd.DataFrame({"component": list(result.variance), "variance": list(result.variance.values())}).assign(
        sd=lambda f: np.sqrt(f["variance"])
    )
    w.table(section, "mixed_variance", variance, caption="Variance components.")
    section.text(
        f"Share of rating variance due to worker bias (worker ICC): <b>{result.worker_icc:.3f}</b>. "
        "This is the part of the raw ratings that calibration removes."
    )
    tests = result.tests.assign(p_value=lambda f: f["p_value"].map(_p))
    w.table(section, "mixed_tests", tests, caption="Wald tests on the cell means (complete grid of cells).")
    w.table(
        section,
        "mixed_cell_means",
        result.cell_means,
        caption="Estimated mean rating per scene x genre cell (fixed effects) with 95% CIs.",
        max_rows=12,
    )
    if result.cell_means["scene_label"].nunique() >= 2 and result.cell_means["genre_label"].nunique() >= 2:
        w.figure(
            section,
            "mixed_cell_means",
            figures.cell_means_heatmap(result.cell_means, "Model-estimated fit by scene and genre"),
            "Fixed-effect cell means of the mixed model (worker bias removed).",
        )
    section.notes.extend(result.notes)
    ctx.summary["mixed"] = {
        "variance": result.variance,
        "worker_icc": result.worker_icc,
        "n_rows": result.n_rows,
        "converged": result.converged,
        "tests": result.tests.to_dict(orient="records"),
    }
    return section


def _need_ratings(ctx: Context) -> pd.DataFrame:
    if ctx.ratings is None or ctx.ratings.empty:
        raise Skip("no fit ratings in this export (after exclusions)")
    return ctx.ratings


def step_reliability(ctx: Context, w: Writer) -> Section:
    section = Section("reliability", "Reliability")
    ratings = _need_ratings(ctx)
    if ratings["worker_id"].nunique() < 2:
        raise Skip("reliability needs ratings from at least two workers")
    rows = []
    summary: dict[str, Any] = {}
    for label, item in (("pairing", ("pairing_id",)), ("video x genre profile cell", ("video_id", "genre_label"))):
        try:
            result = reliability.split_half(
                ratings, item=item, n_splits=ctx.options.split_half_splits, seed=ctx.options.seed
            )
        except ValueError as exc:
            section.notes.append(f"split-half ({label}): {exc}")
            continue
        rows.append(
            {
                "statistic": f"split-half, Spearman-Brown ({label})",
                "value": result.reliability,
                "range": f"{result.ci_low:.3f}-{result.ci_high:.3f} over {result.n_splits} splits",
                "items": f"{result.n_items:,.0f}",
            }
        )
        summary[f"split_half_{item[-1]}"] = result.reliability
    for level in ("ordinal", "interval"):
        try:
            alpha = reliability.krippendorff_alpha(ratings, level=level)
        except ValueError as exc:
            section.notes.append(f"Krippendorff's alpha ({level}): {exc}")
            continue
        rows.append(
            {"statistic": f"Krippendorff's alpha ({level}), pairings", "value": alpha, "range": "", "items": ""}
        )
        summary[f"krippendorff_{level}"] = alpha
    loo = reliability.loo_worker_correlation(ratings)
    valid = loo["r"].dropna()
    if len(valid):
        rows.append(
            {
                "statistic": "worker vs leave-one-out mean r (median)",
                "value": float(valid.median()),
                "range": f"IQR {valid.quantile(0.25):.3f}-{valid.quantile(0.75):.3f}",
                "items": f"{len(valid)} workers",
            }
        )
        summary["loo_median_r"] = float(valid.median())
    if rows:
        w.table(section, "reliability", pd.DataFrame(rows), caption="Reliability of the fit ratings.")
    try:
        matrix, dropped = reliability.rating_matrix(ratings)
        table = reliability.icc(matrix).assign(p_value=lambda f: f["p_value"].map(_p))
        w.table(
            section,
            "icc",
            table,
            caption=(
                f"Shrout & Fleiss ICCs on {matrix.shape[0]:,} pairings x k={matrix.shape[1]} ratings "
                f"({dropped:,} pairings with fewer ratings left out)."
            ),
        )
        section.text(
            "In a crowd design each pairing has its own raters, so the k 'judges' are rating slots, not "
            "people: ICC(1,1) / ICC(1,k) (one-way random) are the forms that match the design. The two-way "
            "forms are shown for completeness; with slots as judges they differ little from the one-way ones."
        )
        summary["icc"] = dict(zip(table["form"], table["icc"], strict=True))
    except ValueError as exc:
        section.notes.append(f"ICC: {exc}")
    w.table(section, "loo_worker_correlation", loo, caption="Per-worker leave-one-out correlation.", max_rows=10)
    if len(valid) >= 3:
        w.figure(section, "loo_correlation", figures.loo_histogram(loo), "Worker agreement with the crowd.")
    ctx.summary["reliability"] = summary
    return section


def step_profiles(ctx: Context, w: Writer) -> Section:
    section = Section("profiles", "Genre-fit profiles and clustering (Langlois Figs. 2-3)")
    ratings = _need_ratings(ctx)
    options = ctx.options
    value = options.profile_value
    matrix, scenes, notes = profiles.genre_profiles(ratings, value=value)
    section.notes.extend(notes)
    if matrix.shape[0] < 3 or matrix.shape[1] < 3:
        raise Skip(
            f"clustering needs at least 3 videos and 3 genres with ratings (have {matrix.shape[0]} x {matrix.shape[1]})"
        )
    clustering = profiles.cluster_profiles(
        matrix,
        method=options.linkage,
        video_clusters=options.video_clusters,
        genre_clusters=options.genre_clusters,
        max_k=options.max_k,
    )
    ctx.clustering, ctx.profile_matrix = clustering, matrix
    section.notes.extend(clustering.notes)
    value_label = "mean z-score (per-worker calibrated)" if value == "z" else "mean rating"
    section.text(
        f"{matrix.shape[0]:,} videos x {matrix.shape[1]} genres; {value_label}; correlation distance, "
        f"{html.escape(options.linkage)} linkage; {clustering.n_video_clusters} video clusters, "
        f"{clustering.genre_clusters.nunique()} genre clusters."
    )
    shown, shown_clusters = profiles.sample_for_display(
        matrix, clustering, max_rows=options.clustermap_max_videos, seed=options.seed
    )
    sampled = len(shown) < len(matrix)
    w.figure(
        section,
        "genre_fit_clustermap",
        figures.genre_fit_clustermap(
            shown,
            scenes,
            shown_clusters,
            method=options.linkage,
            value_label=value_label,
            title="Genre-fit profiles of videos, hierarchically clustered",
        ),
        (
            "Videos x genres, rows and columns clustered by correlation distance"
            + (
                f" (cluster-stratified sample of {len(shown)} of {len(matrix):,} videos, as Langlois showed 100)"
                if sampled
                else ""
            )
            + ". Row colours: scene category and video cluster."
        ),
    )
    means = profiles.cluster_mean_profiles(matrix, clustering)
    composition = pd.crosstab(clustering.video_clusters, scenes.reindex(matrix.index))
    composition.index.name, composition.columns.name = "cluster", None
    w.figure(
        section,
        "cluster_profiles",
        figures.cluster_profiles_figure(means, composition, value_label),
        "What each video cluster likes, and which scenes it holds.",
    )
    tables = profiles.memberships(matrix, scenes, clustering)
    w.table(section, "video_clusters", tables["video_clusters"], caption="Video cluster memberships.", max_rows=10)
    w.table(section, "genre_clusters", tables["genre_clusters"], caption="Genre cluster memberships.", max_rows=30)
    matrix.to_csv(ctx.out / "tables" / "genre_profiles.csv", lineterminator="\n")
    ctx.tables["genre_profiles"] = ctx.out / "tables" / "genre_profiles.csv"
    w.table(section, None, composition.reset_index(), caption="Scene composition of the video clusters (counts).")
    if len(clustering.silhouettes):
        w.table(
            section,
            "cluster_silhouettes",
            clustering.silhouettes.reset_index(),
            caption="Mean silhouette by number of video clusters (the best one is used unless --video-clusters is set).",
        )
    ctx.summary["profiles"] = {
        "videos": matrix.shape[0],
        "genres": matrix.shape[1],
        "video_clusters": clustering.n_video_clusters,
        "genre_clusters": int(clustering.genre_clusters.nunique()),
    }
    return section


def step_preference(ctx: Context, w: Writer) -> Section:
    section = Section("preference", "Preference test (VM-NET Table IV, Fig. 7)")
    assert ctx.cleaned is not None
    trials = preference.preference_trials(ctx.cleaned.choices)
    if trials.empty:
        raise Skip("no preference-test trials (condition GR/GS/SR) in this export")
    shares = preference.share_table(trials)
    machine_notes: list[str] = []
    if ctx.options.machine_distances:
        distances = preference.load_machine_distances(ctx.options.machine_distances)
        machine, machine_notes = preference.machine_share_table(trials, distances)
        shares = pd.concat([shares, machine], ignore_index=True)
    else:
        section.notes.append("No machine distance file given (--machine-distances): the Machine row is left out.")
    section.notes.extend(machine_notes)
    ctx.shares = shares
    section.text(
        "Percent of answers preferring the first option of each pair (G over R, G over S, S over R), "
        "with Wilson 95% intervals and sample sizes; machine rows count each distinct question once."
    )
    wide = preference.table_iv(shares)
    wide.columns.name = None
    w.table(section, None, wide.reset_index(), caption="Table IV, reproduced.")
    long = shares.assign(p_binomial=shares["p_binomial"].map(_p))
    w.table(section, "preference_shares", long, caption="Pooled shares with exact binomial tests against 50%.")
    per_subject = preference.subject_shares(trials)
    tests = preference.subject_tests(per_subject)
    w.table(
        section,
        "preference_subject_tests",
        tests.assign(p_t=tests["p_t"].map(_p), p_wilcoxon=tests["p_wilcoxon"].map(_p)),
        caption=(
            "Subject-level tests (mean of per-subject shares vs 50%: t-test with 95% CI, Wilcoxon signed-rank). "
            "Use these when subjects differ; the pooled binomial test treats all answers as independent."
        ),
    )
    per_subject.to_csv(ctx.out / "tables" / "preference_per_subject.csv", index=False, lineterminator="\n")
    w.figure(section, "preference_shares", figures.preference_shares(shares), "Pooled preference shares with 95% CIs.")
    if per_subject["worker_id"].nunique() >= 2:
        w.figure(
            section,
            "preference_boxplot",
            figures.subject_boxplot(per_subject, shares),
            "Per-subject preference shares (box: middle 50% of subjects; dots: subjects; diamond: pooled).",
        )
    ctx.summary["preference"] = shares.to_dict(orient="records")
    ctx.summary["preference_subject_tests"] = tests.to_dict(orient="records")
    return section


def step_bradley_terry(ctx: Context, w: Writer) -> Section:
    section = Section("bradley_terry", "Two-alternative forced choice: Bradley-Terry strengths")
    assert ctx.cleaned is not None
    plain = ctx.cleaned.choices[ctx.cleaned.choices["condition"] == schema.PLAIN_CONDITION]
    if plain.empty:
        raise Skip("no plain 2AFC trials (condition 'none') in this export")
    summary: dict[str, Any] = {}
    for direction, item_kind, category in (("V2M", "music excerpt", "scene"), ("M2V", "video clip", "genre")):
        subset = plain[plain["direction"] == direction]
        if subset.empty:
            continue
        items = bt.comparisons(subset, level="item")
        if len(items) < 2:
            section.notes.append(f"{direction}: fewer than two comparisons.")
            continue
        result = bt.fit_or_penalise(items["winner"].to_numpy(), items["loser"].to_numpy(), ridge=ctx.options.bt_ridge)
        section.notes.extend(f"{direction} items: {note}" for note in result.notes)
        labels = pd.concat(
            [
                pd.Series(subset["left_label"].to_numpy(), index=subset["left_id"].to_numpy()),
                pd.Series(subset["right_label"].to_numpy(), index=subset["right_id"].to_numpy()),
            ]
        )
        labels = labels[~labels.index.duplicated()]
        strengths = result.strengths.assign(label=result.strengths["item"].map(labels)).sort_values(
            "log_strength", ascending=False
        )
        section.text(
            f"{direction}: {result.n_comparisons:,} choices between {len(strengths):,} {item_kind}s; "
            f"log-likelihood {result.log_likelihood:.1f}; ridge {result.ridge:g}."
        )
        w.table(
            section,
            f"bt_{direction.lower()}_items",
            strengths,
            caption=f"Bradley-Terry log-strengths of {item_kind}s (centred, with SE), strongest first.",
            max_rows=15,
        )
        w.figure(
            section,
            f"bt_{direction.lower()}_items",
            figures.bt_items_figure(strengths, labels, f"{item_kind.capitalize()} strengths ({direction})"),
            f"Bradley-Terry strengths of {item_kind}s with 95% CIs.",
        )
        by_category = _bt_by_category(subset, ctx.options.bt_ridge, section)
        if not by_category.empty:
            w.table(
                section,
                f"bt_{direction.lower()}_by_{category}",
                by_category.rename_axis(columns=None).reset_index(),
                caption=f"Genre-level strengths per {category} (label-level Bradley-Terry within each {category}).",
                max_rows=20,
            )
            if by_category.shape[0] >= 1 and by_category.shape[1] >= 2:
                w.figure(
                    section,
                    f"bt_{direction.lower()}_by_{category}",
                    figures.bt_category_heatmap(by_category, f"Which option labels win, per query {category}"),
                    f"Label-level Bradley-Terry log-strengths per query {category}.",
                )
        item_level = _bt_items_by_category(subset, ctx.options.bt_ridge)
        if not item_level.empty:
            item_level.to_csv(
                ctx.out / "tables" / f"bt_{direction.lower()}_items_by_{category}.csv", index=False, lineterminator="\n"
            )
            section.text(
                f"Item-level strengths within each query {category}: "
                f"<span class=file>tables/bt_{direction.lower()}_items_by_{category}.csv</span>."
            )
        summary[direction] = {
            "items": len(strengths),
            "comparisons": result.n_comparisons,
            "ridge": result.ridge,
            "by_category": by_category.to_dict() if not by_category.empty else {},
        }
    ctx.summary["bradley_terry"] = summary
    return section


def _bt_by_category(subset: pd.DataFrame, ridge: float, section: Section) -> pd.DataFrame:
    labels = bt.comparisons(subset, level="label")
    rows = {}
    for category, group in labels.groupby("query_label", observed=True):
        if group[["winner", "loser"]].stack().nunique() < 2:
            continue
        result = bt.fit_or_penalise(group["winner"].to_numpy(), group["loser"].to_numpy(), ridge=ridge)
        if result.ridge:
            section.notes.append(f"{category}: label-level MLE does not exist; ridge {ridge} used.")
        rows[category] = result.strengths.set_index("item")["log_strength"]
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).T.sort_index(axis=0).sort_index(axis=1)
    table.index.name, table.columns.name = "query label", "option label"
    return table


def _bt_items_by_category(subset: pd.DataFrame, ridge: float) -> pd.DataFrame:
    items = bt.comparisons(subset, level="item")
    frames = []
    for category, group in items.groupby("query_label", observed=True):
        if group[["winner", "loser"]].stack().nunique() < 2:
            continue
        result = bt.fit_or_penalise(group["winner"].to_numpy(), group["loser"].to_numpy(), ridge=ridge)
        frames.append(result.strengths.assign(query_label=category, ridge=result.ridge))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def step_simulation(ctx: Context, w: Writer) -> Section:
    section = Section("simulation", "Simulated export: planted vs recovered structure")
    simulation = ctx.export.simulation
    if not simulation:
        raise Skip("not a simulated export")
    from sklearn.metrics import adjusted_rand_score

    truth = simulation.get("truth", {})
    rows = []
    if ctx.clustering is not None and "video_clusters" in truth:
        planted = pd.Series(truth["video_clusters"]["cluster"], index=truth["video_clusters"]["video_id"])
        found = ctx.clustering.video_clusters
        common = found.index.intersection(planted.index)
        ari = adjusted_rand_score(planted.loc[common], found.loc[common])
        rows.append(
            {
                "quantity": "video clusters, adjusted Rand index",
                "planted": f"{planted.nunique()} clusters",
                "recovered": f"{found.nunique()} clusters",
                "agreement": f"ARI {ari:.3f}",
            }
        )
        k = planted.nunique()
        if found.nunique() != k and ctx.profile_matrix is not None and len(common) > k:
            at_k = profiles.cut(ctx.clustering.row_linkage, k)
            ari_k = adjusted_rand_score(planted.loc[ctx.profile_matrix.index], at_k)
            rows.append(
                {
                    "quantity": "video clusters cut at the planted k",
                    "planted": f"{k} clusters",
                    "recovered": f"{k} clusters",
                    "agreement": f"ARI {ari_k:.3f}",
                }
            )
        if "genre_clusters" in truth:
            genres = pd.Series(truth["genre_clusters"]["cluster"], index=truth["genre_clusters"]["genre_label"])
            found_g = ctx.clustering.genre_clusters
            shared = found_g.index.intersection(genres.index)
            rows.append(
                {
                    "quantity": "genre clusters, adjusted Rand index",
                    "planted": f"{genres.nunique()} clusters",
                    "recovered": f"{found_g.nunique()} clusters",
                    "agreement": f"ARI {adjusted_rand_score(genres.loc[shared], found_g.loc[shared]):.3f}",
                }
            )
            k_genres = genres.nunique()
            if found_g.nunique() != k_genres and len(shared) > k_genres:
                at_k = pd.Series(profiles.cut(ctx.clustering.col_linkage, k_genres), index=found_g.index)
                rows.append(
                    {
                        "quantity": "genre clusters cut at the planted k",
                        "planted": f"{k_genres} clusters",
                        "recovered": f"{k_genres} clusters",
                        "agreement": f"ARI {adjusted_rand_score(genres.loc[shared], at_k.loc[shared]):.3f}",
                    }
                )
    if ctx.shares is not None and "preference" in truth:
        planted = truth["preference"]
        human = ctx.shares[(ctx.shares["subject"] == "Human") & (ctx.shares["direction"] == "total")]
        tests = ctx.summary.get("preference_subject_tests", [])
        subject_ci = {t["condition"]: t for t in tests if t["direction"] == "total"}
        for _, row in human.iterrows():
            condition = row["condition"]
            realised = planted.get("p_first_realised", {}).get(condition)
            if realised is not None and row["n"]:
                inside = row["ci_low"] <= realised <= row["ci_high"]
                rows.append(
                    {
                        "quantity": f"preference {condition}, pooled share vs these subjects' expected share",
                        "planted": f"{100 * realised:.1f}%",
                        "recovered": f"{100 * row['share']:.1f}% [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]",
                        "agreement": "inside Wilson 95% CI" if inside else "outside Wilson 95% CI",
                    }
                )
            population = planted.get("p_first_expected", {}).get(condition)
            test = subject_ci.get(condition)
            if population is not None and test and test.get("ci_low") is not None:
                inside = test["ci_low"] <= population <= test["ci_high"]
                rows.append(
                    {
                        "quantity": f"preference {condition}, mean subject share vs population share",
                        "planted": f"{100 * population:.1f}%",
                        "recovered": (
                            f"{100 * test['mean_share']:.1f}% [{100 * test['ci_low']:.1f}, {100 * test['ci_high']:.1f}]"
                        ),
                        "agreement": "inside t 95% CI" if inside else "outside t 95% CI",
                    }
                )
    if ctx.cleaned is not None and "ratings" in truth:
        workers = truth["ratings"]["workers"]
        careless = pd.Series(workers["careless"], index=workers["worker_id"])
        flagged = set(ctx.cleaned.worker_flags.loc[ctx.cleaned.worker_flags["table"] == "ratings", "worker_id"])
        seen = careless.index.intersection(pd.Index(ctx.export.ratings["worker_id"].unique()))
        truly = set(careless.loc[seen][careless.loc[seen]].index)
        caught = len(truly & flagged)
        rows.append(
            {
                "quantity": "careless workers excluded",
                "planted": f"{len(truly)} careless",
                "recovered": f"{len(flagged)} flagged",
                "agreement": f"recall {caught / len(truly):.2f}, precision {caught / len(flagged):.2f}"
                if truly and flagged
                else "-",
            }
        )
    if not rows:
        raise Skip("nothing to compare with the planted truth in this export")
    w.table(section, "simulation_recovery", pd.DataFrame(rows), caption="Does the analysis find what was planted?")
    return section


STEPS: list[tuple[str, Callable[[Context, Writer], Section]]] = [
    ("provenance", step_provenance),
    ("exclusions", step_exclusions),
    ("ratings", step_ratings),
    ("mixed model", step_mixed),
    ("reliability", step_reliability),
    ("profiles", step_profiles),
    ("preference test", step_preference),
    ("bradley-terry", step_bradley_terry),
    ("simulation check", step_simulation),
]

TITLES = {
    "provenance": "Data provenance",
    "exclusions": "Exclusions",
    "ratings": "Fit ratings: overview and calibration",
    "mixed model": "Mixed model: scene x genre with worker random intercepts",
    "reliability": "Reliability",
    "profiles": "Genre-fit profiles and clustering (Langlois Figs. 2-3)",
    "preference test": "Preference test (VM-NET Table IV, Fig. 7)",
    "bradley-terry": "Two-alternative forced choice: Bradley-Terry strengths",
    "simulation check": "Simulated export: planted vs recovered structure",
}


@dataclass
class ReportResult:
    html: Path
    figures: dict[str, Path]
    tables: dict[str, Path]
    summary: dict[str, Any]
    timings: dict[str, float]
    skipped: dict[str, str]


def build_report(
    export_dir: str | Path,
    out_dir: str | Path,
    options: ReportOptions | None = None,
    *,
    on_step: Callable[[str, float], None] | None = None,
) -> ReportResult:
    """Run every analysis step on the export and write ``report.html``, figures/, tables/ and summary.json."""
    options = options or ReportOptions()
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
    bar = tqdm(STEPS, desc="report", unit="step", disable=not options.progress, leave=False)
    with warnings.catch_warnings():
        # seaborn 0.13 calls matplotlib APIs that matplotlib 3.11 deprecates; nothing to act on here.
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="seaborn")
        for name, step in bar:
            sections.append(_run_step(ctx, writer, name, step, skipped, on_step, bar))
    bar.close()
    began = time.perf_counter()
    page = out / "report.html"
    atomic_write_text(page, render_html(ctx, sections))
    ctx.summary["skipped"] = skipped
    ctx.summary["figures"] = sorted(ctx.figures)
    atomic_write_text(out / "summary.json", json.dumps(_jsonable(ctx.summary), indent=2, default=str) + "\n")
    ctx.timings["write html"] = time.perf_counter() - began
    if on_step:
        on_step("write html", ctx.timings["write html"])
    return ReportResult(page, ctx.figures, ctx.tables, ctx.summary, ctx.timings, skipped)


def _run_step(
    ctx: Context,
    writer: Writer,
    name: str,
    step: Callable[[Context, Writer], Section],
    skipped: dict[str, str],
    on_step: Callable[[str, float], None] | None,
    bar,
) -> Section:
    bar.set_postfix_str(name)
    began = time.perf_counter()
    try:
        section = step(ctx, writer)
    except Skip as reason:
        section = Section(name.replace(" ", "-"), TITLES[name], notes=[f"Skipped: {reason}."])
        skipped[name] = str(reason)
    except (ValueError, np.linalg.LinAlgError) as exc:
        section = Section(name.replace(" ", "-"), TITLES[name], notes=[f"Could not be computed: {exc}"])
        skipped[name] = f"error: {exc}"
    elapsed = time.perf_counter() - began
    ctx.timings[name] = elapsed
    if on_step:
        on_step(name, elapsed)
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


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
nav ol{columns:2} table.data{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.data th,table.data td{border-bottom:1px solid #e5e5e5;padding:.25em .6em;text-align:left;font-variant-numeric:tabular-nums}
table.data th{background:#f6f6f6}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{font-size:.85em;color:#555} .file{font-family:monospace;color:#888;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.4em .8em;margin:.5em 0;font-size:.9em}
.table{overflow-x:auto} pre{background:#f6f6f6;padding:.6em;font-size:.8em;overflow-x:auto}
"""


def render_html(ctx: Context, sections: list[Section]) -> str:
    title = f"mvfit analysis report - {html.escape(ctx.export.path.name)}"
    toc = "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections)
    body = []
    for section in sections:
        notes = "".join(f'<div class="note">{html.escape(note)}</div>' for note in section.notes)
        body.append(
            f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>{notes}{"".join(section.parts)}</section>'
        )
    rows = ctx.summary.get("provenance", {}).get("rows", {})
    subtitle = ", ".join(f"{n:,} {t}" for t, n in rows.items())
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>{CSS}</style></head><body>"
        f"<h1>{title}</h1><p>{html.escape(subtitle)}</p><nav><ol>{toc}</ol></nav>{''.join(body)}"
        "<footer><p class=caption>Generated by <code>python -m analysis report</code>; "
        "methods in docs/analysis.md.</p></footer></body></html>\n"
    )
