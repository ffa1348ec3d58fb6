"""The only module that imports boto3: a thin, typed MTurk requester client that records every call.

* The endpoint (sandbox or live) is chosen explicitly by the caller for each use; there is no default.
  Live needs ``confirm_live=True`` and refuses task URLs real workers could not load.
* Throttling is handled by botocore's *adaptive* retry mode (exponential backoff plus a client-side
  rate limiter that slows down after ``ThrottlingException``), configured here once.
* Credentials come only from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_PROFILE``/``MTURK_AWS_PROFILE``, shared config files); nothing is read from settings defaults.
* Every call -- success or failure, each page of a listing -- is handed to a ``recorder`` (the audit
  log) with its request, response or error, duration and retry count. WorkerIds in what is recorded
  are replaced by ``worker_pseudonym(worker_id)`` (MTurk itself gets the real ones): the audit log keeps
  no worker identity, only the pseudonym the exports use.
* Tests inject a ``client_factory`` that builds the same real client and attaches botocore's Stubber.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
)

from .modes import REGION, REQUESTER_ENDPOINTS, Mode
from .question import external_question_xml
from .safety import check_task_url, require_live_confirmation

# Retries *after* the first attempt; botocore's adaptive mode backs off and rate-limits on throttling.
DEFAULT_MAX_RETRIES = 8
ASSIGNMENT_STATUSES = ("Submitted", "Approved", "Rejected")

ClientFactory = Callable[[Mode], Any]
Recorder = Callable[["CallRecord"], None]
WorkerPseudonym = Callable[[str], str]
# Where MTurk's requests and responses carry worker ids (e.g. SendBonus, Assignments[], NotifyWorkers).
WORKER_ID_KEYS = frozenset({"WorkerId"})
WORKER_ID_LIST_KEYS = frozenset({"WorkerIds"})


def retry_config(*, max_attempts: int = DEFAULT_MAX_RETRIES) -> Config:
    return Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=30,
    )


def default_client_factory(mode: Mode, *, profile: str | None = None, max_attempts: int = DEFAULT_MAX_RETRIES) -> Any:
    """A real boto3 MTurk client for ``mode``, with credentials from the standard AWS chain.

    ``profile`` names a profile in ~/.aws/credentials (not a secret); without it boto3 reads
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE from the environment.
    """
    session = boto3.session.Session(profile_name=profile or None)
    return session.client(
        "mturk",
        region_name=REGION,
        endpoint_url=REQUESTER_ENDPOINTS[mode],
        config=retry_config(max_attempts=max_attempts),
    )


# --- errors --------------------------------------------------------------------------------------


class MTurkError(Exception):
    """A failed MTurk call. ``outcome_unknown`` means MTurk may have performed it anyway."""

    outcome_unknown = False

    def __init__(self, operation: str, code: str, message: str, turk_error_code: str = ""):
        self.operation = operation
        self.code = code
        self.message = message
        self.turk_error_code = turk_error_code
        detail = f" [{turk_error_code}]" if turk_error_code else ""
        super().__init__(f"MTurk {operation} failed: {code}{detail}: {message}")

    @property
    def is_duplicate_request(self) -> bool:
        """MTurk's answer to a reused UniqueRequestToken: the operation was already performed."""
        text = f"{self.turk_error_code} {self.message}".lower()
        return self.code in {"RequestError", "ServiceFault"} and (
            "alreadyexists" in text
            or "already exists" in text
            or "uniquerequesttoken" in text
            or "duplicate" in text
            or "already been" in text
        )

    def mentioned_ids(self) -> list[str]:
        """MTurk-style ids (HIT, assignment, request) quoted in the message, e.g. the existing HIT's id."""
        return re.findall(r"\b[A-Z0-9]{20,64}\b", self.message)


class MTurkRequestError(MTurkError):
    """MTurk refused the request (bad parameters, insufficient funds, wrong state...): nothing happened."""


class MTurkTransientError(MTurkError):
    """Worth trying again later: throttling, a failure inside MTurk, or no answer at all (botocore's
    throttling and connection errors end up here). Celery tasks retry exactly these (``autoretry_for``)."""


