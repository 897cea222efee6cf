"""Run many create -> bound -> extend -> delete lifecycles under faults; count what went wrong.

Each lifecycle is one DAG run: a create (setup), an extend, and a delete (teardown, run only if
the create succeeded, as Airflow does). Each task is retried as Airflow would, each try and each
resume on a fresh operator. On top of the random faults of :func:`tests.chaos.plan.fault_rules`,
plans script bind and resize failures, refused cleanups, kill -9 of a try once its change is
committed (the next try re-runs the same task instance), and triggerer restarts.
"""

from __future__ import annotations

import contextlib
import gc
import random
import re
import secrets
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neev_provider.deployment import deployment_id
from neev_provider.emulator import EmulatorServer, EmulatorSettings
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.volumes.naming import default_volume_name
from tests.chaos.capture import captured_output
from tests.chaos.plan import Plan, Task, draw_plans, fault_rules
from tests.chaos.runner import TaskResult, TaskRunner
from tests.operators.conftest import FakeTaskInstance

DAG_ID = "chaos"
RETRIES = 4
EMAIL = "chaos@example.com"
TASK_ARGS: dict[str, Any] = {"poll_interval": 0.05, "timeout": 30}
# A settle window longer than the latest commit the faults produce (0.8 s after the request).
SETTLE_WINDOW = 2.0
_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# Client retry backoff (up to 8 s) is shortened so that hundreds of lifecycles fit in minutes: only
# time is patched, the order of what happens is unchanged (waits keep their wall-clock deadlines).
MAX_SLEEP = 0.05


@contextlib.contextmanager
def short_sleeps() -> Iterator[None]:
    real = time.sleep

    def sleep(seconds: float) -> None:
        real(min(seconds, MAX_SLEEP))

    time.sleep = sleep
    try:
        yield
    finally:
        time.sleep = real


def chaos_settings(seed: int) -> EmulatorSettings:
    """An emulator whose secrets are unique to the run, so any sighting in a log is a leak."""
    return EmulatorSettings(
        token=f"pat-nc-chaos-{secrets.token_hex(12)}",
        bind_delay=0.15,
        resize_delay=0.15,
        delete_delay=0.1,
        token_ttl=3,
        users={EMAIL: f"pw-{secrets.token_hex(12)}"},
        seed=seed,
    )


@dataclass
class ChaosReport:
    """The counts ``make chaos`` prints; every one below the line must be 0."""

    lifecycles: int = 0
    completed: int = 0
    failed_tasks: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    trigger_restarts: int = 0
    duplicates_while_held: int = 0
    duplicates_alive_at_end: int = 0
    orphans: int = 0
    wrong_states: list[str] = field(default_factory=list)
    foreign_exceptions: list[str] = field(default_factory=list)
    secret_sightings: list[str] = field(default_factory=list)
    unclosed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faulted_share(self) -> float:
        return sum(self.faults.values()) / self.requests if self.requests else 0.0

    @property
    def clean(self) -> bool:
        """Whether every promise held."""
        return not (
            self.duplicates_alive_at_end
            or self.orphans
            or self.wrong_states
            or self.foreign_exceptions
            or self.secret_sightings
            or self.unclosed
        )

    def table(self) -> str:
        """Render the report as the one table ``make chaos`` prints."""
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        rows = [
            ("lifecycles (create -> extend -> delete)", f"{self.lifecycles}"),
            ("  all three tasks succeeded", f"{self.completed}"),
            ("  tasks failed after all retries", _counts(self.failed_tasks)),
            ("API requests", f"{self.requests}"),
            ("  faulted", f"{sum(self.faults.values())} ({self.faulted_share:.0%}): {kinds}"),
            ("kill -9 after the change was committed", _counts(self.kills)),
            ("triggerer restarts (rebuilt from serialize())", f"{self.trigger_restarts}"),
            ("moments a duplicate existed while a task held its volume", f"{self.duplicates_while_held}"),
            ("---", "---"),
            ("duplicates still alive at the end", f"{self.duplicates_alive_at_end}"),
            ("orphans (volumes left at the end)", f"{self.orphans}"),
            ("wrong final states", f"{len(self.wrong_states)}"),
            ("exceptions outside the package's error tree", f"{len(self.foreign_exceptions)}"),
            ("tokens or passwords seen in logs", f"{len(self.secret_sightings)}"),
            ("sockets or transports left unclosed", f"{len(self.unclosed)}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines.append(f"({self.seconds:.0f} s)")
        lines += [f"  failed after all retries: {text}" for text in self.failures[:20]]
        lines += [f"  wrong: {text}" for text in self.wrong_states[:20]]
        lines += [f"  foreign: {text}" for text in self.foreign_exceptions[:20]]
        lines += [f"  secret: {text}" for text in self.secret_sightings[:20]]
        lines += [f"  unclosed: {text}" for text in self.unclosed[:20]]
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items())) or "0"


