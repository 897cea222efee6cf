"""The scratch volume of the main example, spelled out as four tasks, for full control.

What :func:`~neev_provider.operators.scratch_volume` builds, written by hand: the create is
a setup task and the delete the matching teardown, so the delete runs when the training
fails too and the volume never outlives the run. Here the wait is a separate, deferrable
sensor (the create returns as soon as the volume exists), to show every task on its own.
The teardown is fed from the create's XCom, so it skips a volume the create adopted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator
from neev_provider.sensors import NeevVolumeSensor

with DAG(
    dag_id="neevcloud_scratch_volume_four_tasks",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example"],
    params={
        "conn_id": Param("neevcloud_default", type="string", description="The neevcloud connection"),
        "region_id": Param("as-south-1", type="string", description="Region of the volume"),
        "size_gb": Param(100, type="integer", minimum=1, maximum=1000, description="Volume size in GB"),
        "mount_path": Param("/mnt/scratch", type="string", description="Where the job mounts it"),
        "fail_training": Param(False, type="boolean", description="Make the training task fail"),
    },
) as dag:
    # [START howto_create_volume]
    create_volume = NeevCreateVolumeOperator(
        task_id="create_volume",
        neev_conn_id="{{ params.conn_id }}",
        region_id="{{ params.region_id }}",
        size_gb="{{ params.size_gb }}",
        mount_path="{{ params.mount_path }}",
        # Return as soon as the volume exists; the sensor below does the waiting.
        wait_for_completion=False,
    )
    # [END howto_create_volume]

    # [START howto_wait_bound]
    wait_bound = NeevVolumeSensor(
        task_id="wait_bound",
        neev_conn_id="{{ params.conn_id }}",
        volume_id=create_volume.output["volume_id"],
        target="bound",
        deferrable=True,
        poke_interval=5,
        timeout=20 * 60,
    )
    # [END howto_wait_bound]

    # [START howto_use_volume]
    @task
    def train(volume_id: str, mount_path: str, params: dict[str, Any] | None = None) -> dict[str, str]:
        """Stand-in for the training job: it would mount ``volume_id`` at ``mount_path``."""
        # Airflow passes the DAG run's params to a task argument named `params`.
        if params and params["fail_training"]:
            raise RuntimeError(f"training on {volume_id} failed (the run set fail_training)")
        print(f"training with scratch volume {volume_id} mounted at {mount_path}")
        return {"volume_id": volume_id, "checkpoint": f"{mount_path}/checkpoints/final.pt"}

    training = train(create_volume.output["volume_id"], "{{ params.mount_path }}")
    # [END howto_use_volume]

    # [START howto_delete_volume]
    delete_volume = NeevDeleteVolumeOperator(
        task_id="delete_volume",
        neev_conn_id="{{ params.conn_id }}",
        volume_id=create_volume.output["volume_id"],
    )
    # [END howto_delete_volume]

    # [START howto_setup_teardown]
    create_volume >> wait_bound >> training >> delete_volume.as_teardown(setups=create_volume)
    # [END howto_setup_teardown]
