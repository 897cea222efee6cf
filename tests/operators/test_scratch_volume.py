"""What ``scratch_volume`` builds: the tasks, their roles, their wiring and their arguments.

The runs themselves (a failing block, a mapped fan-out, a given name, extend_to_fit) are in
``tests/test_dag_runs.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from neev_provider._compat import TaskGroup
from neev_provider.client.errors import NeevCloudValidationError
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
    scratch_volume,
)
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS

if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk import DAG, task, task_group
else:
    from airflow import DAG
    from airflow.decorators import task, task_group


@task
def work(volume_id: str) -> None:
    print(volume_id)


@task
def report() -> None:
    print("done")


def _dag() -> DAG:
    return DAG(dag_id="scratch", schedule=None, start_date=datetime(2026, 1, 1))


def test_the_block_runs_between_a_setup_create_and_a_teardown_delete() -> None:
    with _dag() as dag, scratch_volume(size_gb=100, region_id="eu-1", mount_path="/mnt/x") as volume:
        work(volume.id) >> report()

    create, delete = dag.get_task("scratch_volume.create"), dag.get_task("scratch_volume.delete")
    assert isinstance(create, NeevCreateVolumeOperator)
    assert isinstance(delete, NeevDeleteVolumeOperator)
    assert (create.is_setup, create.is_teardown, delete.is_setup, delete.is_teardown) == (
        True,
        False,
        False,
        True,
    )
    assert (create.size_gb, create.region_id, create.mount_path) == (100, "eu-1", "/mnt/x")
    assert create.wait_for_completion is True
    assert create.reuse_smaller is False
    assert dag.get_task("work").upstream_task_ids == {"scratch_volume.create"}
    assert dag.get_task("report").upstream_task_ids == {"work"}
    assert delete.upstream_task_ids == {"scratch_volume.create", "report"}
    assert {volume.create, volume.delete} == {create, delete}
    assert volume.extend is None
    # The teardown is fed from the create's XCom: that is how it knows an adopted volume.
    assert delete.volume_id.operator is create
    assert delete.volume_id.key == "volume_id"


def test_connection_and_scope_reach_every_task_and_delete_options_the_delete() -> None:
    scope = {"neev_conn_id": "other", "org_id": "org-b", "project_id": "prj-b"}
    with (
        _dag() as dag,
        scratch_volume(
            size_gb=10, name="data", extend_to_fit=True, delete_options={"detach_timeout": 42}, **scope
        ),
    ):
        work("x")

    for task_id in ("create", "extend", "delete"):
        operator = dag.get_task(f"scratch_volume.{task_id}")
        assert (operator.neev_conn_id, operator.org_id, operator.project_id) == ("other", "org-b", "prj-b")
    assert dag.get_task("scratch_volume.delete").detach_timeout == 42


def test_extend_to_fit_adds_a_setup_extend_after_the_create() -> None:
    with _dag() as dag, scratch_volume(size_gb=50, name="data", extend_to_fit=True) as volume:
        work(volume.id)

    extend = dag.get_task("scratch_volume.extend")
    assert isinstance(extend, NeevExtendVolumeOperator)
    assert extend.is_setup
    assert extend.size_gb == 50
    assert extend.upstream_task_ids == {"scratch_volume.create"}
    assert dag.get_task("scratch_volume.create").reuse_smaller is True
    assert dag.get_task("work").upstream_task_ids == {"scratch_volume.create", "scratch_volume.extend"}


def test_several_scratch_volumes_get_numbered_groups_unless_named() -> None:
    with _dag() as dag:
        with scratch_volume(size_gb=1):
            work.override(task_id="a")("x")
        with scratch_volume(size_gb=1):
            work.override(task_id="b")("x")
        with (
            pytest.raises(Exception, match="scratch_volume"),
            scratch_volume(size_gb=1, group_id="scratch_volume"),
        ):
            pass

    assert {"scratch_volume.create", "scratch_volume__1.create"} <= set(dag.task_ids)


def test_inside_a_task_group_the_tasks_are_the_groups() -> None:
    with _dag() as dag, TaskGroup("trial"), scratch_volume(size_gb=1) as volume:
        work(volume.id)

    assert {"trial.scratch_volume.create", "trial.scratch_volume.delete", "trial.work"} == set(dag.task_ids)


def test_a_scratch_volume_that_would_not_wait_is_refused_naming_the_field() -> None:
    with _dag(), pytest.raises(NeevCloudValidationError, match="wait_for_completion") as caught:
        with scratch_volume(size_gb=1, wait_for_completion=False):
            pass
    assert "bound" in str(caught.value)


def test_a_fixed_name_in_a_mapped_task_group_is_refused_and_a_templated_one_taken() -> None:
    def trials(name: str) -> Any:
        @task_group(group_id="trial")
        def trial(rate: float) -> None:
            with scratch_volume(size_gb=1, name=name) as volume:
                work(volume.id)

        return trial

    with _dag(), pytest.raises(NeevCloudValidationError, match=r"name='shared' .*share one volume"):
        trials("shared").expand(rate=[0.1, 0.2])
    with _dag() as dag:
        trials("trial-{{ ti.map_index }}").expand(rate=[0.1, 0.2])
    assert "trial.scratch_volume.create" in dag.task_ids


def test_how_to_wait_reaches_the_extend_and_the_delete() -> None:
    options = {"deferrable": True, "poll_interval": 7.0}
    with _dag() as dag, scratch_volume(size_gb=1, name="data", extend_to_fit=True, **options):
        work("x")

    for task_id in ("create", "extend", "delete"):
        operator = dag.get_task(f"scratch_volume.{task_id}")
        assert (operator.deferrable, operator.poll_interval) == (True, 7.0)


def test_delete_options_win_over_what_the_create_passes_on() -> None:
    with _dag() as dag, scratch_volume(size_gb=1, deferrable=True, delete_options={"deferrable": False}):
        work("x")

    assert dag.get_task("scratch_volume.create").deferrable is True
    assert dag.get_task("scratch_volume.delete").deferrable is False


def test_a_name_mapped_per_index_is_taken() -> None:
    @task_group(group_id="trial")
    def trial(name: str) -> None:
        with scratch_volume(size_gb=1, name=name) as volume:
            work(volume.id)

    with _dag() as dag:
        trial.expand(name=["data-a", "data-b"])
    assert "trial.scratch_volume.create" in dag.task_ids
