"""OpenLineage facets of the volume operators: each volume a dataset, with its lifecycle change.

A volume is the dataset ``neevcloud://{org_id}/{project_id}`` / ``{volume name}``; create
emits it as an output with ``lifecycleStateChange`` CREATE, extend as an output with ALTER,
delete as an input with DROP (as Airflow's GCS delete operator does). A failed task names
the volume it was about, without a state change, since none is certain.

The listener asks for facets after the task ran, in a process it forks, where reading a
connection, an XCom or the API can hang (under ``dag.test()`` the fork shares a channel only its
parent may use) until the listener gives up and the event is lost. So each operator keeps its
volume on itself while it runs (:func:`keep_volume`), and the facets are built from that alone;
reading the volume's name is only a fallback, for a task that never got as far.

The OpenLineage provider is optional (``pip install 'airflow-provider-neevcloud[openlineage]'``):
nothing here imports it, or the OpenLineage client, until Airflow's OpenLineage listener asks
for facets, which it only does when it is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudError

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from neev_provider._compat import Context

Change = Literal["CREATE", "ALTER", "DROP"]
#: XCom key of the name of the volume a delete task is about to delete (with OpenLineage on only).
VOLUME_NAME_KEY = "volume_name"
# The operator attribute holding the volume its lineage is about, once the task knows it.
_KEPT = "_lineage_volume"


class VolumeRef(NamedTuple):
    """What names a volume's dataset."""

    org_id: str
    project_id: str
    name: str


def namespace(org_id: str, project_id: str) -> str:
    """Return the OpenLineage namespace of a project's volumes."""
    return f"neevcloud://{org_id}/{project_id}"


def volume_dataset(volume: VolumeRef, change: Change | None = None) -> Any:
    """Return the volume as an OpenLineage dataset, with its lifecycle change if there is one."""
    from airflow.providers.common.compat.openlineage.facet import (
        Dataset,
        LifecycleStateChange,
        LifecycleStateChangeDatasetFacet,
    )

    if not isinstance(Dataset, type):  # the compat provider's stand-in when the client is missing
        raise ImportError("OpenLineage datasets need pip install 'airflow-provider-neevcloud[openlineage]'")
    facets: dict[str, Any] = {}
    if change is not None:
        facets["lifecycleStateChange"] = LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=LifecycleStateChange[change]
        )
    return Dataset(namespace=namespace(volume.org_id, volume.project_id), name=volume.name, facets=facets)


def lineage_enabled() -> bool:
    """Tell whether the OpenLineage provider is installed and configured to emit events."""
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    return not is_disabled()


def keep_volume(operator: Any, name: object) -> None:
    """Keep the volume named ``name`` on ``operator``, for its lineage (only if lineage is emitted).

    Called while the task runs, where the client is at hand; never raises.
    """
    if not name or not lineage_enabled():
        return
    try:
        config = operator.client.config
    except NeevCloudError:
        return
    setattr(operator, _KEPT, VolumeRef(config.org_id, config.project_id, str(name)))


def remember_volume_name(operator: Any, context: Context, volume_id: str) -> str | None:
    """Before a delete, keep the volume's name for its DROP event (only if lineage is emitted).

    The name is gone with the volume. It is kept on the operator, returned so that a deferred
    delete can carry it in its event, and pushed to XCom for a lineage reader elsewhere.
    Without OpenLineage this costs nothing: no call, no XCom.
    """
    if not lineage_enabled():
        return None
    try:
        volume = operator.client.find_volume(validation.volume_id(volume_id))
    except NeevCloudError:
        return None  # the delete itself reports what is wrong
    if volume is None:
        return None
    name = str(volume.name)
    keep_volume(operator, name)
    context["ti"].xcom_push(key=VOLUME_NAME_KEY, value=name)
    return name


class NeevVolumeLineageMixin:
    """The OpenLineage methods of a volume operator; ``lineage_change`` says what it does."""

    lineage_change: ClassVar[Change]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any] | None:
        """Return the volume with its lifecycle change (called by the OpenLineage listener)."""
        return operator_lineage(self, task_instance, self.lineage_change)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage[Any, Any] | None:
        """Return the volume the failed task was about, without a lifecycle change."""
        return operator_lineage(self, task_instance, None)


def operator_lineage(
    operator: Any, task_instance: Any, change: Change | None
) -> OperatorLineage[Any, Any] | None:
    """Return the operator's lineage: its volume's dataset, or ``None`` if the volume is unknown."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    volume = _volume_of(operator, task_instance)
    if volume is None:
        return None
    dataset = volume_dataset(volume, change)
    if operator.lineage_change == "DROP":
        return OperatorLineage(inputs=[dataset])
    return OperatorLineage(outputs=[dataset])


def _volume_of(operator: Any, task_instance: Any) -> VolumeRef | None:
    """Name the operator's volume without changing anything; ``None`` if it cannot be named."""
    kept = getattr(operator, _KEPT, None)
    if isinstance(kept, VolumeRef):
        return kept
    try:
        config = operator.hook.get_config()  # no session: nothing to close
        name = _volume_name(operator, task_instance)
    except NeevCloudError:
        return None
    return VolumeRef(config.org_id, config.project_id, name) if name else None


def _volume_name(operator: Any, ti: Any) -> str | None:
    if operator.lineage_change == "CREATE":
        # Imported here: the operators import this module.
        from neev_provider.deployment import task_volume_name

        # The name the create task gave its volume: the same on every try and after a deferral.
        return str(operator.name or task_volume_name(ti))
    if operator.lineage_change == "DROP":
        name = ti.xcom_pull(task_ids=operator.task_id, key=VOLUME_NAME_KEY)
        return str(name) if name else None
    # A client of its own, closed here: the task's own client was closed when execute ended.
    with operator.hook.new_client() as client:
        volume = client.find_volume(validation.volume_id(operator.volume_id))
    return volume.name if volume is not None else None
