"""Typed views of the Storage API's answers, and what a request names.

Parsing is tolerant: unknown fields are kept in ``raw`` and ignored otherwise, optional
fields may be missing, and a status value the client does not know yet becomes
``UNKNOWN`` instead of an error. Only a missing required field is refused; in a list, such an
item is set aside (``Page.unparsed``), so that one malformed volume of somebody else's does
not make the whole project unreadable.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from neev_provider.client import validation
from neev_provider.client.errors import UnexpectedResponseError

STORAGE_PREFIX = "/storage/api/v1beta1"


class VolumeStatus(str, enum.Enum):
    """Lifecycle state of a volume (the state of the PVC behind it)."""

    PENDING = "pending"
    BOUND = "bound"
    FAILED = "failed"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> VolumeStatus:
        """Return the member for ``value``, case-insensitively; ``UNKNOWN`` for anything else."""
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_failure(self) -> bool:
        """Whether the volume can no longer become ready."""
        return self in (VolumeStatus.FAILED, VolumeStatus.TERMINATED)


class ExtensionStatus(str, enum.Enum):
    """State of the latest extension (resize) of a volume."""

    RESIZING = "resizing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> ExtensionStatus | None:
        """Return the member for ``value``; ``None`` when absent, ``UNKNOWN`` when not recognised."""
        if value is None:
            return None
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    # datetime.fromisoformat only accepts a trailing "Z" from Python 3.11 on.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _require(data: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise UnexpectedResponseError(f"{what} has no valid {key!r} (got {value!r})")
    return value


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Attachment:
    """A resource that has the volume mounted (``VolumeAttachmentResponse``)."""

    id: str
    resource_type: str
    resource_id: str
    resource_name: str
    mount_path: str
    status: str

    @property
    def is_mounted(self) -> bool:
        """Whether this attachment keeps the volume in use."""
        return self.status.lower() == "mounted"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Attachment:
        """Build an attachment from its JSON object."""
        return cls(
            id=_str(data.get("id")),
            resource_type=_str(data.get("resource_type")),
            resource_id=_str(data.get("resource_id")),
            resource_name=_str(data.get("resource_name")),
            mount_path=_str(data.get("mount_path")),
            status=_str(data.get("status")),
        )

    def describe(self) -> str:
        """Return a short human description, e.g. ``airuntime trainer-0 at /mnt/data (mounted)``."""
        where = f" at {self.mount_path}" if self.mount_path else ""
        name = self.resource_name or self.resource_id or self.id
        return f"{self.resource_type or 'resource'} {name}{where} ({self.status or 'unknown'})"


@dataclass(frozen=True)
class Volume:
    """A network volume (``NetworkVolumeResponse``).

    ``raw`` keeps the API's own JSON object, unknown fields included; :meth:`to_dict`
    returns it, which is what operators push to XCom.
    """

    id: str
    name: str
    org_id: str
    project_id: str
    region_id: str
    size_gb: int
    volume_mode: str
    plan_id: str
    status: VolumeStatus
    extension_status: ExtensionStatus | None = None
    actual_size_gb: int | None = None
    attachments: tuple[Attachment, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Volume:
        """Parse one volume.

        :raises ~neev_provider.client.errors.UnexpectedResponseError: if a required field is missing.
        """
        if not isinstance(data, Mapping):
            raise UnexpectedResponseError(f"expected a volume object, got {type(data).__name__}")
        attachments = data.get("volumeAttachments")
        return cls(
            id=_require(data, "id", str, "volume"),
            name=_require(data, "name", str, "volume"),
            org_id=_require(data, "orgID", str, "volume"),
            project_id=_require(data, "projectID", str, "volume"),
            region_id=_require(data, "regionID", str, "volume"),
            size_gb=_require(data, "sizeGB", int, "volume"),
            volume_mode=_require(data, "volumeMode", str, "volume"),
            plan_id=_require(data, "planID", str, "volume"),
            status=VolumeStatus.parse(_require(data, "status", str, "volume")),
            extension_status=ExtensionStatus.parse(data.get("extension_status")),
            actual_size_gb=_optional_int(data.get("actual_sizeGB")),
            attachments=tuple(
                Attachment.from_api(item)
                for item in (attachments if isinstance(attachments, list) else [])
                if isinstance(item, Mapping)
            ),
            created_at=_parse_time(data.get("createdAt")),
            updated_at=_parse_time(data.get("updatedAt")),
            raw=dict(data),
        )

    @property
    def capacity_gb(self) -> int:
        """The provisioned size: ``actual_sizeGB`` while it is reported, else ``sizeGB``."""
        return self.actual_size_gb if self.actual_size_gb is not None else self.size_gb

    @property
    def mounted_attachments(self) -> tuple[Attachment, ...]:
        """The attachments that keep the volume in use."""
        return tuple(a for a in self.attachments if a.is_mounted)

    def to_dict(self) -> dict[str, Any]:
        """Return the volume as the API sent it: a JSON-safe dict."""
        return dict(self.raw)


def _refuse_other_envelope(data: Mapping[str, Any]) -> None:
    """Raise if a list answer without ``volumes`` carries its items under another key."""
    lists = [repr(key) for key, value in data.items() if isinstance(value, list)]
    if lists:
        raise UnexpectedResponseError(
            f"the volume list has no 'volumes' array but a list under {', '.join(lists[:3])}: it is not "
            "the Storage API's list answer, so it is not read as an empty list"
        )


@dataclass(frozen=True)
class Page:
    """One page of :meth:`~neev_provider.client.NeevCloudClient.list_volumes`.

    :param reported_page: the page number the API said it answered (``current_page``), if it did.
    :param unparsed: the items that are not volumes as the spec describes them (a required
        field missing), as sent; ``unparsed_reason`` says what was wrong with the first.
    """

    volumes: tuple[Volume, ...]
    page: int
    limit: int
    total_items: int | None
    total_pages: int | None
    reported_page: int | None = None
    unparsed: tuple[Mapping[str, Any], ...] = ()
    unparsed_reason: str | None = None

    @classmethod
    def from_api(cls, data: object, *, page: int, limit: int) -> Page:
        """Parse a ``ListNetworkVolumesResponse``; ``page``/``limit`` are what was asked for.

        The spec requires no field, so ``{}`` is an empty list; but an envelope that carries a
        list under another key (``{"items": [...]}``, ``{"data": [...]}``) is an error rather
        than "no volumes": a name lookup that read it as empty would miss the very volume it
        looks for.
        """
        if not isinstance(data, Mapping):
            raise UnexpectedResponseError(f"expected a volume list object, got {type(data).__name__}")
        if "volumes" not in data:
            _refuse_other_envelope(data)
            data = {**data, "volumes": []}
        items = data["volumes"] if data["volumes"] is not None else []
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"'volumes' is not a list (got {type(items).__name__})")
        pagination = data.get("pagination")
        if pagination is not None and not isinstance(pagination, Mapping):
            raise UnexpectedResponseError(f"'pagination' is not an object (got {type(pagination).__name__})")
        info: Mapping[str, Any] = pagination or {}
        reported = _optional_int(info.get("current_page"))
        volumes, unparsed, reason = _parse_items(items)
        return cls(
            volumes=tuple(volumes),
            page=reported or page,
            limit=_optional_int(info.get("items_per_page")) or limit,
            total_items=_optional_int(info.get("total_items")),
            total_pages=_optional_int(info.get("total_pages")),
            reported_page=reported,
            unparsed=tuple(unparsed),
            unparsed_reason=reason,
        )


def _parse_items(items: list[Any]) -> tuple[list[Volume], list[Mapping[str, Any]], str | None]:
    volumes: list[Volume] = []
    unparsed: list[Mapping[str, Any]] = []
    reason = None
    for item in items:
        try:
            volumes.append(Volume.from_api(item))
        except UnexpectedResponseError as error:
            unparsed.append(item if isinstance(item, Mapping) else {"item": item})
            reason = reason or str(error)
    return volumes, unparsed, reason


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
