"""Credentials, and the token-renewal decisions shared by the sync and async clients.

Two modes, as the connection's ``auth_type`` says:

- :class:`TokenAuth`: a ready bearer token, a personal access token (``pat-nc-…``) or an
  access token obtained elsewhere. It cannot be renewed.
- :class:`LoginAuth`: e-mail and password for the tenant login endpoint. The access token
  is cached, refreshed shortly before it expires (from the JWT's ``exp`` claim, else the
  answer's ``expires_in``), and renewed once after a 401.

Neither class does I/O: they say which call to make (:meth:`LoginAuth.renewal_call`), and
the client runs it and hands back the tokens (:meth:`LoginAuth.accept`).

The steps of every request are written here once, as generators that both clients drive with
their own HTTP library (``request_steps``): obtain a header (``RENEW``, which the client
serves one renewal at a time, so that a burst of waits meeting an expired token logs in once),
send the call, renew once after a ``401``, and, after a ``404`` on a volume's path, prove with a
cheap read of the project's list that the route is served before reading it as "no such volume".
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from neev_provider.client import _calls, validation
from neev_provider.client._body import loads_or_none
from neev_provider.client.errors import (
    AuthenticationError,
    EndpointNotFoundError,
    NotFoundError,
    route_not_served,
)
from neev_provider.client.models import ProjectScope

T = TypeVar("T")

# Renew this long before the token's stated expiry, so a request never races it.
EXPIRY_MARGIN_SECONDS = 30.0


class Auth(Protocol):
    """What a client needs from credentials."""

    def header(self) -> str | None:
        """Return the ``Authorization`` value, or ``None`` if a renewal must come first."""

    def renewal_call(self) -> _calls.ApiCall[_calls.Tokens] | None:
        """Return the call that obtains a fresh token, or ``None`` if none is needed or possible."""

    def accept(self, tokens: _calls.Tokens) -> None:
        """Store tokens obtained by :meth:`renewal_call`."""

    def invalidate(self, header: str | None) -> bool:
        """Forget ``header`` after a 401 (unless already replaced); return whether renewing may help."""

    def secrets(self) -> list[str]:
        """Every credential value in play, in every form the client holds it."""


class TokenAuth:
    """A fixed bearer token."""

    kind = "token"

    def __init__(self, token: str) -> None:
        # Checked now, when the connection is read: a token a header cannot carry is refused with a
        # message that never quotes it. A pasted "Bearer xyz" is accepted.
        self._token = validation.token(token, "token")
        self._given = token
        self._header = f"Bearer {self._token}"

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"

    def header(self) -> str:
        """Return ``Bearer <token>``."""
        return self._header

    def renewal_call(self) -> None:
        """Return ``None``: a fixed token cannot be renewed."""
        return None

    def accept(self, tokens: _calls.Tokens) -> None:  # pragma: no cover - never renewed
        """Refuse tokens: nothing asks a fixed token to renew."""
        raise TypeError("a fixed token cannot be renewed")

    def invalidate(self, header: str | None) -> bool:
        """Return ``False``: after a 401 a fixed token stays wrong."""
        return False

    def secrets(self) -> list[str]:
        """The token as given, as sent (normalised) and the header."""
        return [self._given, self._given.strip(), self._token, self._header]


def jwt_expiry(token: str) -> float | None:
    """Return the ``exp`` claim of a JWT (seconds since the epoch), without verifying it."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = loads_or_none(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    # Before 1970 or after 9999 is no expiry information (and float() of a huge int overflows).
    if isinstance(exp, int | float) and not isinstance(exp, bool) and 0 < exp < 2.5e11:
        return float(exp)
    return None


