"""Delete a volume the task owns, patiently, without ever masking the error that led here.

Used when a wait failed (``delete_on_failure``) and when the task is killed (``on_kill``): a
cleanup that gives up after one refused DELETE is how volumes leak, so it tries again with
backoff for a bounded time, then says exactly which volume is left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from neev_provider.client.errors import NeevCloudError, NotFoundError
from neev_provider.client.logs import Logger

if TYPE_CHECKING:
    from neev_provider.client.sync import NeevCloudClient

log = logging.getLogger(__name__)

DEFAULT_CLEANUP_SECONDS = 60.0


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
