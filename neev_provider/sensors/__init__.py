"""Airflow sensors for NeevCloud."""

from __future__ import annotations

from neev_provider.sensors.volume import NeevVolumeSensor

__all__ = ["NeevVolumeSensor"]
