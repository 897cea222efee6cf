"""Run the main example DAG end to end against the embedded emulator, and report.

What a new user sees from ``make demo``: the emulator starts on a free loopback port, a
private AIRFLOW_HOME is created, ``neevcloud_default`` points at the emulator, and
``airflow dags test`` runs ``neevcloud_scratch_volume_training``. Then a short report:
each volume's lifecycle (from the emulator), each task's state, and the volumes left.
Exits non-zero if a task did not succeed or a volume is left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from neev_provider.emulator import EmulatorServer, EmulatorSettings

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "neevcloud_scratch_volume_training"


def airflow(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the Airflow CLI of this virtualenv."""
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    if log is None:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    with log.open("w") as out:
        return subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, check=False)


def airflow_env(home: Path, server: EmulatorServer) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": server.airflow_connection(),
    }


def lifecycle_report(server: EmulatorServer, started: float) -> list[str]:
    lines = []
    for event in server.events():
        at = event["time"] - started
        lines.append(f"  +{at:6.2f}s  {event['volume_name'] or event['volume_id']:<60} {event['event']}")
    return lines


def cli_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """Run an Airflow CLI command with ``-o json``; return its rows (warnings may precede them)."""
    output = airflow(env, *args, "-o", "json").stdout
    for line in reversed(output.splitlines()):
        if line.startswith("[{") or line == "[]":
            rows: list[dict[str, Any]] = json.loads(line)
            return rows
    raise RuntimeError(f"no JSON in the output of airflow {' '.join(args)}:\n{output}")


def task_report(env: dict[str, str]) -> dict[str, str]:
    run_id = cli_json(env, "dags", "list-runs", DAG_ID)[0]["run_id"]
    tasks = cli_json(env, "tasks", "states-for-dag-run", DAG_ID, run_id)
    return {task["task_id"]: task["state"] for task in tasks}


def main() -> int:
    settings = EmulatorSettings(bind_delay=3.0, resize_delay=3.0)
    with tempfile.TemporaryDirectory(prefix="neev-demo-") as tmp, EmulatorServer(settings) as server:
        home = Path(tmp)
        env = airflow_env(home, server)
        print(f"emulator: {server.url}   AIRFLOW_HOME: {home}")
        print("setting up Airflow's metadata database ...")
        airflow(env, "db", "migrate")
        log = home / "dags-test.log"
        print(f"running `airflow dags test {DAG_ID}` (full log: {log.name} in AIRFLOW_HOME) ...")
        started = time.time()
        result = airflow(env, "dags", "test", DAG_ID, log=log)
        took = time.time() - started
        states = task_report(env)
        left = server.volumes()

        print(f"\nvolume lifecycle (from the emulator; t=0 when the DAG run started, {took:.1f} s in all):")
        print("\n".join(lifecycle_report(server, started)) or "  (no volume was created)")
        print("\ntask states:")
        for task_id, state in states.items():
            print(f"  {task_id:<16} {state}")
        deferred = "NeevVolumeTrigger" in log.read_text()
        print(f"\nthe wait for 'bound' ran in the trigger (deferred): {'yes' if deferred else 'no'}")
        print(f"volumes left: {len(left)}")
        ok = result.returncode == 0 and set(states.values()) == {"success"} and not left
        if not ok:
            print(log.read_text()[-4000:], file=sys.stderr)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
