"""Run tasks as Airflow would: fresh operators per try and per resume, retries, kills, restarts."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neev_provider._compat import BaseTrigger, TaskDeferred
from neev_provider.client.errors import NeevCloudError
from neev_provider.exceptions import NeevVolumeError
from tests.operators.conftest import FakeTaskInstance, rebuild

Factory = Callable[[], Any]
KILL_WAIT_SECONDS = 30.0


@dataclass
class TaskResult:
    """How a task ended after its tries."""

    value: Any = None
    error: BaseException | None = None
    tries: int = 0
    errors: list[BaseException] = field(default_factory=list)
    killed: bool = False
    trigger_restarts: int = 0

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def foreign_errors(self) -> list[BaseException]:
        """Failures that are not the package's own error types."""
        return [e for e in self.errors if not isinstance(e, NeevVolumeError | NeevCloudError)]


async def _first_event(trigger: BaseTrigger, stop_after: float | None) -> dict[str, Any] | None:
    runner = asyncio.ensure_future(trigger.run().__anext__())
    if stop_after is None:
        return dict((await runner).payload)
    done, _ = await asyncio.wait({runner}, timeout=stop_after)
    if done:
        return dict(runner.result().payload)
    runner.cancel()  # a triggerer going away: cleanup, never on_kill
    try:
        await runner
    except asyncio.CancelledError:
        pass
    await trigger.cleanup()
    return None


class TaskRunner:
    """Run one task instance's tries; each try gets a fresh operator, as on a new worker."""

    def __init__(
        self, factory: Factory, ti: FakeTaskInstance, *, restart_triggers: bool, rng: random.Random
    ) -> None:
        self.factory = factory
        self.ti = ti
        self.context: dict[str, Any] = {"ti": ti, "task_instance": ti, "run_id": ti.run_id}
        self.restart_triggers = restart_triggers
        self.rng = rng
        self.result = TaskResult()

    def run_try(self) -> Any:
        """Execute once, following deferrals: resumed on a fresh operator with the event alone."""
        step: Callable[[], Any] = lambda: self.factory().execute(self.context)  # noqa: E731
        for _ in range(20):
            try:
                return step()
            except TaskDeferred as deferred:
                event = self._trigger_event(deferred.trigger)
                method = deferred.method_name
                step = lambda m=method, e=event: getattr(self.factory(), m)(self.context, event=e)  # noqa: E731
        raise AssertionError("still deferring after 20 deferrals")

    def _trigger_event(self, trigger: BaseTrigger) -> dict[str, Any]:
        if self.restart_triggers:
            early = asyncio.run(_first_event(rebuild(trigger), stop_after=self.rng.uniform(0.0, 0.3)))
            if early is not None:
                return early
            self.result.trigger_restarts += 1
        event = asyncio.run(_first_event(rebuild(trigger), stop_after=None))
        assert event is not None
        return event

    def run(self, retries: int) -> TaskResult:
        """Run tries until one succeeds or ``retries`` retries are spent."""
        while self.result.tries <= retries:
            self.result.tries += 1
            self.ti.try_number = self.result.tries
            try:
                self.result.value = self.run_try()
            except Exception as error:  # every failure is recorded and classified
                self.result.errors.append(error)
                self.result.error = error
                continue
            self.result.error = None
            break
        return self.result

    def kill_first_try(self, committed: Callable[[], bool]) -> None:
        """Run the first try in a child process and SIGKILL it once ``committed()`` holds.

        The next :meth:`run` is then a re-run of the same task instance, as after a lost worker.
        """
        self.result.tries += 1
        self.ti.try_number = self.result.tries
        pid = os.fork()
        if pid == 0:  # the doomed worker
            code = 1
            try:
                self.run_try()
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return  # it finished before the window: the re-run still must converge
            if committed():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.result.killed = True
                return
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        self.result.killed = True
