"""QualificationRequirements for a HIT type, as plain dicts in the shape the MTurk API validates.

System qualification type ids are documented in the MTurk API reference
(QualificationRequirement data structure). Masters differs between sandbox and live; the others are
the same in both marketplaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .modes import Mode

PERCENT_ASSIGNMENTS_APPROVED = "000000000000000000L0"
NUMBER_HITS_APPROVED = "00000000000000000040"
LOCALE = "00000000000000000071"
MASTERS = {
    Mode.SANDBOX: "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6",
    Mode.LIVE: "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH",
}

_LOCALE_RE = re.compile(r"^(?P<country>[A-Z]{2})(?:-(?P<subdivision>[A-Z0-9]{1,3}))?$")


def parse_locale(value: str) -> dict[str, str]:
    """``"US"`` -> {"Country": "US"}; ``"US-NY"`` -> {"Country": "US", "Subdivision": "NY"} (ISO 3166)."""
    match = _LOCALE_RE.match(value.strip().upper())
    if not match:
        raise ValueError(f"{value!r} is not a locale: use an ISO 3166 country code like 'US' or 'US-NY'.")
    locale = {"Country": match["country"]}
    if match["subdivision"]:
        locale["Subdivision"] = match["subdivision"]
    return locale


@dataclass(frozen=True)
class QualificationSettings:
    min_approval_rate: int | None = None  # percent, 0-100
    min_approved_hits: int | None = None
    locales: Sequence[str] = field(default_factory=tuple)
    masters: bool = False
    # Per-study "has already taken part" qualification; workers holding it cannot discover the HIT.
    exclusion_qualification_type_id: str | None = None
    # The exclusion qualifications of the other MTurk studies in the experiment's exclusion groups.
    group_exclusion_type_ids: Sequence[str] = field(default_factory=tuple)


MAX_REQUIREMENTS = 10  # MTurk accepts at most ten QualificationRequirements per HIT type


def build_requirements(settings: QualificationSettings, *, mode: Mode) -> list[dict]:
    requirements: list[dict] = []
    if settings.min_approval_rate is not None:
        if not 0 <= settings.min_approval_rate <= 100:
            raise ValueError("The minimum approval rate is a percentage between 0 and 100.")
        requirements.append(
            {
                "QualificationTypeId": PERCENT_ASSIGNMENTS_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approval_rate],
                "ActionsGuarded": "Accept",
            }
        )
    if settings.min_approved_hits is not None:
        if settings.min_approved_hits < 0:
            raise ValueError("The minimum number of approved HITs cannot be negative.")
        requirements.append(
            {
                "QualificationTypeId": NUMBER_HITS_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approved_hits],
                "ActionsGuarded": "Accept",
            }
        )
    if settings.locales:
        locales = [parse_locale(value) for value in settings.locales]
        requirements.append(
            {
                "QualificationTypeId": LOCALE,
                "Comparator": "EqualTo" if len(locales) == 1 else "In",
                "LocaleValues": locales,
                "ActionsGuarded": "Accept",
            }
        )
    if settings.masters:
        requirements.append({"QualificationTypeId": MASTERS[mode], "Comparator": "Exists", "ActionsGuarded": "Accept"})
    if settings.exclusion_qualification_type_id:
        requirements.append(
            {
                "QualificationTypeId": settings.exclusion_qualification_type_id,
                "Comparator": "DoesNotExist",
                # Returning workers should not even see the HIT, let alone accept it and be turned away.
                "ActionsGuarded": "DiscoverPreviewAndAccept",
            }
        )
    for type_id in sorted(set(settings.group_exclusion_type_ids) - {settings.exclusion_qualification_type_id}):
        requirements.append(
            {"QualificationTypeId": type_id, "Comparator": "DoesNotExist", "ActionsGuarded": "DiscoverPreviewAndAccept"}
        )
    if len(requirements) > MAX_REQUIREMENTS:
        raise ValueError(
            f"{len(requirements)} qualification requirements; MTurk accepts at most {MAX_REQUIREMENTS}. The exclusion "
            "groups add one per other MTurk study: split the group, or rely on the entry check alone."
        )
    return requirements
