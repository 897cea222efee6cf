"""Create a volume for training data and announce it, once bound, as an asset.

The volume has the create task's default name, which differs per run, so the outlet is an
asset alias: when the volume is bound, the operator attaches the volume's own asset,
``neevcloud://{org_id}/{project_id}/{volume name}``, to the alias, with the volume's id, size
and region in the event's extra, and ``created``: whether this task created the volume or
adopted one it found. The DAG in ``train_on_ready_volume.py`` is scheduled on that alias, runs
after each such event, and deletes only volumes that were created for it.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, AssetAlias
except ImportError:  # Airflow 2: assets were datasets
    from airflow import DAG
    from airflow.datasets import DatasetAlias as AssetAlias

from neev_provider.operators import NeevCreateVolumeOperator

# [START howto_volume_asset]
TRAINING_VOLUME = AssetAlias("neevcloud-training-data")

with DAG(
    dag_id="neevcloud_training_data_volume",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example"],
) as dag:
    NeevCreateVolumeOperator(
        task_id="create_volume",
        size_gb=50,
        region_id="as-south-1",
        # The asset event is emitted only once the volume is bound (the operator waits for it).
        wait_for_completion=True,
        outlets=[TRAINING_VOLUME],
    )
# [END howto_volume_asset]
