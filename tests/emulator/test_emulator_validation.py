"""Every validation error answers 400 with an ErrorResponse naming field, rule and value."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.emulator_client import DEFAULT_BODY
from tests.support.spec import check_response, schema_ref, validate


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"sizeGB": 0}, "sizeGB", "must be between 1 and 1000 (got 0)"),
        ({"sizeGB": 1001}, "sizeGB", "must be between 1 and 1000 (got 1001)"),
        ({"sizeGB": "10"}, "sizeGB", 'must be an integer (got "10")'),
        ({"sizeGB": True}, "sizeGB", "must be an integer (got true)"),
        ({"sizeGB": 10.5}, "sizeGB", "must be an integer (got 10.5)"),
        ({"volumeMode": "tape"}, "volumeMode", 'must be one of filesystem, block (got "tape")'),
        ({"regionID": None}, "regionID", "is required"),
        ({"volumeMode": None}, "volumeMode", "is required"),
        ({"sizeGB": None}, "sizeGB", "is required"),
        ({"regionID": ""}, "regionID", "must not be empty"),
        ({"regionID": "eu-west-2"}, "regionID", "known regions: as-south-1"),
        ({"name": 5}, "name", "must be a string"),
        (
            {"attachedTo": [{"instance_id": "x", "instance_name": "a", "instance_type": "b"}]},
            "attachedTo[0].instance_id",
            "must be a UUID",
        ),
        # uuid.UUID() takes these, the spec's format: uuid does not (and the id is echoed back).
        *(
            (
                {"attachedTo": [{"instance_id": form, "instance_name": "a", "instance_type": "b"}]},
                "attachedTo[0].instance_id",
                "must be a UUID",
            )
            for form in (
                "e3e70682c2091caca29f6fbed82c07cd",
                "{e3e70682-c209-1cac-a29f-6fbed82c07cd}",
                "urn:uuid:e3e70682-c209-1cac-a29f-6fbed82c07cd",
            )
        ),
    ],
    ids=lambda value: str(value) if not isinstance(value, dict) else None,
)
def test_create_validation(api, change, field, fragment):
    body = {**DEFAULT_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = api.call("createNetworkVolume", "POST", "/volumes", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "validation_error"
    assert error["message"].startswith(f"{field}: ")
    assert fragment in error["message"]
    assert error["details"]["field"] == field
    assert error["details"]["rule"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page": " 2"}, "page"),
        ({"page": "1" * 5000}, "page"),
        ({"available": "maybe"}, "available"),
    ],
)
def test_list_query_validation(api, params, field):
    response = api.list(**params)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}: ")
    assert response.json()["details"]["field"] == field


def test_page_has_no_upper_bound(api):
    """The spec bounds ``page`` from below only: a page far past the end is simply empty."""
    huge = 10**30
    body = api.list(page=huge).json()
    assert body["volumes"] == []
    assert body["pagination"]["current_page"] == huge


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]"], ids=["malformed", "empty", "array"])
def test_bad_json_body_is_400(api, raw):
    response = api.call(
        "createNetworkVolume", "POST", "/volumes", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_extend_body_validation(api):
    volume = api.bound_volume()
    for value in ("20", 0, None):
        response = api.extend(volume["id"], value)
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "sizeGB"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing authorization header"),
        ({"Authorization": "Bearer wrong"}, "invalid or expired token"),
        ({"Authorization": "Basic abc"}, "invalid or expired token"),
    ],
    ids=["missing", "wrong", "not-bearer"],
)
def test_unauthorized(neev_emulator, headers, message):
    response = requests.get(neev_emulator.api_base() + "/volumes", headers=headers, timeout=10)
    body = check_response("listNetworkVolumes", 401, response.headers["content-type"], response.content)
    assert body == {"code": "unauthorized", "message": message}


def test_unknown_route_and_wrong_method_use_error_response(api):
    missing = api.session.get(api.server.url + "/storage/api/v1beta1/nothing", timeout=10)
    assert missing.status_code == 404
    validate(schema_ref("ErrorResponse"), missing.json())
    trailing = api.session.get(api.server.api_base() + "/volumes/", timeout=10)
    assert trailing.status_code == 404
    wrong = api.session.put(api.server.api_base() + "/volumes", timeout=10)
    assert wrong.status_code == 405
    validate(schema_ref("ErrorResponse"), wrong.json())


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/volumes", "GET, HEAD, POST"),
        ("/volumes/{id}", "DELETE, GET, HEAD"),
        ("/volumes/{id}/extend", "POST"),
    ],
)
def test_405_allows_every_method_of_the_path(api, path, allowed):
    """Each method has a route of its own; the Allow header still lists them all."""
    url = api.server.api_base() + path.format(id="3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c")
    response = api.session.patch(url, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
