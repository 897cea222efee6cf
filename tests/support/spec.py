"""Check HTTP responses against the response schemas of the shipped OpenAPI spec.

The spec is read from the package data (``neev_provider/openapi/storage-v1beta1.openapi.json``);
``#/components/schemas/...`` references are resolved against the spec document itself, and
``uuid`` / ``date-time`` formats are checked. With ``strict=True`` (the default) every object
schema that lists properties also forbids others, so "no extra fields" is checked too.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SPEC_PACKAGE = "neev_provider.openapi"
SPEC_FILE = "storage-v1beta1.openapi.json"


@functools.cache
def load_spec() -> dict[str, Any]:
    """Return the parsed OpenAPI document shipped with the package."""
    return json.loads(resources.files(SPEC_PACKAGE).joinpath(SPEC_FILE).read_text(encoding="utf-8"))


def operation(operation_id: str) -> dict[str, Any]:
    """Return the operation object with ``operation_id``."""
    for path_item in load_spec()["paths"].values():
        for op in path_item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(f"no operation {operation_id!r} in the spec")


def response_schema(operation_id: str, status: int) -> dict[str, Any] | None:
    """Return the JSON schema of a documented response, ``None`` if it has no body.

    :raises KeyError: the status is not documented for the operation.
    """
    responses = operation(operation_id)["responses"]
    if str(status) not in responses:
        raise KeyError(f"{operation_id} does not document status {status}")
    content = responses[str(status)].get("content")
    if not content:
        return None
    return content["application/json"]["schema"]


def forbid_extras(node: Any) -> None:
    """Make every object schema under ``node`` that lists properties forbid others (in place)."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            forbid_extras(value)
    elif isinstance(node, list):
        for value in node:
            forbid_extras(value)


@functools.cache
def _components(strict: bool) -> dict[str, Any]:
    components = copy.deepcopy(load_spec()["components"])
    if strict:
        forbid_extras(components)
    return components


def validate(schema: dict[str, Any], instance: Any, *, strict: bool = True) -> None:
    """Validate ``instance`` against ``schema`` (which may ``$ref`` the spec's components).

    :raises jsonschema.ValidationError: on the first violation.
    """
    schema = copy.deepcopy(schema)
    if strict:
        forbid_extras(schema)
    root = {**schema, "components": _components(strict)}
    Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(instance)


def schema_ref(name: str) -> dict[str, Any]:
    """Return a schema pointing at ``#/components/schemas/<name>``."""
    return {"$ref": f"#/components/schemas/{name}"}


def check_response(
    operation_id: str,
    status: int,
    content_type: str | None,
    body: bytes,
    *,
    strict: bool = True,
    undocumented_errors: bool = False,
) -> Any:
    """Assert that a response matches the spec for ``operation_id`` and ``status``; return its JSON.

    :param undocumented_errors: accept an error status the operation does not document (an
        injected 503, say) if its body is an ``ErrorResponse``.
    """
    try:
        schema = response_schema(operation_id, status)
    except KeyError:
        if not (undocumented_errors and status >= 400):
            raise AssertionError(f"{operation_id} answered undocumented status {status}: {body!r}") from None
        schema = schema_ref("ErrorResponse")
    if schema is None:
        assert body == b"", f"{operation_id} {status} must have no body, got {body!r}"
        return None
    assert (content_type or "").startswith("application/json"), f"content-type {content_type!r}"
    payload = json.loads(body)
    validate(schema, payload, strict=strict)
    return payload


def resolved(schema: Any) -> Any:
    """Return ``schema`` with every ``#/components/schemas/...`` reference inlined."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return resolved(load_spec()["components"]["schemas"][ref.rsplit("/", 1)[-1]])
        return {key: resolved(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolved(item) for item in schema]
    return schema


def component(name: str) -> dict[str, Any]:
    """Return a component schema with its references inlined."""
    schema: dict[str, Any] = resolved(load_spec()["components"]["schemas"][name])
    return schema
