"""Hypothesis strategies that build JSON documents valid against the spec's schemas.

Covers the subset of JSON Schema the Storage spec uses: objects with required and
optional properties, arrays, strings (with ``uuid`` and ``date-time`` formats and enums),
integers and booleans. Optional properties are sometimes left out, and objects may carry
unknown properties, as a newer server might send.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from hypothesis import strategies as st

_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes(timezones=st.just(timezone.utc)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
}

_UNKNOWN_KEYS = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).map(lambda k: f"x_{k}")


def from_schema(schema: dict[str, Any], *, unknown_fields: bool = True) -> st.SearchStrategy[Any]:
    """Return a strategy for documents valid against ``schema`` (references already inlined)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, unknown_fields)
    if kind == "array":
        return st.lists(from_schema(schema["items"], unknown_fields=unknown_fields), max_size=3)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -(2**31)), max_value=schema.get("maximum", 2**31))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), st.text(max_size=20))
    raise NotImplementedError(f"schema not covered: {schema}")


def _object(schema: dict[str, Any], unknown_fields: bool) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = {name: from_schema(sub, unknown_fields=unknown_fields) for name, sub in properties.items()}
    present = st.fixed_dictionaries(
        {name: value for name, value in fields.items() if name in required},
        optional={name: value for name, value in fields.items() if name not in required},
    )
    if not unknown_fields:
        return present
    extras = st.dictionaries(_UNKNOWN_KEYS, st.integers() | st.text(max_size=5), max_size=2)
    return st.tuples(present, extras).map(lambda pair: {**pair[1], **pair[0]})
