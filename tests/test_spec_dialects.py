"""The provider's operators against an independent fake of the Storage API, in five dialects.

The fake (:mod:`tests.spec_fake`) is written from the spec alone, not from the provider's
emulator, so the two cannot agree by construction. Each dialect is a way a real deployment of the
API may speak while staying valid against the spec: generic error words, lists that shift
between page reads, unknown fields and other letter case, a gateway that answers in HTML. Every
case checks the task's outcome and the fake's final state; every answer the fake gave on an API
route is checked against the spec's response schemas when the test ends.

Nothing here is marked xfail: a case that fails on the provider's code shows what it does not
yet handle.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.spec_fake import DIALECT_NAMES, Delay, SpecFake

POLL = 0.05
REGION = "in-west-1"
MODES = ("worker", "deferrable")
# A deleted volume stays listed as terminated for this many reads: "gone" must mean gone.
TERMINATED_READS = 2
# The spec as shipped with the provider.
PACKAGED_SPEC = Path(__file__).resolve().parent.parent / "neev_provider/openapi/storage-v1beta1.openapi.json"


# -- Airflow's plumbing, faked: a task instance with XComs, and the deferral round trip ----------


@dataclass
class TaskInstance:
    """What the operators use of a task instance: its key, its try, its XComs."""

    dag_id: str = "spec_dialects"
    task_id: str = "create_volume"
    run_id: str = "manual__2026-12-01T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return None  # one task alone: nothing upstream pushed anything


def new_dag() -> Any:
    """A DAG to put each operator in: operators may look at their upstream tasks, which needs one."""
    from datetime import datetime

    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG

    return DAG(dag_id="spec_dialects", schedule=None, start_date=datetime(2026, 1, 1))


def context_of(ti: TaskInstance) -> dict[str, Any]:
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id}


def _trigger_event(trigger: Any) -> Any:
    """Rebuild the trigger from its serialized (JSON-safe) form and run it to its one event."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

    async def first_event() -> Any:
        async for event in rebuilt.run():
            return event.payload
        raise AssertionError(f"{classpath} ended without an event")

    return asyncio.run(first_event())


def run_operator(operator: Any, context: dict[str, Any], mode: str) -> Any:
    """Execute in the worker, or follow every deferral through its trigger as a triggerer would."""
    from neev_provider._compat import TaskDeferred

    if mode == "worker":
        return operator.execute(context)
    step: Callable[[], Any] = functools.partial(operator.execute, context)
    for _ in range(10):
        try:
            return step()
        except TaskDeferred as deferred:
            event = _trigger_event(deferred.trigger)
            resume = getattr(operator, deferred.method_name)
            step = functools.partial(resume, context, event=event, **(deferred.kwargs or {}))
    raise AssertionError("still deferring after 10 deferrals")


def failure_of(action: Callable[[], Any]) -> BaseException | None:
    """The exception ``action`` raised, or ``None`` if it succeeded."""
    try:
        action()
    except Exception as error:
        return error
    return None


def expected_default_name(ti: TaskInstance) -> str:
    """The name a create task gives its volume by default, computed by the provider's own code."""
    try:  # names scoped to the Airflow deployment, where the provider has them
        from neev_provider.deployment import task_volume_name
    except ImportError:  # the original four-part name (its signature differs between versions)
        naming: Any = importlib.import_module("neev_provider.volumes.naming")
        return str(naming.default_volume_name(ti.dag_id, ti.task_id, ti.run_id, ti.map_index))
    return str(task_volume_name(ti))


# -- the fake, and what every test checks of it ------------------------------------------------


def connection(fake: SpecFake, host: str | None = None) -> str:
    """The ``neevcloud`` connection pointing at the fake, in Airflow's JSON form."""
    return json.dumps(
        {
            "conn_type": "neevcloud",
            "host": host or fake.url,
            "password": fake.token,
            "extra": {"org_id": fake.org_id, "project_id": fake.project_id, "region_id": REGION},
        }
    )


@functools.cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(PACKAGED_SPEC.read_text(encoding="utf-8"))
    return spec


def _documented(operation_id: str, status: int) -> dict[str, Any] | None:
    for item in _spec()["paths"].values():
        for op in item.values():
            if op.get("operationId") == operation_id:
                response: dict[str, Any] | None = op["responses"].get(str(status))
                return response
    raise KeyError(operation_id)


def spec_violations(fake: SpecFake) -> list[str]:
    """Every answer on an API route that its operation does not document, or whose body breaks it.

    Injected 429, 502 and 504 are not in the spec and are skipped, as are paths off the API.
    """
    problems = []
    for exchange in fake.exchanges():
        if exchange.operation == "unknown" or exchange.status in (429, 502, 504):
            continue
        where = f"{exchange.method} {exchange.path} -> {exchange.status}"
        response = _documented(exchange.operation, exchange.status)
        if response is None:
            problems.append(f"{where}: status not documented for {exchange.operation}")
            continue
        content = response.get("content")
        if content is None:
            if exchange.body:
                problems.append(f"{where}: a body where the spec documents none")
            continue
        if not exchange.content_type.startswith("application/json"):
            problems.append(f"{where}: {exchange.content_type} where the spec documents JSON")
            continue
        schema = {**content["application/json"]["schema"], "components": _spec()["components"]}
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        try:
            body = json.loads(exchange.body)
        except ValueError:
            problems.append(f"{where}: body is not JSON")
            continue
        problems.extend(f"{where}: {error.message}" for error in validator.iter_errors(body))
    return problems


