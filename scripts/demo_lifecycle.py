"""Walk one volume through its lifecycle on the embedded emulator, printing each state.

create -> bound -> extend -> extended -> delete -> gone, with the real client over HTTP.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from neev_provider.client import (
    ClientConfig,
    CreateVolumeRequest,
    ExtensionStatus,
    NeevCloudClient,
    NotFoundError,
    TokenAuth,
    Volume,
    VolumeStatus,
)
from neev_provider.emulator import EmulatorServer, EmulatorSettings


def show(step: str, volume: Volume) -> None:
    extension = volume.extension_status.value if volume.extension_status else "-"
    print(
        f"{time.strftime('%H:%M:%S')}  {step:<10} status={volume.status.value:<8} "
        f"extension={extension:<9} sizeGB={volume.size_gb}"
    )


def wait(client: NeevCloudClient, volume_id: str, done: Callable[[Volume], bool]) -> Volume:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        volume = client.get_volume(volume_id)
        show("polled", volume)
        if done(volume):
            return volume
        time.sleep(0.5)
    raise TimeoutError(f"volume {volume_id} did not get there in 30 s")


def main() -> int:
    settings = EmulatorSettings(bind_delay=1.0, resize_delay=1.0)
    with EmulatorServer(settings) as server:
        print(f"emulator on {server.url}")
        config = ClientConfig(server.org_id, server.project_id, TokenAuth(server.token), host=server.url)
        with NeevCloudClient(config) as client:
            volume = client.create_volume(
                CreateVolumeRequest(size_gb=50, region_id="as-south-1", name="demo")
            )
            show("created", volume)
            wait(client, volume.id, lambda v: v.status is VolumeStatus.BOUND)
            show("extending", client.extend_volume(volume.id, 120))
            wait(client, volume.id, lambda v: v.extension_status is ExtensionStatus.SUCCEEDED)
            client.delete_volume(volume.id)
            try:
                client.get_volume(volume.id)
            except NotFoundError:
                print(f"{time.strftime('%H:%M:%S')}  deleted    the volume is gone")
        left = len(server.volumes())
    print(f"volumes left: {left}")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
