"""Report step: Two-alternative forced choice: Bradley-Terry strengths."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis import bradley_terry as bt
from analysis import figures
from analysis.report.context import Context, Section, Skip, Step, Writer
from exportformat import schema


def run(ctx: Context, w: Writer, section: Section) -> None:
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
            name = f"bt_{direction.lower()}_items_by_{category}"
            ctx.save_csv(name, item_level, register=False)
            section.text(
                f"Item-level strengths within each query {html.escape(str(category))}: "
                f"<span class=file>tables/{html.escape(name)}.csv</span>."
            )
        summary[direction] = {
            "items": len(strengths),
            "comparisons": result.n_comparisons,
            "ridge": result.ridge,
            "by_category": by_category.to_dict() if not by_category.empty else {},
        }
    ctx.summary["bradley_terry"] = summary


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


STEP = Step(
    name="bradley-terry", key="bradley_terry", title="Two-alternative forced choice: Bradley-Terry strengths", run=run
)
