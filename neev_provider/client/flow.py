"""The request flow both clients follow, written once as a generator.

:func:`conversation` decides *what* to send: it yields ``(call, authorization)`` steps
and receives each step's parsed result, or has the step's error thrown in. The sync and
async clients only drive it, each with its own HTTP library (see ``_execute`` in
``sync.py`` and ``aio.py``). The flow: get a token if the credentials need one, send the
call, and after a 401 renew the token and send the call once more.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from neev_provider.client.auth import Auth
from neev_provider.client.endpoints import ApiCall, Tokens
from neev_provider.client.errors import AuthenticationError, NotFoundError

T = TypeVar("T")

Step = tuple[ApiCall[Any], "str | None"]
Conversation = Generator[Step, Any, T]


def _authorize(auth: Auth) -> Generator[Step, Any, str | None]:
    header = auth.header()
    if header is not None:
        return header
    # A refresh first if one is held; if it is refused, a full login.
    for _ in range(2):
        renewal = auth.renewal_call()
        if renewal is None:
            return auth.header()
        try:
            tokens: Tokens = yield (renewal, None)
        except (AuthenticationError, NotFoundError):
            if renewal.operation == "refresh":
                continue
            raise
        auth.accept(tokens)
        return f"Bearer {tokens.access_token}"
    return auth.header()


def conversation(call: ApiCall[T], auth: Auth) -> Conversation[T]:
    """Yield the steps that carry out ``call``; return its parsed result."""
    if not call.authenticated:
        result: T = yield (call, None)
        return result
    header = yield from _authorize(auth)
    try:
        result = yield (call, header)
    except AuthenticationError:
        if not auth.invalidate():
            raise
        header = yield from _authorize(auth)
        result = yield (call, header)
    return result


def request_headers(authorization: str | None, user_agent: str, *, has_body: bool) -> dict[str, str]:
    """Return the headers of one request."""
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if has_body:
        headers["Content-Type"] = "application/json"
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def secrets_of(authorization: str | None) -> list[str]:
    """Return what of an ``Authorization`` value must never appear in a message: it, and its token."""
    if not authorization:
        return []
    return [authorization, authorization.partition(" ")[2] or authorization]
