"""A scratch volume around a training job: created before it, deleted after it, always.

``scratch_volume`` makes the create a setup task (it waits until the volume is bound, in the
triggerer here) and the delete its teardown: the delete runs when the training fails too, so
the volume never outlives the run. To see the teardown at work, trigger the DAG with
``{"fail_training": true}`` (``make demo`` does both). The same DAG as four explicit tasks is
``scratch_volume_four_tasks.py``.
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

from neev_provider.operators import scratch_volume


# [START howto_scratch_volume_work]
@task
def train(volume_id: str, mount_path: str, params: dict[str, Any] | None = None) -> dict[str, str]:
    """Stand-in for the training job: it would mount ``volume_id`` at ``mount_path``."""
    # Airflow passes the DAG run's params to a task argument named `params`.
    if params and params["fail_training"]:
        raise RuntimeError(f"training on {volume_id} failed (the run set fail_training)")
    print(f"training with scratch volume {volume_id} mounted at {mount_path}")
    return {"volume_id": volume_id, "checkpoint": f"{mount_path}/checkpoints/final.pt"}


# [END howto_scratch_volume_work]

with DAG(
    dag_id="neevcloud_scratch_volume_training",
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
    # [START howto_scratch_volume]
    with scratch_volume(
        size_gb="{{ params.size_gb }}",
        neev_conn_id="{{ params.conn_id }}",
        region_id="{{ params.region_id }}",
        mount_path="{{ params.mount_path }}",
        deferrable=True,  # wait for the volume in the triggerer, not in a worker slot
        poll_interval=5,
    ) as volume:
        train(volume.id, "{{ params.mount_path }}")
    # [END howto_scratch_volume]
