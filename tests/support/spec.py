"""The OpenAPI document, loaded once, and its schemas resolved for jsonschema."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def spec() -> dict[str, Any]:
    """Return the Storage API specification shipped with the package."""
    text = resources.files("neev_provider.openapi").joinpath("storage-v1beta1.openapi.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def resolved(schema: Any) -> Any:
    """Return ``schema`` with every ``#/components/schemas/...`` reference inlined."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return resolved(spec()["components"]["schemas"][ref.rsplit("/", 1)[-1]])
        return {key: resolved(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolved(item) for item in schema]
    return schema


def component(name: str) -> dict[str, Any]:
    """Return a component schema with its references inlined."""
    schema: dict[str, Any] = resolved(spec()["components"]["schemas"][name])
    return schema