class MTurkThrottled(MTurkTransientError):
    """Still throttled after every retry: nothing happened, try again later."""


class MTurkServiceError(MTurkTransientError):
    """MTurk failed internally; it may or may not have performed the operation."""

    outcome_unknown = True


class MTurkUnavailable(MTurkTransientError):
    """No answer (connection error, timeout): the operation may or may not have happened."""

    outcome_unknown = True


_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestThrottled"}


def _translate(operation: str, exc: Exception) -> MTurkError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", str(exc))
        turk_code = exc.response.get("TurkErrorCode", "") or error.get("TurkErrorCode", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        if code in _THROTTLING_CODES:
            return MTurkThrottled(operation, code, message, turk_code)
        if code == "ServiceFault" or status >= 500:
            return MTurkServiceError(operation, code, message, turk_code)
        return MTurkRequestError(operation, code, message, turk_code)
    if isinstance(exc, ConnectionError | HTTPClientError):
        return MTurkUnavailable(operation, type(exc).__name__, str(exc))
    if isinstance(exc, NoCredentialsError):
        return MTurkRequestError(
            operation,
            "NoCredentials",
            "No AWS credentials: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / "
            "MTURK_AWS_PROFILE) for the requester account.",
        )
    return MTurkRequestError(operation, type(exc).__name__, str(exc))


# Only errors with a known meaning are translated; anything else (a bug, a test stub mismatch) propagates.
_TRANSLATED = (ClientError, ParamValidationError, ConnectionError, HTTPClientError, NoCredentialsError)


# --- typed results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    available: Decimal
    on_hold: Decimal | None


@dataclass(frozen=True)
class RemoteHit:
    hit_id: str
    hit_type_id: str
    status: str
    max_assignments: int
    available: int
    pending: int
    completed: int
    expiration: dt.datetime | None
    creation_time: dt.datetime | None
    requester_annotation: str
    question: str

    @classmethod
    def from_api(cls, hit: dict) -> RemoteHit:
        return cls(
            hit_id=hit["HITId"],
            hit_type_id=hit.get("HITTypeId", ""),
            status=hit.get("HITStatus", ""),
            max_assignments=hit.get("MaxAssignments", 0),
            available=hit.get("NumberOfAssignmentsAvailable", 0),
            pending=hit.get("NumberOfAssignmentsPending", 0),
            completed=hit.get("NumberOfAssignmentsCompleted", 0),
            expiration=hit.get("Expiration"),
            creation_time=hit.get("CreationTime"),
            requester_annotation=hit.get("RequesterAnnotation", ""),
            question=hit.get("Question", ""),
        )


@dataclass(frozen=True)
class RemoteAssignment:
    assignment_id: str
    worker_id: str
    hit_id: str
    status: str
    accept_time: dt.datetime | None = None
    submit_time: dt.datetime | None = None
    approval_time: dt.datetime | None = None
    rejection_time: dt.datetime | None = None
    auto_approval_time: dt.datetime | None = None
    deadline: dt.datetime | None = None
    answer: str = ""
    requester_feedback: str = ""

    @classmethod
    def from_api(cls, assignment: dict) -> RemoteAssignment:
        return cls(
            assignment_id=assignment["AssignmentId"],
            worker_id=assignment["WorkerId"],
            hit_id=assignment["HITId"],
            status=assignment["AssignmentStatus"],
            accept_time=assignment.get("AcceptTime"),
            submit_time=assignment.get("SubmitTime"),
            approval_time=assignment.get("ApprovalTime"),
            rejection_time=assignment.get("RejectionTime"),
            auto_approval_time=assignment.get("AutoApprovalTime"),
            deadline=assignment.get("Deadline"),
            answer=assignment.get("Answer", ""),
            requester_feedback=assignment.get("RequesterFeedback", ""),
        )


@dataclass(frozen=True)
class RemoteBonus:
    worker_id: str
    assignment_id: str
    amount: Decimal
    reason: str
    grant_time: dt.datetime | None


@dataclass(frozen=True)
class CallRecord:
    """What the audit log keeps of one MTurk request (WorkerIds pseudonymised)."""

    operation: str
    mode: Mode
    endpoint: str
    request: dict
    response: dict | None
    error_code: str
    error_message: str
    duration_ms: int
    retry_attempts: int
    started_at: dt.datetime
    context: dict = field(default_factory=dict)


def _without_metadata(response: dict) -> dict:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def _worker_ids(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in WORKER_ID_KEYS and isinstance(item, str) and item:
                found.add(item)
            elif key in WORKER_ID_LIST_KEYS and isinstance(item, list):
                found.update(i for i in item if isinstance(i, str) and i)
            else:
                _worker_ids(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _worker_ids(item, found)
    return found


def _replace(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _replace(item, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(item, names) for item in value]
    if isinstance(value, str):
        if value in names:
            return names[value]
        for raw, pseudonym in names.items():
            if raw in value:
                value = value.replace(raw, pseudonym)
    return value


def pseudonymise_record(
    request: dict, response: dict | None, error_message: str, *, worker_pseudonym: WorkerPseudonym
) -> tuple[dict, dict | None, str]:
    """``request``, ``response`` and ``error_message`` with every WorkerId replaced by its pseudonym: the
    values of the ``WorkerId``/``WorkerIds`` keys, and those ids wherever else they appear (an error
    message, an answer, feedback)."""
    raw = _worker_ids(response, _worker_ids(request, set()))
    if not raw:
        return request, response, error_message
    names = {worker_id: worker_pseudonym(worker_id) for worker_id in sorted(raw, key=len, reverse=True)}
    return _replace(request, names), _replace(response, names), _replace(error_message, names)


# --- the client ----------------------------------------------------------------------------------


class MTurk:
    """One marketplace (sandbox or live), one boto3 client, every call audited."""

    def __init__(
        self,
        *,
        mode: Mode,
        recorder: Recorder,
        worker_pseudonym: WorkerPseudonym,
        confirm_live: bool = False,
        client_factory: ClientFactory | None = None,
        context: dict | None = None,
    ):
        mode = Mode(mode)
        require_live_confirmation(mode, confirm_live=confirm_live)
        self.mode = mode
        self._recorder = recorder
        self._worker_pseudonym = worker_pseudonym
        self._client = (client_factory or default_client_factory)(mode)
        endpoint = self._client.meta.endpoint_url.rstrip("/")
        if endpoint != REQUESTER_ENDPOINTS[mode]:
            # A client built for the other marketplace (or redirected by AWS_ENDPOINT_URL) must never be used.
            raise ValueError(f"The {mode} MTurk client points at {endpoint}, not {REQUESTER_ENDPOINTS[mode]}.")
        self.endpoint = endpoint
        self._context: dict = dict(context or {})

    @contextlib.contextmanager
    def audit_context(self, **context: Any) -> Iterator[None]:
        """Attach ``context`` (e.g. study_id, batch_id, actor) to the audit records of calls made inside."""
        previous = self._context
        # Empty values never erase what the client was opened with (e.g. the actor).
        self._context = {**previous, **{key: value for key, value in context.items() if value not in (None, "")}}
        try:
            yield
        finally:
            self._context = previous

    @property
    def boto_client(self) -> Any:
        """The underlying boto3 client (tests attach a Stubber or event hooks to it)."""
        return self._client

    def _call(self, operation: str, method: str, **params: Any) -> dict:
        params = {key: value for key, value in params.items() if value is not None}
        started_at = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        response: dict | None = None
        error_code = error_message = ""
        retry_attempts = 0
        try:
            response = getattr(self._client, method)(**params)
            retry_attempts = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        except _TRANSLATED as exc:
            error = _translate(operation, exc)
            error_code, error_message = error.code, error.message
            if isinstance(exc, ClientError):
                retry_attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            raise error from exc
        except Exception as exc:
            error_code, error_message = type(exc).__name__, str(exc)
            raise
        finally:
            request, recorded, error_message = pseudonymise_record(
                params,
                _without_metadata(response) if response is not None else None,
                error_message,
                worker_pseudonym=self._worker_pseudonym,
            )
            self._recorder(
                CallRecord(
                    operation=operation,
                    mode=self.mode,
                    endpoint=self.endpoint,
                    request=request,
                    response=recorded,
                    error_code=error_code,
                    error_message=error_message,
                    duration_ms=round((time.monotonic() - started) * 1000),
                    retry_attempts=retry_attempts,
                    started_at=started_at,
                    context=dict(self._context),
                )
            )
        return response

    def _pages(self, operation: str, method: str, **params: Any) -> Iterator[dict]:
        token = None
        while True:
            page = self._call(operation, method, NextToken=token, **params)
            yield page
            token = page.get("NextToken")
            if not token:
                return

    # --- account ---------------------------------------------------------------------------------

    def get_account_balance(self) -> Balance:
        response = self._call("GetAccountBalance", "get_account_balance")
        on_hold = response.get("OnHoldBalance")
        return Balance(available=Decimal(response["AvailableBalance"]), on_hold=Decimal(on_hold) if on_hold else None)

    # --- HITs ------------------------------------------------------------------------------------

    def create_hit_type(
        self,
        *,
        title: str,
        description: str,
        keywords: str,
        reward: Decimal,
        assignment_duration_s: int,
        auto_approval_delay_s: int,
        qualification_requirements: Sequence[dict],
    ) -> str:
        response = self._call(
            "CreateHITType",
            "create_hit_type",
            Title=title,
            Description=description,
            Keywords=keywords or None,
            Reward=str(reward),
            AssignmentDurationInSeconds=assignment_duration_s,
            AutoApprovalDelayInSeconds=auto_approval_delay_s,
            QualificationRequirements=list(qualification_requirements),
        )
        return response["HITTypeId"]

    def create_hit_with_hit_type(
        self,
        *,
        hit_type_id: str,
        external_url: str,
        frame_height: int,
        max_assignments: int,
        lifetime_s: int,
        requester_annotation: str,
        unique_request_token: str,
    ) -> RemoteHit:
        check_task_url(external_url, mode=self.mode)
        response = self._call(
            "CreateHITWithHITType",
            "create_hit_with_hit_type",
            HITTypeId=hit_type_id,
            MaxAssignments=max_assignments,
            LifetimeInSeconds=lifetime_s,
            Question=external_question_xml(external_url, frame_height=frame_height),
            RequesterAnnotation=requester_annotation,
            UniqueRequestToken=unique_request_token,
        )
        return RemoteHit.from_api(response["HIT"])

    def get_hit(self, hit_id: str) -> RemoteHit:
        return RemoteHit.from_api(self._call("GetHIT", "get_hit", HITId=hit_id)["HIT"])

    def iter_hits(self, *, page_size: int = 100) -> Iterator[RemoteHit]:
        for page in self._pages("ListHITs", "list_hits", MaxResults=page_size):
            for hit in page.get("HITs", []):
                yield RemoteHit.from_api(hit)

    def update_expiration_for_hit(self, hit_id: str, *, expire_at: dt.datetime) -> None:
        self._call("UpdateExpirationForHIT", "update_expiration_for_hit", HITId=hit_id, ExpireAt=expire_at)

    def create_additional_assignments_for_hit(self, hit_id: str, *, number: int, unique_request_token: str) -> None:
        self._call(
            "CreateAdditionalAssignmentsForHIT",
            "create_additional_assignments_for_hit",
            HITId=hit_id,
            NumberOfAdditionalAssignments=number,
            UniqueRequestToken=unique_request_token,
        )

    # --- assignments -----------------------------------------------------------------------------

    def iter_assignments(
        self, hit_id: str, *, statuses: Sequence[str] = ASSIGNMENT_STATUSES, page_size: int = 100
    ) -> Iterator[RemoteAssignment]:
        pages = self._pages(
            "ListAssignmentsForHIT",
            "list_assignments_for_hit",
            HITId=hit_id,
            AssignmentStatuses=list(statuses),
            MaxResults=page_size,
        )
        for page in pages:
            for assignment in page.get("Assignments", []):
                yield RemoteAssignment.from_api(assignment)

    def get_assignment(self, assignment_id: str) -> RemoteAssignment:
        response = self._call("GetAssignment", "get_assignment", AssignmentId=assignment_id)
        return RemoteAssignment.from_api(response["Assignment"])

    def approve_assignment(self, assignment_id: str, *, feedback: str = "", override_rejection: bool = False) -> None:
        self._call(
            "ApproveAssignment",
            "approve_assignment",
            AssignmentId=assignment_id,
            RequesterFeedback=feedback or None,
            OverrideRejection=override_rejection or None,
        )

    def reject_assignment(self, assignment_id: str, *, feedback: str) -> None:
        self._call("RejectAssignment", "reject_assignment", AssignmentId=assignment_id, RequesterFeedback=feedback)

    # --- money and workers -----------------------------------------------------------------------

    def send_bonus(
        self, *, worker_id: str, assignment_id: str, amount: Decimal, reason: str, unique_request_token: str
    ) -> None:
        self._call(
            "SendBonus",
            "send_bonus",
            WorkerId=worker_id,
            AssignmentId=assignment_id,
            BonusAmount=str(amount),
            Reason=reason,
            UniqueRequestToken=unique_request_token,
        )

    def iter_bonus_payments(self, *, assignment_id: str, page_size: int = 100) -> Iterator[RemoteBonus]:
        pages = self._pages(
            "ListBonusPayments", "list_bonus_payments", AssignmentId=assignment_id, MaxResults=page_size
        )
        for page in pages:
            for bonus in page.get("BonusPayments", []):
                yield RemoteBonus(
                    worker_id=bonus["WorkerId"],
                    assignment_id=bonus["AssignmentId"],
                    amount=Decimal(bonus["BonusAmount"]),
                    reason=bonus.get("Reason", ""),
                    grant_time=bonus.get("GrantTime"),
                )

    def notify_workers(self, *, subject: str, message_text: str, worker_ids: list[str]) -> list[tuple[str, str]]:
        """Email up to 100 workers through MTurk; returns (worker id, MTurk's reason) for each it could not reach."""
        response = self._call(
            "NotifyWorkers", "notify_workers", Subject=subject, MessageText=message_text, WorkerIds=list(worker_ids)
        )
        return [
            (failure.get("WorkerId", ""), failure.get("NotifyWorkersFailureMessage", ""))
            for failure in response.get("NotifyWorkersFailureStatuses", [])
        ]

    def create_worker_block(self, *, worker_id: str, reason: str) -> None:
        self._call("CreateWorkerBlock", "create_worker_block", WorkerId=worker_id, Reason=reason)

    def delete_worker_block(self, *, worker_id: str, reason: str) -> None:
        self._call("DeleteWorkerBlock", "delete_worker_block", WorkerId=worker_id, Reason=reason)

    # --- qualifications --------------------------------------------------------------------------

    def create_qualification_type(self, *, name: str, description: str, keywords: str = "") -> str:
        response = self._call(
            "CreateQualificationType",
            "create_qualification_type",
            Name=name,
            Description=description,
            Keywords=keywords or None,
            QualificationTypeStatus="Active",
        )
        return response["QualificationType"]["QualificationTypeId"]

    def find_own_qualification_type(self, *, name: str) -> str | None:
        pages = self._pages(
            "ListQualificationTypes",
            "list_qualification_types",
            Query=name,
            MustBeRequestable=False,
            MustBeOwnedByCaller=True,
            MaxResults=100,
        )
        for page in pages:
            for qualification in page.get("QualificationTypes", []):
                if qualification.get("Name") == name:
                    return qualification["QualificationTypeId"]
        return None

    def associate_qualification_with_worker(
        self, *, qualification_type_id: str, worker_id: str, value: int = 1
    ) -> None:
        self._call(
            "AssociateQualificationWithWorker",
            "associate_qualification_with_worker",
            QualificationTypeId=qualification_type_id,
            WorkerId=worker_id,
            IntegerValue=value,
            SendNotification=False,
        )
