"""Provision a volume ahead of a daily training window, sized from the dataset.

Every day, before the window opens, the volume is created at a base size; an upstream
task measures the dataset and the volume is extended to fit it (with headroom) before
training starts. The volume is deleted after the window, whatever happened.
"""

from __future__ import annotations

import math
from datetime import datetime

try:
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.sensors import NeevVolumeSensor

with DAG(
    dag_id="neevcloud_scheduled_provisioning",
    # 01:00 every day: an hour before the 02:00 training window.
    schedule="0 1 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example"],
    params={
        "conn_id": Param("neevcloud_default", type="string"),
        "region_id": Param("as-south-1", type="string"),
        "base_size_gb": Param(50, type="integer", minimum=1, maximum=1000),
        "dataset_gb": Param(120, type="integer", minimum=1, description="Stand-in for a real measurement"),
        "headroom": Param(1.25, type="number", minimum=1, description="Space for checkpoints and temp files"),
    },
) as dag:
    provision = NeevCreateVolumeOperator(
        task_id="provision_volume",
        neev_conn_id="{{ params.conn_id }}",
        region_id="{{ params.region_id }}",
        size_gb="{{ params.base_size_gb }}",
        mount_path="/mnt/datasets",
        wait_for_completion=False,
    )
    ready = NeevVolumeSensor(
        task_id="wait_bound",
        neev_conn_id="{{ params.conn_id }}",
        volume_id=provision.output["volume_id"],
        deferrable=True,
        poke_interval=10,
    )

    # [START howto_size_from_upstream]
    @task
    def size_for_dataset(dataset_gb: int, headroom: float) -> int:
        """Return the volume size the dataset needs: its size with headroom, in whole GB."""
        return min(1000, math.ceil(int(dataset_gb) * float(headroom)))

    needed_gb = size_for_dataset("{{ params.dataset_gb }}", "{{ params.headroom }}")

    extend = NeevExtendVolumeOperator(
        task_id="extend_to_dataset",
        neev_conn_id="{{ params.conn_id }}",
        volume_id=provision.output["volume_id"],
        size_gb=needed_gb,
        deferrable=True,
        poll_interval=10,
    )
    # [END howto_size_from_upstream]

    @task
    def train(volume: dict[str, object]) -> None:
        """Stand-in for the training job run in the window."""
        print(f"training on volume {volume['id']} of {volume['sizeGB']} GB")

    teardown = NeevDeleteVolumeOperator(
        task_id="delete_volume",
        neev_conn_id="{{ params.conn_id }}",
        volume_id=provision.output["volume_id"],
    )

    trained = train(extend.output)
    provision >> ready >> extend
    needed_gb >> extend
    trained >> teardown.as_teardown(setups=provision)
