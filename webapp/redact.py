"""Worker secrets never reach a log line or an error report: one set of rules, applied everywhere.

A worker's session token (``/w/s/<token>/…``), an invite (``/w/invite/<token>/``, ``/w/i/<token>/``),
media, sound-check and headphone-screen tokens (``/w/m/<token>``, ``/w/a/<token>``, ``/w/h/<token>``, ``/w/hc/<token>``) and MTurk's ``workerId`` / ``assignmentId`` query parameters are as good as
the worker's identity or session: whoever reads them can answer in the worker's name. They reach logs
through gunicorn's access log (the request line, the referrer), Django's ``django.request`` and
``django.server`` warnings ("Not Found: /w/s/<token>/…") and error reports (URL, ``request.META``, local
variables of the failing frames). Applied by:

* :class:`RedactingFilter` — on the handlers of ``settings.LOGGING`` (every Django, Celery and app logger)
  and on gunicorn's access and error loggers (:class:`GunicornLogger`, ``webapp/gunicorn.conf.py``);
* :class:`RedactingExceptionReporter` (``DEFAULT_EXCEPTION_REPORTER``) and
  :class:`RedactingExceptionReporterFilter` (``DEFAULT_EXCEPTION_REPORTER_FILTER``) — error e-mails and
  debug pages.
"""

from __future__ import annotations

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from gunicorn import glogging

REDACTED = "[redacted]"
SECRET_PARAMETERS = ("workerId", "assignmentId", "pid")  # MTurk's and the panel links' default, in entry URLs
_SLASH = r"(?:/|%2F)"
# A path segment after a worker prefix (raw or percent-encoded slashes), or the value of an MTurk parameter.
_SECRETS = re.compile(
    rf"(?P<keep>{_SLASH}w{_SLASH}(?:s|i|invite|m|a|h|hc){_SLASH})[^/?#&\s\"'<>%]+(?:%(?!2F)[^/?#&\s\"'<>%]*)*"
    rf"|(?P<param>\b(?:{'|'.join(SECRET_PARAMETERS)})(?:=|%3D))[^&#;\s\"'<>]+",
    re.IGNORECASE,
)
_HINTS = ("/w/", "/W/", "%2F", "%2f", "Id=", "ID=", "id=", "Id%3D", "id%3D", "ID%3D")


def redact(text: str) -> str:
    """``text`` with worker tokens and MTurk worker/assignment ids replaced by ``[redacted]``."""
    if not any(hint in text for hint in _HINTS):  # the common case, without running the expression
        return text
    return _SECRETS.sub(lambda m: (m["keep"] or m["param"]) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrite a record's message (and formatted traceback) with :func:`redact`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error reporting
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding frame variables that hold a worker secret (``token``, ``worker_id`` …)."""

    hidden_variables = re.compile(r"token|signed|worker_?id|assignment_?id|turk_submit", re.IGNORECASE)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleansed_substitute if self.hidden_variables.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class RedactingExceptionReporter(ExceptionReporter):
    """Error reports (e-mails to ``ADMINS``, debug pages) with worker secrets redacted everywhere in them."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if "request_GET_items" in data:
            hidden = {name.lower() for name in SECRET_PARAMETERS}
            data["request_GET_items"] = [
                (name, REDACTED if name.lower() in hidden else value) for name, value in data["request_GET_items"]
            ]
        return data

    def get_traceback_html(self):
        return redact(super().get_traceback_html())

    def get_traceback_text(self):
        return redact(super().get_traceback_text())


class GunicornLogger(glogging.Logger):
    """gunicorn's logger with :class:`RedactingFilter` on its access and error logs (``logger_class``)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())
