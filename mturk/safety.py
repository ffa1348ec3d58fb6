"""Guards against the classic sandbox/live mistakes, independent of boto3.

A live HIT must point at a page every worker on the internet can load over HTTPS; a localhost or
private-network URL works for the experimenter and for nobody else, and the HITs still cost money.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .modes import Mode

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class LiveModeNotConfirmed(PermissionError):
    """Live MTurk spends real money: every live entry point needs an explicit confirmation."""


class UnsafeTaskURL(ValueError):
    """The task URL cannot work for real workers."""


def require_live_confirmation(mode: Mode, *, confirm_live: bool) -> None:
    if mode == Mode.LIVE and not confirm_live:
        raise LiveModeNotConfirmed(
            "This would use LIVE Mechanical Turk (real workers, real money). Try it in the sandbox first; "
            "then confirm explicitly (--confirm-live on the command line, the confirmation box in the admin, "
            '"confirm_live": true in the API).'
        )


def check_task_url(url: str, *, mode: Mode) -> None:
    """Raise UnsafeTaskURL if a live HIT could not be loaded by workers from ``url``.

    The sandbox accepts any http(s) URL, so an experimenter can preview their own sandbox HIT against a
    development server.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeTaskURL(f"{url!r} is not an absolute http(s) URL.")
    if mode != Mode.LIVE:
        return
    if parts.scheme != "https":
        raise UnsafeTaskURL(f"Live HITs need an HTTPS task URL (MTurk loads it in an HTTPS frame): {url!r}.")
    host = parts.hostname.lower().rstrip(".")
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or ("." not in host and ":" not in host):
        raise UnsafeTaskURL(f"Live workers cannot reach {host!r}: publish the site on a public host name.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address.is_global:
        raise UnsafeTaskURL(f"{host} is a loopback, private or reserved address; live workers cannot reach it.")
