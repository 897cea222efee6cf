"""Train on the volumes ``training_data_volume.py`` announced, then delete them.

Scheduled on the asset alias the create task fills in: each run starts after a volume is
bound, and reads the volumes' ids from the triggering asset events (one delete per volume).
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
    def train() -> list[str]:
        """Train on every volume the triggering events name; return their ids for the delete."""
        context: Any = get_current_context()
        # Airflow 3 calls them asset events, Airflow 2 dataset events.
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        # Events that came while an earlier run was going are all given to the next run, so one run
        # may name several volumes. They are keyed by the asset and, on Airflow 3, by the alias too:
        # the same event may appear twice, hence one entry per volume id.
        volumes = {
            event.extra["volume_id"]: event.extra
            for found in events.values()
            for event in found
            if "volume_id" in event.extra
        }
        if not volumes:
            # Airflow 3.0 starts an alias-scheduled run without its triggering events; guessing
            # which volume is meant could delete somebody else's.
            raise RuntimeError("no triggering asset event names a volume: nothing to train on")
        for volume_id, volume in volumes.items():
            print(f"Training on volume {volume_id} ({volume['size_gb']} GB in {volume['region_id']})")
        return [str(volume_id) for volume_id in volumes]

    NeevDeleteVolumeOperator.partial(task_id="delete_volume").expand(volume_id=train())
# [END howto_scheduled_on_volume]
