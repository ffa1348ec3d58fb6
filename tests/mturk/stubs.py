"""Botocore Stubber on REAL boto3 MTurk clients, injected through settings.MTURK_CLIENT_FACTORY.

Every request our code makes is validated against the MTurk service model (parameter names, types,
required members) and every canned response against the output shape, exactly as botocore would.
The clients are built by the production factory, so endpoint, region and retry configuration are
the real ones too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
from decimal import Decimal

from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from mturk.client import default_client_factory
from mturk.modes import Mode

__all__ = ["ANY", "StubRegistry", "assignment", "hit", "registered_client"]

_active: StubRegistry | None = None
_ids = itertools.count(1)


def new_id(prefix: str = "3") -> str:
    """An MTurk-looking id: 30 upper-case alphanumerics, unique across runs sharing a database."""
    return f"{prefix}{secrets.token_hex(8).upper()}{next(_ids):013d}"[:30]


class StubRegistry:
    def __init__(self):
        self.clients = {}
        self.stubbers = {}
        self.built = []

    def client(self, mode: Mode):
        mode = Mode(mode)
        if mode not in self.clients:
            client = default_client_factory(mode)
            stubber = Stubber(client)
            stubber.activate()
            self.clients[mode], self.stubbers[mode] = client, stubber
        return self.clients[mode]

    @property
    def sandbox(self) -> Stubber:
        self.client(Mode.SANDBOX)
        return self.stubbers[Mode.SANDBOX]

    @property
    def live(self) -> Stubber:
        self.client(Mode.LIVE)
        return self.stubbers[Mode.LIVE]

    def close(self, *, check: bool = True) -> None:
        try:
            if check:
                for stubber in self.stubbers.values():
                    stubber.assert_no_pending_responses()
        finally:
            for stubber in self.stubbers.values():
                stubber.deactivate()


def activate(registry: StubRegistry | None) -> None:
    global _active
    _active = registry


def registered_client(mode: Mode):
    """The MTURK_CLIENT_FACTORY used by tests: the stubbed real client of the active registry."""
    if _active is None:
        raise RuntimeError("No StubRegistry is active: use the `mturk_stub` fixture.")
    _active.built.append(Mode(mode))
    return _active.client(mode)


# --- canned responses (shapes from the MTurk service model) ------------------------------------

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def hit(
    *,
    hit_id: str,
    annotation: str = "",
    status: str = "Assignable",
    max_assignments: int = 9,
    available: int | None = None,
    pending: int = 0,
    completed: int = 0,
    hit_type_id: str = "3HITTYPEXXXXXXXXXXXXXXXXXXXXXX",
    reward: str = "1.50",
) -> dict:
    return {
        "HITId": hit_id,
        "HITTypeId": hit_type_id,
        "HITGroupId": "3GROUPXXXXXXXXXXXXXXXXXXXXXXXX",
        "CreationTime": NOW,
        "Title": "Rate how well music fits video",
        "Description": "Watch short clips and rate the fit.",
        "Question": "<ExternalQuestion/>",
        "HITStatus": status,
        "MaxAssignments": max_assignments,
        "Reward": reward,
        "AutoApprovalDelayInSeconds": 259200,
        "Expiration": NOW + dt.timedelta(days=7),
        "AssignmentDurationInSeconds": 3600,
        "RequesterAnnotation": annotation,
        "NumberOfAssignmentsPending": pending,
        "NumberOfAssignmentsAvailable": max_assignments - pending - completed if available is None else available,
        "NumberOfAssignmentsCompleted": completed,
    }


def assignment(*, assignment_id: str, worker_id: str, hit_id: str, status: str = "Submitted") -> dict:
    data = {
        "AssignmentId": assignment_id,
        "WorkerId": worker_id,
        "HITId": hit_id,
        "AssignmentStatus": status,
        "AcceptTime": NOW,
        "SubmitTime": NOW + dt.timedelta(minutes=20),
        "AutoApprovalTime": NOW + dt.timedelta(days=3),
        "Deadline": NOW + dt.timedelta(hours=1),
        "Answer": "<QuestionFormAnswers/>",
    }
    if status == "Approved":
        data["ApprovalTime"] = NOW + dt.timedelta(hours=2)
    if status == "Rejected":
        data["RejectionTime"] = NOW + dt.timedelta(hours=2)
    return data


# --- a stub HTTP layer (for retries, which the Stubber bypasses) --------------------------------


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body


def http_response(request, status: int, body: dict) -> AWSResponse:
    """What MTurk's JSON protocol sends back, fed to botocore's real parser and retry handler."""
    return AWSResponse(
        request.url,
        status,
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "req-1"},
        _Raw(json.dumps(body, default=str).encode()),
    )


def dollars(value: str) -> Decimal:
    return Decimal(value)
