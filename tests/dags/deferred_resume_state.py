"""Deferrable tasks whose resume step needs state: it must come back in the trigger's event.

``dag.test()`` on Airflow 3.3 resumes a deferred task with the event alone (no ``next_kwargs``),
as a restarted triggerer may too. ``create_volume`` must still delete the volume it created when
the bind fails; ``delete_volume`` must still know when it started waiting for a detach.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator

with DAG(
    dag_id="deferred_create_cleans_up",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
) as create_dag:
    NeevCreateVolumeOperator(
        task_id="create_volume", size_gb=20, deferrable=True, poll_interval=0.1, timeout=60
    )

with DAG(
    dag_id="deferred_delete_waits_for_detach",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"volume_id": Param("", type="string")},
) as delete_dag:
    NeevDeleteVolumeOperator(
        task_id="delete_volume",
        volume_id="{{ params.volume_id }}",
        deferrable=True,
        poll_interval=0.1,
        detach_timeout=30,
        timeout=60,
    )
