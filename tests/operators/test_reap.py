"""The orphan reaper fails closed: only this deployment's default names, old, idle, understood.

Volumes with the traits the spec allows but the reaper must not take for idle (an unknown status,
an attachment being made, an AIRuntime instance, another project) come from a small server that
answers them; the emulator only answers spec-valid states.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine

from neev_provider._compat import AirflowFailException
from neev_provider.client import CreateVolumeRequest
from neev_provider.deployment import task_volume_name
from neev_provider.emulator import EmulatorServer
from neev_provider.emulator.connection import airflow_connection
from neev_provider.exceptions import NeevVolumeError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevReapVolumesOperator
from neev_provider.volumes.naming import default_volume_name
from tests.hostile.bad_server import Answer, BadServer, Request, json_answer, volume

DEPLOYMENT = "ml-prod"
OLD = "2026-01-01T00:00:00Z"
DAYS_LATER = datetime.now(timezone.utc) + timedelta(days=3)


def ours(run: str) -> str:
    return default_volume_name(DEPLOYMENT, "etl", "create_volume", run)


def reap_op(**kwargs: Any) -> NeevReapVolumesOperator:
    values: dict[str, Any] = {"task_id": "reap", "max_age": timedelta(hours=6)}
    values.update(kwargs)
    return NeevReapVolumesOperator(**values)


# -- fail closed, against volumes the emulator cannot produce ------------------------------------

RISKY = {
    "orphan": {},
    "unknown status": {"status": "attaching"},
    "attachment being made": {"volumeAttachments": [{"id": "a1", "status": "attaching"}]},
    "attachment without status": {"volumeAttachments": [{"id": "a2", "status": ""}]},
    "attachment 'Mounted '": {"volumeAttachments": [{"id": "a3", "status": "Mounted "}]},
    "attachment not an object": {"volumeAttachments": ["a4"]},
    "airuntime instance": {
        "airuntime_instances": [{"instance_id": "i1", "instance_name": "rt", "instance_type": "gpu"}]
    },
    "another project": {"projectID": "prj-other"},
    "resizing": {"extension_status": "resizing"},
    "unknown extension state": {"extension_status": "queued"},
    "creation time unknown": {"createdAt": None},
    "pending": {"status": "pending"},
    "terminated": {"status": "terminated"},
}


@pytest.fixture(name="risky_project")
def fixture_risky_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BadServer, dict[str, str]]]:
    """A project holding one old volume of this deployment per trait, plus others' volumes."""
    ids = {case: f"00000000-0000-4000-8000-{index:012d}" for index, case in enumerate(RISKY)}
    volumes = {
        ids[case]: volume(ids[case], ours(f"run-{index}"), **{"createdAt": OLD, **traits})
        for index, (case, traits) in enumerate(RISKY.items())
    }
    foreign = {
        "another deployment": volume(
            "10000000-0000-4000-8000-000000000001",
            default_volume_name("ml-staging", "etl", "create_volume", "run-x"),
            createdAt=OLD,
        ),
        "a person's": volume("10000000-0000-4000-8000-000000000002", "team-datasets", createdAt=OLD),
    }
    listed = [*volumes.values(), *foreign.values()]

    def route(request: Request) -> Answer:
        if request.method == "GET" and request.path.endswith("/volumes"):
            return json_answer(
                {"volumes": listed, "pagination": {"total_items": len(listed), "total_pages": 1}}
            )
        volume_id = request.path.rsplit("/", 1)[1]
        if request.method == "GET":
            return json_answer(volumes[volume_id])
        return Answer(204)

    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", DEPLOYMENT)
    with BadServer() as server:
        server.serve(route)
        text = airflow_connection(server.url, "pat-nc-reaper", org_id="org-bad", project_id="prj-bad")
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", text)
        yield server, ids


def deleted(server: BadServer) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in server.requests if r.method == "DELETE"]


def test_only_the_plainly_idle_orphan_is_deleted(
    risky_project: tuple[BadServer, dict[str, str]], context: dict[str, Any]
) -> None:
    server, ids = risky_project

    result = reap_op(dry_run=False).execute(context)

    assert deleted(server) == [ids["orphan"]]
    verdicts = {v["id"]: (v["action"], v["reason"]) for v in result}
    assert {case for case, vid in ids.items() if verdicts[vid][0] == "delete"} == {"orphan"}
    assert "not understood" in verdicts[ids["unknown status"]][1]
    assert "'attaching'" in verdicts[ids["attachment being made"]][1]
    assert "AIRuntime" in verdicts[ids["airuntime instance"]][1]
    assert "prj-other" in verdicts[ids["another project"]][1]
    assert len(result) == len(RISKY)  # another deployment's and a person's volumes are not listed


def test_a_volume_is_read_again_before_its_delete(
    risky_project: tuple[BadServer, dict[str, str]], context: dict[str, Any]
) -> None:
    server, ids = risky_project
    listing = server.route

    def attached_since_listed(request: Request) -> Any:
        if request.method == "GET" and request.path.endswith(ids["orphan"]):
            mounted = [{"id": "a9", "resource_name": "trainer", "status": "mounted"}]
            return json_answer(volume(ids["orphan"], ours("run-0"), createdAt=OLD, volumeAttachments=mounted))
        return listing(request)

    server.serve(attached_since_listed)
    reap_op(dry_run=False).execute(context)

    assert deleted(server) == []


