"""Create tasks that a user kills while they wait: each must delete the volume it created."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator

for dag_id, deferrable in (("killed_create_in_worker", False), ("killed_create_deferred", True)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        NeevCreateVolumeOperator(
            task_id="create_volume", size_gb=20, deferrable=deferrable, poll_interval=0.5, timeout=300
        )
    globals()[dag_id] = dag
