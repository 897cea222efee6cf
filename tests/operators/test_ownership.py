"""The provider deletes on its own only what this task instance provably created.

What counts as proof: the id the task recorded when its POST answered, or the task instance's own
default name (scoped to this deployment). A volume found under a name the user gave, even right
after this task's own ambiguous POST, may be another run's: it is used, never deleted.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest

from neev_provider._compat import AirflowFailException, AssetAlias, TaskDeferred
from neev_provider.client import CreateVolumeRequest
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeError, NeevVolumeFailedError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevCreateVolumeOperator
from neev_provider.volumes.naming import default_volume_name
from tests.operators.conftest import POLL, FakeTaskInstance, run_trigger


def create_op(**kwargs: Any) -> NeevCreateVolumeOperator:
    values: dict[str, Any] = {
        "task_id": "create_volume",
        "size_gb": 20,
        "poll_interval": POLL,
        "timeout": 30,
        "settle_window": 2.0,
    }
    values.update(kwargs)
    return NeevCreateVolumeOperator(**values)


def test_a_namesake_found_after_an_ambiguous_post_is_used_but_never_deleted(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    # The POST is answered 504 and commits later: the volume that then shows under the given name
    # may be this try's or another run's; nothing tells them apart.
    emulator.inject("error_then_commit", operation="createNetworkVolume", status=504, seconds=0.3)
    emulator.script_outcome("bind", "failed")

    with pytest.raises(NeevVolumeFailedError):
        create_op(name="nightly-features").execute(context)

    (left,) = emulator.volumes()
    assert left["name"] == "nightly-features"  # delete_on_failure did not touch it
    assert ti.xcoms["volume_ownership"] == {"volume_id": left["id"], "created": False}


def test_under_its_own_name_the_same_ambiguity_is_owned_and_cleaned_up(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    emulator.inject("error_then_commit", operation="createNetworkVolume", status=504, seconds=0.3)
    emulator.script_outcome("bind", "failed")

    with pytest.raises(NeevVolumeFailedError):
        create_op().execute(context)

    assert emulator.volumes() == []
    assert ti.xcoms["volume_ownership"]["created"] is True


def test_a_pre_existing_volume_is_adopted_not_owned(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    request = CreateVolumeRequest(size_gb=50, region_id="as-south-1", name="team-data")
    team_data = NeevCloudHook().client.create_volume(request)
    emulator.advance(60)

    create_op(name="team-data").execute(context)

    assert ti.xcoms["volume_ownership"] == {"volume_id": team_data.id, "created": False}


def test_a_name_in_the_generated_form_is_refused(emulator: EmulatorServer, context: dict[str, Any]) -> None:
    copied = default_volume_name("another-airflow", "etl", "create_volume", "run-1")

    with pytest.raises(AirflowFailException, match="has the form of a name the provider generates"):
        create_op(name=copied).execute(context)
    assert emulator.requests() == []


def _deferred_create(context: dict[str, Any]) -> tuple[NeevCreateVolumeOperator, TaskDeferred]:
    operator = create_op(deferrable=True)
    with pytest.raises(TaskDeferred) as caught:
        operator.execute(context)
    return operator, caught.value


class AliasEvents:
    """What an ``AssetAlias`` outlet was given: the extra of each event added to it."""

    def __init__(self) -> None:
        self.extras: list[dict[str, Any]] = []

    def add(self, asset: Any, extra: dict[str, Any] | None = None) -> None:
        self.extras.append(dict(extra or {}))


class OutletEvents(defaultdict[str, AliasEvents]):
    """The context's ``outlet_events``, keyed by the alias's name (an alias is not hashable on 3.0)."""

    def __init__(self) -> None:
        super().__init__(AliasEvents)

    def __getitem__(self, outlet: Any) -> AliasEvents:
        return super().__getitem__(outlet.name)


@pytest.mark.parametrize(
    ("name", "resume_format", "created"),
    [
        (None, "current", True),  # its own default name: created
        ("team-data", "current", False),  # a team's volume, found and adopted
        # A resume state without a format (format 0) claiming a volume after an ambiguous POST: the
        # ambiguity proves nothing (real format-0 states and their legacy names: test_payload_formats).
        (None, 0, False),
    ],
)
def test_a_deferred_create_announces_created_only_with_proof(
    emulator: EmulatorServer,
    context: dict[str, Any],
    ti: FakeTaskInstance,
    name: str | None,
    resume_format: object,
    created: bool,
) -> None:
    if name is not None:
        request = CreateVolumeRequest(size_gb=50, region_id="as-south-1", name=name)
        NeevCloudHook().client.create_volume(request)
    alias = AssetAlias("neevcloud-training-data")
    events = OutletEvents()
    context["outlet_events"] = events
    operator = create_op(deferrable=True, name=name, outlets=[alias])
    with pytest.raises(TaskDeferred) as caught:
        operator.execute(context)
    (event,) = run_trigger(caught.value.trigger)
    if resume_format == 0:
        event["resume"] = {"owned": True, "ambiguous": True, "name": event["resume"]["name"]}

    operator.execute_complete(context, event=event)

    (extra,) = events[alias].extras
    assert extra["created"] is created
    # The XCom a cleanup reads says the same; in the format-0 case it was written by this release's
    # execute, which owned the volume, so only the event is read from the older state.
    if resume_format == "current":
        assert ti.xcoms["volume_ownership"]["created"] is created


def test_an_error_event_fails_the_task_and_keeps_the_volume(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    operator, deferred = _deferred_create(context)
    # The triggerer's host lacks the connection: the wait ends with an error, not a verdict.
    connection = os.environ["AIRFLOW_CONN_NEEVCLOUD_DEFAULT"]
    monkeypatch.delenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT")
    (event,) = run_trigger(deferred.trigger)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection)

    assert event["status"] == "error"
    with pytest.raises(NeevVolumeError) as caught:
        operator.execute_complete(context, event=event)
    assert not isinstance(caught.value, AirflowFailException)  # another host may have it: retried
    assert len(emulator.volumes()) == 1  # a healthy volume, for the next try to reuse


def test_a_broken_connection_in_the_triggerer_fails_without_retries_and_keeps_the_volume(
    emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    operator, deferred = _deferred_create(context)
    connection = os.environ["AIRFLOW_CONN_NEEVCLOUD_DEFAULT"]
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(timeout="soon"))
    (event,) = run_trigger(deferred.trigger)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection)

    with pytest.raises(AirflowFailException, match=r"extra\.timeout"):
        operator.execute_complete(context, event=event)
    assert len(emulator.volumes()) == 1