def test_more_orphans_than_max_deletions_deletes_none_and_fails(
    risky_project: tuple[BadServer, dict[str, str]], context: dict[str, Any]
) -> None:
    server, _ = risky_project
    listing = server.route

    def all_idle(request: Request) -> Any:
        answer = listing(request)
        if isinstance(answer, Answer) and request.path.endswith("/volumes"):
            body = json.loads(answer.body)
            body["volumes"] = [volume(v["id"], v["name"], createdAt=OLD) for v in body["volumes"]]
            return json_answer(body)
        return answer

    server.serve(all_idle)
    with pytest.raises(NeevVolumeError, match=r"more than max_deletions=3: nothing is deleted"):
        reap_op(dry_run=False, max_deletions=3).execute(context)
    assert deleted(server) == []


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "max_age", [1, 60.0, timedelta(minutes=10)], ids=["one second", "a minute", "ten minutes"]
)
def test_a_max_age_below_the_minimum_is_refused(max_age: Any) -> None:
    with pytest.raises(ValueError, match=r"max_age=.* must be at least 15 min"):
        reap_op(max_age=max_age)


def test_max_age_takes_a_timedelta_or_seconds() -> None:
    assert reap_op(max_age=timedelta(hours=2)).max_age == timedelta(hours=2)
    assert reap_op(max_age=7200).max_age == timedelta(hours=2)


@pytest.mark.parametrize("max_deletions", [0, -1, 2.5, True, "10"])
def test_max_deletions_must_be_a_positive_whole_number(max_deletions: Any) -> None:
    with pytest.raises(ValueError, match="max_deletions"):
        reap_op(max_deletions=max_deletions)


@pytest.mark.parametrize(
    "protected",
    [
        pytest.param("{ids}", id="comma-separated string"),
        pytest.param('["{first}", "{second}"]', id="JSON list in a string"),
        pytest.param(["{first}", "{second}"], id="list"),
    ],
)
def test_protected_accepts_a_list_or_a_templated_string(
    risky_project: tuple[BadServer, dict[str, str]], context: dict[str, Any], protected: Any
) -> None:
    server, ids = risky_project
    values = {"ids": f" {ids['orphan']} , {ours('run-x')}", "first": ids["orphan"], "second": "x"}
    rendered = (
        protected.format(**values) if isinstance(protected, str) else [p.format(**values) for p in protected]
    )

    result = reap_op(dry_run=False, protected=rendered).execute(context)

    assert deleted(server) == []
    assert {v["id"]: v["reason"] for v in result}[ids["orphan"]] == "protected"


@pytest.mark.parametrize("protected", [5, '["a", 1]', "[not json", {"a": 1}], ids=str)
def test_protected_of_another_kind_is_refused(
    risky_project: tuple[BadServer, dict[str, str]], context: dict[str, Any], protected: Any
) -> None:
    server, _ = risky_project
    with pytest.raises(AirflowFailException, match=r"protected=.* must be a list of volume ids or names"):
        reap_op(dry_run=False, protected=protected).execute(context)
    assert deleted(server) == []


# -- two deployments sharing one project, on the emulator ----------------------------------------


def test_two_deployments_sharing_a_project_never_reap_each_other(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.configure(bind_delay=0)
    client = NeevCloudHook().client
    created: dict[str, set[str]] = {}
    for deployment in ("prod", "staging"):
        names = [default_volume_name(deployment, "etl", "create_volume", f"run-{i}") for i in range(3)]
        created[deployment] = {
            client.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=name)).id
            for name in names
        }
    emulator.volumes()  # settle: bound

    with time_machine.travel(DAYS_LATER, tick=True):
        monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "prod")
        prod = reap_op(dry_run=False).execute(context)
        left_after_prod = {v["id"] for v in emulator.volumes()}
        monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "staging")
        staging = reap_op(dry_run=False).execute(context)

    assert {v["id"] for v in prod} == created["prod"]
    assert left_after_prod == created["staging"]
    assert {v["id"] for v in staging} == created["staging"]
    assert emulator.volumes() == []


def test_a_dry_run_lists_verdicts_and_deletes_nothing(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", DEPLOYMENT)
    emulator.configure(bind_delay=0)
    client = NeevCloudHook().client
    orphan = client.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=ours("r1"))).id
    young = ours("r2")

    with time_machine.travel(DAYS_LATER, tick=True):
        client.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=young))
        result = reap_op().execute(context)

    assert {v["name"]: v["action"] for v in result} == {ours("r1"): "delete", young: "keep"}
    assert "younger than max_age 6 h" in {v["name"]: v["reason"] for v in result}[young]
    assert orphan in {v["id"] for v in emulator.volumes()}


def test_without_a_deployment_id_only_a_dry_run_is_allowed(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID")
    emulator.configure(bind_delay=0)
    name = task_volume_name(context["ti"])
    volume = NeevCloudHook().client.create_volume(
        CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=name)
    )

    with time_machine.travel(DAYS_LATER, tick=True):
        report = reap_op().execute(context)
        with pytest.raises(AirflowFailException, match=r"dry_run=False .*deployment_id is not set"):
            reap_op(dry_run=False).execute(context)

    assert [v["action"] for v in report] == ["delete"]  # what it would do once configured
    assert [v["id"] for v in emulator.volumes()] == [volume.id]
