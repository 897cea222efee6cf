"""Every API call described once, as data, with the parser of its answer.

Nothing here performs I/O: the sync and async clients send an :class:`ApiCall` with their own
HTTP library and hand the answer back to :meth:`ApiCall.parse_response`. What a status means is
the spec's, per call: a delete's ``400`` is "in use", a ``404`` on a collection is a route that
is not served, and a ``404`` on a volume's own path is "no such volume" once the route is proven
(see :mod:`neev_provider.client.auth`'s request steps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from neev_provider.client import validation
from neev_provider.client._body import decode_json
from neev_provider.client.errors import (
    EndpointNotFoundError,
    NeevCloudAPIError,
    NeevCloudValidationError,
    UnexpectedResponseError,
    VolumeInUseError,
    error_from_response,
)
from neev_provider.client.models import CreateVolumeRequest, Page, ProjectScope, Volume

T = TypeVar("T")

TENANT_PREFIX = "/tenant/api/v1"
#: A collection answers 404 only when its route is not served: the URL is wrong.
_ROUTE_404: Mapping[int, type[NeevCloudAPIError]] = {404: EndpointNotFoundError}


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One HTTP request and how to read its answer.

    :param operation: the spec's operationId, used in logs and errors.
    :param expected_status: the success status; any other is turned into an exception.
    :param idempotent: whether replaying the request after an ambiguous failure is harmless.
    :param authenticated: whether the bearer token is sent.
    :param volume_id: the volume the call is about: its ``404`` means "no such volume" once the
        project's route is proven served.
    :param absent_ok: a proven ``404`` parses as ``None`` instead of raising (a lookup by id).
    :param by_status: what a status means for this call, where the spec says (delete: ``400``).
    :param action: what the call does, in the user's words ("deleting volume …"), for messages.
    :param scope: the project the call acts in.
    """

    operation: str
    method: str
    path: str
    parse: Callable[[Any], T] = field(repr=False)
    expected_status: int = 200
    params: Mapping[str, str | int] | None = None
    # The body may hold a password or refresh token: keep it out of reprs.
    json: Mapping[str, Any] | None = field(default=None, repr=False)
    idempotent: bool = True
    authenticated: bool = True
    volume_id: str | None = None
    absent_ok: bool = False
    by_status: Mapping[int, type[NeevCloudAPIError]] = field(default_factory=dict)
    action: str = ""
    scope: ProjectScope | None = None

    def parse_response(self, status: int, headers: Mapping[str, str], content: bytes, *, url: str) -> T:
        """Return the parsed answer, or raise the error the status maps to."""
        if status == self.expected_status:
            return self.parse(decode_json(content, self.operation) if content else None)
        hint = None
        if status == 404 and self.volume_id is not None and self.scope is not None:
            hint = (
                f"Volume {self.volume_id} was not found in {self.scope.describe()}: check the id and the "
                "scope (org_id and project_id)"
            )
        raise error_from_response(
            status, headers, content, method=self.method, url=url, by_status=self.by_status, hint=hint
        )


def _nothing(_: Any) -> None:
    return None


def _volume_or_none(body: Any) -> Volume | None:
    return None if body is None else Volume.from_api(body)


def list_volumes(
    scope: ProjectScope, *, page: int = 1, limit: int = 20, available: bool | None = None
) -> ApiCall[Page]:
    """``GET .../volumes``: one page of the project's volumes."""
    validation.page_number(page)
    validation.page_limit(limit)
    params: dict[str, str | int] = {"page": page, "limit": limit}
    if available is not None:
        params["available"] = "true" if available else "false"
    return ApiCall(
        "listNetworkVolumes",
        "GET",
        scope.volumes_path,
        parse=lambda body: Page.from_api(body, page=page, limit=limit),
        params=params,
        by_status=_ROUTE_404,
        action=f"listing the volumes of {scope.describe()}",
        scope=scope,
    )


def _read_volume(
    scope: ProjectScope, volume_id: str, parse: Callable[[Any], T], *, absent_ok: bool
) -> ApiCall[T]:
    vid = validation.volume_id(volume_id)
    return ApiCall(
        "getNetworkVolume",
        "GET",
        f"{scope.volumes_path}/{vid}",
        parse=parse,
        volume_id=vid,
        absent_ok=absent_ok,
        action=f"reading volume {vid} in {scope.describe()}",
        scope=scope,
    )


