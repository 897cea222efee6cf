"""The console link on volume tasks, when the connection names a ``console_url``.

NeevCloud documents no URL of a volume's page in its console, so the provider ships no
default: the link appears only on tasks whose connection sets the ``console_url`` template.

The URL is built in the task as soon as the volume id is known, before any wait or
deferral, and pushed to XCom under the link's own key. That one key serves every
supported Airflow: Airflow 3's API server reads the link from exactly that XCom (and the
worker re-reads it through :meth:`NeevVolumeLink.get_link` when the task ends), while
Airflow 2's webserver calls :meth:`NeevVolumeLink.get_link`, which reads it back.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from neev_provider._compat import BaseOperatorLink, Context, get_xcom_value
from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudError, NeevCloudValidationError

if TYPE_CHECKING:
    import logging

    from neev_provider.hooks.neevcloud import NeevCloudHook

#: What a ``console_url`` template may name.
PLACEHOLDERS = ("org_id", "project_id", "region_id", "volume_id")
#: Airflow 3's default key for this link's XCom (``_link_<class name>``), kept on Airflow 2 too.
XCOM_KEY = "_link_NeevVolumeLink"


class NeevVolumeLink(BaseOperatorLink):
    """``NeevCloud volume``: the volume's page in the NeevCloud console."""

    name: ClassVar[str] = "NeevCloud volume"

    @property
    def xcom_key(self) -> str:
        return XCOM_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Return the URL the task pushed, or ``""`` while the volume id is not known yet."""
        return str(get_xcom_value(ti_key=ti_key, key=XCOM_KEY) or "")


def check_template(template: str) -> str:
    """Return ``template`` if it is an http(s) URL naming only known placeholders.

    :raises NeevCloudValidationError: naming the field, the template and the rule.
    """
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    rule = f"must be an http(s) URL using only the placeholders {known}"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        raise NeevCloudValidationError("extra.console_url", template, rule) from None
    if urlsplit(template).scheme not in ("http", "https") or not names <= set(PLACEHOLDERS):
        raise NeevCloudValidationError("extra.console_url", template, rule)
    return template


def console_url(
    template: str, *, org_id: str, project_id: str, volume_id: str, region_id: str | None = None
) -> str:
    """Fill in the connection's console URL template."""
    values = {"org_id": org_id, "project_id": project_id, "volume_id": volume_id}
    values["region_id"] = region_id or ""
    quoted = {name: quote(value, safe="") for name, value in values.items()}
    return check_template(template).format(**quoted)


def persist_volume_link(
    context: Context,
    hook: NeevCloudHook,
    volume_id: str,
    *,
    region_id: str | None = None,
    log: logging.Logger | Any = None,
) -> str | None:
    """Push the volume's console URL for :class:`NeevVolumeLink`; return it.

    Without a ``console_url`` on the connection there is no link and nothing is pushed. A
    link is a convenience: a bad template is logged, never raised, so that it cannot fail a
    task that already created a volume.
    """
    template = hook.console_url_template
    if not template:
        return None
    try:
        config = hook.client.config
        url = console_url(
            template,
            org_id=config.org_id,
            project_id=config.project_id,
            volume_id=validation.volume_id(volume_id),
            region_id=region_id or hook.default_region,
        )
    except NeevCloudError as error:
        if log is not None:
            log.warning("No NeevCloud console link for volume %s: %s", volume_id, error)
        return None
    context["ti"].xcom_push(key=XCOM_KEY, value=url)
    return url
