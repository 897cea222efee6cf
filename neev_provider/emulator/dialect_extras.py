"""The ``extra-fields`` dialect: fields the spec does not list, on every object it describes.

The spec's schemas do not forbid other properties, and a real service adds some as it evolves
(tracing ids, internal bookkeeping). A client must keep working, and keep what it does not know
rather than fail on it. The extras have varied JSON types (string, number, boolean, array,
object) and names in both of the spec's spellings (``snake_case`` and ``camelCase``), but never a
name the spec uses, so every answer still validates against it.
"""

from __future__ import annotations

import secrets
from typing import Any

VOLUME_EXTRAS: dict[str, Any] = {
    "storageClass": "nv-standard",
    "x_internal": {"pvc": "emulated", "replicas": 3, "encrypted": True},
    "tags": ["emulator"],
}
ATTACHMENT_EXTRAS: dict[str, Any] = {"readOnly": False, "x_internal": {"node": "node-emulator-1"}}
INSTANCE_EXTRAS: dict[str, Any] = {"x_internal": {"zone": "emulated"}}
PAGINATION_EXTRAS: dict[str, Any] = {"x_internal": {"cursor": "emulated"}, "cached": False}


def _trace() -> dict[str, Any]:
    # A fresh id per answer, as a tracing gateway adds: nothing may be learnt from it.
    return {"trace_id": secrets.token_hex(16), "x_internal": {"upstream": "storage", "attempt": 1}}


def error_extras() -> dict[str, Any]:
    """Return the extra fields of an error body."""
    return _trace()


def volume_with_extras(volume: dict[str, Any]) -> dict[str, Any]:
    """Return a ``NetworkVolumeResponse`` with extras on it and on its nested objects."""
    decorated = {**volume, **VOLUME_EXTRAS}
    decorated["airuntime_instances"] = [
        {**item, **INSTANCE_EXTRAS} for item in volume.get("airuntime_instances", ())
    ]
    decorated["volumeAttachments"] = [
        {**item, **ATTACHMENT_EXTRAS} for item in volume.get("volumeAttachments", ())
    ]
    return decorated


def listing_with_extras(listing: dict[str, Any]) -> dict[str, Any]:
    """Return a ``ListNetworkVolumesResponse`` with extras everywhere, the envelope included."""
    return {
        "volumes": [volume_with_extras(volume) for volume in listing["volumes"]],
        "pagination": {**listing["pagination"], **PAGINATION_EXTRAS},
        **_trace(),
    }