def get_volume(scope: ProjectScope, volume_id: str) -> ApiCall[Volume]:
    """``GET .../volumes/{id}``."""
    return _read_volume(scope, volume_id, Volume.from_api, absent_ok=False)


def find_volume(scope: ProjectScope, volume_id: str) -> ApiCall[Volume | None]:
    """``GET .../volumes/{id}``, where a volume that does not exist is ``None``."""
    return _read_volume(scope, volume_id, _volume_or_none, absent_ok=True)


def create_volume(scope: ProjectScope, request: CreateVolumeRequest) -> ApiCall[Volume]:
    """``POST .../volumes``. Not idempotent: the API has no idempotency key."""
    return ApiCall(
        "createNetworkVolume",
        "POST",
        scope.volumes_path,
        parse=Volume.from_api,
        expected_status=201,
        json=request.to_json(),
        idempotent=False,
        by_status=_ROUTE_404,
        action=f"creating volume {request.name or '(unnamed)'} in {scope.describe()}",
        scope=scope,
    )


def extend_volume(scope: ProjectScope, volume_id: str, size_gb: int) -> ApiCall[Volume]:
    """``POST .../volumes/{id}/extend`` to a new total size.

    Not idempotent: a replay after success is refused (the size is no longer larger).
    """
    vid = validation.volume_id(volume_id)
    validation.size_gb(size_gb)
    return ApiCall(
        "extendNetworkVolume",
        "POST",
        f"{scope.volumes_path}/{vid}/extend",
        parse=Volume.from_api,
        expected_status=202,
        json={"sizeGB": size_gb},
        idempotent=False,
        volume_id=vid,
        action=f"extending volume {vid} to {size_gb} GB in {scope.describe()}",
        scope=scope,
    )


def delete_volume(scope: ProjectScope, volume_id: str) -> ApiCall[None]:
    """``DELETE .../volumes/{id}``. Idempotent in effect: a replay finds 404.

    The spec's ``400`` here means one thing: the volume is in use.
    """
    vid = validation.volume_id(volume_id)
    return ApiCall(
        "deleteNetworkVolume",
        "DELETE",
        f"{scope.volumes_path}/{vid}",
        parse=_nothing,
        expected_status=204,
        volume_id=vid,
        by_status={400: VolumeInUseError},
        action=f"deleting volume {vid} in {scope.describe()}",
        scope=scope,
    )


@dataclass(frozen=True)
class Tokens:
    """What the tenant login and refresh endpoints return. Never logged or shown."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: float | None = None

    @classmethod
    def from_api(cls, data: object) -> Tokens:
        """Parse a ``LoginResponse``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
            raise UnexpectedResponseError("the login answer has no access_token")
        try:
            # The token goes into a header: one a header cannot carry is the server's mistake.
            access = validation.token(data["access_token"], "access_token")
        except NeevCloudValidationError as exc:
            raise UnexpectedResponseError(f"the login answer's {exc}") from None
        refresh = data.get("refresh_token")
        expires = data.get("expires_in")
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            # A lifetime beyond ten years (or not a number) is no expiry information at all.
            expires_in=float(expires)
            if isinstance(expires, int | float) and not isinstance(expires, bool) and 0 < expires < 3.2e8
            else None,
        )


def login(email: str, password: str) -> ApiCall[Tokens]:
    """``POST /tenant/api/v1/auth/login`` with e-mail and password."""
    return ApiCall(
        "login",
        "POST",
        f"{TENANT_PREFIX}/auth/login",
        parse=Tokens.from_api,
        json={"email": email, "password": password},
        authenticated=False,
        action=f"logging in as {email}",
    )


def refresh(refresh_token: str) -> ApiCall[Tokens]:
    """``POST /tenant/api/v1/auth/refresh`` with a refresh token."""
    return ApiCall(
        "refresh",
        "POST",
        f"{TENANT_PREFIX}/auth/refresh",
        parse=Tokens.from_api,
        json={"refresh_token": refresh_token},
        authenticated=False,
        action="refreshing the access token",
    )
