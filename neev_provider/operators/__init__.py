"""Airflow operators for NeevCloud network volumes."""

from __future__ import annotations

from neev_provider.operators.create import NeevCreateVolumeOperator
from neev_provider.operators.delete import NeevDeleteVolumeOperator
from neev_provider.operators.extend import NeevExtendVolumeOperator
from neev_provider.operators.reap import NeevReapVolumesOperator
from neev_provider.operators.scratch import ScratchVolume, scratch_volume

__all__ = [
    "NeevCreateVolumeOperator",
    "NeevDeleteVolumeOperator",
    "NeevExtendVolumeOperator",
    "NeevReapVolumesOperator",
    "ScratchVolume",
    "scratch_volume",
]
