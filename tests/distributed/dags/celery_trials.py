"""Many trials at once on a Celery cluster, each on its own scratch volume.

Every mapped trial creates its volume (waiting for it in the triggerer), extends it, uses it
and deletes it as a teardown. Tasks have retries, so a trial whose worker dies goes on
elsewhere; the volume names are deterministic per task instance, so a retry finds the volume
an earlier try created instead of making a second one.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task, task_group

from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)

with DAG(
    dag_id="neevcloud_celery_trials",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "distributed"],
    default_args={"retries": 3, "retry_delay": timedelta(seconds=2)},
    params={
        "trials": Param(50, type="integer", minimum=1),
        "size_gb": Param(20, type="integer", minimum=1, maximum=1000),
        "extend_to_gb": Param(30, type="integer", minimum=1, maximum=1000),
        "work_seconds": Param(3, type="number", minimum=0),
    },
) as dag:

    @task
    def trial_numbers(params: dict[str, int]) -> list[int]:
        """One number per trial."""
        return list(range(params["trials"]))

    # [START howto_celery_trials]
    @task_group
    def trial(number: int) -> None:
        volume = NeevCreateVolumeOperator(
            task_id="create_volume", size_gb="{{ params.size_gb }}", deferrable=True, poll_interval=2
        )
        extend = NeevExtendVolumeOperator(
            task_id="extend_volume",
            volume_id=volume.output["volume_id"],
            size_gb="{{ params.extend_to_gb }}",
            deferrable=True,
            poll_interval=2,
        )

        @task
        def use_volume(number: int, volume_id: str, params: dict[str, float]) -> int:
            """Stand-in for a training trial: check the volume is ready and big enough, then work."""
            found = NeevCloudHook().client.get_volume(volume_id)
            assert found.status.value == "bound", f"volume {volume_id} is {found.status.value}"
            size = found.capacity_gb
            assert size >= params["extend_to_gb"], f"volume {volume_id} is {size} GB"
            time.sleep(params["work_seconds"])
            return number

        delete = NeevDeleteVolumeOperator(
            task_id="delete_volume", volume_id=volume.output["volume_id"], deferrable=True, poll_interval=2
        )
        work = use_volume(number, volume.output["volume_id"])
        volume >> extend >> work >> delete.as_teardown(setups=volume)

    trial.expand(number=trial_numbers())
    # [END howto_celery_trials]
