"""A local stand-in for MTurk's worker site: frames a task page like MTurk does, and captures the
externalSubmit POST the completion page sends to turkSubmitTo."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class CaptureServer:
    server: ThreadingHTTPServer
    submissions: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def frame_url(self, task_url: str) -> str:
        """A page that shows ``task_url`` in an iframe, as MTurk's HIT page does."""
        return f"{self.origin}/hit?src={quote(task_url, safe='')}"

    def wait_for_submission(self, timeout: float = 20) -> tuple[str, dict[str, list[str]]]:
        if not self.received.wait(timeout):
            raise AssertionError("MTurk's externalSubmit never received the completion form.")
        return self.submissions[0]


def start_capture_server() -> CaptureServer:
    capture: CaptureServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _reply(self, body: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            parts = urlsplit(self.path)
            src = parse_qs(parts.query).get("src", [""])[0]
            self._reply(
                "<!doctype html><title>HIT</title><h1>Fake MTurk HIT page</h1>"
                f'<iframe id="task" src="{html.escape(src)}" style="width:100%;height:900px"></iframe>'
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            capture.submissions.append((urlsplit(self.path).path, form))
            capture.received.set()
            self._reply('<!doctype html><p id="submitted">Your HIT has been submitted.</p>')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    capture = CaptureServer(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return capture
