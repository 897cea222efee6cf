"""Every task closes the client it opened when its call ends: returned, raised or deferred.

In one long-lived process (``dag.test()``, a test suite) a dropped operator's open client keeps
its sockets until the collector finds them: "unclosed socket" warnings in whatever code runs then
(the short chaos run met one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from neev_provider._compat import TaskDeferred
from neev_provider.client import CreateVolumeRequest, NeevCloudClient, NeevCloudError
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeError
from neev_provider.hooks.neevcloud import NeevCloudHook
from tests.operators.conftest import resume
from tests.operators.test_create import create_op
from tests.operators.test_delete import delete_op
from tests.operators.test_extend import extend_op
from tests.operators.test_sensor import sensor

MISSING = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"

TASKS: dict[str, Callable[[str], Any]] = {
    "create": lambda volume_id: create_op(),
    "create, deferred": lambda volume_id: create_op(deferrable=True),
    "extend": lambda volume_id: extend_op(volume_id, 20),
    "extend of a missing volume (raises)": lambda volume_id: extend_op(MISSING, 20),
    "delete": lambda volume_id: delete_op(volume_id),
    "delete, deferred": lambda volume_id: delete_op(volume_id, deferrable=True),
    "sensor": lambda volume_id: sensor(volume_id),
}


def _open_pools(client: NeevCloudClient) -> int:
    """Connection pools the client's HTTP session still holds (closing it clears them)."""
    managers = [adapter.poolmanager for adapter in client._session.adapters.values()]  # type: ignore[attr-defined]
    return sum(len(manager.pools.keys()) for manager in managers)


@pytest.mark.parametrize("task", list(TASKS))
def test_the_client_is_closed_when_the_call_ends(
    task: str, emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = CreateVolumeRequest(size_gb=10, region_id="as-south-1")
    volume_id = NeevCloudHook().client.create_volume(request).id
    emulator.advance(60)
    built: list[NeevCloudClient] = []
    new_client = NeevCloudHook.new_client

    def recorded(self: NeevCloudHook, **kwargs: Any) -> NeevCloudClient:
        built.append(new_client(self, **kwargs))
        return built[-1]

    monkeypatch.setattr(NeevCloudHook, "new_client", recorded)
    operator = TASKS[task](volume_id)
    try:
        operator.execute(context)
    except TaskDeferred as deferred:
        assert [_open_pools(client) for client in built] == [0]  # closed before deferring
        resume(operator, deferred, context)
    except (NeevVolumeError, NeevCloudError):
        assert task.endswith("(raises)")

    assert built  # the task did call the API
    assert [_open_pools(client) for client in built] == [0] * len(built)
