"""A scratch volume for the duration of a block of tasks.

``with scratch_volume(size_gb=100) as volume:`` builds, in a task group, the create (a setup
task that waits until the volume is bound) and the delete (its teardown), and makes every task
declared in the block run between them. This is Airflow's own setup/teardown context manager
with the wiring that is easy to get wrong done once: the teardown is fed from the create's
XCom, so it skips a volume the create adopted, and runs when the block fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from neev_provider._compat import TaskGroup
from neev_provider.client.errors import NeevCloudValidationError
from neev_provider.operators.create import NeevCreateVolumeOperator
from neev_provider.operators.delete import NeevDeleteVolumeOperator
from neev_provider.operators.extend import NeevExtendVolumeOperator

# Where the API is and how to wait on it: whatever the create is told, the extend and delete are too.
_SHARED = ("neev_conn_id", "org_id", "project_id", "deferrable", "poll_interval")


@dataclass(frozen=True)
class ScratchVolume:
    """What the block sees of its scratch volume.

    :param id: the volume id, an XCom reference to pass to the block's tasks.
    :param volume: the volume as the API described it once bound (an XCom reference to a dict).
    :param create: the setup task.
    :param extend: the task that grows an adopted smaller volume (with ``extend_to_fit`` only).
    :param delete: the teardown task.
    """

    id: Any
    volume: Any
    create: NeevCreateVolumeOperator
    extend: NeevExtendVolumeOperator | None
    delete: NeevDeleteVolumeOperator


@contextmanager
def scratch_volume(
    size_gb: int | str,
    *,
    group_id: str | None = None,
    extend_to_fit: bool = False,
    delete_options: Mapping[str, Any] | None = None,
    **create_options: Any,
) -> Iterator[ScratchVolume]:
    """Give the tasks declared in the block a volume, created before them and deleted after.

    The create is a setup task that waits until the volume is bound (deferrable when
    ``deferrable=True`` or Airflow's ``[operators] default_deferrable`` says so); the delete is
    its teardown, which runs whether the block succeeds or fails. A volume the create adopted
    (one that already existed under the ``name`` you gave) is never deleted. Inside a mapped
    task group, each map index gets its own volume.

    :param size_gb: the size in GB, 1-1000 (templated).
    :param group_id: the task group holding the create and the delete (``create`` and
        ``delete`` inside it); default ``scratch_volume``, then ``scratch_volume__1``... as
        Airflow names repeated task groups.
    :param extend_to_fit: with ``name`` given, reuse an existing volume smaller than
        ``size_gb`` and extend it to ``size_gb`` before the block runs.
    :param delete_options: more arguments of the
        :class:`~neev_provider.operators.delete.NeevDeleteVolumeOperator`, e.g. ``detach_timeout``.
    :param create_options: the arguments of the
        :class:`~neev_provider.operators.create.NeevCreateVolumeOperator` (``region_id``, ``name``,
        ``if_exists``, ``mount_path``, ``timeout``, ``deferrable``, ``neev_conn_id``...);
        ``neev_conn_id``, ``org_id``, ``project_id``, ``deferrable`` and ``poll_interval`` apply
        to the extend and delete too (``delete_options`` win for the delete). In a mapped task
        group, a ``name`` must differ per map index (a template varying with it, such as
        ``'trial-{{ ti.map_index }}'``, or a mapped argument), or every trial would share one
        volume; a plain string is refused.
    """
    if create_options.get("wait_for_completion") is False:
        rule = "scratch_volume waits until the volume is bound before the block runs; leave it out"
        raise NeevCloudValidationError("wait_for_completion", False, rule)
    shared = {key: create_options[key] for key in _SHARED if key in create_options}
    with TaskGroup(group_id=group_id or "scratch_volume", add_suffix_on_collision=group_id is None):
        create = NeevCreateVolumeOperator(
            task_id="create", size_gb=size_gb, reuse_smaller=extend_to_fit, **create_options
        )
        _refuse_a_name_shared_by_map_indexes(create)
        output: Any = create.output  # an XComArg; typed as indexable only from Airflow 3.1
        volume_id = output["volume_id"]
        extend = None
        if extend_to_fit:
            extend = NeevExtendVolumeOperator(
                task_id="extend", volume_id=volume_id, size_gb=size_gb, **shared
            )
        delete = NeevDeleteVolumeOperator(
            task_id="delete", volume_id=volume_id, **{**shared, **dict(delete_options or {})}
        )
    setups: list[Any] = [create]
    if extend is not None:
        create >> extend.as_setup()  # type: ignore[no-untyped-call]
        setups.append(extend)
    # Airflow's own context manager: the block's first tasks run after the setups, and the
    # teardown after its last ones.
    with delete.as_teardown(setups=setups):
        yield ScratchVolume(id=volume_id, volume=output, create=create, extend=extend, delete=delete)


def _refuse_a_name_shared_by_map_indexes(create: NeevCreateVolumeOperator) -> None:
    name = create.name
    # A template may vary per map index, and so may a mapped argument; a plain string cannot.
    if not isinstance(name, str) or "{{" in name or create.get_closest_mapped_task_group() is None:
        return
    rule = (
        "is the same for every map index of this mapped task group, so the trials would share one "
        "volume and the first teardown would delete it under the others: leave name unset (a "
        "volume each) or template it, e.g. 'trial-data-{{ ti.map_index }}'"
    )
    raise NeevCloudValidationError("name", name, rule)
