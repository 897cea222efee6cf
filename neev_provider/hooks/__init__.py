"""Airflow hooks for NeevCloud."""

from __future__ import annotations
