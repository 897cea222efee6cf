"""The orphan reaper: only volumes in the provider's default-name form, old, idle and unprotected."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from neev_provider.client import CreateVolumeRequest
from neev_provider.client.naming import default_volume_name
from neev_provider.client.reaper import reap
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevReapVolumesOperator


def make(name: str) -> str:
    request = CreateVolumeRequest(size_gb=10, region_id="as-south-1", name=name)
    return NeevCloudHook().client.create_volume(request).id


@pytest.fixture(name="project")
def fixture_project(emulator: EmulatorServer) -> dict[str, str]:
    """One volume per case, bound unless stated."""
    emulator.configure(bind_delay=0)
    ids = {
        "orphan": make(default_volume_name("etl", "create_volume", "run-1")),
        "failed": make(default_volume_name("etl", "create_volume", "run-2")),
        "attached": make(default_volume_name("etl", "create_volume", "run-3")),
        "pending": make(default_volume_name("etl", "create_volume", "run-4")),
        "protected": make(default_volume_name("etl", "create_volume", "run-5")),
        "by_a_person": make("team-datasets"),
        "look_alike": make("etl-create-volume-0123456789abcd"),
    }
    emulator.set_state(ids["failed"], status="failed")
    emulator.set_state(ids["pending"], status="pending")
    emulator.attach(ids["attached"], resource_name="notebook-1", mount_path="/mnt/data")
    return ids


def verdicts(result: list[dict[str, Any]], ids: dict[str, str]) -> dict[str, str]:
    names = {volume_id: case for case, volume_id in ids.items()}
    return {names[v["id"]]: v["action"] for v in result}


def test_a_dry_run_lists_verdicts_and_deletes_nothing(
    emulator: EmulatorServer, project: dict[str, str], context: dict[str, Any]
) -> None:
    time.sleep(0.3)
    result = NeevReapVolumesOperator(task_id="reap", max_age=0.2, protected=[project["protected"]]).execute(
        context
    )

    assert verdicts(result, project) == {
        "orphan": "delete",
        "failed": "delete",
        "attached": "keep",
        "pending": "keep",
        "protected": "keep",
    }  # names a person chose, even look-alikes, are not listed at all
    reasons = {v["id"]: v["reason"] for v in result}
    assert "mounted by airuntime notebook-1" in reasons[project["attached"]]
    assert len(emulator.volumes()) == 7


def test_a_real_run_deletes_the_orphans_only(
    emulator: EmulatorServer, project: dict[str, str], context: dict[str, Any]
) -> None:
    time.sleep(0.3)
    NeevReapVolumesOperator(
        task_id="reap", max_age=0.2, dry_run=False, protected=[project["protected"]]
    ).execute(context)

    left = {v["id"] for v in emulator.volumes()}
    assert left == set(project.values()) - {project["orphan"], project["failed"]}


def test_young_volumes_are_kept(emulator: EmulatorServer, project: dict[str, str]) -> None:
    report = reap(NeevCloudHook().client, max_age=timedelta(hours=1), dry_run=False)
    assert report.orphans == []
    assert len(emulator.volumes()) == 7


def test_age_is_measured_from_the_api_creation_time(
    emulator: EmulatorServer, project: dict[str, str]
) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=3)
    report = reap(NeevCloudHook().client, max_age=timedelta(days=2), now=later)
    assert {v.volume.id for v in report.orphans} == {project[k] for k in ("orphan", "failed", "protected")}
    assert "created 3 d ago" in report.orphans[0].reason
