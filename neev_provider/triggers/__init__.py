"""Airflow triggers for NeevCloud."""

from __future__ import annotations

from neev_provider.triggers.registry import ClientRegistry
from neev_provider.triggers.volume import NeevVolumeTrigger

__all__ = ["ClientRegistry", "NeevVolumeTrigger"]
