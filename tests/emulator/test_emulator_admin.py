"""The admin API: scripted outcomes, forced states, attachments, settings, clock and reset."""

from __future__ import annotations

import uuid

import pytest
import requests


def _admin(server, method, path, **kwargs):
    """Call the admin API as a well-behaved local program: JSON content type on every request."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return requests.request(method, f"{server.url}/_emulator{path}", headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize("outcome", ["failed", "terminated"])
def test_scripted_bind_outcome(api, outcome):
    api.server.script_outcome("bind", outcome, times=2)
    volumes = [api.create() for _ in range(3)]
    api.server.advance(2)
    statuses = [api.get(volume["id"]).json()["status"] for volume in volumes]
    assert statuses == [outcome, outcome, "bound"]


def test_scripted_extension_failure_reverts_size(api):
    volume = api.bound_volume(sizeGB=10)
    api.server.script_outcome("extend", "failed")
    assert api.extend(volume["id"], 40).status_code == 202
    api.server.advance(2)
    failed = api.get(volume["id"]).json()
    assert (failed["extension_status"], failed["sizeGB"], failed["actual_sizeGB"]) == ("failed", 10, 10)
    assert api.extend(volume["id"], 40).status_code == 202  # a failed extension may be retried


def test_force_state(api):
    volume = api.create()
    forced = api.server.set_state(volume["id"], status="failed")
    assert forced["status"] == "failed"
    api.server.advance(10)
    assert api.get(volume["id"]).json()["status"] == "failed"  # forced states stick
    api.server.set_state(volume["id"], status="bound", extension_status="resizing")
    shown = api.get(volume["id"]).json()
    assert (shown["status"], shown["extension_status"], shown["actual_sizeGB"]) == ("bound", "resizing", 10)
    assert api.extend(volume["id"], 20).status_code == 400


def test_force_state_validation(api):
    volume = api.create()
    response = _admin(api.server, "PUT", f"/volumes/{volume['id']}/state", json={"status": "exploded"})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "status"
    response = _admin(api.server, "PUT", f"/volumes/{uuid.uuid4()}/state", json={"status": "bound"})
    assert response.status_code == 404


def test_attach_unmounted_does_not_block_delete(api):
    volume = api.bound_volume()
    response = _admin(
        api.server,
        "POST",
        f"/volumes/{volume['id']}/attachments",
        json={"resource_type": "vm", "resource_name": "vm-1", "status": "unmounted"},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "unmounted"
    assert api.delete(volume["id"]).status_code == 204


def test_detach_attached_instance_from_create(api):
    instance = {"instance_id": str(uuid.uuid4()), "instance_name": "rt", "instance_type": "h100"}
    volume = api.create(attachedTo=[instance])
    api.server.detach(volume["id"], volume["volumeAttachments"][0]["id"])
    shown = api.get(volume["id"]).json()
    assert (shown["volumeAttachments"], shown["airuntime_instances"]) == ([], [])
    assert (
        _admin(api.server, "DELETE", f"/volumes/{volume['id']}/attachments/{uuid.uuid4()}").status_code == 404
    )


def test_settings_and_clock(api):
    settings = _admin(api.server, "GET", "/settings").json()
    assert settings["bind_delay"] == 2.0
    assert settings["users"] == ["user@example.com"]
    api.server.configure(bind_delay=0)
    volume = api.create()
    assert volume["status"] == "pending"
    assert api.get(volume["id"]).json()["status"] == "bound"
    assert _admin(api.server, "PATCH", "/settings", json={"regions": ["x"]}).status_code == 400
    assert _admin(api.server, "PATCH", "/settings", json={"bind_delay": -1}).status_code == 400
    api.server.advance(30)
    assert _admin(api.server, "GET", "/clock").json()["offset"] == 30


def test_reset_clears_everything(api):
    api.server.configure(bind_delay=99)
    api.create()
    api.server.advance(5)
    api.server.inject("status", status=500, times=3)
    api.server.script_outcome("bind", "failed")
    api.server.reset()
    assert api.server.volumes() == []
    assert api.server.requests() == []
    assert _admin(api.server, "GET", "/faults").json() == {"faults": []}
    assert _admin(api.server, "GET", "/clock").json()["offset"] == 0
    assert _admin(api.server, "GET", "/settings").json()["bind_delay"] == 2.0
    volume = api.create()
    api.server.advance(2)
    assert api.get(volume["id"]).json()["status"] == "bound"


def test_admin_volumes_spans_projects(api):
    api.create()
    api.call(
        "createNetworkVolume",
        "POST",
        "/volumes",
        org="org-b",
        json={"sizeGB": 1, "regionID": "as-south-1", "volumeMode": "block"},
    )
    assert {volume["orgID"] for volume in api.server.volumes()} == {"org-emulator", "org-b"}


def test_admin_bad_json_is_400(api):
    response = _admin(api.server, "POST", "/clock/advance", data=b"{")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_events_tell_each_volume_lifecycle(neev_emulator):
    headers = {"Authorization": f"Bearer {neev_emulator.token}"}
    base = neev_emulator.api_base() + "/volumes"
    body = {"sizeGB": 10, "regionID": "as-south-1", "volumeMode": "filesystem", "name": "watched"}
    volume = requests.post(base, json=body, headers=headers, timeout=10).json()
    neev_emulator.advance(neev_emulator.settings.bind_delay)
    requests.post(f"{base}/{volume['id']}/extend", json={"sizeGB": 20}, headers=headers, timeout=10)
    neev_emulator.advance(neev_emulator.settings.resize_delay)
    requests.get(f"{base}/{volume['id']}", headers=headers, timeout=10)
    requests.delete(f"{base}/{volume['id']}", headers=headers, timeout=10)

    events = neev_emulator.events()

    assert [e["event"] for e in events] == [
        "created: pending, 10 GB in as-south-1",
        "bound",
        "extension requested: resizing 10 -> 20 GB",
        "extension succeeded: 20 GB",
        "deleted",
    ]
    assert {e["volume_name"] for e in events} == {"watched"}
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    neev_emulator.reset()
    assert neev_emulator.events() == []
