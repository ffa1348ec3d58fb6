"""The exclusion-rule options every analysis command shares (``report``, ``agreement``, ``truth``), and the
small argument types they use: one module that ``analysis.cli`` and ``analysis.crowd_cli`` both import."""

from __future__ import annotations

import argparse
from dataclasses import fields

from analysis.cleaning import ExclusionRules


def _optional_number(kind):
    def parse(text: str):
        if text.lower() in {"off", "none"}:
            return None
        return kind(text)

    parse.__name__ = kind.__name__
    return parse


def _k(text: str) -> int | None:
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer or 'auto'")
    return value


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ExclusionRules()
    group = parser.add_argument_group("exclusion rules ('off' switches a rule off)")
    group.add_argument(
        "--catch-alpha",
        type=_optional_number(float),
        default=defaults.catch_alpha,
        help="exclude a worker whose attention-check failures an attentive worker would reach with "
        "probability below this (binomial tail)",
    )
    group.add_argument(
        "--catch-lapse-rate",
        type=float,
        default=defaults.catch_lapse_rate,
        help="an attentive worker's chance of failing one attention check",
    )
    group.add_argument(
        "--max-catch-fail-rate",
        type=_optional_number(float),
        default=defaults.max_catch_fail_rate,
        help="old fixed-rate rule (off by default): exclude above this failed share",
    )
    group.add_argument("--min-catch-trials", type=int, default=defaults.min_catch_trials)
    group.add_argument("--min-rt-ms", type=_optional_number(int), default=defaults.min_rt_ms)
    group.add_argument("--max-rt-ms", type=_optional_number(int), default=defaults.max_rt_ms)
    group.add_argument("--max-fast-share", type=_optional_number(float), default=defaults.max_fast_share)
    group.add_argument(
        "--straightline-max-share", type=_optional_number(float), default=defaults.straightline_max_share
    )
    group.add_argument("--straightline-min-trials", type=int, default=defaults.straightline_min_trials)
    group.add_argument("--min-loo-correlation", type=_optional_number(float), default=defaults.min_loo_correlation)
    group.add_argument("--loo-min-items", type=int, default=defaults.loo_min_items)


def rules_from(args: argparse.Namespace) -> ExclusionRules:
    return ExclusionRules(**{f.name: getattr(args, f.name) for f in fields(ExclusionRules)})