@pytest.fixture(params=DIALECT_NAMES, name="fake")
def fixture_fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[SpecFake]:
    """A fake in one dialect, the default connection pointing at it; its answers checked at the end."""
    with SpecFake(
        request.param, bind=Delay(reads=2), resize=Delay(reads=2), terminated_reads=TERMINATED_READS
    ) as fake:
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection(fake))
        yield fake
    assert spec_violations(fake) == [], "the fake itself broke the spec"


@pytest.fixture(name="ti")
def fixture_ti() -> TaskInstance:
    return TaskInstance()


# -- a. create and wait until bound --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_create_with_the_default_name_waits_until_bound(fake: SpecFake, ti: TaskInstance, mode: str) -> None:
    from neev_provider.operators import NeevCreateVolumeOperator

    # Transient refusals on the way: a 429 on the POST, a 502 (HTML in the gateway dialect) on a read.
    fake.inject("createNetworkVolume", 429)
    fake.inject("getNetworkVolume", 502)
    operator = NeevCreateVolumeOperator(
        task_id=ti.task_id,
        size_gb=10,
        poll_interval=POLL,
        timeout=30,
        deferrable=mode == "deferrable",
        dag=new_dag(),
    )

    result = run_operator(operator, context_of(ti), mode)

    (volume,) = fake.volumes()
    assert result["id"] == volume["id"] == ti.xcoms["volume_id"]
    assert result["status"] == volume["status"] == "bound"
    assert volume["name"] == expected_default_name(ti)
    assert (volume["sizeGB"], volume["regionID"]) == (10, REGION)
    assert fake.count("createNetworkVolume", 201) == 1
    assert (fake.count("createNetworkVolume", 429), fake.count("getNetworkVolume", 502)) == (1, 1)


# -- b. extend and wait --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_extend_waits_until_the_new_size_is_provisioned(fake: SpecFake, ti: TaskInstance, mode: str) -> None:
    from neev_provider.operators import NeevExtendVolumeOperator

    volume_id = fake.seed("datasets", size_gb=10)
    operator = NeevExtendVolumeOperator(
        task_id="extend_volume",
        volume_id=volume_id,
        size_gb=25,
        poll_interval=POLL,
        timeout=30,
        deferrable=mode == "deferrable",
        dag=new_dag(),
    )

    result = run_operator(operator, context_of(ti), mode)

    assert (result["sizeGB"], result.get("actual_sizeGB"), result.get("extension_status")) == (
        25,
        25,
        "succeeded",
    )
    state = fake.volume(volume_id)
    assert state is not None
    assert (state["sizeGB"], state["actual_sizeGB"], state["extension_status"]) == (25, 25, "succeeded")
    assert fake.count("extendNetworkVolume", 202) == 1


# -- c. delete and wait until gone ---------------------------------------------------------------


def delete_operator(volume_id: str, mode: str) -> Any:
    from neev_provider.operators import NeevDeleteVolumeOperator

    return NeevDeleteVolumeOperator(
        task_id="delete_volume",
        volume_id=volume_id,
        poll_interval=POLL,
        timeout=30,
        detach_timeout=30,
        deferrable=mode == "deferrable",
        dag=new_dag(),
    )


@pytest.mark.parametrize("mode", MODES)
def test_delete_waits_until_the_volume_is_gone(fake: SpecFake, ti: TaskInstance, mode: str) -> None:
    volume_id = fake.seed("scratch")
    keep_id = fake.seed("team-datasets")
    fake.inject("deleteNetworkVolume", 504)  # HTML in the gateway dialect; a DELETE may be retried

    run_operator(delete_operator(volume_id, mode), context_of(ti), mode)

    # The volume stays "terminated" for a few reads: returning earlier would leave it here.
    assert fake.volume(volume_id) is None
    assert [v["id"] for v in fake.volumes()] == [keep_id]
    assert (fake.count("deleteNetworkVolume", 504), fake.count("deleteNetworkVolume", 204)) == (1, 1)


