"""``scratch_volume`` with a given name: an existing volume is used, never deleted.

``scratch_named`` reuses a volume named ``team-data`` at least as large as asked for;
``scratch_extend_to_fit`` also takes a smaller one and extends it before the block runs. The
block's task records the id it was given, for the test to compare.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

from neev_provider.operators import scratch_volume


@task
def use(volume_id: str) -> str:
    print(f"using volume {volume_id}")
    return volume_id


for dag_id, extend_to_fit in (("scratch_named", False), ("scratch_extend_to_fit", True)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        with scratch_volume(
            size_gb=50, name="team-data", extend_to_fit=extend_to_fit, poll_interval=0.1, timeout=60
        ) as volume:
            use(volume.id)
    globals()[dag_id] = dag
