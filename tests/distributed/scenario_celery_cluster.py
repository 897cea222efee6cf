"""The provider on a distributed Airflow, with a worker killed mid-run (``make test-distributed``).

PostgreSQL (metadata database and Celery results), Redis (broker), Airflow 3.3 with the
CeleryExecutor (API server, two schedulers, DAG processor, triggerer, two workers) and the
emulator with latency and faults, each a separate process tree on loopback. The scenario DAG
(``dags/celery_trials.py``) runs many trials at once; once a create POST has been answered and
its task is still running, the worker running it is killed with SIGKILL and a replacement is
started. The run must still succeed, with exactly one volume per trial and none left.

Not collected by ``make test`` (the name does not match ``test_*.py``): pytest collects it when
it is named on the command line, which is what the Makefile target does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neev_provider.volumes.naming import default_volume_name
from tests.distributed import audit
from tests.distributed.backends import RedisServer
from tests.distributed.chaos import CREATE_TASK, Victim, choose_victim
from tests.distributed.cluster import CeleryCluster
from tests.integration.services import FINISHED
from tests.support.emulator_process import EmulatorProcess, emulator_process
from tests.support.postgres import PostgresServer
from tests.support.processes import MIB, ProcessTree

HERE = Path(__file__).resolve().parent
DAG_ID = "neevcloud_celery_trials"
TRIALS = int(os.environ.get("NEEV_DISTRIBUTED_TRIALS", "50"))
RUN_TIMEOUT = 15 * 60
# How long to wait for the strict kill moment (a create answered, its task still running on a
# worker) before settling for a worker whose create POST is still on the way.
STRICT_KILL_PATIENCE = 60

# Installed in this order; the first matching rule that fires wins, so the catch-all latency
# comes last. The create latency keeps create POSTs in flight long enough to kill a worker
# during one.
# [START celery_cluster_faults]
FAULTS: tuple[dict[str, Any], ...] = (
    {"kind": "commit_then_drop", "operation": "createNetworkVolume", "times": 2},
    {"kind": "status", "status": 503, "operation": "listNetworkVolumes", "times": 3},
    {"kind": "status", "status": 429, "retry_after": 1, "operation": "getNetworkVolume", "times": 3},
    {"kind": "drop", "operation": "getNetworkVolume", "times": 2},
    {"kind": "status", "status": 502, "operation": "extendNetworkVolume", "times": 1},
    {"kind": "latency", "seconds": 0.5, "operation": "createNetworkVolume", "rate": 1.0},
    {"kind": "latency", "seconds": 0.05, "rate": 1.0},
)
# [END celery_cluster_faults]


@dataclass
class Kill:
    """What the harness killed, when, and what the emulator had answered by then."""

    victim: Victim
    at: float
    answered_creates: int


@dataclass
class Outcome:
    """What the run left behind, as Airflow and the emulator tell it."""

    state: str
    seconds: float
    tis: list[dict[str, Any]]
    lives: list[audit.Life]
    peaks: dict[str, int]
    left: list[dict[str, Any]]
    logs: list[Path]
    leaked: list[Path]


class RssSampler:
    """Sample every component's memory in the background; each component keeps its peak."""

    def __init__(self, components: Callable[[], list[ProcessTree]], interval: float = 2.0) -> None:
        self._components = components
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for component in self._components():
                component.sample_rss()


@pytest.fixture(autouse=True, name="_stop_on_sigterm")
def fixture_stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so that a terminated run still stops every component."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture(name="run_dir")
def fixture_run_dir(tmp_path: Path) -> Path:
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    shutil.copy(HERE / "dags" / "celery_trials.py", home / "dags")
    return home


