"""NeevReapVolumesOperator: find the volumes this provider created that nothing owns any more."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from neev_provider._compat import BaseOperator, Context
from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudValidationError
from neev_provider.exceptions import NeevVolumeError
from neev_provider.hooks import DEFAULT_CONN_ID
from neev_provider.operators.base import NeevHookMixin, task_entry
from neev_provider.volumes.reap_limits import DEFAULT_MAX_DELETIONS, check_max_age, check_max_deletions

DEFAULT_MAX_AGE = timedelta(days=1)


class NeevReapVolumesOperator(NeevHookMixin, BaseOperator):
    """List (and with ``dry_run=False`` delete) this deployment's orphaned volumes in a project.

    It fails closed: a volume is deleted only when its name is a default name this deployment
    generated (``[neevcloud] deployment_id``), it is older than ``max_age``, its status is ``bound``
    or ``failed`` with no extension running, nothing is reported attached to it (no attachment other
    than ``unmounted``, no AIRuntime instance), it is listed in the scope asked for, and it is not in
    ``protected``; each is read again right before its DELETE. Volumes named by people, by other
    deployments or by builds before deployment ids are never touched. The return value lists every
    volume in this deployment's default-name form with its verdict and reason, so a dry run (the
    default) shows exactly what a real run would delete.

    .. seealso:: :ref:`howto-reap-volumes`

    :param max_age: how old an unattached volume must be to count as orphaned (a lease longer
        than any DAG run that keeps a volume): a ``timedelta``, or seconds; at least 15 minutes.
    :param dry_run: only report (default); ``False`` deletes the orphans.
    :param protected: volume ids or names never to delete: a list, or a string (templated, say)
        holding a JSON list or comma-separated values.
    :param max_deletions: the most volumes one run deletes; when more qualify it deletes none and
        fails, so that a mistake (a wrong ``deployment_id``, a clock gone wrong) cannot empty a project.
    :param neev_conn_id: the ``neevcloud`` connection.
    :param org_id: overrides the connection's organisation.
    :param project_id: overrides the connection's project.
    """

    template_fields: Sequence[str] = ("protected", "org_id", "project_id", "neev_conn_id")
    ui_color = "#ece4f7"

    def __init__(
        self,
        *,
        max_age: timedelta | float = DEFAULT_MAX_AGE,
        dry_run: bool = True,
        protected: Sequence[str] | str = (),
        max_deletions: int = DEFAULT_MAX_DELETIONS,
        neev_conn_id: str = DEFAULT_CONN_ID,
        org_id: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
        # Checked now, so that a DAG with a bad max_age or max_deletions fails when it is parsed.
        self.max_age = check_max_age(timedelta(seconds=validation.positive_number(seconds, "max_age")))
        self.max_deletions = check_max_deletions(max_deletions)
        # Not ``self.dry_run``: BaseOperator has a ``dry_run()`` method of its own.
        self.report_only = dry_run
        self.protected = protected
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id

    @task_entry
    def execute(self, context: Context) -> list[dict[str, Any]]:
        from neev_provider.deployment import NOT_CONFIGURED, deployment_id, deployment_is_configured
        from neev_provider.volumes.reap import ReapRules, reap

        if not self.report_only and not deployment_is_configured():
            rule = f"the reaper deletes only where default names prove ownership, and {NOT_CONFIGURED}"
            raise NeevCloudValidationError("dry_run", False, rule)
        client = self.hook.client
        rules = ReapRules(
            deployment=deployment_id(),
            scope=client.config.scope(),
            max_age=self.max_age,
            protected=protected_names(self.protected),
            max_deletions=self.max_deletions,
        )
        report = reap(client, rules, dry_run=self.report_only, logger=self.log)
        orphans = len(report.orphans)
        if report.refused:
            raise NeevVolumeError(f"{self.task_id}: {report.refused}")
        if self.report_only:
            self.log.info("Dry run: %d orphan(s) would be deleted; set dry_run=False to delete them", orphans)
        else:
            self.log.info("Deleted %d of %d orphan(s)", len(report.deleted), orphans)
        if report.failed:
            failures = "; ".join(f"{vid}: {why}" for vid, why in report.failed.items())
            raise NeevVolumeError(
                f"{self.task_id}: could not delete {len(report.failed)} orphan(s): {failures}"
            )
        return [verdict.to_dict() for verdict in report.verdicts]


def protected_names(value: object) -> frozenset[str]:
    """Read ``protected``: a list of strings, or a string holding a JSON list or comma-separated values."""
    rule = "must be a list of volume ids or names, or a string holding a JSON list or comma-separated values"
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise NeevCloudValidationError("protected", value, rule) from None
        else:
            return frozenset(part.strip() for part in text.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(item, str) for item in value):
        return frozenset(item.strip() for item in value if item.strip())
    raise NeevCloudValidationError("protected", value, rule)
