"""Apache Airflow provider for the NeevCloud Storage API (network volumes).

Importing this package is cheap: it imports neither Airflow nor the HTTP libraries,
so that Airflow's provider discovery can call :func:`get_provider_info` quickly.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]

_INTEGRATION = "NeevCloud Storage"
# The ``neevcloud`` asset URI scheme: Airflow 3 reads "asset-uris", Airflow 2 "dataset-uris".
_VOLUME_URIS = {
    "schemes": ["neevcloud"],
    "handler": "neev_provider.assets.sanitize_uri",
    "factory": "neev_provider.assets.create_asset",
    "to_openlineage_converter": "neev_provider.assets.convert_asset_to_openlineage",
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    # Imported here, not at the top, so that importing the package stays free of side work.
    from neev_provider.hooks.form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

    return {
        "package-name": "airflow-provider-neevcloud",
        "name": "NeevCloud",
        "description": "Create, extend, watch and delete NeevCloud network volumes from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.ai.neevcloud.com/api-reference/storage/network-volumes",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": ["neev_provider.hooks.neevcloud"]}],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "neev_provider.operators.create",
                    "neev_provider.operators.extend",
                    "neev_provider.operators.delete",
                    "neev_provider.operators.reap",
                ],
            }
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": ["neev_provider.sensors.volume"]}],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": ["neev_provider.triggers.volume"]}],
        "extra-links": ["neev_provider.links.NeevVolumeLink"],
        "asset-uris": [_VOLUME_URIS],
        "dataset-uris": [_VOLUME_URIS],
        "config": {
            "neevcloud": {
                "description": "This deployment's identity, and how NeevCloud triggers share their reads.",
                "options": {
                    "deployment_id": {
                        "description": (
                            "Names this Airflow installation in the default names of the volumes "
                            "its create tasks make, which is how retries, kill cleanups and the "
                            "reaper know a volume is this installation's; give each installation "
                            "sharing a NeevCloud project its own. Unset, names use a digest of "
                            "[database] sql_alchemy_conn without its credentials on Airflow 2, of "
                            "[core] execution_api_server_url on Airflow 3, which installations "
                            "made from one compose file or chart share: then no volume is deleted "
                            "on the strength of its name, and the reaper only reports. Changing it "
                            "renames future default names: volumes named under the old value are "
                            "no longer recognised."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "ml-platform-prod",
                        "default": None,
                    },
                    "poll_batch_threshold": {
                        "description": (
                            "From how many due waits of one project the triggerer reads the "
                            "project's volume list (100 volumes a call) instead of one GET per "
                            "volume. Raise it for projects holding many more volumes than are "
                            "being waited on; 1 always reads the list."
                        ),
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "10",
                        "default": "3",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "neevcloud",
                "hook-class-name": "neev_provider.hooks.neevcloud.NeevCloudHook",
                "hook-name": "NeevCloud",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
