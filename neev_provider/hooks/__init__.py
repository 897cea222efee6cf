"""Airflow hooks for NeevCloud."""

from __future__ import annotations

#: The connection id every hook, operator, sensor and trigger uses unless told otherwise.
DEFAULT_CONN_ID = "neevcloud_default"
