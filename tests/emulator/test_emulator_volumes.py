"""The five volume operations: happy paths, scoping, lifecycle, extension, delete and pagination."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from neev_provider.emulator import EmulatorSettings, create_app
from tests.emulator.emulator_client import DEFAULT_BODY
from tests.support.spec import check_response


def test_create_returns_pending_volume(api):
    volume = api.create(name="scratch", sizeGB=25, volumeMode="block")
    assert volume["status"] == "pending"
    assert (volume["orgID"], volume["projectID"]) == ("org-emulator", "prj-emulator")
    assert volume["name"] == "scratch"
    assert volume["sizeGB"] == 25
    assert volume["volumeMode"] == "block"
    assert volume["planID"] == "nv-standard-as-south-1"
    assert volume["volumeAttachments"] == []
    assert volume["createdAt"].endswith("Z")
    assert "extension_status" not in volume
    assert "actual_sizeGB" not in volume


@pytest.mark.parametrize("name", [None, ""], ids=["absent", "empty"])
def test_create_generates_name(api, name):
    fields = {} if name is None else {"name": name}
    volume = api.create(**fields)
    assert volume["name"].startswith("nv-")
    assert len(volume["name"]) == 13


def test_create_ignores_unknown_fields_and_allows_duplicate_names(api):
    first = api.create(name="dup", planID="whatever", colour="blue")
    second = api.create(name="dup")
    assert first["id"] != second["id"]


def test_create_with_attached_instances_mounts_them(api):
    instance = {"instance_id": str(uuid.uuid4()), "instance_name": "rt-1", "instance_type": "h100"}
    volume = api.create(attachedTo=[instance], mountPath="/mnt/ds")
    assert volume["airuntime_instances"] == [instance]
    [attachment] = volume["volumeAttachments"]
    assert attachment["resource_type"] == "airuntime"
    assert attachment["resource_id"] == instance["instance_id"]
    assert attachment["mount_path"] == "/mnt/ds"
    assert attachment["status"] == "mounted"


def test_get_and_lifecycle_pending_to_bound(api):
    volume = api.create()
    assert api.get(volume["id"]).json()["status"] == "pending"
    api.server.advance(1.0)
    assert api.get(volume["id"]).json()["status"] == "pending"
    api.server.advance(1.5)
    bound = api.get(volume["id"]).json()
    assert bound["status"] == "bound"
    assert bound["updatedAt"] > volume["updatedAt"]


def test_get_with_httpx(api):
    volume = api.create()
    headers = {"Authorization": f"Bearer {api.server.token}"}
    with httpx.Client(base_url=api.server.api_base(), headers=headers) as client:
        response = client.get(f"/volumes/{volume['id']}")
    assert response.status_code == 200
    check_response("getNetworkVolume", 200, response.headers["content-type"], response.content)
    assert response.json()["id"] == volume["id"]


@pytest.mark.parametrize("volume_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["unknown", "malformed"])
def test_get_unknown_volume_is_404(api, volume_id):
    response = api.get(volume_id)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("org", "project"), [("org-other", None), (None, "prj-other")])
def test_volume_of_another_org_or_project_is_404(api, org, project):
    volume = api.create()
    assert api.get(volume["id"], org=org, project=project).status_code == 404
    response = api.call("deleteNetworkVolume", "DELETE", f"/volumes/{volume['id']}", org=org, project=project)
    assert response.status_code == 404
    assert api.call("listNetworkVolumes", "GET", "/volumes", org=org, project=project).json()["volumes"] == []
    assert api.get(volume["id"]).status_code == 200


def test_delete_removes_volume(api):
    volume = api.create()
    response = api.delete(volume["id"])
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(volume["id"]).status_code == 404
    assert api.delete(volume["id"]).status_code == 404


def test_delete_in_use_then_detach(api):
    volume = api.bound_volume()
    attachment = api.server.attach(volume["id"])
    response = api.delete(volume["id"])
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "volume_in_use"
    assert "trainer-0" in error["message"]
    assert error["details"]["attachments"][0]["id"] == attachment["id"]
    api.server.detach(volume["id"], attachment["id"])
    assert api.get(volume["id"]).json()["volumeAttachments"] == []
    assert api.delete(volume["id"]).status_code == 204


def test_delete_with_delay_shows_terminated_first(api):
    api.server.configure(delete_delay=5)
    volume = api.bound_volume()
    assert api.delete(volume["id"]).status_code == 204
    assert api.get(volume["id"]).json()["status"] == "terminated"
    assert api.delete(volume["id"]).status_code == 204
    api.server.advance(5)
    assert api.get(volume["id"]).status_code == 404


def test_extend_resizing_then_succeeded(api):
    volume = api.bound_volume(sizeGB=10)
    response = api.extend(volume["id"], 50)
    assert response.status_code == 202
    accepted = response.json()
    assert (accepted["sizeGB"], accepted["actual_sizeGB"], accepted["extension_status"]) == (
        50,
        10,
        "resizing",
    )
    second = api.extend(volume["id"], 60)
    assert second.status_code == 400
    assert second.json()["code"] == "extension_in_progress"
    api.server.advance(2)
    done = api.get(volume["id"]).json()
    assert (done["sizeGB"], done["actual_sizeGB"], done["extension_status"]) == (50, 50, "succeeded")
    assert done["updatedAt"] > accepted["updatedAt"]


@pytest.mark.parametrize(
    ("size", "fragment"),
    [(10, "greater than the current size 10"), (5, "greater than"), (1001, "at most 1000")],
)
def test_extend_size_rules(api, size, fragment):
    volume = api.bound_volume(sizeGB=10)
    response = api.extend(volume["id"], size)
    assert response.status_code == 400
    assert response.json()["message"].startswith("sizeGB: ")
    assert fragment in response.json()["message"]


def test_extend_requires_bound_volume(api):
    volume = api.create()
    response = api.extend(volume["id"], 20)
    assert response.status_code == 400
    assert response.json()["details"]["status"] == "pending"


def test_extend_unknown_volume_is_404(api):
    assert api.extend(str(uuid.uuid4()), 20).status_code == 404


def test_list_paginates_truthfully(api):
    ids = [api.create(name=f"v{i}")["id"] for i in range(7)]
    seen = []
    for page in (1, 2, 3):
        body = api.list(page=page, limit=3).json()
        assert body["pagination"] == {
            "current_page": page,
            "items_per_page": 3,
            "total_items": 7,
            "total_pages": 3,
        }
        seen += [volume["id"] for volume in body["volumes"]]
    assert seen == ids
    past_end = api.list(page=4, limit=3).json()
    assert past_end["volumes"] == []
    assert past_end["pagination"]["total_pages"] == 3


def test_list_defaults_and_empty(api):
    body = api.list().json()
    assert body == {
        "volumes": [],
        "pagination": {"current_page": 1, "items_per_page": 20, "total_items": 0, "total_pages": 0},
    }


def test_list_available_filter(api):
    bound = api.bound_volume()
    pending = api.create()
    assert {v["id"] for v in api.list(available="true").json()["volumes"]} == {bound["id"]}
    assert {v["id"] for v in api.list(available="false").json()["volumes"]} == {bound["id"], pending["id"]}
    assert api.list(available="true").json()["pagination"]["total_items"] == 1


def test_ids_holding_a_slash_stay_one_path_segment(api):
    """``org_id``/``project_id`` are any strings: ``a/b`` is sent as ``a%2Fb`` and must still route."""
    scope = {"org": "a%2Fb", "project": "p%20q"}
    volume = api.call("createNetworkVolume", "POST", "/volumes", json=DEFAULT_BODY, **scope).json()
    assert (volume["orgID"], volume["projectID"]) == ("a/b", "p q")
    assert api.get(volume["id"], **scope).status_code == 200
    assert api.get(volume["id"]).status_code == 404  # another project
    listed = api.call("listNetworkVolumes", "GET", "/volumes", **scope).json()
    assert [item["id"] for item in listed["volumes"]] == [volume["id"]]
    assert api.server.requests()[-1]["operation"] == "listNetworkVolumes"


def test_create_app_in_process(contract_monitor):
    """``create_app`` also serves in-process, e.g. through httpx's ASGI transport."""

    async def scenario():
        app = create_app(EmulatorSettings(token="t", bind_delay=0), observer=contract_monitor.observe)
        transport = httpx.ASGITransport(app=app)
        base = "http://emulator/storage/api/v1beta1/orgs/o/projects/p"
        async with httpx.AsyncClient(transport=transport, headers={"Authorization": "Bearer t"}) as client:
            created = await client.post(
                f"{base}/volumes", json={"sizeGB": 3, "regionID": "as-south-1", "volumeMode": "block"}
            )
            fetched = await client.get(f"{base}/volumes/{created.json()['id']}")
        return created, fetched

    created, fetched = asyncio.run(scenario())
    assert created.status_code == 201
    assert fetched.json()["status"] == "bound"
    check_response("getNetworkVolume", 200, fetched.headers["content-type"], fetched.content)
