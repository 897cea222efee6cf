"""NeevReapVolumesOperator: find the volumes this provider created that nothing owns any more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from neev_provider._compat import BaseOperator, Context
from neev_provider.client import validation
from neev_provider.exceptions import NeevVolumeError
from neev_provider.hooks import DEFAULT_CONN_ID
from neev_provider.operators.base import NeevHookMixin

DEFAULT_MAX_AGE = timedelta(days=1)


class NeevReapVolumesOperator(NeevHookMixin, BaseOperator):
    """List (and with ``dry_run=False`` delete) orphaned volumes of this provider in a project.

    A volume is an orphan when its name has the create operator's default-name form, it is older
    than ``max_age``, no resource has it mounted, it is not being created or resized, and it is
    not in ``protected``. Volumes named by people are never touched. The return value lists every
    volume in the default-name form with the verdict and its reason, so a dry run (the default)
    shows exactly what a real run would delete.

    .. seealso:: :ref:`howto-reap-volumes`

    :param max_age: how old an unattached volume must be to count as orphaned (a lease):
        longer than any DAG run that keeps a volume. A ``timedelta`` or seconds.
    :param dry_run: only report (default); ``False`` deletes the orphans.
    :param protected: volume ids or names never to delete.
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
        protected: Sequence[str] = (),
        neev_conn_id: str = DEFAULT_CONN_ID,
        org_id: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
        self.max_age = timedelta(seconds=validation.positive_number(seconds, "max_age"))
        # Not ``self.dry_run``: BaseOperator has a ``dry_run()`` method of its own.
        self.report_only = dry_run
        self.protected = protected
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from neev_provider.client.reaper import reap

        report = reap(
            self.hook.client,
            max_age=self.max_age,
            dry_run=self.report_only,
            protected=set(self.protected or ()),
            logger=self.log,
        )
        orphans = len(report.orphans)
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
