"""The Airflow connection that points at an emulator, as Airflow reads it from the environment."""

from __future__ import annotations

import json
from typing import Any

from neev_provider.emulator.settings import DEFAULT_ORG_ID, DEFAULT_PROJECT_ID, DEFAULT_REGION


def airflow_connection(url: str, token: str, **overrides: Any) -> str:
    """Return a ``neevcloud`` connection in Airflow's JSON form, for ``AIRFLOW_CONN_<ID>``.

    :param overrides: top-level fields (``password``, ``login``, ...) replace the defaults;
        any other keyword (``org_id``, ``auth_type``, ...) goes into ``extra``.
    """
    top_level = {"conn_type", "host", "port", "login", "password", "schema", "description"}
    connection: dict[str, Any] = {
        "conn_type": "neevcloud",
        "host": url,
        "password": token,
        "extra": {"org_id": DEFAULT_ORG_ID, "project_id": DEFAULT_PROJECT_ID, "region_id": DEFAULT_REGION},
    }
    for key, value in overrides.items():
        if key in top_level:
            connection[key] = value
        else:
            connection["extra"][key] = value
    return json.dumps(connection)
