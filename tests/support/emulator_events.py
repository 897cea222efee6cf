"""Synchronise a test with what the emulator answered, instead of with a timer.

A timer races the code under test on a busy machine; these helpers act once the emulator has
answered a given request (the contract monitor sees every exchange before the client does).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from neev_provider.emulator import EmulatorServer
from tests.support.contract import ContractMonitor


@contextmanager
def detached_once_refused(
    emulator: EmulatorServer, monitor: ContractMonitor, volume_id: str, attachment_id: str
) -> Iterator[None]:
    """Detach the volume from another thread once the API refused a DELETE of it ("in use"), as a
    training job finishing while its teardown waits would. Fails if no DELETE was refused."""
    refused = monitor.event_for(
        lambda exchange: exchange.method == "DELETE" and exchange.status == 400 and volume_id in exchange.path
    )

    def detach() -> None:
        if refused.wait(timeout=120):
            emulator.detach(volume_id, attachment_id)

    thread = threading.Thread(target=detach, name="detach-once-refused")
    thread.start()
    try:
        yield
    finally:
        refused.set()  # let the thread end if the block failed before any DELETE
        thread.join()
