"""Strict validation of request bodies and query strings.

Checks are explicit rather than pydantic-based so that every failure names the field, the rule
and the offending value in the message (``sizeGB: must be between 1 and 1000 (got 1001)``) and
answers 400, never FastAPI's 422. Types are strict: ``"10"``, ``true`` and ``10.5`` are not
integers. Unknown body fields are ignored, as the spec does not forbid them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neev_provider.emulator.errors import EmulatorError, validation_error
from neev_provider.emulator.settings import MAX_SIZE_GB

VOLUME_MODES = ("filesystem", "block")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MISSING: Any = object()
_MAX_INT_DIGITS = 4000
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class AttachedTo:
    """An AIRuntime instance named in a create request."""

    instance_id: str
    instance_name: str
    instance_type: str


@dataclass(frozen=True)
class CreateVolumeRequest:
    """A validated ``NetworkVolumeRequest``."""

    size_gb: int
    region_id: str
    volume_mode: str
    name: str | None = None
    mount_path: str | None = None
    attached_to: list[AttachedTo] = field(default_factory=list)


@dataclass(frozen=True)
class ListQuery:
    """Validated query parameters of the list operation."""

    page: int = 1
    limit: int = 20
    available: bool | None = None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object."""
    if not raw.strip():
        raise EmulatorError(400, "invalid_request", "request body is required", {"rule": "required"})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EmulatorError(400, "invalid_json", f"request body is not valid JSON: {exc}", {}) from exc
    if not isinstance(body, dict):
        raise EmulatorError(400, "invalid_request", "request body must be a JSON object", {"rule": "object"})
    return body


def get_int(
    body: Mapping[str, Any], name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return a required integer field, checking bounds."""
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise validation_error(name, "required", "is required")
    return check_int(name, value, minimum=minimum, maximum=maximum)


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check that ``value`` is a JSON integer (not a bool, float or string) within bounds."""
    if type(value) is not int:
        raise validation_error(name, "integer", "must be an integer", value)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise validation_error(name, "range", f"must be between {minimum} and {maximum}", value)
    if minimum is not None and value < minimum:
        raise validation_error(name, "minimum", f"must be at least {minimum}", value)
    if maximum is not None and value > maximum:
        raise validation_error(name, "maximum", f"must be at most {maximum}", value)
    return value


def check_seconds(name: str, value: Any, *, maximum: float | None = None) -> float:
    """Check that ``value`` is a JSON number of seconds, ``>= 0`` and at most ``maximum``."""
    if type(value) not in (int, float) or value < 0 or (maximum is not None and value > maximum):
        bound = f" and <= {maximum:g}" if maximum is not None else ""
        raise validation_error(name, "seconds", f"must be a number of seconds >= 0{bound}", value)
    return float(value)


def get_str(
    body: Mapping[str, Any], name: str, *, required: bool = True, non_empty: bool = False
) -> str | None:
    """Return a string field; ``None`` when optional and absent."""
    value = body.get(name, _MISSING)
    if value is _MISSING:
        if required:
            raise validation_error(name, "required", "is required")
        return None
    if not isinstance(value, str):
        raise validation_error(name, "string", "must be a string", value)
    if non_empty and not value.strip():
        raise validation_error(name, "non_empty", "must not be empty", value)
    return value


def get_enum(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    """Return a required string field restricted to ``allowed``."""
    value = get_str(body, name)
    if value not in allowed:
        raise validation_error(
            name, "enum", f"must be one of {', '.join(allowed)}", value, allowed=list(allowed)
        )
    return value


def check_uuid(name: str, value: Any) -> str:
    """Check that ``value`` is a UUID string in the hyphenated 8-4-4-4-12 form.

    ``uuid.UUID`` alone would also take ``{...}``, ``urn:uuid:...`` and 32 bare hex digits,
    which the spec's ``format: uuid`` does not, and the value is echoed back in responses.
    """
    if not isinstance(value, str):
        raise validation_error(name, "string", "must be a string", value)
    if not _UUID.fullmatch(value):
        raise validation_error(name, "uuid", "must be a UUID", value)
    return value


def parse_create_volume(body: Mapping[str, Any], regions: tuple[str, ...]) -> CreateVolumeRequest:
    """Validate a ``NetworkVolumeRequest`` (``createNetworkVolume``)."""
    size_gb = get_int(body, "sizeGB", minimum=1, maximum=MAX_SIZE_GB)
    region_id = get_str(body, "regionID", non_empty=True)
    assert region_id is not None  # required=True never returns None
    if region_id not in regions:
        raise validation_error(
            "regionID",
            "known_region",
            f"unknown region, known regions: {', '.join(regions)}",
            region_id,
            allowed=list(regions),
        )
    volume_mode = get_enum(body, "volumeMode", VOLUME_MODES)
    name = get_str(body, "name", required=False)
    mount_path = get_str(body, "mountPath", required=False)
    return CreateVolumeRequest(
        size_gb=size_gb,
        region_id=region_id,
        volume_mode=volume_mode,
        name=name or None,
        mount_path=mount_path,
        attached_to=_parse_attached_to(body.get("attachedTo", _MISSING)),
    )


def _parse_attached_to(value: Any) -> list[AttachedTo]:
    if value is _MISSING:
        return []
    if not isinstance(value, list):
        raise validation_error("attachedTo", "array", "must be an array", value)
    parsed = []
    for index, item in enumerate(value):
        prefix = f"attachedTo[{index}]"
        if not isinstance(item, dict):
            raise validation_error(prefix, "object", "must be an object", item)
        for key in ("instance_id", "instance_name", "instance_type"):
            if key not in item:
                raise validation_error(f"{prefix}.{key}", "required", "is required")
        parsed.append(
            AttachedTo(
                instance_id=check_uuid(f"{prefix}.instance_id", item["instance_id"]),
                instance_name=_check_str(f"{prefix}.instance_name", item["instance_name"]),
                instance_type=_check_str(f"{prefix}.instance_type", item["instance_type"]),
            )
        )
    return parsed


def _check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise validation_error(name, "string", "must be a string", value)
    return value


def parse_extend_volume(body: Mapping[str, Any]) -> int:
    """Validate an ``ExtendNetworkVolumeRequest`` and return the requested total size."""
    return get_int(body, "sizeGB", minimum=1)


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """Validate the ``page``, ``limit`` and ``available`` query parameters."""
    page = _query_int(params, "page", 1, minimum=1, maximum=None)
    limit = _query_int(params, "limit", 20, minimum=1, maximum=100)
    available = None
    raw = params.get("available")
    if raw is not None:
        if raw.lower() not in ("true", "false"):
            raise validation_error("available", "boolean", "must be true or false", raw)
        available = raw.lower() == "true"
    return ListQuery(page=page, limit=limit, available=available)


def _query_int(
    params: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None
) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    # The spec bounds page only from below, so any number of digits is valid (up to the length
    # Python's int() accepts, far beyond anything a client sends).
    if not re.fullmatch(r"-?[0-9]+", raw) or len(raw) > _MAX_INT_DIGITS:
        raise validation_error(name, "integer", "must be an integer", raw)
    return check_int(name, int(raw), minimum=minimum, maximum=maximum)


def parse_email(body: Mapping[str, Any]) -> str:
    """Return the ``email`` field, which must look like an e-mail address."""
    email = get_str(body, "email", non_empty=True)
    assert email is not None
    if not _EMAIL.match(email):
        raise validation_error("email", "email", "must be an e-mail address", email)
    return email
