"""Bad input is refused before any call, with a message naming field, value and rule."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider.client import (
    ClientConfig,
    CreateVolumeRequest,
    NeevCloudValidationError,
    ProjectScope,
    TokenAuth,
    _calls as endpoints,
)

SCOPE = ProjectScope("org-a", "prj-b")


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"size_gb": 0}, "size_gb", "from 1 to 1000"),
        ({"size_gb": 1001}, "size_gb", "from 1 to 1000"),
        ({"size_gb": 10.5}, "size_gb", "whole number"),
        ({"size_gb": True}, "size_gb", "whole number"),
        ({"volume_mode": "tape"}, "volume_mode", "filesystem, block"),
        ({"region_id": ""}, "region_id", "non-empty"),
        ({"name": "Has Spaces"}, "name", "lower-case"),
        ({"name": "x" * 64}, "name", "1-63"),
        ({"mount_path": "mnt/data"}, "mount_path", "absolute"),
        (
            {"attached_to": ({"instance_id": "nope", "instance_name": "a", "instance_type": "b"},)},
            "instance_id",
            "UUID",
        ),
    ],
)
def test_create_request_rules(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    values: dict[str, Any] = {"size_gb": 10, "region_id": "as-south-1", **kwargs}
    with pytest.raises(NeevCloudValidationError) as caught:
        CreateVolumeRequest(**values)
    message = str(caught.value)
    assert field in message
    assert fragment in message
    assert repr(kwargs[next(iter(kwargs))])[:20] in message or field == "instance_id"


def test_volume_ids_must_be_uuids() -> None:
    with pytest.raises(NeevCloudValidationError, match=r"volume_id='vol-1' is invalid: must be a UUID"):
        endpoints.get_volume(SCOPE, "vol-1")


def test_extend_size_is_checked() -> None:
    with pytest.raises(NeevCloudValidationError, match="size_gb=2000"):
        endpoints.extend_volume(SCOPE, "1d4f0a8e-5b7c-4e2a-9f3d-6c8b7a9e0f12", 2000)


@pytest.mark.parametrize(("page", "limit", "field"), [(0, 10, "page"), (1, 0, "limit"), (1, 101, "limit")])
def test_list_bounds(page: int, limit: int, field: str) -> None:
    with pytest.raises(NeevCloudValidationError, match=field):
        endpoints.list_volumes(SCOPE, page=page, limit=limit)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("http://api.ai.neevcloud.com", "must use https"),
        ("ftp://api.ai.neevcloud.com", "must be a URL"),
        ("https://user:pw@api.ai.neevcloud.com", "must not carry credentials"),
        ("", "must be a URL"),
    ],
)
def test_host_rules(host: str, fragment: str) -> None:
    with pytest.raises(NeevCloudValidationError, match=fragment) as caught:
        ClientConfig(org_id="o", project_id="p", auth=TokenAuth("t0k3n-value"), host=host)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "host", ["http://127.0.0.1:8080", "http://localhost:9", "https://api.ai.neevcloud.com/"]
)
def test_accepted_hosts(host: str) -> None:
    config = ClientConfig(org_id="o", project_id="p", auth=TokenAuth("t0k3n-value"), host=host)
    assert not config.host.endswith("/")


@pytest.mark.parametrize(("org", "project", "field"), [("", "p", "org_id"), ("o", " ", "project_id")])
def test_org_and_project_are_required(org: str, project: str, field: str) -> None:
    with pytest.raises(NeevCloudValidationError, match=field):
        ClientConfig(org_id=org, project_id=project, auth=TokenAuth("t0k3n-value"))


def test_an_empty_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(NeevCloudValidationError, match=r"token=\(hidden\) is invalid"):
        TokenAuth("   ")
