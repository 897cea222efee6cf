"""What a create costs in API calls as the project grows, with and without a task state store.

The API has no name filter, so looking a name up lists the whole project. With Airflow 3.3's
task state store, a first try that finds nothing recorded creates at once, and a retry that finds
the id of a committed create reads one volume. Without a store (older Airflow), every create
looks its name up first. Side by side in one run, for projects of 0, 1,000 and 5,000 volumes:
API calls made before the wait by a first try, and by a retry after a committed create.

The store here is the tests' in-memory stand-in with the task state store's ``get``/``set``
(``tests/support/task_state.py``); the integration test (``tests/integration``) checks the same
with Airflow 3.3's real store.

Usage: ``python benchmarks/create_cost.py [--sizes 0 1000 5000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# The repository's root, for tests.support: the tests share these helpers with the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.emulator_process import EmulatorProcess, emulator_process
from tests.support.task_state import InMemoryTaskStateStore


class TaskInstance:
    dag_id, task_id, map_index = "create_cost", "create_volume", -1

    def __init__(self, run_id: str) -> None:
        self.run_id, self.try_number, self.xcoms = run_id, 1, {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def calls(emulator: EmulatorProcess) -> int:
    """The API calls since the last count."""
    entries = emulator.requests()
    emulator.clear_requests()
    return len(entries)


def fill(emulator: EmulatorProcess, count: int) -> None:
    from neev_provider.client import ClientConfig, CreateVolumeRequest, NeevCloudClient, TokenAuth

    emulator.reset()
    config = ClientConfig(
        org_id="org-emulator", project_id="prj-emulator", auth=TokenAuth(emulator.token), host=emulator.url
    )
    with NeevCloudClient(config) as client:
        for index in range(count):
            client.create_volume(
                CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=f"other-{index}")
            )


def cost(emulator: EmulatorProcess, store: InMemoryTaskStateStore | None, run_id: str) -> tuple[int, int]:
    """API calls of a first try, then of a retry of the same task instance (after it committed)."""
    from neev_provider.operators import NeevCreateVolumeOperator

    ti = TaskInstance(run_id)
    context: dict[str, Any] = {"ti": ti, "task_instance": ti, "run_id": run_id}
    if store is not None:
        context["task_state_store"] = store
    operator = NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, wait_for_completion=False)
    calls(emulator)
    operator.execute(context)
    first = calls(emulator)
    ti.try_number = 2
    NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, wait_for_completion=False).execute(context)
    return first, calls(emulator)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000, 5000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="neev-create-cost-") as tmp, emulator_process() as emulator:
        os.environ["AIRFLOW_HOME"] = tmp
        os.environ["AIRFLOW_CONN_NEEVCLOUD_DEFAULT"] = emulator.airflow_connection()
        for size in args.sizes:
            fill(emulator, size)
            with_store = cost(emulator, InMemoryTaskStateStore(), f"with-store-{size}")
            without = cost(emulator, None, f"without-store-{size}")
            rows.append((size, with_store, without))
    print("API calls before the wait, per create (the project also holds N volumes of other names)\n")
    print(f"{'N':>6}  {'first try':>22}  {'retry after a committed POST':>30}")
    print(f"{'':>6}  {'store':>10} {'no store':>11}  {'store':>14} {'no store':>15}")
    for size, (first, retry), (first_plain, retry_plain) in rows:
        print(f"{size:>6}  {first:>10} {first_plain:>11}  {retry:>14} {retry_plain:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
