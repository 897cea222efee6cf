"""Four creates waiting in the triggerer at once: each task's log must show its own volume only."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator

with DAG(
    dag_id="four_concurrent_waits", schedule=None, start_date=datetime(2026, 1, 1), catchup=False
) as dag:
    for index in range(4):
        create = NeevCreateVolumeOperator(
            task_id=f"create_{index}", size_gb=10, deferrable=True, poll_interval=0.5, timeout=120
        )
        delete = NeevDeleteVolumeOperator(
            task_id=f"delete_{index}", volume_id=create.output["volume_id"], poll_interval=0.5, timeout=60
        )
        create >> delete.as_teardown(setups=create)
