"""What every report step shares: the options, the run's context, the section model and the writer.

A step fills a :class:`Section` with blocks (text, tables, figures, details) through the
:class:`Writer`, which also saves each figure as ``figures/<name>.png`` and each named table as
``tables/<name>.csv``. The blocks are data; ``templates/report.html.j2`` turns them into HTML with
autoescaping on, so captions, notes and titles never need escaping by hand.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from analysis import profiles
from analysis.cleaning import CleanResult, ExclusionRules
from exportformat import Export


class Skip(Exception):
    """A step has too little data; the message becomes the section's note."""


class Omit(Exception):
    """An optional step whose data this export does not have at all (e.g. no montage study): the report
    leaves its section out without a note, and ``summary.json`` lists it under ``omitted``."""


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
    models_dir: Path | None = None
    montage_bootstrap: int = 1000
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
        if self.montage_bootstrap < 0:
            raise ValueError("montage_bootstrap must be >= 0")
        if self.clustermap_max_videos < 2:
            raise ValueError("clustermap_max_videos must be at least 2 (a dendrogram needs two videos)")


@dataclass(frozen=True)
class Text:
    """A paragraph of trusted markup written by a step (interpolated values escaped by the step)."""

    html: Markup
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    html: Markup  # pandas' to_html with escape=True
    caption: str
    more: str
    file: str | None
    kind: str = "table"


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    png_base64: str
    file: str
    kind: str = "figure"


@dataclass(frozen=True)
class Details:
    summary: str
    text: str
    kind: str = "details"


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Text | Table | Figure | Details] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self, value: str) -> None:
        """Add a paragraph; ``value`` is markup (escape any interpolated data with ``html.escape``)."""
        self.blocks.append(Text(Markup(value)))

    def details(self, summary: str, text: str) -> None:
        """Add a collapsed block of preformatted text (escaped when rendered)."""
        self.blocks.append(Details(summary, text))

    @property
    def figures(self) -> list[str]:
        return [block.file for block in self.blocks if isinstance(block, Figure)]

    @property
    def tables(self) -> list[str]:
        return [block.file for block in self.blocks if isinstance(block, Table) and block.file]


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

    def need_ratings(self) -> pd.DataFrame:
        """The calibrated ratings of the ratings step, or :class:`Skip` when there are none."""
        if self.ratings is None or self.ratings.empty:
            raise Skip("no fit ratings in this export (after exclusions)")
        return self.ratings

    def save_csv(self, name: str, frame: pd.DataFrame, *, index: bool = False, register: bool = True) -> Path:
        """Write ``tables/<name>.csv`` without showing it in the page."""
        path = self.out / "tables" / f"{name}.csv"
        frame.to_csv(path, index=index, lineterminator="\n")
        if register:
            self.tables[name] = path
        return path


def format_p(value: float) -> str:
    if value is None or np.isnan(value):
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


class Writer:
    """Saves figures (PNG) and tables (CSV) under the output directory and adds them to a section."""

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
        section.blocks.append(Figure(name, caption, encoded, f"figures/{name}.png"))

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
            self.context.save_csv(name, frame, index=index)
        rendered = frame.head(max_rows).to_html(
            index=index,
            border=0,
            classes="data",
            na_rep="-",
            float_format=lambda v: f"{v:.3f}",
            formatters=formatters,
            escape=True,
        )
        more = f" Showing {max_rows} of {len(frame):,} rows." if len(frame) > max_rows else ""
        section.blocks.append(Table(Markup(rendered), caption, more, f"tables/{name}.csv" if name else None))


@dataclass(frozen=True)
class Step:
    """One report step: ``run`` fills the section the runner hands it, or raises :class:`Skip`.

    ``name`` labels the step in progress output, timings and ``summary.json``'s ``skipped``;
    ``key`` is the section's HTML anchor; ``title`` its heading (also when it is skipped).
    """

    name: str
    key: str
    title: str
    run: Callable[[Context, Writer, Section], None]
