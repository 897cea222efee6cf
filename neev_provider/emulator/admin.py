"""The admin API under ``/_emulator/``: steer the emulator from tests and demos.

No token and never subject to faults (the middleware skips this prefix); not part of the public
spec, and always in the native dialect. Only local programs may use it: the middleware refuses a
non-loopback ``Host`` and state changes without a JSON content type
(:mod:`~neev_provider.emulator.admin_guard`). Errors still use the ``ErrorResponse`` shape.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from neev_provider.emulator.clock import format_timestamp
from neev_provider.emulator.errors import validation_error
from neev_provider.emulator.responses import empty_response, json_response
from neev_provider.emulator.settings import ADMIN_PREFIX
from neev_provider.emulator.state import EmulatorState
from neev_provider.emulator.store import EXTENSION_STATUSES, OUTCOMES, VOLUME_STATUSES
from neev_provider.emulator.validation import (
    check_int,
    check_seconds,
    check_uuid,
    get_enum,
    get_str,
    parse_json_object,
)


async def _body(request: Request) -> dict[str, Any]:
    return parse_json_object(await request.body())


class AdminApi:
    """Admin route handlers bound to one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        """Return the Starlette routes of the admin API."""
        volume = ADMIN_PREFIX + "/volumes/{volume_id}"
        table = [
            ("/reset", "POST", self.reset),
            ("/clock", "GET", self.get_clock),
            ("/clock/advance", "POST", self.advance_clock),
            ("/volumes", "GET", self.list_volumes),
            ("/events", "GET", self.list_events),
            ("/settings", "GET", self.get_settings),
            ("/settings", "PATCH", self.patch_settings),
            ("/outcomes", "POST", self.script_outcome),
            ("/faults", "GET", self.list_faults),
            ("/faults", "POST", self.add_fault),
            ("/faults", "DELETE", self.clear_faults),
            ("/requests", "GET", self.list_requests),
            ("/requests", "DELETE", self.clear_requests),
        ]
        routes: list[BaseRoute] = [
            Route(ADMIN_PREFIX + path, handler, methods=[method], include_in_schema=False)
            for path, method, handler in table
        ]
        routes += [
            Route(volume + "/state", self.force_state, methods=["PUT"], include_in_schema=False),
            Route(volume + "/attachments", self.attach, methods=["POST"], include_in_schema=False),
            Route(
                volume + "/attachments/{attachment_id}",
                self.detach,
                methods=["DELETE"],
                include_in_schema=False,
            ),
        ]
        return routes

    async def reset(self, request: Request) -> Response:
        """Return the emulator to its initial state."""
        self.state.reset()
        return empty_response()

    def _clock(self) -> dict[str, Any]:
        return {"now": format_timestamp(self.state.clock.now()), "offset": self.state.clock.offset}

    async def get_clock(self, request: Request) -> Response:
        """Show emulator time and its offset from wall time."""
        return json_response(self._clock())

    async def advance_clock(self, request: Request) -> Response:
        """Move emulator time forward by ``{"seconds": n}``."""
        body = await _body(request)
        self.state.clock.advance(check_seconds("seconds", body.get("seconds")))
        return json_response(self._clock())

    async def list_events(self, request: Request) -> Response:
        """``GET /_emulator/events``: every volume's lifecycle events, oldest first."""
        return json_response({"events": self.state.store.events()})

    async def list_volumes(self, request: Request) -> Response:
        """List every volume of every org and project."""
        return json_response({"volumes": self.state.store.all_volumes()})

    async def force_state(self, request: Request) -> Response:
        """Force ``{"status"?, "extension_status"?}`` on a volume."""
        body = await _body(request)
        status = get_enum(body, "status", VOLUME_STATUSES) if "status" in body else None
        extension = (
            get_enum(body, "extension_status", EXTENSION_STATUSES) if "extension_status" in body else None
        )
        if status is None and extension is None:
            raise validation_error("status", "required", "status or extension_status is required")
        volume = self.state.store.force_state(request.path_params["volume_id"], status, extension)
        return json_response(volume)

    async def attach(self, request: Request) -> Response:
        """Attach a resource: ``{resource_type, resource_name, mount_path?, resource_id?, status?}``."""
        body = await _body(request)
        resource_id = body.get("resource_id")
        attachment = self.state.store.attach(
            request.path_params["volume_id"],
            resource_type=get_str(body, "resource_type", non_empty=True) or "",
            resource_name=get_str(body, "resource_name", non_empty=True) or "",
            mount_path=get_str(body, "mount_path", required=False),
            resource_id=check_uuid("resource_id", resource_id) if resource_id is not None else None,
            status=get_enum(body, "status", ("mounted", "unmounted")) if "status" in body else "mounted",
        )
        return json_response(attachment, 201)

    async def detach(self, request: Request) -> Response:
        """Detach (remove) an attachment."""
        params = request.path_params
        self.state.store.detach(params["volume_id"], params["attachment_id"])
        return empty_response()

    async def script_outcome(self, request: Request) -> Response:
        """Script ``{operation: bind|extend, outcome, times}`` for the next operations."""
        body = await _body(request)
        operation = get_enum(body, "operation", tuple(OUTCOMES))
        outcome = get_enum(body, "outcome", OUTCOMES[operation])
        times = check_int("times", body.get("times", 1), minimum=1)
        return json_response({"pending": self.state.store.script_outcome(operation, outcome, times)}, 201)

    async def list_faults(self, request: Request) -> Response:
        """List the installed fault rules."""
        return json_response({"faults": [rule.to_dict() for rule in self.state.faults.rules()]})

    async def add_fault(self, request: Request) -> Response:
        """Install a fault rule (see :mod:`neev_provider.emulator.faults`)."""
        return json_response(self.state.faults.add(await _body(request)).to_dict(), 201)

    async def clear_faults(self, request: Request) -> Response:
        """Remove every fault rule."""
        self.state.faults.reset(self.state.settings.seed)
        return empty_response()

    async def list_requests(self, request: Request) -> Response:
        """Return the request journal, oldest first."""
        return json_response({"requests": self.state.journal.entries()})

    async def clear_requests(self, request: Request) -> Response:
        """Empty the request journal."""
        self.state.journal.clear()
        return empty_response()

    async def get_settings(self, request: Request) -> Response:
        """Show the current settings (never the token)."""
        return json_response(self.state.describe_settings())

    async def patch_settings(self, request: Request) -> Response:
        """Change ``bind_delay``, ``resize_delay``, ``delete_delay``, ``token_ttl`` or ``dialect``."""
        self.state.configure(await _body(request))
        return json_response(self.state.describe_settings())
