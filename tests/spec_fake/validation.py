"""Checks of what clients send, from the request schemas and parameters of the spec."""

from __future__ import annotations

import json
from typing import Any, TypeGuard

_VOLUME_MODES = ("filesystem", "block")
_ATTACHED_TO_FIELDS = ("instance_id", "instance_name", "instance_type")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class RequestError(ValueError):
    """The request breaks the spec: answered 400 with this message."""


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise RequestError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise RequestError("the body must be a JSON object")
    return payload


def volume_request(body: bytes) -> dict[str, Any]:
    """A valid ``NetworkVolumeRequest``, with ``volumeMode`` required as the schema says."""
    payload = _object(body)
    size = payload.get("sizeGB")
    if not _whole(size) or not 1 <= size <= 1000:
        raise RequestError("sizeGB must be an integer from 1 to 1000")
    region = payload.get("regionID")
    if not isinstance(region, str) or not region:
        raise RequestError("regionID is required")
    if payload.get("volumeMode") not in _VOLUME_MODES:
        raise RequestError("volumeMode must be filesystem or block")
    for key in ("name", "mountPath"):
        if key in payload and not isinstance(payload[key], str):
            raise RequestError(f"{key} must be a string")
    attached = payload.get("attachedTo", [])
    if not isinstance(attached, list) or not all(_is_attached_to(item) for item in attached):
        raise RequestError("attachedTo must list objects with instance_id, instance_name, instance_type")
    return payload


def _is_attached_to(item: Any) -> bool:
    return isinstance(item, dict) and all(isinstance(item.get(key), str) for key in _ATTACHED_TO_FIELDS)


def extend_size(body: bytes) -> int:
    """The ``sizeGB`` of a valid ``ExtendNetworkVolumeRequest``."""
    size = _object(body).get("sizeGB")
    if not _whole(size) or size < 1:
        raise RequestError("sizeGB must be an integer of at least 1")
    return size


def _integer(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise RequestError(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise RequestError(f"{name} must be from {low} to {high}" if high else f"{name} must be >= {low}")
    return value


def list_query(query: dict[str, list[str]]) -> tuple[int, int, bool | None]:
    """``page`` (from 1), ``limit`` (1 to 100, default 20) and ``available`` of a list request."""
    page = _integer(query, "page", 1, 1, None)
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    flag = query.get("available")
    if not flag:
        return page, limit, None
    if flag[-1] not in ("true", "false"):
        raise RequestError("available must be true or false")
    return page, limit, flag[-1] == "true"
