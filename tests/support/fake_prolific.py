"""A fake Prolific on loopback: the endpoints, schemas and error cases of Prolific's public REST API
(api.prolific.com/api/v1) that ``recruitment.prolific_client`` uses, served by a real HTTP server in a thread.

Knobs for tests: ``fail_next`` (HTTP statuses to answer the next requests with, e.g. ``[429, 503]``; a 429
carries ``Retry-After: 0``), ``requests`` (every request seen: method, path, body), and the state itself
(``studies``, ``submissions``, ``bonuses``, ``messages``). Listings are paginated two per page to
exercise ``_links.next``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE = 2
TOKEN = "test-prolific-token"


def _hex() -> str:
    return secrets.token_hex(12)


class FakeProlific:
    def __init__(self) -> None:
        self.studies: dict[str, dict] = {}
        self.submissions: dict[str, dict] = {}
        self.bonuses: dict[str, dict] = {}
        self.messages: list[dict] = []
        self.requests: list[tuple[str, str, object]] = []
        self.fail_next: list[int] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body=None, headers=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                parts = urlsplit(self.path)
                with fake.lock:
                    fake.requests.append((method, parts.path, body))
                    if self.headers.get("Authorization") != f"Token {TOKEN}":
                        return self._send(401, {"error": {"detail": "Invalid token."}})
                    if fake.fail_next:
                        status = fake.fail_next.pop(0)
                        return self._send(
                            status, {"error": {"detail": "try later"}}, {"Retry-After": "0"} if status == 429 else None
                        )
                    status, out = fake.route(
                        method, parts.path, parse_qs(parts.query), body, self.server.server_address
                    )
                return self._send(status, out)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -------------------------------------------------------------------------------------- routes
    def _page(self, rows: list[dict], path: str, query: dict, address) -> dict:
        page = int(query.get("page", ["1"])[0])
        chunk = rows[(page - 1) * PAGE : page * PAGE]
        more = page * PAGE < len(rows)
        nxt = {"href": f"http://{address[0]}:{address[1]}{path}?page={page + 1}"} if more else {"href": None}
        return {"results": chunk, "_links": {"next": nxt}, "meta": {"count": len(rows)}}

    def route(self, method, path, query, body, address):
        if method == "GET" and path == "/api/v1/studies/":
            return 200, self._page(list(self.studies.values()), path, query, address)
        if method == "POST" and path == "/api/v1/studies/":
            return self._create_study(body or {})
        if method == "PATCH" and (m := re.fullmatch(r"/api/v1/studies/([0-9a-f]{24})/", path)):
            return self._update_study(m[1], body or {})
        if m := re.fullmatch(r"/api/v1/studies/([0-9a-f]{24})/", path):
            study = self.studies.get(m[1])
            return (200, study) if study else (404, {"error": {"detail": "Not found."}})
        if method == "POST" and (m := re.fullmatch(r"/api/v1/studies/([0-9a-f]{24})/transition/", path)):
            study = self.studies.get(m[1])
            if not study:
                return 404, {"error": {"detail": "Not found."}}
            if (body or {}).get("action") != "PUBLISH" or study["status"] != "UNPUBLISHED":
                return 400, {"error": {"detail": f"cannot {body} a study that is {study['status']}"}}
            study["status"] = "ACTIVE"
            return 200, study
        if method == "GET" and (m := re.fullmatch(r"/api/v1/studies/([0-9a-f]{24})/submissions/", path)):
            rows = [s for s in self.submissions.values() if s["study_id"] == m[1]]
            return 200, self._page(rows, path, query, address)
        if method == "GET" and (m := re.fullmatch(r"/api/v1/submissions/([0-9a-f]{24})/", path)):
            submission = self.submissions.get(m[1])
            return (200, submission) if submission else (404, {"error": {"detail": "Not found."}})
        if method == "POST" and (m := re.fullmatch(r"/api/v1/submissions/([0-9a-f]{24})/request-return/", path)):
            return self._request_return(m[1], body or {})
        if method == "POST" and (m := re.fullmatch(r"/api/v1/submissions/([0-9a-f]{24})/transition/", path)):
            return self._review(m[1], body or {})
        if method == "POST" and path == "/api/v1/submissions/bonus-payments/":
            return self._bonus(body or {})
        if method == "POST" and (m := re.fullmatch(r"/api/v1/bulk-bonus-payments/([0-9a-f]{24})/pay/", path)):
            bonus = self.bonuses.get(m[1])
            if not bonus:
                return 404, {"error": {"detail": "Not found."}}
            if bonus["paid"]:
                return 400, {"error": {"detail": "This bonus has already been paid."}}
            bonus["paid"] = True
            return 202, None
        if method == "POST" and path == "/api/v1/messages/":
            if not (body or {}).get("recipient_id") or not (body or {}).get("body"):
                return 400, {"error": {"detail": "recipient_id and body are required."}}
            self.messages.append(body)
            return 201, {}
        return 404, {"error": {"detail": f"no route {method} {path}"}}

    def _create_study(self, body: dict):
        required = ("name", "internal_name", "description", "external_study_url", "completion_codes")
        missing = [k for k in required if not body.get(k)]
        for key in ("total_available_places", "reward", "estimated_completion_time"):
            if not isinstance(body.get(key), int) or body[key] <= 0:
                missing.append(key)
        if "{{%PROLIFIC_PID%}}" not in body.get("external_study_url", ""):
            missing.append("external_study_url ({{%PROLIFIC_PID%}})")
        if bad := self._bad_filters(body.get("filters", [])):
            missing.append(bad)
        if missing:
            return 400, {"error": {"detail": f"invalid fields: {', '.join(missing)}"}}
        study = {**body, "id": _hex(), "status": "UNPUBLISHED"}
        self.studies[study["id"]] = study
        return 201, study

    def _update_study(self, study_id: str, body: dict):
        study = self.studies.get(study_id)
        if not study:
            return 404, {"error": {"detail": "Not found."}}
        if bad := self._bad_filters(body.get("filters", [])):
            return 400, {"error": {"detail": bad}}
        study.update(
            {k: v for k, v in body.items() if k in ("filters", "name", "description", "total_available_places")}
        )
        return 200, study

    @staticmethod
    def _bad_filters(filters) -> str:
        if not isinstance(filters, list):
            return "filters: a list"
        for f in filters:
            if f.get("filter_id") not in ("custom_blocklist", "custom_allowlist"):
                return f"unknown filter {f.get('filter_id')!r}"
            values = f.get("selected_values")
            if not isinstance(values, list) or not all(re.fullmatch(r"[0-9a-f]{24}", str(v)) for v in values):
                return "selected_values: a list of participant ids"
        return ""

    def add_submission(self, study_id: str, participant_id: str, status: str = "AWAITING REVIEW") -> str:
        submission = {
            "id": _hex(),
            "study_id": study_id,
            "participant_id": participant_id,
            "status": status,
            "study_code": self.studies[study_id]["completion_codes"][0]["code"],
        }
        self.submissions[submission["id"]] = submission
        return submission["id"]

    def _review(self, submission_id: str, body: dict):
        submission = self.submissions.get(submission_id)
        if not submission:
            return 404, {"error": {"detail": "Not found."}}
        if submission["status"] != "AWAITING REVIEW":
            return 400, {"error": {"detail": f"submission is {submission['status']}"}}
        action = body.get("action")
        if action == "APPROVE":
            submission["status"] = "APPROVED"
        elif action == "REJECT":
            if len(body.get("message", "")) < 100 or not body.get("rejection_category"):
                return 400, {"error": {"detail": "rejections need a message of 100+ characters and a category"}}
            submission["status"] = "REJECTED"
        else:
            return 400, {"error": {"detail": f"unknown action {action!r}"}}
        return 200, submission

    def _request_return(self, submission_id: str, body: dict):
        submission = self.submissions.get(submission_id)
        if not submission:
            return 404, {"error": {"detail": "Not found."}}
        reasons = body.get("request_return_reasons")
        if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r.strip() for r in reasons):
            return 400, {"error": {"detail": "request_return_reasons: a list of one or more reasons is required"}}
        if submission["status"] not in ("ACTIVE", "AWAITING REVIEW") or submission.get("is_return_requested"):
            return 400, {"error": {"detail": f"cannot request a return of a submission that is {submission['status']}"}}
        submission["is_return_requested"] = True
        submission["return_requested_reasons"] = reasons
        return 200, {"id": submission_id, "participant": submission["participant_id"], "return_requested": True}

    def _bonus(self, body: dict):
        study = self.studies.get(body.get("study_id", ""))
        if not study:
            return 400, {"error": {"detail": "unknown study"}}
        participants = {s["participant_id"] for s in self.submissions.values() if s["study_id"] == study["id"]}
        total = 0.0
        for line in str(body.get("csv_bonuses", "")).strip().splitlines():
            pid, _, amount = line.partition(",")
            if pid not in participants:
                return 400, {"error": {"detail": f"{pid} is not a participant of this study"}}
            total += float(amount)
        bonus = {"id": _hex(), "study": study["id"], "amount": round(total * 100), "paid": False}
        self.bonuses[bonus["id"]] = bonus
        return 201, bonus

    @property
    def paid_cents(self) -> int:
        return sum(b["amount"] for b in self.bonuses.values() if b["paid"])
