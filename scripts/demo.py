"""Run the main example DAG twice against the embedded emulator, and report.

What a new user sees from ``make demo``: the emulator starts on a free loopback port, an
Airflow home is created in ``.demo/`` (git-ignored, and kept after the demo so that its logs
can be read), ``neevcloud_default`` points at the emulator, and ``airflow dags test`` runs
``neevcloud_scratch_volume_training`` twice: once as it is, once with the training task
failing (the DAG's ``fail_training`` param). For each run a short report: each volume's
lifecycle (from the emulator), each task's state, and the volumes left, which must be none
either way. Exits non-zero if a run did not end as expected or a volume is left.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support, which the tests share with this script

from neev_provider.emulator import EmulatorServer, EmulatorSettings  # noqa: E402
from tests.support.airflow_cli import AirflowCLI  # noqa: E402

DAG_ID = "neevcloud_scratch_volume_training"
OUT = ROOT / ".demo"
TASKS = ("scratch_volume.create", "train", "scratch_volume.delete")


@dataclass(frozen=True)
class Scenario:
    title: str
    slug: str
    conf: dict[str, Any]
    expected: dict[str, str]


SCENARIOS = (
    Scenario("training succeeds", "succeeding", {}, dict.fromkeys(TASKS, "success")),
    Scenario(
        "training fails (fail_training=true): the teardown still deletes the volume",
        "failing",
        {"fail_training": True},
        {**dict.fromkeys(TASKS, "success"), "train": "failed"},
    ),
)


def shown(path: Path) -> str:
    """A path as the user can type it from the repository root."""
    return str(path.relative_to(ROOT))


def lifecycle_report(server: EmulatorServer, started: float) -> list[str]:
    lines = []
    for event in server.events():
        if event["time"] >= started:
            name = event["volume_name"] or event["volume_id"]
            lines.append(f"  +{event['time'] - started:6.2f}s  {name:<60} {event['event']}")
    return lines


def run_scenario(number: int, scenario: Scenario, cli: AirflowCLI, server: EmulatorServer) -> bool:
    """Run the DAG once, print its report; return whether it ended as expected with no volume left."""
    print(f"\n== run {number} of {len(SCENARIOS)}: {scenario.title} ==")
    log = OUT / f"run-{number}-{scenario.slug}.log"
    print(f"running `airflow dags test {DAG_ID}` (full log: {shown(log)}) ...")
    started = time.time()
    run = cli.dags_test(DAG_ID, log=log, conf=scenario.conf)
    left = server.volumes()

    print(f"`airflow dags test` took {run.seconds:.1f} s")
    print("volume lifecycle (from the emulator; t=0 when the command started):")
    print("\n".join(lifecycle_report(server, started)) or "  (no volume was created)")
    print("task states:")
    for task_id, state in run.states.items():
        expected = scenario.expected.get(task_id)
        print(f"  {task_id:<16} {state}" + ("" if state == expected else f"   (expected {expected})"))
    deferred = "NeevVolumeTrigger" in log.read_text()
    print(f"the wait for 'bound' ran in the trigger (deferred): {'yes' if deferred else 'no'}")
    print(f"volumes left: {len(left)}")
    ok = run.states == scenario.expected and not left
    if not ok:
        print(run.log.read_text()[-4000:], file=sys.stderr)
    return ok


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    settings = EmulatorSettings(bind_delay=3.0, resize_delay=3.0)
    with EmulatorServer(settings) as server:
        cli = AirflowCLI(
            home=OUT / "airflow-home",
            dags_folder=ROOT / "example_dags",
            env={
                "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": server.airflow_connection(),
                # Each installation's own id: what lets the provider clean up by name.
                "AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID": "neevcloud-demo",
            },
        )
        print(f"emulator: {server.url}   AIRFLOW_HOME: {shown(cli.home)}")
        print("setting up Airflow's metadata database ...")
        cli.migrate()
        results = [run_scenario(n, scenario, cli, server) for n, scenario in enumerate(SCENARIOS, 1)]
    print(f"\nlogs and the Airflow home are kept in {shown(OUT)}/ until the next `make demo`")
    if all(results):
        print("both runs ended as expected, and no volume was left behind")
        return 0
    print("a run did not end as expected (see above)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