class LoginAuth:
    """E-mail and password, exchanged for access tokens at the tenant login endpoint.

    :param on_token: called with every new access or refresh token, so that a host
        application can register it as a secret (Airflow's secrets masker).
    :param clock: seconds since the epoch; replaceable in tests.
    """

    kind = "login"

    def __init__(
        self,
        email: str,
        password: str,
        *,
        on_token: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._email = validation.non_empty(email, "login", max_length=254)
        self._password = validation.secret(password, "password")
        self._on_token = on_token
        self._clock = clock
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at: float | None = None
        # Every token ever obtained: a server may quote an old one back.
        self._seen: set[str] = set()

    def __repr__(self) -> str:
        return f"LoginAuth(email={self._email!r}, password=***)"

    def _fresh(self) -> bool:
        if self._access is None:
            return False
        return self._expires_at is None or self._clock() < self._expires_at - EXPIRY_MARGIN_SECONDS

    def header(self) -> str | None:
        """Return ``Bearer <access token>``, or ``None`` when none is held or it is about to expire."""
        return f"Bearer {self._access}" if self._fresh() else None

    def renewal_call(self) -> _calls.ApiCall[_calls.Tokens] | None:
        """Return a refresh call if a refresh token is held, else a login call; ``None`` if fresh."""
        if self._fresh():
            return None
        if self._refresh is not None:
            # A refresh token is used once: if it is refused, the next renewal logs in again.
            call, self._refresh = _calls.refresh(self._refresh), None
            return call
        return _calls.login(self._email, self._password)

    def accept(self, tokens: _calls.Tokens) -> None:
        """Keep new tokens, hand them to ``on_token``, and note when the access token expires."""
        for value in (tokens.access_token, tokens.refresh_token):
            if value:
                self._seen.add(value)
                if self._on_token is not None:
                    self._on_token(value)
        self._access = tokens.access_token
        self._refresh = tokens.refresh_token
        expiry = jwt_expiry(tokens.access_token)
        if expiry is None and tokens.expires_in is not None:
            expiry = self._clock() + tokens.expires_in
        self._expires_at = expiry

    def invalidate(self, header: str | None) -> bool:
        """Drop the access token after a 401; return ``True``: a new one may be obtained.

        A ``header`` that is no longer the current one was already replaced by a renewal that
        raced this request: nothing is dropped, and the next attempt uses the new token.
        """
        if header is not None and header == self.header():
            self._access = None
            self._expires_at = None
        return True

    def secrets(self) -> list[str]:
        """The password, and every token obtained with it."""
        current = [self._access] if self._access else []
        return [self._password, *self._seen, *current]


# -- the steps of a request, driven by both clients ----------------------------------------


class Renew:
    """A step asking the client for a valid ``Authorization`` value (one renewal at a time)."""


#: The one :class:`Renew` step.
RENEW = Renew()


@dataclass(frozen=True)
class Send:
    """A step asking the client to send ``call`` with ``authorization`` and return its result."""

    call: _calls.ApiCall[Any]
    authorization: str | None


Step = Send | Renew
Steps = Generator[Step, Any, T]


def renewal_steps(auth: Auth) -> Generator[Send, Any, str | None]:
    """Obtain a fresh ``Authorization`` value: a refresh first if one is held, else a login."""
    header = auth.header()
    if header is not None:
        return header
    for _ in range(2):
        renewal = auth.renewal_call()
        if renewal is None:
            return auth.header()
        try:
            tokens: _calls.Tokens = yield Send(renewal, None)
        except (AuthenticationError, NotFoundError):
            if renewal.operation == "refresh":
                continue  # a refused refresh token: log in again
            raise
        auth.accept(tokens)
        return f"Bearer {tokens.access_token}"
    return auth.header()


def request_steps(call: _calls.ApiCall[T], auth: Auth, served: set[ProjectScope]) -> Steps[T]:
    """The steps that carry out ``call``; return its parsed result.

    :param served: the projects whose routes a successful answer has proven served (the
        client's own set, updated here).
    """
    header = (yield RENEW) if call.authenticated else None
    try:
        result: T = yield Send(call, header)
    except AuthenticationError:
        if not call.authenticated or not auth.invalidate(header):
            raise
        header = yield RENEW
        result = yield Send(call, header)
    except NotFoundError as missing:
        return (yield from _after_not_found(call, header, served, missing))
    if call.scope is not None:
        served.add(call.scope)
    return result


def _after_not_found(
    call: _calls.ApiCall[T], header: str | None, served: set[ProjectScope], missing: NotFoundError
) -> Steps[T]:
    """A 404 on a volume's path: "no such volume" once the project's route is proven served."""
    if call.volume_id is None or call.scope is None:
        raise missing
    if call.scope not in served:
        try:
            yield Send(_calls.list_volumes(call.scope, page=1, limit=1), header)
        except (NotFoundError, EndpointNotFoundError):
            raise route_not_served(missing) from None
        # Any other failure of the probe (a 5xx, say) is raised as it is: it proves nothing, and
        # the 404 must not be read as "gone" until something does.
        served.add(call.scope)
    if call.absent_ok:
        return call.parse(None)
    raise missing
