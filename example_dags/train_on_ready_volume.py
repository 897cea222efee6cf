"""Train on the volumes ``training_data_volume.py`` created, then delete them.

Scheduled on the asset alias the create task fills in: each run starts after a volume is
bound, and reads the volumes' ids from its triggering asset events. The delete is a teardown:
the volumes go even when the training fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG, AssetAlias, get_current_context, task
except ImportError:  # Airflow 2: assets were datasets
    from airflow import DAG
    from airflow.datasets import DatasetAlias as AssetAlias
    from airflow.decorators import task
    from airflow.operators.python import get_current_context

from neev_provider.operators import NeevDeleteVolumeOperator

# [START howto_scheduled_on_volume]
with DAG(
    dag_id="neevcloud_train_on_ready_volume",
    schedule=[AssetAlias("neevcloud-training-data")],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example"],
) as dag:

    @task
    def announced_volumes() -> list[str]:
        """Return the ids of the volumes this run's triggering events name, created for it."""
        context: Any = get_current_context()
        # Airflow 3 calls them asset events, Airflow 2 dataset events.
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        # Events that came while an earlier run was going are all given to the next run, so one run
        # may name several volumes. They are keyed by the asset and, on Airflow 3, by the alias too:
        # the same event may appear twice. A volume the create found and adopted (created: false)
        # is somebody else's: it is left alone.
        ids = {
            str(event.extra["volume_id"])
            for found in events.values()
            for event in found
            if event.extra.get("created") is True
        }
        if not ids:
            # Airflow 3.0 starts an alias-scheduled run without its triggering events; guessing
            # which volume is meant could delete somebody else's.
            raise RuntimeError("no triggering asset event names a volume created for this DAG")
        return sorted(ids)

    @task
    def train(volume_ids: list[str]) -> None:
        """Stand-in for the training job."""
        for volume_id in volume_ids:
            print(f"Training on volume {volume_id}")

    volume_ids = announced_volumes()
    delete = NeevDeleteVolumeOperator.partial(task_id="delete_volume").expand(volume_id=volume_ids)
    # A teardown: the volumes go even when the training fails, and the run's state is the
    # training's. (With on_failure_fail_dagrun, Airflow 2.10 and 3.0 would take the run's state
    # from the delete alone: a failed training would end in a successful run.)
    train(volume_ids) >> delete.as_teardown(setups=volume_ids.operator)
# [END howto_scheduled_on_volume]
