"""Who may steer the emulator: only a program of its own user, not a web page they happen to visit.

The admin API has no authentication (tests and demos drive it with ``curl``), and a browser on the
same machine can reach ``127.0.0.1``. Two rules keep a web page from resetting the emulator,
moving its clock or injecting faults while its user runs a DAG against it:

* the ``Host`` header must name a loopback address or ``localhost`` (403 otherwise). A page whose
  domain an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own domain as ``Host``;
  a program on this machine sends the address it connected to.
* a request that changes state (POST, PUT, PATCH, DELETE) must say ``Content-Type:
  application/json`` (415 otherwise), a bodiless reset included. A page can send a cross-origin
  POST without asking first only with a form or ``text/plain`` content type; for JSON the
  browser first sends a CORS preflight, which the emulator never grants.

Neither rule stops a program that can open a connection to the emulator: that is what binding to
loopback only (``--host``'s default) is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neev_provider.emulator.errors import EmulatorError
from neev_provider.emulator.loopback import host_without_port, is_loopback

if TYPE_CHECKING:
    from starlette.types import Scope

#: Methods that change the emulator's state, and so must carry a JSON content type.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"


def admin_refusal(scope: Scope) -> EmulatorError | None:
    """Return the error refusing this admin request, or ``None`` when it may proceed."""
    hosts = [value for name, value in scope.get("headers", ()) if name == b"host"]
    host = hosts[0].decode("latin-1") if len(hosts) == 1 else None
    name = host_without_port(host) if host is not None else None
    if name is None or not is_loopback(name):
        return EmulatorError(
            403,
            "forbidden_host",
            "admin requests must be addressed to a loopback host (127.0.0.1, ::1 or localhost), "
            f"got Host {host!r}; a non-loopback Host is refused to defeat DNS rebinding",
            {"hosts": [value.decode("latin-1") for value in hosts]},
        )
    if scope["method"] in STATE_CHANGING:
        types = [value for name, value in scope.get("headers", ()) if name == b"content-type"]
        given = types[0].decode("latin-1") if types else None
        if given is None or given.partition(";")[0].strip().lower() != JSON_MEDIA_TYPE:
            return EmulatorError(
                415,
                "unsupported_media_type",
                f"admin requests that change state must have Content-Type: {JSON_MEDIA_TYPE} (even "
                f"without a body), got {given!r}; other types are refused to defeat cross-site requests",
                {"method": scope["method"], **({"content_type": given} if given is not None else {})},
            )
    return None
