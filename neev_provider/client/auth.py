"""Credentials, and the token-renewal decisions shared by the sync and async clients.

Two modes, as the connection's ``auth_type`` says:

- :class:`TokenAuth`: a ready bearer token, a personal access token (``pat-nc-…``) or an
  access token obtained elsewhere. It cannot be renewed.
- :class:`LoginAuth`: e-mail and password for the tenant login endpoint. The access token
  is cached, refreshed shortly before it expires (from the JWT's ``exp`` claim, else the
  answer's ``expires_in``), and renewed once after a 401.

Neither class does I/O: they say which call to make (:meth:`LoginAuth.renewal_call`), and
the client runs it and hands back the tokens (:meth:`LoginAuth.accept`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Protocol

from neev_provider.client import endpoints, validation
from neev_provider.client.body import loads_or_none

# Renew this long before the token's stated expiry, so a request never races it.
EXPIRY_MARGIN_SECONDS = 30.0


class Auth(Protocol):
    """What a client needs from credentials."""

    def header(self) -> str | None:
        """Return the ``Authorization`` value, or ``None`` if a renewal must come first."""

    def renewal_call(self) -> endpoints.ApiCall[endpoints.Tokens] | None:
        """Return the call that obtains a fresh token, or ``None`` if none is needed or possible."""

    def accept(self, tokens: endpoints.Tokens) -> None:
        """Store tokens obtained by :meth:`renewal_call`."""

    def invalidate(self) -> bool:
        """Forget the current token after a 401; return whether renewing may help."""


class TokenAuth:
    """A fixed bearer token."""

    kind = "token"

    def __init__(self, token: str) -> None:
        # Checked now, when the connection is read: a token a header cannot carry is refused with a
        # message that never quotes it. A pasted "Bearer xyz" is accepted.
        self._header = f"Bearer {validation.token(token, 'token')}"

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"

    def header(self) -> str:
        """Return ``Bearer <token>``."""
        return self._header

    def renewal_call(self) -> None:
        """Return ``None``: a fixed token cannot be renewed."""
        return None

    def accept(self, tokens: endpoints.Tokens) -> None:  # pragma: no cover - never renewed
        """Refuse tokens: nothing asks a fixed token to renew."""
        raise TypeError("a fixed token cannot be renewed")

    def invalidate(self) -> bool:
        """Return ``False``: after a 401 a fixed token stays wrong."""
        return False


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

    def __repr__(self) -> str:
        return f"LoginAuth(email={self._email!r}, password=***)"

    def _fresh(self) -> bool:
        if self._access is None:
            return False
        return self._expires_at is None or self._clock() < self._expires_at - EXPIRY_MARGIN_SECONDS

    def header(self) -> str | None:
        """Return ``Bearer <access token>``, or ``None`` when none is held or it is about to expire."""
        return f"Bearer {self._access}" if self._fresh() else None

    def renewal_call(self) -> endpoints.ApiCall[endpoints.Tokens] | None:
        """Return a refresh call if a refresh token is held, else a login call; ``None`` if fresh."""
        if self._fresh():
            return None
        if self._refresh is not None:
            # A refresh token is used once: if it is refused, the next renewal logs in again.
            call, self._refresh = endpoints.refresh(self._refresh), None
            return call
        return endpoints.login(self._email, self._password)

    def accept(self, tokens: endpoints.Tokens) -> None:
        """Keep new tokens, hand them to ``on_token``, and note when the access token expires."""
        for value in (tokens.access_token, tokens.refresh_token):
            if value and self._on_token is not None:
                self._on_token(value)
        self._access = tokens.access_token
        self._refresh = tokens.refresh_token
        expiry = jwt_expiry(tokens.access_token)
        if expiry is None and tokens.expires_in is not None:
            expiry = self._clock() + tokens.expires_in
        self._expires_at = expiry

    def invalidate(self) -> bool:
        """Drop the access token after a 401; return ``True``: a new one may be obtained."""
        self._access = None
        self._expires_at = None
        return True
