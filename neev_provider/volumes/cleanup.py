"""Delete a volume the task owns, without ever masking the error that led here.

Two situations, two budgets:

- a wait failed (``delete_on_failure``): a cleanup that gives up after one refused DELETE is how
  volumes leak, so :func:`delete_owned_volume` tries again with backoff for a bounded time, then
  says exactly which volume is left;
- the task is killed: Airflow sends SIGKILL about five seconds after SIGTERM, so
  ``kill_cleanup`` makes one attempt of at most ``KILL_CLEANUP_SECONDS`` and leaves the
  rest to the next try (which finds the volume under its own name) or to the reaper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from neev_provider.client.errors import NeevCloudError, NotFoundError
from neev_provider.client.retry import call_deadline
from neev_provider.volumes.wait import Logger

if TYPE_CHECKING:
    from neev_provider.client import NeevCloudClient

log = logging.getLogger(__name__)

DEFAULT_CLEANUP_SECONDS = 60.0
#: The whole budget of a kill's cleanup: well inside Airflow's SIGTERM-to-SIGKILL window (5 s).
KILL_CLEANUP_SECONDS = 3.0


def delete_owned_volume(
    client: NeevCloudClient,
    volume_id: str,
    *,
    why: str,
    timeout: float = DEFAULT_CLEANUP_SECONDS,
    logger: Logger = log,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Delete ``volume_id``; return whether it is gone. Never raises a client error.

    :param why: why it is deleted, for the log ("the wait failed", "the task was killed").
    :param timeout: seconds to keep trying after refusals (5xx, in use, network failures).
    """
    deadline = clock() + timeout
    delay = 1.0
    while True:
        try:
            client.delete_volume(volume_id)
        except NotFoundError:
            logger.info("Volume %s is already gone (%s)", volume_id, why)
            return True
        except NeevCloudError as error:
            remaining = deadline - clock()
            if remaining <= 0:
                logger.warning(
                    "Could not delete volume %s after %s (%s); it is left behind: delete it by hand or "
                    "let NeevReapVolumesOperator find it",
                    volume_id,
                    why,
                    error,
                )
                return False
            logger.warning("Deleting volume %s failed (%s); trying again", volume_id, error)
            sleep(min(delay, remaining))
            delay = min(delay * 2, 8.0)
            continue
        logger.info("Deleted volume %s, which this task created, since %s", volume_id, why)
        return True


def kill_cleanup(
    client: NeevCloudClient, *, volume_id: str | None, own_name: str | None, logger: Logger = log
) -> None:
    """Delete what a killed task owns in one attempt; never raises a client error.

    :param client: a client whose calls end within :data:`KILL_CLEANUP_SECONDS` (no retries).
    :param volume_id: the volume the task created, if its id is known.
    :param own_name: else, the task instance's own default name, whose POST was out when the kill
        came: every volume bearing it is the task's.
    """
    try:
        with call_deadline(time.time() + KILL_CLEANUP_SECONDS):
            ids = [volume_id] if volume_id else [v.id for v in client.find_volumes_by_name(str(own_name))]
            for found in ids:
                try:
                    client.delete_volume(found)
                except NotFoundError:
                    pass
                logger.info("The task was killed: deleted volume %s, which it created", found)
    except NeevCloudError as error:
        logger.warning(
            "The task was killed; deleting its volume %s did not finish in time (%s): the next try "
            "deletes or reuses it, else NeevReapVolumesOperator finds it",
            volume_id or f"named {own_name}",
            error,
        )