def test_trials_on_a_celery_cluster_survive_a_killed_worker(run_dir: Path) -> None:
    started = time.monotonic()
    token = f"pat-nc-{secrets.token_hex(16)}"
    logs = run_dir / "components"
    logs.mkdir()
    postgres, redis_server = PostgresServer(logs), RedisServer(logs)
    emulator: EmulatorProcess | None = None
    cluster: CeleryCluster | None = None

    def everything() -> list[ProcessTree]:
        backends = [postgres.component, redis_server.component, emulator.tree if emulator else None]
        return [*filter(None, backends), *(cluster.all() if cluster else [])]

    with ExitStack() as stack:
        try:
            stack.callback(postgres.stop)
            postgres.start()
            stack.callback(redis_server.stop)
            redis_server.start()
            # Its standard error (uvicorn's warnings and errors) goes to a log, which the token
            # check reads like every other log.
            emulator = stack.enter_context(
                emulator_process(
                    "--bind-delay", "3", "--resize-delay", "3", token=token, log=logs / "emulator.log"
                )
            )
            emulator.configure(delete_delay=1)
            database = postgres.url("psycopg")  # psycopg 3: Airflow's sync and async engines alike
            cluster = CeleryCluster(run_dir, database_url=database, broker_url=redis_server.url)
            cluster.migrate()
            stack.callback(cluster.stop)
            cluster.start(workers=2)
            stack.enter_context(RssSampler(everything))
            _run_and_check(cluster, emulator, token, started, everything)
        except BaseException:
            _print_log_tails(logs)
            raise


def _run_and_check(
    cluster: CeleryCluster,
    emulator: EmulatorProcess,
    token: str,
    started: float,
    everything: Callable[[], list[ProcessTree]],
) -> None:
    created = cluster.rest.api("POST", "/api/v2/connections", json=_rest_connection(emulator))
    assert created.status_code == 201, created.text
    cluster.rest.wait_for_dag(DAG_ID, timeout=240)
    for rule in FAULTS:
        emulator.inject(**rule)
    run_id = cluster.rest.start_dag(DAG_ID, conf={"trials": TRIALS})
    deployment = _cluster_deployment_id(cluster)
    names = {i: default_volume_name(deployment, DAG_ID, CREATE_TASK, run_id, i) for i in range(TRIALS)}
    run_started = time.monotonic()

    kill = _kill_a_worker_mid_create(cluster, emulator, run_id, names)
    cluster.start_worker("worker-3")
    run = cluster.rest.wait_for_run_to_finish(DAG_ID, run_id, timeout=RUN_TIMEOUT, every=3)
    run_seconds = time.monotonic() - run_started

    lives = audit.lives(emulator.events())
    outcome = Outcome(
        state=run["state"],
        seconds=run_seconds,
        tis=cluster.task_instances(DAG_ID, run_id),
        lives=lives,
        peaks=audit.peak_alive_by_name(lives),
        left=emulator.volumes(),
        logs=[path for path in cluster.home.rglob("*") if path.is_file() and ".log" in path.name],
        leaked=audit.files_containing(cluster.home, token),
    )
    _print_report(everything(), kill, outcome, started)

    assert outcome.state == "success", _states_summary(outcome.tis)
    assert {ti["state"] for ti in outcome.tis} == {"success"}, _states_summary(outcome.tis)
    assert len(outcome.tis) == 1 + 4 * TRIALS
    _assert_killed_tasks_finished_elsewhere(kill, outcome.tis)
    _assert_one_volume_per_trial(lives, outcome.peaks, names, emulator)
    assert outcome.left == [], f"volumes left: {outcome.left}"
    assert outcome.leaked == [], (
        f"the token is in {[str(p.relative_to(cluster.home)) for p in outcome.leaked]}"
    )


def _rest_connection(emulator: EmulatorProcess) -> dict[str, Any]:
    """The ``neevcloud_default`` connection to the emulator, as Airflow's REST API takes it."""
    fields = emulator.connection
    return {
        "connection_id": "neevcloud_default",
        "conn_type": fields["conn_type"],
        "host": fields["host"],
        "password": fields["password"],
        "extra": json.dumps(fields["extra"]),
    }


def _cluster_deployment_id(cluster: CeleryCluster) -> str:
    """The deployment id the cluster's configuration gives its task processes."""
    return cluster.env["AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID"]


