"""The connection form on every supported Airflow, without a browser.

Airflow 3.2+ builds it from the provider info (checked here through the API server's own
``hook_meta`` service); older versions from the hook methods (checked with real wtforms
where Airflow 2 ships them).
"""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from neev_provider import get_provider_info
from neev_provider.client.config import DEFAULT_TIMEOUT_SECONDS
from neev_provider.client.retry import RetryPolicy
from neev_provider.hooks import connection
from neev_provider.hooks.form import (
    CONN_FIELDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    EXTRA_FIELDS,
    HIDDEN_FIELDS,
    STANDARD_FIELDS,
    UI_FIELD_BEHAVIOUR,
)
from neev_provider.hooks.neevcloud import NeevCloudHook
from tests.support.airflow_version import AIRFLOW_V_3_2_PLUS

HAS_WTFORMS = importlib.util.find_spec("wtforms") is not None and importlib.util.find_spec("flask_appbuilder")


def test_the_form_defaults_are_the_clients() -> None:
    assert DEFAULT_TIMEOUT == DEFAULT_TIMEOUT_SECONDS
    assert DEFAULT_MAX_RETRIES == RetryPolicy().max_retries
    assert CONN_FIELDS["auth_type"]["schema"]["enum"] == list(connection.AUTH_TYPES)


def test_no_port_no_schema_and_no_null_choice() -> None:
    assert UI_FIELD_BEHAVIOUR["hidden-fields"] == ["schema", "port"]
    auth = CONN_FIELDS["auth_type"]["schema"]
    assert auth == {"type": "string", "enum": ["token", "login"], "default": "token"}


def test_every_extra_field_has_a_label_a_description_and_a_placeholder() -> None:
    placeholders = UI_FIELD_BEHAVIOUR["placeholders"]
    for field in EXTRA_FIELDS:
        assert CONN_FIELDS[field.name]["label"], field.name
        assert CONN_FIELDS[field.name]["description"], field.name
        assert placeholders[field.name], field.name
    assert {"verify", "max_retries", "console_url"} <= set(CONN_FIELDS)


def test_org_and_project_are_required_in_schema_and_description() -> None:
    for name in ("org_id", "project_id"):
        assert CONN_FIELDS[name]["schema"]["type"] == "string"  # no "null": Airflow marks it required
        assert CONN_FIELDS[name]["description"].startswith("Required.")
    assert "null" in CONN_FIELDS["region_id"]["schema"]["type"]


def test_the_form_is_valid_for_the_installed_airflows_schemas() -> None:
    behaviour_schema = json.loads(
        resources.files("airflow").joinpath("customized_form_field_behaviours.schema.json").read_text()
    )
    jsonschema.validate(NeevCloudHook.get_ui_field_behaviour(), behaviour_schema)
    info_schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), info_schema)


@pytest.mark.skipif(
    not AIRFLOW_V_3_2_PLUS, reason="Airflow < 3.2 ignores conn-fields and reads the hook methods"
)
# Airflow 3.2's API server reads its own deprecated ProvidersManager.hooks (once per process).
@pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated")
def test_the_api_server_serves_the_form_from_the_provider_info() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "neevcloud"]
    standard = meta.standard_fields
    assert standard is not None
    assert standard.port is not None
    assert standard.port.hidden
    assert standard.url_schema is not None
    assert standard.url_schema.hidden
    assert standard.password is not None
    assert standard.password.title == "API token"
    assert standard.host is not None
    assert standard.host.placeholder == "https://api.ai.neevcloud.com"
    extra = meta.extra_fields or {}
    assert list(extra) == [field.name for field in EXTRA_FIELDS]
    assert extra["auth_type"]["value"] == "token"
    assert extra["auth_type"]["schema"]["enum"] == ["token", "login"]
    assert extra["org_id"]["schema"]["title"] == "Organization ID"
    assert extra["verify"]["value"] is True


@pytest.mark.skipif(not HAS_WTFORMS, reason="needs wtforms and flask-appbuilder (Airflow 2 ships them)")
def test_the_hook_methods_give_older_airflows_the_same_form() -> None:
    from flask import Flask
    from flask_babel import Babel
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    widgets = NeevCloudHook.get_connection_form_widgets()
    assert list(widgets) == [field.name for field in EXTRA_FIELDS]
    form_class = type("NeevForm", (Form,), widgets)
    app = Flask(__name__)
    Babel(app)  # the labels are translatable strings, as in Airflow 2's webserver
    with app.test_request_context():
        form = form_class()
        assert str(form.org_id.label.text) == "Organization ID"
        assert str(form.org_id.description).startswith("Required.")
        assert form.auth_type.data == "token"
        assert form.timeout.data == "30"
        assert form.max_retries.data == 2
        assert form.verify.data is True
        assert form.validate() is True  # every field optional for wtforms: Airflow 2 validates all types'
        wrong = form_class(formdata=MultiDict({"auth_type": "bearer", "org_id": "org-abc123"}))
        assert wrong.validate() is False
        assert list(wrong.errors) == ["auth_type"]


@pytest.mark.skipif(not HAS_WTFORMS, reason="needs wtforms and flask-appbuilder (Airflow 2 ships them)")
def test_older_airflows_see_every_placeholder_through_the_providers_manager() -> None:
    from airflow.providers_manager import ProvidersManager

    behaviour = ProvidersManager().field_behaviours["neevcloud"]
    assert behaviour["hidden_fields"] == ["schema", "port"]
    assert behaviour["placeholders"]["extra__neevcloud__org_id"] == "org-abc123"
    assert behaviour["placeholders"]["password"].startswith("pat-nc-")


def test_the_getting_started_table_lists_the_form_as_it_is() -> None:
    """Every field of the docs' connection table, in the form's order, with the form's label."""
    text = (Path(__file__).parents[2] / "docs" / "getting-started.rst").read_text()
    table = text[text.index(".. list-table::") : text.index("The ``schema`` field is not used")]
    rows = re.findall(r"^   \* - (?:extra )?``(\w+)``\n     - (.+)$", table, re.MULTILINE)
    documented = dict(rows)

    expected = {name: label for name, (label, _) in STANDARD_FIELDS.items()}
    expected |= {name: "(hidden)" for name in HIDDEN_FIELDS if name != "schema"}
    expected |= {field.name: field.label for field in EXTRA_FIELDS}
    assert documented == expected
    extras = [name for name, _ in rows if name in {field.name for field in EXTRA_FIELDS}]
    assert extras == [field.name for field in EXTRA_FIELDS]
