"""Daily maintenance: delete the volumes this Airflow created that nothing uses any more.

Every create and delete in the other examples cleans up after itself, even when tasks fail or
are killed. This DAG is the backstop for what no task could clean up (a worker lost with the
API unreachable, say): it deletes volumes whose names this deployment generated
(``[neevcloud] deployment_id``), older than ``max_age`` and in a state it fully understands as
unused. Volumes named by people or by another Airflow are never touched, and it deletes nothing
when more than ``max_deletions`` qualify. Run it with ``dry_run=True`` first to see what it would
delete, and why it keeps the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevReapVolumesOperator

with DAG(
    dag_id="neevcloud_reap_orphaned_volumes",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example", "maintenance"],
) as dag:
    # [START howto_reap_volumes]
    reap = NeevReapVolumesOperator(
        task_id="reap_orphaned_volumes",
        # Longer than any DAG run that keeps a volume: younger volumes may still be in use.
        max_age=timedelta(days=2),
        dry_run=False,
        # A mistake (a changed deployment_id, a clock gone wrong) deletes nothing beyond this.
        max_deletions=20,
    )
    # [END howto_reap_volumes]
