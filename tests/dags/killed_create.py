"""Create tasks that get killed while they work: each must delete what it provably created.

``killed_create_in_worker`` and ``killed_create_deferred`` wait for a volume that never binds; the
``killed_create_with_teardown`` DAG is the scratch-volume shape (create, then a teardown delete), so
that a next try after a kill ends the run with no volume left.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator

for dag_id, deferrable in (("killed_create_in_worker", False), ("killed_create_deferred", True)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        NeevCreateVolumeOperator(
            task_id="create_volume", size_gb=20, deferrable=deferrable, poll_interval=0.5, timeout=300
        )
    globals()[dag_id] = dag

with DAG(
    dag_id="killed_create_with_teardown", schedule=None, start_date=datetime(2026, 1, 1), catchup=False
) as killed_create_with_teardown:
    create = NeevCreateVolumeOperator(
        task_id="create_volume", size_gb=20, deferrable=False, poll_interval=0.5, timeout=300
    )
    delete = NeevDeleteVolumeOperator(
        task_id="delete_volume", volume_id=create.output["volume_id"], poll_interval=0.5, timeout=120
    )
    create >> delete.as_teardown(setups=create)
