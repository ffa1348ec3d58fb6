"""Panel links: creating them, entering through them, and where a participant goes at the end.

The panel's participant id arrives in a query parameter, so anyone can type one. An id is therefore
bound to the browser that first used it: the first visit creates the participant and leaves a sealed
cookie; a later visit with the same id resumes only in that browser, and elsewhere gets a page saying the
study was started in another browser (the session token is never handed out twice).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from django.db import transaction

from experiments.models import Experiment, Participant, ParticipantSource
from experiments.services import participants
from recruitment.models import PanelEntry, PanelLink
from webapp import tokens

RESUME_PURPOSE = "panel-resume"
RESUME_MAX_AGE_S = 30 * 24 * 3600
PANEL_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class PanelRefused(Exception):
    """The visit cannot enter; ``title``/``message`` are safe to show, ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int = 400, title: str = "Cannot start") -> None:
        super().__init__(message)
        self.message, self.status, self.title = message, status, title


@transaction.atomic
def create_panel_link(
    *,
    experiment: Experiment,
    slug: str,
    completion_url: str,
    screened_out_url: str = "",
    id_parameter: str = "pid",
) -> PanelLink:
    link = PanelLink(
        experiment=experiment,
        slug=slug,
        id_parameter=id_parameter,
        completion_url=completion_url,
        screened_out_url=screened_out_url,
        completion_code=secrets.token_hex(4).upper(),
        screened_out_code=secrets.token_hex(4).upper(),
    )
    link.full_clean()
    link.save()
    return link


@dataclass(frozen=True)
class PanelVisit:
    participant: Participant
    resume_cookie: str  # sealed; the view sets it for this browser


def resume_cookie_name(link: PanelLink) -> str:
    return f"mvfit_panel_{link.pk}"


@transaction.atomic
def enter_via_panel(*, link: PanelLink, panel_id: str, resume_cookie: str = "", user_agent: str = "") -> PanelVisit:
    """The participant for ``panel_id`` (created on the first visit), or :class:`PanelRefused`."""
    if not link.active:
        raise PanelRefused("This study link is no longer active.", status=410)
    panel_id = panel_id.strip()
    if not PANEL_ID.match(panel_id):
        raise PanelRefused(
            f"This link needs your panel participant id in the '{link.id_parameter}' parameter "
            "(1-128 letters, digits, or . _ : @ -). Please open the study from your panel's page."
        )
    existing = (
        PanelEntry.objects.select_related("participant").filter(panel=link, panel_participant_id=panel_id).first()
    )
    if existing is not None:
        return resume(existing.participant, resume_cookie=resume_cookie, what="panel id")
    participant = enter(
        experiment=link.experiment,
        source=ParticipantSource.PANEL,
        worker_id=f"panel:{link.pk}:{panel_id}",
        user_agent=user_agent,
    )
    PanelEntry.objects.create(panel=link, participant=participant, panel_participant_id=panel_id)
    return first_visit(participant)


def resume(participant: Participant, *, resume_cookie: str, what: str) -> PanelVisit:
    """A later visit with an id that entered before: resumed only in the browser holding its cookie."""
    if cookie_participant(resume_cookie) != participant.pk:
        raise PanelRefused(
            f"This study was already started with your {what} in another browser or device. Please continue it there.",
            status=409,
            title="Already started",
        )
    return PanelVisit(participant, resume_cookie)


def enter(*, experiment: Experiment, source: str, worker_id: str, user_agent: str) -> Participant:
    try:
        participant, _ = participants.enter_via_channel(
            experiment=experiment, source=source, worker_id=worker_id, user_agent=user_agent
        )
    except participants.EntryError as exc:
        raise PanelRefused(str(exc), status=403) from exc
    return participant


def first_visit(participant: Participant) -> PanelVisit:
    """The visit that created the participant: its sealed cookie binds the id to this browser."""
    return PanelVisit(participant, tokens.seal({"p": participant.pk}, purpose=RESUME_PURPOSE))


def cookie_participant(cookie: str) -> int | None:
    try:
        payload = tokens.unseal(cookie, purpose=RESUME_PURPOSE, max_age_s=RESUME_MAX_AGE_S)
    except tokens.BadToken:
        return None
    return payload.get("p") if isinstance(payload, dict) else None


def exit_url(*, entry: PanelEntry, screened_out: bool) -> str:
    """Where the participant goes at the end: the panel's URL with ``{code}``/``{pid}`` filled in
    (URL-quoted), else with ``code`` appended to its query."""
    link = entry.panel
    template = link.screened_out_url if screened_out and link.screened_out_url else link.completion_url
    code = link.screened_out_code if screened_out else link.completion_code
    if "{code}" in template or "{pid}" in template:
        return template.replace("{code}", quote(code, safe="")).replace(
            "{pid}", quote(entry.panel_participant_id, safe="")
        )
    parts = urlsplit(template)
    query = f"{parts.query}&{urlencode({'code': code})}" if parts.query else urlencode({"code": code})
    return urlunsplit(parts._replace(query=query))