def _kill_a_worker_mid_create(
    cluster: CeleryCluster, emulator: EmulatorProcess, run_id: str, names: dict[int, str]
) -> Kill:
    """Wait for a create POST to be answered, then kill a worker that is creating a volume."""
    first_answer: float | None = None
    while cluster.rest.dag_run(DAG_ID, run_id)["state"] not in FINISHED:
        cluster.check_alive()
        # Answered: 201 sent back (a latency fault only delays it; the drop faults lose it).
        answered = [
            entry
            for entry in emulator.requests()
            if entry["operation"] == "createNetworkVolume"
            and entry["status"] == 201
            and entry["fault"] in (None, "latency")
        ]
        if answered:
            first_answer = first_answer or time.monotonic()
            created = {life.name for life in audit.lives(emulator.events())}
            running = cluster.task_instances(DAG_ID, run_id, state="running")
            patient = time.monotonic() - first_answer < STRICT_KILL_PATIENCE
            victim = choose_victim(running, created, names, answered_only=patient)
            if victim is not None:
                cluster.kill(victim.worker)
                return Kill(victim, time.monotonic(), len(answered))
        time.sleep(0.2)
    raise AssertionError("the run ended before a worker was seen creating a volume")


def _assert_killed_tasks_finished_elsewhere(kill: Kill, tis: list[dict[str, Any]]) -> None:
    final = {(ti["task_id"], ti["map_index"]): ti for ti in tis}
    for killed in kill.victim.running:
        ti = final[(killed.task_id, killed.map_index)]
        assert ti["state"] == "success", ti
        assert ti["hostname"] != kill.victim.worker, f"{killed.describe()} finished on the killed worker"
    retried = [t for t in kill.victim.running if final[(t.task_id, t.map_index)]["try_number"] > t.try_number]
    assert retried, f"no task of the killed worker was retried: {kill.victim.running}"


def _assert_one_volume_per_trial(
    lives: list[audit.Life], peaks: dict[str, int], names: dict[int, str], emulator: EmulatorProcess
) -> None:
    creates = audit.creates_by_name(lives)
    duplicated = {name: count for name, count in creates.items() if count != 1}
    if duplicated or set(creates) != set(names.values()):
        events = [e for e in emulator.events() if e["volume_name"] in duplicated]
        raise AssertionError(
            f"creates by name other than one per trial: {duplicated}; "
            f"missing: {sorted(set(names.values()) - set(creates))}; events: {events}"
        )
    assert max(peaks.values()) == 1, {name: peak for name, peak in peaks.items() if peak > 1}


def _states_summary(tis: list[dict[str, Any]]) -> str:
    odd = [f"{ti['task_id']}[{ti['map_index']}]={ti['state']}" for ti in tis if ti["state"] != "success"]
    return f"{len(odd)} task instances not successful: {odd[:20]}"


def _print_report(components: list[ProcessTree], kill: Kill, outcome: Outcome, started: float) -> None:
    rows = [
        ("trials", str(TRIALS)),
        ("workers killed", f"1 ({kill.victim.worker}: {kill.victim.reason})"),
        *(("  running on it", t.describe()) for t in kill.victim.running),
        ("  create POSTs answered by then", str(kill.answered_creates)),
        ("task instances retried", str(sum(1 for ti in outcome.tis if ti["try_number"] > 1))),
        ("volumes created", str(len(outcome.lives))),
        ("duplicates alive at any instant", str(sum(1 for peak in outcome.peaks.values() if peak > 1))),
        ("volumes left", str(len(outcome.left))),
        ("logs with the token", f"{len(outcome.leaked)} of {len(outcome.logs)}"),
        ("DAG run", f"{outcome.state} in {outcome.seconds:.0f} s"),
        ("wall time (services up to checks)", f"{time.monotonic() - started:.0f} s"),
    ]
    print("\n\nCelery cluster run: Airflow 3.3, CeleryExecutor, Redis broker, PostgreSQL")
    for label, value in rows:
        print(f"  {label:<34} {value}")
    print("\n  component                   peak RSS (process tree)")
    for component in sorted(components, key=lambda c: c.name):
        print(f"  {component.name:<27} {component.peak_rss / MIB:8.0f} MiB")
    print(flush=True)


def _print_log_tails(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        print(f"\n----- {log.name} (last lines) -----\n{log.read_text(errors='replace')[-2500:]}")
