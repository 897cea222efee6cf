"""The ``neevcloud`` connection form, as data.

Declared once and read twice: Airflow 3.2+ takes it from the provider info without
importing the hook (so this module must not import Airflow), and older versions get it
from the hook's ``get_ui_field_behaviour`` and ``get_connection_form_widgets``.
"""

from __future__ import annotations

from typing import Any

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema"],
    "relabeling": {"host": "API base URL", "login": "E-mail (login mode only)", "password": "API token"},
    "placeholders": {
        "host": "https://api.ai.neevcloud.com",
        "password": "pat-nc-… (or the account password in login mode)",
        "login": "you@example.com",
        "org_id": "org-abc123",
        "project_id": "prj-abc123",
        "region_id": "as-south-1",
        "auth_type": "token",
        "timeout": "30",
    },
}

#: The same behaviour as the hook's ``get_ui_field_behaviour`` returns it: that older interface
#: spells the key ``hidden_fields`` (Airflow's ``customized_form_field_behaviours.schema.json``),
#: where the provider info spells it ``hidden-fields``. A wrong spelling is not an error there:
#: Airflow logs a warning and drops the whole behaviour.
HOOK_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()
}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "org_id": {"label": "Organization ID", "schema": {"type": ["string", "null"]}},
    "project_id": {"label": "Project ID", "schema": {"type": ["string", "null"]}},
    "region_id": {"label": "Default region", "schema": {"type": ["string", "null"]}},
    "auth_type": {
        "label": "Auth type",
        "description": "token: the password is a bearer token; login: e-mail and password.",
        "schema": {"type": ["string", "null"], "enum": ["token", "login", None]},
    },
    "timeout": {"label": "Request timeout (s)", "schema": {"type": ["number", "null"]}},
}
