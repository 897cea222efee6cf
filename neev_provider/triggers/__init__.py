"""Airflow triggers for NeevCloud, and what the triggerer shares between them."""

from __future__ import annotations

from neev_provider.triggers.volume import NeevVolumeTrigger

__all__ = ["NeevVolumeTrigger"]
