"""A DAG file for ``dag.test()`` against the fake: create a volume, then delete it.

Not part of the fake (which needs the standard library only): ``tests/test_spec_dialects.py``
copies this file into the DAGs folder, since ``dag.test()`` runs only DAGs from files there
(Airflow 3.1+). One DAG per way of waiting: in the worker, and deferred to the triggerer.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator

POLL = 0.05


def roundtrip(mode: str) -> DAG:
    """``create_volume`` (default name) then ``delete_volume``, both waiting in ``mode``."""
    deferrable = mode == "deferrable"
    with DAG(dag_id=f"spec_fake_roundtrip_{mode}", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        create = NeevCreateVolumeOperator(
            task_id="create_volume", size_gb=10, deferrable=deferrable, poll_interval=POLL, timeout=30
        )
        delete = NeevDeleteVolumeOperator(
            task_id="delete_volume",
            volume_id="{{ ti.xcom_pull(task_ids='create_volume', key='volume_id') }}",
            deferrable=deferrable,
            poll_interval=POLL,
            timeout=30,
            detach_timeout=30,
        )
        create >> delete
    return dag


worker_dag = roundtrip("worker")
deferrable_dag = roundtrip("deferrable")
