"""A create that returns as soon as its volume exists: how many calls a first try makes."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator

with DAG(
    dag_id="create_with_state_store", schedule=None, start_date=datetime(2026, 1, 1), catchup=False
) as dag:
    NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, wait_for_completion=False)
