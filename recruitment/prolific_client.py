"""The only module that talks HTTP to Prolific (httpx): a thin client over the public REST API that records
every call, like ``mturk/client.py`` does for MTurk.

* The token comes only from the environment (``PROLIFIC_API_TOKEN``); the base URL from
  ``PROLIFIC_API_URL`` (default ``https://api.prolific.com``; the tests point it at a local fake server).
* Rate limiting (429, honouring ``Retry-After``) and server errors (5xx, dropped connections) are retried
  with capped exponential backoff for reads; a write is retried only when the caller says it is safe
  (``retry=True``), since Prolific has no idempotency keys: the services make creations idempotent by
  looking for what they created before creating it again.
* Every attempt sequence is handed to a ``recorder`` (the audit log) with the request, the response or
  error, the status, the attempts and the duration. Prolific participant ids in what is recorded are
  replaced by ``participant_pseudonym(pid)``; Prolific itself gets the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.prolific.com"
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER_S = 30.0
PID_KEYS = frozenset({"participant_id", "participant", "recipient_id"})


class ProlificError(Exception):
    """A call Prolific refused or that could not be completed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.body = status, body


@dataclass
class CallRecord:
    method: str
    path: str
    request: Any
    status: int = 0
    response: Any = None
    error: str = ""
    attempts: int = 0
    duration_ms: int = 0


Recorder = Callable[[CallRecord], None]


def _scrub(value: Any, pseudonym: Callable[[str], str]) -> Any:
    """``value`` with Prolific participant ids replaced by their pseudonyms (for the audit log)."""
    if isinstance(value, dict):
        return {k: _scrub_field(k, v, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, pseudonym) for v in value]
    return value


def _scrub_field(key: str, value: Any, pseudonym: Callable[[str], str]) -> Any:
    if key in PID_KEYS and isinstance(value, str):
        return pseudonym(value)
    if key == "csv_bonuses" and isinstance(value, str):  # "<participant id>,<amount>" lines
        lines = (line.partition(",") for line in value.splitlines())
        return "\n".join(f"{pseudonym(pid)},{amount}" if sep else pid for pid, sep, amount in lines)
    if key == "selected_values" and isinstance(value, list):  # a custom blocklist/allowlist of participant ids
        return [pseudonym(v) if isinstance(v, str) else v for v in value]
    return _scrub(value, pseudonym)


@dataclass
class ProlificClient:
    token: str
    recorder: Recorder
    participant_pseudonym: Callable[[str], str]
    base_url: str = DEFAULT_BASE_URL
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    timeout_s: float = 30.0
    _http: httpx.Client | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.token:
            raise ProlificError(
                "PROLIFIC_API_TOKEN is not set: create an API token in Prolific (Settings -> API tokens) and "
                "put it in the environment."
            )
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            headers={"Authorization": f"Token {self.token}", "Accept": "application/json"},
            timeout=self.timeout_s,
            transport=self.transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProlificClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ core
    def call(
        self, method: str, path: str, *, json: Any = None, params: dict | None = None, retry: bool | None = None
    ) -> Any:
        """One API call (retried as the module says); the decoded JSON body, or ``None`` for an empty one."""
        retry = method == "GET" if retry is None else retry
        record = CallRecord(method, path, _scrub({"json": json, "params": params}, self.participant_pseudonym))
        started = time.monotonic()
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                record.attempts = attempt
                try:
                    response = self._http.request(method, path, json=json, params=params)
                except httpx.TransportError as exc:
                    if retry and attempt < MAX_ATTEMPTS:
                        self.sleep(self._backoff(attempt, None))
                        continue
                    raise ProlificError(f"Prolific did not answer {method} {path}: {exc}") from exc
                record.status = response.status_code
                # 429 is always safe to retry (Prolific did nothing); a 5xx only where the call may repeat.
                throttled = response.status_code == 429 or (response.status_code >= 500 and retry)
                if throttled and attempt < MAX_ATTEMPTS:
                    self.sleep(self._backoff(attempt, response.headers.get("Retry-After")))
                    continue
                body = self._body(response)
                record.response = _scrub(body, self.participant_pseudonym)
                if response.is_error:
                    raise ProlificError(
                        f"Prolific refused {method} {path} ({response.status_code}): {_detail(body)}",
                        status=response.status_code,
                        body=body,
                    )
                return body
            raise ProlificError(f"Prolific kept refusing {method} {path} ({record.status})", status=record.status)
        except ProlificError as exc:
            record.error = str(exc)
            raise
        finally:
            record.duration_ms = round((time.monotonic() - started) * 1000)
            self.recorder(record)

    @staticmethod
    def _backoff(attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), MAX_RETRY_AFTER_S)
            except ValueError:
                pass
        return min(0.5 * 2 ** (attempt - 1), MAX_RETRY_AFTER_S)

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return {"text": response.text[:500]}

    def pages(self, path: str, *, params: dict | None = None) -> Iterator[dict]:
        """Every result of a paginated listing (``results`` + ``_links.next.href``)."""
        next_path: str | None = path
        while next_path:
            body = self.call("GET", next_path, params=params) or {}
            params = None  # the next link carries them
            yield from body.get("results", [])
            nxt = (body.get("_links") or {}).get("next") or {}
            href = nxt.get("href") if isinstance(nxt, dict) else None
            next_path = href.replace(self.base_url.rstrip("/"), "") if href else None

    # ------------------------------------------------------------------------------------ endpoints
    def list_studies(self) -> Iterator[dict]:
        return self.pages("/api/v1/studies/")

    def create_study(self, body: dict) -> dict:
        return self.call("POST", "/api/v1/studies/", json=body)

    def get_study(self, study_id: str) -> dict:
        return self.call("GET", f"/api/v1/studies/{study_id}/")

    def update_study(self, study_id: str, body: dict) -> dict:
        return self.call("PATCH", f"/api/v1/studies/{study_id}/", json=body, retry=True)  # absolute: may repeat

    def transition_study(self, study_id: str, action: str) -> dict:
        return self.call("POST", f"/api/v1/studies/{study_id}/transition/", json={"action": action})

    def list_submissions(self, study_id: str) -> Iterator[dict]:
        return self.pages(f"/api/v1/studies/{study_id}/submissions/")

    def get_submission(self, submission_id: str) -> dict:
        return self.call("GET", f"/api/v1/submissions/{submission_id}/")

    def request_return(self, submission_id: str, reasons: list[str]) -> dict:
        return self.call(
            "POST", f"/api/v1/submissions/{submission_id}/request-return/", json={"request_return_reasons": reasons}
        )

    def transition_submission(self, submission_id: str, action: str, **extra: Any) -> dict:
        return self.call("POST", f"/api/v1/submissions/{submission_id}/transition/", json={"action": action, **extra})

    def create_bonus(self, study_id: str, csv_bonuses: str) -> dict:
        return self.call(
            "POST", "/api/v1/submissions/bonus-payments/", json={"study_id": study_id, "csv_bonuses": csv_bonuses}
        )

    def pay_bonus(self, bonus_id: str) -> Any:
        return self.call("POST", f"/api/v1/bulk-bonus-payments/{bonus_id}/pay/")

    def send_message(self, recipient_id: str, study_id: str, body: str) -> Any:
        return self.call(
            "POST", "/api/v1/messages/", json={"recipient_id": recipient_id, "study_id": study_id, "body": body}
        )


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error") or body
        if isinstance(error, dict):
            return str(error.get("detail") or error.get("title") or error)[:300]
        return str(error)[:300]
    return str(body)[:300]
