"""Airflow operators for NeevCloud network volumes."""

from __future__ import annotations

from neev_provider.operators.create import NeevCreateVolumeOperator
from neev_provider.operators.delete import NeevDeleteVolumeOperator
from neev_provider.operators.extend import NeevExtendVolumeOperator
from neev_provider.operators.reap import NeevReapVolumesOperator

__all__ = [
    "NeevCreateVolumeOperator",
    "NeevDeleteVolumeOperator",
    "NeevExtendVolumeOperator",
    "NeevReapVolumesOperator",
]