class Chaos:
    """One chaos run against one emulator."""

    def __init__(self, server: EmulatorServer, seed: int, workdir: Path) -> None:
        self.server = server
        self.seed = seed
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.report = ChaosReport()

    def connections(self) -> dict[str, str]:
        """Return ``AIRFLOW_CONN_*`` variables of a token and a login connection to the emulator."""
        password = self.server.settings.users[EMAIL]
        common = {"timeout": 0.3, "max_retries": 3}
        return {
            "AIRFLOW_CONN_CHAOS_TOKEN": self.server.airflow_connection(**common),
            "AIRFLOW_CONN_CHAOS_LOGIN": self.server.airflow_connection(
                login=EMAIL, password=password, auth_type="login", **common
            ),
        }

    def run(self, lifecycles: int) -> ChaosReport:
        started = time.monotonic()
        self.server.reset()
        self.server.clear_faults()
        for rule in fault_rules(self.seed):
            self.server.inject(**rule)
        with captured_output(self.workdir) as files, short_sleeps():
            for plan in draw_plans(lifecycles, self.seed):
                self.lifecycle(plan)
                self._tally_requests()
            self.server.clear_faults()
            time.sleep(1.5)  # let scheduled late commits land before the final count
        self._final_count()
        self._scan_for_secrets(files)
        self.report.seconds = time.monotonic() - started
        return self.report

    # -- one lifecycle ---------------------------------------------------------------------------

    def lifecycle(self, plan: Plan) -> None:
        self.report.lifecycles += 1
        run_id = f"chaos-{self.seed}-{plan.index}"
        name = default_volume_name(deployment_id(), DAG_ID, "create_volume", run_id)
        conn = f"chaos_{plan.auth}"
        if plan.bind_fails:
            self.server.script_outcome("bind", "failed")
        if plan.cleanup_fails:
            self.server.inject("status", operation="deleteNetworkVolume", status=500, times=4)
        created = self._task(
            plan,
            "create",
            run_id,
            lambda: NeevCreateVolumeOperator(
                task_id="create_volume",
                size_gb=plan.size_gb,
                neev_conn_id=conn,
                deferrable=plan.deferrable,
                settle_window=SETTLE_WINDOW,
                **TASK_ARGS,
            ),
            committed=lambda: bool(self._named(name)),
        )
        if not created.succeeded:
            return  # the teardown does not run after a failed setup: the create cleaned up itself
        volume_id = created.value["id"]
        self._check_created(plan, name, created.value)
        if plan.resize_fails:
            self.server.script_outcome("extend", "failed")
        extended = self._task(
            plan,
            "extend",
            run_id,
            lambda: NeevExtendVolumeOperator(
                task_id="extend_volume",
                volume_id=volume_id,
                size_gb=plan.target_gb,
                neev_conn_id=conn,
                deferrable=plan.deferrable,
                **TASK_ARGS,
            ),
            committed=lambda: self._size(volume_id) >= plan.target_gb,
        )
        if extended.succeeded and self._capacity(extended.value) < plan.target_gb:
            self._wrong(plan, f"extend returned {self._capacity(extended.value)} GB < {plan.target_gb} GB")
        deleted = self._task(
            plan,
            "delete",
            run_id,
            lambda: NeevDeleteVolumeOperator(
                task_id="delete_volume",
                volume_id=volume_id,
                neev_conn_id=conn,
                deferrable=plan.deferrable,
                detach_timeout=10,
                **TASK_ARGS,
            ),
            committed=lambda: not self._alive(volume_id),
        )
        if deleted.succeeded and self._alive(volume_id):
            self._wrong(plan, f"delete succeeded but volume {volume_id} is still there")
        if created.succeeded and extended.succeeded and deleted.succeeded:
            self.report.completed += 1

    def _task(self, plan: Plan, task: Task, run_id: str, factory: Any, committed: Any) -> TaskResult:
        ti = FakeTaskInstance(dag_id=DAG_ID, task_id=f"{task}_volume", run_id=run_id)
        runner = TaskRunner(factory, ti, restart_triggers=plan.restart_triggers, rng=self.rng)
        if plan.kill == task:
            runner.kill_first_try(committed)
            if runner.result.killed:
                self.report.kills[task] += 1
        result = runner.run(RETRIES)
        self.report.trigger_restarts += result.trigger_restarts
        if not result.succeeded:
            self.report.failed_tasks[task] += 1
            self.report.failures.append(f"{plan.label} {task}: {type(result.error).__name__}: {result.error}")
        for error in result.foreign_errors:
            self.report.foreign_exceptions.append(f"{plan.label} {task}: {type(error).__name__}: {error}")
        return result

    def _check_created(self, plan: Plan, name: str, volume: dict[str, Any]) -> None:
        if volume.get("status") != "bound":
            self._wrong(plan, f"create returned a volume that is {volume.get('status')}")
        alive = self._named(name)
        if len(alive) > 1:
            self.report.duplicates_while_held += 1
        if volume["id"] not in {v["id"] for v in alive}:
            self._wrong(plan, f"create returned {volume['id']}, which does not exist")

    # -- reading the emulator --------------------------------------------------------------------

    def _named(self, name: str) -> list[dict[str, Any]]:
        return [v for v in self.server.volumes() if v["name"] == name and v["status"] != "terminated"]

    def _alive(self, volume_id: str) -> bool:
        return any(v["id"] == volume_id and v["status"] != "terminated" for v in self.server.volumes())

    def _size(self, volume_id: str) -> int:
        return max((int(v["sizeGB"]) for v in self.server.volumes() if v["id"] == volume_id), default=0)

    @staticmethod
    def _capacity(volume: dict[str, Any] | None) -> int:
        if not volume:
            return 0
        return int(volume.get("actual_sizeGB") or volume.get("sizeGB") or 0)

    def _wrong(self, plan: Plan, what: str) -> None:
        self.report.wrong_states.append(f"{plan.label}: {what}")

    def _tally_requests(self) -> None:
        for entry in self.server.requests():
            self.report.requests += 1
            if entry.get("fault"):
                self.report.faults[entry["fault"]] += 1
        self.server.clear_requests()

    def _final_count(self) -> None:
        alive = [v for v in self.server.volumes() if v["status"] != "terminated"]
        self.report.orphans = len(alive)
        names = Counter(v["name"] for v in alive)
        self.report.duplicates_alive_at_end = sum(n - 1 for n in names.values() if n > 1)

    def _scan_for_secrets(self, files: list[Path]) -> None:
        secrets_ = [self.server.token, *self.server.settings.users.values()]
        for path in files:
            data = path.read_bytes() if path.exists() else b""
            for secret in secrets_:
                if secret.encode() in data:
                    self.report.secret_sightings.append(f"{path.name}: a configured secret")
            if _JWT.search(data):
                self.report.secret_sightings.append(f"{path.name}: a login access token")