# -- d. delete waits through "in use" until the resource lets go ---------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_delete_waits_for_the_attachment_to_go(fake: SpecFake, ti: TaskInstance, mode: str) -> None:
    volume_id = fake.seed("mounted")
    attachment_id = fake.attach(volume_id, resource_name="trainer-0", mount_path="/mnt/data")
    detached = threading.Event()

    def detach_once_refused() -> None:
        # The resource lets go only after the API has refused a DELETE: the operator must wait.
        if fake.refused_delete.wait(timeout=20):
            fake.detach(volume_id, attachment_id)
            detached.set()

    helper = threading.Thread(target=detach_once_refused, daemon=True)
    helper.start()
    try:
        error = failure_of(lambda: run_operator(delete_operator(volume_id, mode), context_of(ti), mode))
    finally:
        fake.refused_delete.set()  # never leave the helper waiting
        helper.join(timeout=5)

    assert error is None, f"the delete failed instead of waiting for the detach: {error!r}"
    assert detached.is_set()
    assert fake.volume(volume_id) is None
    deletes = [e.status for e in fake.exchanges() if e.operation == "deleteNetworkVolume"]
    assert (deletes[0], deletes[-1]) == (400, 204)


# -- e. a volume that never existed is already deleted --------------------------------------------


def test_delete_of_a_volume_that_never_existed_succeeds(fake: SpecFake, ti: TaskInstance) -> None:
    keep_id = fake.seed("team-datasets")
    missing = str(uuid.uuid4())

    error = failure_of(lambda: run_operator(delete_operator(missing, "worker"), context_of(ti), "worker"))

    assert error is None, f"deleting a volume that does not exist failed: {error}"
    assert [v["id"] for v in fake.volumes()] == [keep_id]
    assert fake.count("deleteNetworkVolume", 404) == 1  # asked once; the route proven by one list
    assert fake.count("deleteNetworkVolume", 204) == 0


# -- f. a wrong route is never "gone" ------------------------------------------------------------


def test_a_wrong_path_prefix_fails_the_delete(
    fake: SpecFake, ti: TaskInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume_id = fake.seed("precious")
    # A proxy prefix the gateway does not serve: every call lands off the API.
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection(fake, f"{fake.url}/wrong-prefix"))

    error = failure_of(lambda: run_operator(delete_operator(volume_id, "worker"), context_of(ti), "worker"))

    assert error is not None, "the delete reported success although no API route was ever reached"
    state = fake.volume(volume_id)
    assert state is not None
    assert state["status"] == "bound"
    assert fake.count("unknown") == 2  # the DELETE, and the list that found no route either
    assert fake.count("deleteNetworkVolume") == 0


# -- g. adopting the task's own volume while the list shifts -------------------------------------


def test_create_adopts_its_existing_volume_while_pages_shift(fake: SpecFake, ti: TaskInstance) -> None:
    from neev_provider.operators import NeevCreateVolumeOperator

    name = expected_default_name(ti)
    for index in range(100):
        fake.seed(f"other-{index:03d}")
    # 101st oldest: the first volume of page 2 at the largest page size (limit=100). In the
    # shifting dialect it moves to page 1 just before page 2 is read.
    own_id = fake.seed(name, size_gb=10, region_id=REGION)
    for index in range(100, 250):
        fake.seed(f"other-{index:03d}")
    operator = NeevCreateVolumeOperator(
        task_id=ti.task_id, size_gb=10, poll_interval=POLL, timeout=30, dag=new_dag()
    )

    result = run_operator(operator, context_of(ti), "worker")

    assert fake.count("createNetworkVolume") == 0, "a second volume was created instead of adopting"
    assert result["id"] == ti.xcoms["volume_id"] == own_id
    assert [v["id"] for v in fake.volumes() if v["name"] == name] == [own_id]
    assert len(fake.volumes()) == 251


# -- whole DAG runs through dag.test() -----------------------------------------------------------


@pytest.fixture(scope="session", name="roundtrip_dags")
def fixture_roundtrip_dags() -> Iterator[dict[str, Any]]:
    """The round-trip DAGs, loaded from the DAGs folder (``dag.test()`` wants them there); a fresh DB."""
    from airflow.utils import db

    db.resetdb()
    source = Path(__file__).resolve().parent / "spec_fake" / "dag_roundtrip.py"
    target = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "spec_fake_dag_roundtrip.py"
    shutil.copy(source, target)
    spec = importlib.util.spec_from_file_location(target.stem, target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[target.stem] = module
    spec.loader.exec_module(module)
    yield {"worker": module.worker_dag, "deferrable": module.deferrable_dag}
    # Leave the session's DAGs folder as the other tests expect it.
    target.unlink()
    sys.modules.pop(target.stem, None)


# dag.test() costs seconds per run (and ~10 s to warm up), so the whole-DAG path runs in one
# dialect, per way of waiting; the dialects themselves are covered by the operator-level cases.
# ``gateway`` is the likeliest production shape: the JSON API behind an HTML-speaking proxy.
@pytest.mark.parametrize("fake", ["gateway"], indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_dag_creates_then_deletes_its_volume(
    fake: SpecFake, roundtrip_dags: dict[str, Any], mode: str
) -> None:
    run = roundtrip_dags[mode].test()

    states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}
    assert states == {"create_volume": "success", "delete_volume": "success"}
    assert fake.volumes() == []
    assert fake.count("createNetworkVolume", 201) == 1
    assert fake.count("deleteNetworkVolume", 204) == 1
