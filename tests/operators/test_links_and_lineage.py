"""The console link and the OpenLineage facets of the volume operators, on the emulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from neev_provider._compat import TaskDeferred
from neev_provider.client import NeevCloudValidationError
from neev_provider.deployment import task_volume_name
from neev_provider.emulator import EmulatorServer
from neev_provider.lineage import VOLUME_NAME_KEY, VolumeRef, namespace, volume_dataset
from neev_provider.links import XCOM_KEY, NeevVolumeLink, check_template, console_url
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.sensors import NeevVolumeSensor
from tests.operators.conftest import POLL, FakeTaskInstance, calls, run_trigger

VOLUME = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"


@dataclass
class LineageTaskInstance(FakeTaskInstance):
    """A task instance that also reads back its own XComs, as the OpenLineage listener's does."""

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        assert task_ids == self.task_id
        return self.xcoms.get(key)


@pytest.fixture(name="ti")
def fixture_lineage_ti() -> LineageTaskInstance:
    return LineageTaskInstance()


@pytest.fixture(name="lineage_on")
def fixture_lineage_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenLineage configured to emit (to the console), as a deployment would."""
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")


def test_without_a_console_url_no_task_gets_a_link(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    # NeevCloud documents no console URL of a volume, so none is guessed.
    result = NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, poll_interval=POLL).execute(
        context
    )
    assert result["status"] == "bound"
    assert XCOM_KEY not in ti.xcoms


def test_a_console_url_template_from_the_connection() -> None:
    template = "https://console.example.com/{region_id}/volumes/{volume_id}?org={org_id}"
    url = console_url(template, org_id="org a", project_id="p", volume_id=VOLUME, region_id="as-south-1")
    assert url == f"https://console.example.com/as-south-1/volumes/{VOLUME}?org=org%20a"


@pytest.mark.parametrize(
    "template",
    ["https://x.example/{volume}", "ftp://x.example/{volume_id}", "https://x.example/{volume_id", "no url"],
)
def test_a_bad_template_is_refused_naming_field_value_and_rule(template: str) -> None:
    with pytest.raises(NeevCloudValidationError) as caught:
        check_template(template)
    message = str(caught.value)
    assert "extra.console_url" in message
    assert template in message
    assert "{org_id}, {project_id}, {region_id}, {volume_id}" in message


def test_the_create_link_is_pushed_before_the_wait_is_deferred(
    emulator: EmulatorServer,
    context: dict[str, Any],
    ti: FakeTaskInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = "https://console.example.com/{org_id}/{project_id}/volumes/{volume_id}"
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(console_url=template))
    operator = NeevCreateVolumeOperator(
        task_id="create_volume", size_gb=10, deferrable=True, poll_interval=POLL
    )
    with pytest.raises(TaskDeferred):
        operator.execute(context)

    (volume,) = emulator.volumes()
    assert ti.xcoms[XCOM_KEY] == (
        f"https://console.example.com/org-emulator/prj-emulator/volumes/{volume['id']}"
    )


@pytest.mark.parametrize("kind", ["extend", "delete", "sensor"])
def test_every_volume_task_pushes_its_link_first(
    emulator: EmulatorServer,
    context: dict[str, Any],
    ti: FakeTaskInstance,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    template = "https://console.example.com/{org_id}/{project_id}/{volume_id}"
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(console_url=template))
    operators = {
        "extend": lambda: NeevExtendVolumeOperator(task_id="t", volume_id=VOLUME, size_gb=20),
        "delete": lambda: NeevDeleteVolumeOperator(task_id="t", volume_id=VOLUME, not_found_ok=False),
        "sensor": lambda: NeevVolumeSensor(task_id="t", volume_id=VOLUME, timeout=1, poke_interval=0.1),
    }
    with pytest.raises(Exception):  # noqa: B017, PT011 - the volume does not exist: each fails in its own way
        operators[kind]().execute(context)
    assert ti.xcoms[XCOM_KEY] == f"https://console.example.com/org-emulator/prj-emulator/{VOLUME}"


def test_a_bad_console_url_costs_the_link_only(
    emulator: EmulatorServer,
    context: dict[str, Any],
    ti: FakeTaskInstance,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(console_url="{volume}"))
    result = NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, poll_interval=POLL).execute(
        context
    )

    assert result["status"] == "bound"
    assert XCOM_KEY not in ti.xcoms
    # Airflow 2 logs through the logging module, Airflow 3 through structlog to stdout.
    assert "No NeevCloud console link" in caplog.text + capsys.readouterr().out


def test_the_link_is_registered_for_every_volume_task() -> None:
    for operator in (NeevCreateVolumeOperator, NeevExtendVolumeOperator, NeevDeleteVolumeOperator):
        assert [type(link) for link in operator.operator_extra_links] == [NeevVolumeLink]
    assert [type(link) for link in NeevVolumeSensor.operator_extra_links] == [NeevVolumeLink]
    assert NeevVolumeLink().name == "NeevCloud volume"
    assert NeevVolumeLink().xcom_key == XCOM_KEY == f"_link_{NeevVolumeLink.__name__}"


def facet_of(dataset: Any) -> str | None:
    change = dataset.facets.get("lifecycleStateChange")
    return None if change is None else str(change.lifecycleStateChange.value)


def test_create_emits_its_volume_with_a_create_change(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    operator = NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, poll_interval=POLL)
    operator.execute(context)

    lineage = operator.get_openlineage_facets_on_complete(ti)

    assert lineage is not None
    (dataset,) = lineage.outputs
    assert dataset.namespace == "neevcloud://org-emulator/prj-emulator"
    assert dataset.name == task_volume_name(ti)
    assert facet_of(dataset) == "CREATE"
    assert lineage.inputs == []


def test_extend_emits_an_alter_change(emulator: EmulatorServer, context: dict[str, Any], ti: Any) -> None:
    NeevCreateVolumeOperator(task_id="c", name="grow-me", size_gb=10, poll_interval=POLL).execute(context)
    (volume,) = emulator.volumes()
    operator = NeevExtendVolumeOperator(task_id="e", volume_id=volume["id"], size_gb=20, poll_interval=POLL)
    operator.execute(context)

    lineage = operator.get_openlineage_facets_on_complete(ti)

    assert lineage is not None
    (dataset,) = lineage.outputs
    assert (dataset.name, facet_of(dataset)) == ("grow-me", "ALTER")


def test_delete_emits_a_drop_change_with_the_name_it_kept(
    emulator: EmulatorServer, context: dict[str, Any], ti: LineageTaskInstance, lineage_on: None
) -> None:
    NeevCreateVolumeOperator(task_id="c", name="scratch-1", size_gb=10, poll_interval=POLL).execute(context)
    (volume,) = emulator.volumes()
    ti.task_id = "delete_volume"
    operator = NeevDeleteVolumeOperator(task_id="delete_volume", volume_id=volume["id"], poll_interval=POLL)
    operator.execute(context)

    lineage = operator.get_openlineage_facets_on_complete(ti)

    assert emulator.volumes() == []
    assert ti.xcoms[VOLUME_NAME_KEY] == "scratch-1"
    assert lineage is not None
    (dataset,) = lineage.inputs
    assert (dataset.namespace, dataset.name, facet_of(dataset)) == (
        "neevcloud://org-emulator/prj-emulator",
        "scratch-1",
        "DROP",
    )
    failure = operator.get_openlineage_facets_on_failure(ti)
    assert failure is not None
    assert [facet_of(d) for d in failure.inputs] == [None]  # no state change is certain


def test_without_openlineage_configured_delete_makes_no_extra_call(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    NeevCreateVolumeOperator(task_id="c", size_gb=10, poll_interval=POLL).execute(context)
    (volume,) = emulator.volumes()
    before = calls(emulator, "getNetworkVolume")
    NeevDeleteVolumeOperator(task_id="d", volume_id=volume["id"], wait_for_completion=False).execute(context)
    assert calls(emulator, "getNetworkVolume") == before
    assert VOLUME_NAME_KEY not in ti.xcoms


def test_the_dataset_matches_the_asset_uri() -> None:
    from neev_provider.assets import convert_asset_to_openlineage, create_asset

    asset = create_asset(org_id="org-a", project_id="prj-b", name="data-1")
    dataset = convert_asset_to_openlineage(asset)
    assert asset.uri == "neevcloud://org-a/prj-b/data-1"
    assert (dataset.namespace, dataset.name) == (namespace("org-a", "prj-b"), "data-1")
    assert dataset == volume_dataset(VolumeRef("org-a", "prj-b", "data-1"))


class SealedTaskInstance(LineageTaskInstance):
    """What the OpenLineage listener's forked process can reach: no XCom (under ``dag.test()``
    its channel belongs to the parent, and a read there hangs until the listener gives up)."""

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        raise AssertionError("the lineage read an XCom in the listener's process")


def resumed_elsewhere(make: Any, context: dict[str, Any]) -> Any:
    """Run a deferrable operator to the end, each resume on a fresh instance, as another worker does."""
    operator = make()
    try:
        return operator, operator.execute(context)
    except TaskDeferred as deferred:
        (event,) = run_trigger(deferred.trigger)
        fresh = make()
        return fresh, getattr(fresh, deferred.method_name)(context, event=event)


@pytest.mark.parametrize("kind", ["create", "extend", "delete"])
def test_lineage_of_a_resumed_task_needs_no_xcom_connection_or_call(
    kind: str,
    emulator: EmulatorServer,
    context: dict[str, Any],
    lineage_on: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    NeevCreateVolumeOperator(task_id="c", name="kept-1", size_gb=10, poll_interval=POLL).execute(context)
    (volume,) = emulator.volumes()
    makers = {
        "create": lambda: NeevCreateVolumeOperator(
            task_id="c", name="kept-1", size_gb=10, deferrable=True, poll_interval=POLL
        ),
        "extend": lambda: NeevExtendVolumeOperator(
            task_id="e", volume_id=volume["id"], size_gb=20, deferrable=True, poll_interval=POLL
        ),
        "delete": lambda: NeevDeleteVolumeOperator(
            task_id="d", volume_id=volume["id"], deferrable=True, poll_interval=POLL
        ),
    }
    operator, _ = resumed_elsewhere(makers[kind], context)
    before = len(emulator.requests())
    monkeypatch.delenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT")

    lineage = operator.get_openlineage_facets_on_complete(SealedTaskInstance())

    assert lineage is not None
    (dataset,) = lineage.inputs if kind == "delete" else lineage.outputs
    expected = {"create": "CREATE", "extend": "ALTER", "delete": "DROP"}[kind]
    assert (dataset.namespace, dataset.name, facet_of(dataset)) == (
        "neevcloud://org-emulator/prj-emulator",
        "kept-1",
        expected,
    )
    assert len(emulator.requests()) == before