@contextlib.contextmanager
def unclosed_resources() -> Iterator[list[str]]:
    """Collect what the garbage collector finds left open (a socket, a transport, an event loop).

    Their ``ResourceWarning`` is raised in a finaliser, where Python hands it to
    ``sys.unraisablehook``; outside pytest (``make chaos``) it would be ignored by default.
    """
    found: list[str] = []
    previous = sys.unraisablehook

    def record(unraisable: Any) -> None:
        found.append(f"{type(unraisable.exc_value).__name__}: {unraisable.exc_value}"[:300])

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        sys.unraisablehook = record
        try:
            yield found
            gc.collect()  # what was left open is found now, not after the report was made
        finally:
            sys.unraisablehook = previous


def run_chaos(lifecycles: int, seed: int, workdir: Path, observer: Any = None) -> ChaosReport:
    """Start an emulator with run-unique secrets and run ``lifecycles`` lifecycles against it."""
    import os

    with EmulatorServer(chaos_settings(seed), observer=observer) as server:
        chaos = Chaos(server, seed, workdir)
        connections = chaos.connections()
        saved = {key: os.environ.get(key) for key in connections}
        os.environ.update(connections)
        try:
            with unclosed_resources() as unclosed:
                report = chaos.run(lifecycles)
            report.unclosed = unclosed
            return report
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
