"""A DAG whose work task fails: the teardown must still delete the scratch volume."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator
from neev_provider.sensors import NeevVolumeSensor

VOLUME_ID = "{{ ti.xcom_pull(task_ids='create_volume', key='volume_id') }}"

with DAG(
    dag_id="scratch_volume_failing_work", schedule=None, start_date=datetime(2026, 1, 1), catchup=False
) as dag:
    create = NeevCreateVolumeOperator(
        task_id="create_volume", size_gb=20, wait_for_completion=False, poll_interval=0.1, timeout=60
    )
    bound = NeevVolumeSensor(
        task_id="wait_bound", volume_id=VOLUME_ID, deferrable=True, poke_interval=0.1, timeout=60
    )

    @task
    def train(volume_id: str) -> None:
        raise RuntimeError(f"training on {volume_id} ran out of memory")

    delete = NeevDeleteVolumeOperator(
        task_id="delete_volume", volume_id=VOLUME_ID, poll_interval=0.1, timeout=60
    )

    work = train(VOLUME_ID)
    create >> bound >> work >> delete.as_teardown(setups=create)
