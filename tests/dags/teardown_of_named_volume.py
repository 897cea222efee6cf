"""The README's teardown pattern on a volume with a given name: a pre-existing one is left alone.

Three DAGs: the volume id fed as an XCom reference (``create.output["volume_id"]``) and as a
templated string; and a delete two steps after its create, fed by a template (so the create is
not its direct upstream). Every one must skip a volume the create only adopted.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator
from neev_provider.sensors import NeevVolumeSensor

PULLED = "{{ ti.xcom_pull(task_ids='create_volume', key='volume_id') }}"

for dag_id, by_reference in (
    ("teardown_of_named_volume", True),
    ("teardown_of_named_volume_templated", False),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        create = NeevCreateVolumeOperator(
            task_id="create_volume", name="team-data", size_gb=20, poll_interval=0.1, timeout=60
        )
        volume_id = create.output["volume_id"] if by_reference else PULLED
        delete = NeevDeleteVolumeOperator(
            task_id="delete_volume", volume_id=volume_id, poll_interval=0.1, timeout=60
        )
        create >> delete.as_teardown(setups=create)
    globals()[dag_id] = dag

with DAG(
    dag_id="teardown_of_named_volume_after_a_step",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
) as teardown_of_named_volume_after_a_step:
    create = NeevCreateVolumeOperator(
        task_id="create_volume", name="team-data", size_gb=20, poll_interval=0.1, timeout=60
    )
    bound = NeevVolumeSensor(task_id="bound", volume_id=PULLED, poke_interval=0.1, timeout=60)
    delete = NeevDeleteVolumeOperator(
        task_id="delete_volume", volume_id=PULLED, poll_interval=0.1, timeout=60
    )
    create >> bound >> delete
