"""NeevCreateVolumeOperator: exactly once, fail fast, clean up what it created."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neev_provider._compat import AirflowFailException, TaskDeferred
from neev_provider.client import NeevCloudValidationError
from neev_provider.deployment import task_volume_name
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeConflictError, NeevVolumeFailedError, NeevVolumeTimeoutError
from neev_provider.operators import NeevCreateVolumeOperator
from neev_provider.triggers import NeevVolumeTrigger
from neev_provider.volumes.naming import default_volume_name, is_default_name
from tests.operators.conftest import POLL, FakeTaskInstance, calls, resume, run_deferrable


def create_op(**kwargs: Any) -> NeevCreateVolumeOperator:
    values: dict[str, Any] = {"task_id": "create_volume", "size_gb": 20, "poll_interval": POLL, "timeout": 30}
    values.update(kwargs)
    return NeevCreateVolumeOperator(**values)


def test_creates_waits_until_bound_and_returns_the_volume(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    result = create_op(mount_path="/mnt/scratch").execute(context)

    assert result["status"] == "bound"
    assert result["sizeGB"] == 20
    assert result["regionID"] == "as-south-1"  # from the connection
    assert ti.xcoms == {
        "volume_id": result["id"],
        "volume_ownership": {"volume_id": result["id"], "created": True},
        "mount_path": "/mnt/scratch",
    }
    assert result["name"] == task_volume_name(ti)
    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert emulator.token not in json.dumps([result, ti.xcoms])  # nothing secret goes to XCom


def test_deferrable_create_waits_in_the_trigger(emulator: EmulatorServer, context: dict[str, Any]) -> None:
    operator = create_op(deferrable=True)

    with pytest.raises(TaskDeferred) as caught:
        operator.execute(context)
    trigger = caught.value.trigger
    assert isinstance(trigger, NeevVolumeTrigger)
    assert emulator.token not in str(trigger.serialize())
    assert context["ti"].xcoms["volume_id"] == trigger.volume_id  # pushed before deferring

    result = resume(operator, caught.value, context)
    assert result["status"] == "bound"
    assert len(emulator.volumes()) == 1


def test_without_waiting_returns_the_pending_volume(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    result = create_op(wait_for_completion=False).execute(context)
    assert result["status"] == "pending"


def test_a_retry_adopts_the_volume_of_the_earlier_try(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    first = create_op(wait_for_completion=False).execute(context)
    context["ti"].try_number = 2
    second = create_op().execute(context)

    assert second["id"] == first["id"]
    assert len(emulator.volumes()) == 1
    assert calls(emulator, "createNetworkVolume") == 1


def test_without_a_deployment_id_a_retry_adopts_its_volume_but_does_not_own_it(
    emulator: EmulatorServer,
    context: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A derived id is shared by installations made from one compose file: the name proves nothing.
    monkeypatch.delenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID")
    emulator.configure(bind_delay=3600)
    first = create_op(wait_for_completion=False).execute(context)
    context["ti"].try_number = 2

    with pytest.raises(NeevVolumeTimeoutError):
        create_op(timeout=1).execute(context)  # with the id set, the volume would be deleted here

    assert [volume["id"] for volume in emulator.volumes()] == [first["id"]]  # not deleted
    assert context["ti"].xcoms["volume_ownership"] == {"volume_id": first["id"], "created": False}
    assert "deployment_id is not set" in caplog.text + capsys.readouterr().out  # Airflow 3 logs to stdout


def test_without_a_deployment_id_if_exists_fail_still_lets_a_retry_find_its_own_volume(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID")
    first = create_op(wait_for_completion=False, if_exists="fail").execute(context)
    context["ti"].try_number = 2

    second = create_op(if_exists="fail").execute(context)  # if_exists is about given names

    assert second["id"] == first["id"]
    assert calls(emulator, "createNetworkVolume") == 1


def test_mapped_instances_get_a_volume_each(emulator: EmulatorServer) -> None:
    ids = set()
    for map_index in range(3):
        ti = FakeTaskInstance(map_index=map_index)
        ids.add(create_op(wait_for_completion=False).execute({"ti": ti})["id"])
    assert len(ids) == 3 == len(emulator.volumes())


def test_a_create_whose_answer_is_lost_ends_with_one_volume(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    emulator.inject("commit_then_drop", operation="createNetworkVolume", times=1)

    result = create_op().execute(context)

    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert calls(emulator, "createNetworkVolume") == 1


def test_a_create_that_failed_ambiguously_without_effect_is_sent_again(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    emulator.inject("status", operation="createNetworkVolume", status=502, times=1)

    result = create_op(settle_window=0.5).execute(context)  # looked for half a second: nothing came

    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert calls(emulator, "createNetworkVolume") == 2


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_a_volume_that_fails_is_deleted_and_the_task_fails(
    emulator: EmulatorServer, context: dict[str, Any], deferrable: bool
) -> None:
    emulator.script_outcome("bind", "failed")

    with pytest.raises(NeevVolumeFailedError, match="failed"):
        run_deferrable(create_op(deferrable=deferrable), context)

    assert emulator.volumes() == []
    assert calls(emulator, "deleteNetworkVolume") == 1


def test_without_delete_on_failure_the_failed_volume_stays(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    emulator.script_outcome("bind", "terminated")

    with pytest.raises(NeevVolumeFailedError, match="terminated"):
        create_op(delete_on_failure=False).execute(context)

    assert [v["status"] for v in emulator.volumes()] == ["terminated"]


def test_a_wait_past_the_deadline_times_out_and_cleans_up(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    emulator.configure(bind_delay=3600)

    with pytest.raises(NeevVolumeTimeoutError, match="not bound after"):
        create_op(timeout=0.3).execute(context)

    assert emulator.volumes() == []


def test_an_existing_volume_with_the_given_name_is_refused_with_if_exists_fail(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    create_op(name="shared-data", wait_for_completion=False).execute(context)

    with pytest.raises(NeevVolumeConflictError, match="if_exists='fail'"):
        create_op(name="shared-data", if_exists="fail").execute(context)
    assert len(emulator.volumes()) == 1


def test_an_incompatible_namesake_is_refused_with_a_diff(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    create_op(name="shared-data", size_gb=10, volume_mode="block", wait_for_completion=False).execute(context)

    with pytest.raises(NeevVolumeConflictError) as caught:
        create_op(name="shared-data", size_gb=20).execute(context)

    message = str(caught.value)
    assert "volumeMode is 'block', not 'filesystem'" in message
    assert "sizeGB is 10, smaller than the 20 asked for" in message
    assert len(emulator.volumes()) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size_gb": 0}, "size_gb"),
        ({"size_gb": "lots"}, "size_gb"),
        ({"volume_mode": "tape"}, "volume_mode"),
        ({"name": "Not_A_Label"}, "name"),
        ({"mount_path": "relative"}, "mount_path"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(
    emulator: EmulatorServer, context: dict[str, Any], kwargs: dict[str, Any], field: str
) -> None:
    # No retry can mend a bad argument: the task fails for good, naming the field.
    with pytest.raises(AirflowFailException, match=field) as caught:
        create_op(**kwargs).execute(context)
    assert isinstance(caught.value.__cause__, NeevCloudValidationError)
    assert emulator.requests() == []


def test_templated_sizes_arrive_as_strings_and_are_accepted(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    assert create_op(size_gb="35", wait_for_completion=False).execute(context)["sizeGB"] == 35


def test_a_region_is_required(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(region_id=None))
    with pytest.raises(AirflowFailException, match="region_id"):
        create_op().execute(context)


def test_templated_fields() -> None:
    assert {"name", "size_gb", "region_id", "org_id", "project_id", "mount_path"} <= set(
        NeevCreateVolumeOperator.template_fields
    )


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [("ml", "create"), ("A" * 200, "Task With Spaces!" * 10), ("___", "---"), ("1dag", "t")],
)
def test_default_names_are_dns_labels(dag_id: str, task_id: str) -> None:
    import re

    name = default_volume_name("prod", dag_id, task_id, "run-1", 0)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name)
    assert name == default_volume_name("prod", dag_id, task_id, "run-1", 0)
    assert name != default_volume_name("prod", dag_id, task_id, "run-2", 0)
    assert name != default_volume_name("prod", dag_id, task_id, "run-1", 1)
    assert name != default_volume_name("staging", dag_id, task_id, "run-1", 0)
    assert is_default_name(name, "prod")
    assert not is_default_name(name, "staging")
