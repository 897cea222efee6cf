"""Bearer-token checks and the tenant login/refresh flow.

Two kinds of access token are accepted: the static token from the settings (it stands for a
personal access token and never expires) and JWT-shaped tokens issued by login or refresh.
Those are HS256-signed with a random per-instance secret using only the standard library
(PyJWT is not a dependency of the emulator extra); they carry ``sub``, ``iat``, ``exp`` and
``jti`` and expire on the emulator clock. Refresh tokens are opaque, single-use (rotated on
every refresh) and live until used or until the emulator is reset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any

from neev_provider.emulator.clock import Clock
from neev_provider.emulator.errors import EmulatorError, not_found, unauthorized
from neev_provider.emulator.settings import EmulatorSettings

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Check ``Authorization`` headers; issue and rotate login tokens.

    :param clock: emulator clock that token expiry is measured on.
    :param settings: returns the current settings (static token, users, token TTL).
    """

    def __init__(self, clock: Clock, settings: Callable[[], EmulatorSettings]) -> None:
        self._clock = clock
        self._settings = settings
        self._secret = secrets.token_bytes(32)
        self._refresh_tokens: dict[str, str] = {}

    def reset(self) -> None:
        """Invalidate every issued token: a new secret voids all access tokens at once."""
        self._secret = secrets.token_bytes(32)
        self._refresh_tokens.clear()

    def authenticate(self, header: str | None) -> None:
        """Raise the gateway's 401 unless ``header`` is ``Bearer <valid token>``."""
        if not header:
            raise unauthorized("missing authorization header")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("invalid or expired token")
        if hmac.compare_digest(token.encode(), self._settings().token.encode()):
            return
        if self._verify(token) is None:
            raise unauthorized("invalid or expired token")

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Exchange e-mail and password for tokens (404 unknown user, 401 wrong password)."""
        users = self._settings().users
        if email not in users:
            raise not_found("user", email)
        if not hmac.compare_digest(password.encode(), users[email].encode()):
            raise EmulatorError(401, "invalid_credentials", "invalid email or password", {})
        return self._issue(email)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token for new tokens; the old refresh token stops working."""
        email = self._refresh_tokens.pop(refresh_token, None)
        if email is None:
            raise unauthorized("invalid or expired refresh token")
        return self._issue(email)

    def _issue(self, email: str) -> dict[str, Any]:
        ttl = self._settings().token_ttl
        now = int(self._clock.now())
        claims = {"sub": email, "iat": now, "exp": now + ttl, "jti": secrets.token_hex(8)}
        refresh_token = f"rt-{secrets.token_urlsafe(32)}"
        self._refresh_tokens[refresh_token] = email
        return {
            "access_token": self._sign(claims),
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": ttl,
        }

    def _sign(self, claims: dict[str, Any]) -> str:
        signing_input = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def _verify(self, token: str) -> dict[str, Any] | None:
        """Return the claims of a valid, unexpired token, else ``None``."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(claims.get("exp"), int) or self._clock.now() >= claims["exp"]:
            return None
        return claims
