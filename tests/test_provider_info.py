"""Registration: the provider info Airflow reads through the entry point."""

from __future__ import annotations

import importlib
import json
from importlib import metadata, resources

import jsonschema

from neev_provider import __version__, get_provider_info
from neev_provider.hooks.neevcloud import NeevCloudHook


def test_provider_info_matches_the_schema_airflow_ships() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_the_hook_form_behaviour_matches_the_schema_airflow_ships() -> None:
    # Airflow < 3.2 reads the form from the hook, validates it against this schema, and on a
    # mismatch only logs a warning and shows the form unchanged.
    name = "customized_form_field_behaviours.schema.json"
    schema = json.loads(resources.files("airflow").joinpath(name).read_text())
    behaviour = NeevCloudHook.get_ui_field_behaviour()
    jsonschema.validate(behaviour, schema)
    assert (
        behaviour["hidden_fields"]
        == get_provider_info()["connection-types"][0]["ui-field-behaviour"]["hidden-fields"]
    )


def test_the_entry_point_is_the_one_airflow_discovers() -> None:
    (entry,) = [
        e for e in metadata.entry_points(group="apache_airflow_provider") if e.value.startswith("neev_")
    ]
    assert entry.load() is get_provider_info
    assert (
        get_provider_info()["package-name"] == entry.dist.name if entry.dist else "airflow-provider-neevcloud"
    )
    assert metadata.version("airflow-provider-neevcloud") == __version__


def test_every_module_named_in_the_provider_info_imports() -> None:
    info = get_provider_info()
    modules = [
        m
        for key in ("hooks", "operators", "sensors", "triggers")
        for group in info[key]
        for m in group["python-modules"]
    ]
    for name in modules:
        importlib.import_module(name)
    for conn in info["connection-types"]:
        module, _, cls = conn["hook-class-name"].rpartition(".")
        assert getattr(importlib.import_module(module), cls).conn_type == conn["connection-type"]
