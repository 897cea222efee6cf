"""Every API call described once, as data, with the parser for its answer.

Nothing here performs I/O: the sync and async clients run an :class:`ApiCall` with their
own HTTP library and hand the answer back to :meth:`ApiCall.parse_response`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from neev_provider.client import validation
from neev_provider.client.body import decode_json
from neev_provider.client.errors import (
    NeevCloudValidationError,
    UnexpectedResponseError,
    error_from_response,
    names_missing_resource,
)
from neev_provider.client.models import Page, Volume

T = TypeVar("T")

STORAGE_PREFIX = "/storage/api/v1beta1"
TENANT_PREFIX = "/tenant/api/v1"


@dataclass(frozen=True)
class ProjectScope:
    """The organisation and project every Storage call is made in."""

    org_id: str
    project_id: str

    def __post_init__(self) -> None:
        validation.scope_id(self.org_id, "org_id")
        validation.scope_id(self.project_id, "project_id")

    def describe(self) -> str:
        """Return ``org 'org-a', project 'prj-b'``, for messages."""
        return f"org {self.org_id!r}, project {self.project_id!r}"

    @property
    def volumes_path(self) -> str:
        """The collection path, ``/storage/api/v1beta1/orgs/{org}/projects/{project}/volumes``."""
        org, project = quote(self.org_id, safe=""), quote(self.project_id, safe="")
        return f"{STORAGE_PREFIX}/orgs/{org}/projects/{project}/volumes"


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One HTTP request and how to read its answer.

    :param operation: the spec's operationId, used in logs and errors.
    :param expected_status: the success status; any other is turned into an exception.
    :param idempotent: whether replaying the request after an ambiguous failure is harmless.
    :param authenticated: whether the bearer token is sent.
    :param absent_status: a status that means "no such resource" and parses as ``None``
        instead of raising (404 for a lookup that may miss), when the answer is the API's
        own "not found" for ``resource_id`` (:func:`~neev_provider.client.errors.names_missing_resource`).
    :param resource_id: the id of the resource the call is about (a volume), which a 404 must
        name to mean "not found"; any other 404 is an
        :class:`~neev_provider.client.errors.EndpointNotFoundError` naming the URL.
    :param action: what the call does, in the user's words ("deleting volume …"), for messages.
    :param scope: the project the call acts in, for messages.
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
    absent_status: int | None = None
    resource_id: str | None = None
    action: str = ""
    scope: ProjectScope | None = None

    def parse_response(self, status: int, headers: Mapping[str, str], content: bytes, *, url: str) -> T:
        """Return the parsed answer, or raise the error the status maps to."""
        if status == self.expected_status:
            return self.parse(decode_json(content, self.operation) if content else None)
        if status == self.absent_status and names_missing_resource(content, self.resource_id):
            return self.parse(None)
        raise error_from_response(
            status,
            headers,
            content,
            method=self.method,
            url=url,
            resource_id=self.resource_id,
            not_found_hint=self._not_found_hint(),
        )

    def _not_found_hint(self) -> str | None:
        if self.resource_id is None or self.scope is None:
            return None
        return (
            f"Volume {self.resource_id} was not found in {self.scope.describe()}: check the id and the "
            "scope (org_id and project_id)"
        )


def _nothing(_: Any) -> None:
    return None


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
        action=f"listing the volumes of {scope.describe()}",
        scope=scope,
    )


def get_volume(scope: ProjectScope, volume_id: str) -> ApiCall[Volume]:
    """``GET .../volumes/{id}``."""
    vid = validation.volume_id(volume_id)
    return ApiCall(
        "getNetworkVolume",
        "GET",
        f"{scope.volumes_path}/{vid}",
        parse=Volume.from_api,
        resource_id=vid,
        action=f"reading volume {vid} in {scope.describe()}",
        scope=scope,
    )


def _volume_or_none(body: Any) -> Volume | None:
    return None if body is None else Volume.from_api(body)


def find_volume(scope: ProjectScope, volume_id: str) -> ApiCall[Volume | None]:
    """``GET .../volumes/{id}``, where a 404 means the volume is absent (``None``)."""
    vid = validation.volume_id(volume_id)
    return ApiCall(
        "getNetworkVolume",
        "GET",
        f"{scope.volumes_path}/{vid}",
        parse=_volume_or_none,
        absent_status=404,
        resource_id=vid,
        action=f"reading volume {vid} in {scope.describe()}",
        scope=scope,
    )


@dataclass(frozen=True)
class CreateVolumeRequest:
    """The body of a create call, checked when it is built.

    :param attached_to: AIRuntime instances as ``{"instance_id", "instance_name", "instance_type"}``.
    """

    size_gb: int
    region_id: str
    volume_mode: str = "filesystem"
    name: str | None = None
    mount_path: str | None = None
    attached_to: tuple[Mapping[str, str], ...] = ()

    def __post_init__(self) -> None:
        validation.size_gb(self.size_gb)
        validation.non_empty(self.region_id, "region_id", max_length=validation.MAX_ID_CHARS)
        validation.volume_mode(self.volume_mode)
        if self.name is not None:
            validation.volume_name(self.name)
        if self.mount_path is not None:
            validation.mount_path(self.mount_path)
        validation.attached_to(self.attached_to)

    def to_json(self) -> dict[str, Any]:
        """Return the ``NetworkVolumeRequest`` body."""
        body: dict[str, Any] = {
            "sizeGB": self.size_gb,
            "regionID": self.region_id,
            "volumeMode": self.volume_mode,
        }
        if self.name is not None:
            body["name"] = self.name
        if self.mount_path is not None:
            body["mountPath"] = self.mount_path
        if self.attached_to:
            body["attachedTo"] = validation.attached_to(self.attached_to)
        return body


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
        resource_id=vid,
        action=f"extending volume {vid} to {size_gb} GB in {scope.describe()}",
        scope=scope,
    )


def delete_volume(scope: ProjectScope, volume_id: str) -> ApiCall[None]:
    """``DELETE .../volumes/{id}``. Idempotent in effect: a replay finds 404."""
    vid = validation.volume_id(volume_id)
    return ApiCall(
        "deleteNetworkVolume",
        "DELETE",
        f"{scope.volumes_path}/{vid}",
        parse=_nothing,
        expected_status=204,
        resource_id=vid,
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
