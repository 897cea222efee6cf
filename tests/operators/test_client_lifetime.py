"""An operator closes the client it opened when its call ends: returned, raised or deferred.

In one long-lived process (``dag.test()``, a test suite) a dropped operator's open client keeps
its sockets until the collector finds them: "unclosed socket" warnings in whatever code runs then
(the short chaos run met one).
"""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider._compat import TaskDeferred
from neev_provider.client import NeevCloudClient
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from tests.operators.conftest import POLL, resume
from tests.operators.test_create import create_op


def _open_sockets(client: NeevCloudClient) -> int:
    """Connections the client's HTTP session still holds."""
    pools = [adapter.poolmanager.pools for adapter in client._session.adapters.values()]  # type: ignore[attr-defined]
    return sum(len(pool.keys()) for pool in pools)


@pytest.mark.parametrize("deferrable", [True, False])
def test_the_client_is_closed_when_execute_ends(
    deferrable: bool, emulator: EmulatorServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[NeevCloudClient] = []
    new_client = NeevCloudHook.new_client

    def recorded(self: NeevCloudHook, **kwargs: Any) -> NeevCloudClient:
        built.append(new_client(self, **kwargs))
        return built[-1]

    monkeypatch.setattr(NeevCloudHook, "new_client", recorded)
    operator = create_op(deferrable=deferrable, poll_interval=POLL)
    if deferrable:
        with pytest.raises(TaskDeferred) as caught:
            operator.execute(context)
        assert [_open_sockets(client) for client in built] == [0]  # closed before deferring
        result = resume(operator, caught.value, context)
    else:
        result = operator.execute(context)

    assert result["status"] == "bound"
    assert built
    assert [_open_sockets(client) for client in built] == [0] * len(built)
