"""Run one hostile case and judge what happened.

A case is a mistake a user can make (an argument, a connection field) or an answer a server
can give; it must end in one clear error of the package's own types. :func:`run_case` runs it
against the emulator and the :class:`~tests.hostile.bad_server.BadServer`, and records every
way the ending can fall short:

- **silent success**: no error at all (a teardown that goes green while the volume lives on);
- **raw library exception**: an exception that is not the package's (``ValueError``,
  ``requests.InvalidURL``, ``RecursionError``, ...);
- **secret sighting**: a credential in the message, a ``repr``, a chained cause or a log line;
- **hang**: longer than twice the configured deadline, and a second (``HANG_FACTOR``);
- the wrong error type, a message that does not name the field or cause, a request that
  reached a server although validation should have stopped it, a volume left behind.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import Any, Literal

from neev_provider._compat import AirflowFailException, AirflowSensorTimeout
from neev_provider.client import (
    AsyncNeevCloudClient,
    ClientConfig,
    NeevCloudClient,
    NeevCloudError,
    RetryPolicy,
    TokenAuth,
)
from neev_provider.client.errors import exception_chain
from neev_provider.emulator import EmulatorServer
from neev_provider.emulator.connection import airflow_connection
from neev_provider.exceptions import NeevVolumeError
from tests.hostile.bad_server import BadServer, HangUp
from tests.operators.conftest import FakeTaskInstance
from tests.support.async_driven import driven

#: What "the package's own error" means: the client's tree, the operators' tree, and the
#: sensor's documented timeout.
PACKAGE_ERRORS = (NeevCloudError, NeevVolumeError, AirflowSensorTimeout)
#: The token used against the bad server; it must never be seen.
SERVER_TOKEN = "pat-nc-hostile-secret-4d1f"
#: Messages longer than this count as unreadable (a 100,000-character value echoed back).
MAX_MESSAGE_CHARS = 2000
#: A case hangs when it takes longer than this many times its configured deadline, plus a second
#: (kept below the bad server's 30 s stall by tests/hostile/test_hostile.py).
#: A broken deadline runs until the bad server gives up (30 s of silence or trickle, against
#: deadlines of 1 to 10 s); a case that works but shares two busy cores with the matrix's other
#: cells was seen taking 9 s for 0.3 s of work, so the deadline alone would be a race.
HANG_FACTOR = 2.0
DEADLINE_SLACK = 1.0
_CONN_VAR = "AIRFLOW_CONN_NEEVCLOUD_DEFAULT"


@dataclass(frozen=True)
class Reported:
    """What ``test_connection`` returns: Airflow shows ``message`` when ``ok`` is false."""

    ok: bool
    message: str


@dataclass
class Env:
    """What a case runs against."""

    emulator: EmulatorServer
    server: BadServer

    @property
    def token(self) -> str:
        return self.emulator.token

    def connect(
        self,
        *,
        to: Literal["emulator", "server"] = "emulator",
        drop: tuple[str, ...] = (),
        raw_extra: str | None = None,
        conn_id: str = "neevcloud_default",
        **overrides: Any,
    ) -> None:
        """Point an Airflow connection (by environment variable) at the emulator or the bad server."""
        if to == "emulator":
            text = self.emulator.airflow_connection(**overrides)
        else:
            values = {"org_id": "org-bad", "project_id": "prj-bad", **overrides}
            text = airflow_connection(self.server.url, SERVER_TOKEN, **values)
        connection = json.loads(text)
        for key in drop:
            connection.pop(key, None)
            connection["extra"].pop(key, None)
        if raw_extra is not None:
            connection["extra"] = raw_extra
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)

    def config(self, **overrides: Any) -> ClientConfig:
        """A client configuration for the bad server: 1 s timeout, no retries, so a 1 s budget."""
        values: dict[str, Any] = {
            "org_id": "org-bad",
            "project_id": "prj-bad",
            "auth": TokenAuth(SERVER_TOKEN),
            "host": self.server.url,
            "timeout": 1.0,
            "retry": RetryPolicy(max_retries=0),
        }
        values.update(overrides)
        return ClientConfig(**values)


def context() -> dict[str, Any]:
    """An Airflow task context with the part the operators use."""
    ti = FakeTaskInstance()
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id}


@contextmanager
def open_api(kind: str, config: ClientConfig) -> Iterator[Any]:
    """Yield a sync client, or an async one behind the same synchronous face."""
    if kind == "sync":
        with NeevCloudClient(config) as client:
            yield client
        return
    with driven(AsyncNeevCloudClient(config)) as api:
        yield api


@dataclass(frozen=True)
class Case:
    """One hostile input or answer, and what must come of it.

    :param run: does the thing; raises (or returns :class:`Reported`) as the user would see it.
    :param expect: the error type it must end in; ``None`` when it must succeed (a normalised input).
    :param mentions: fragments the message must contain (the field, the cause).
    :param reaches: where requests may go: ``nothing`` (validation must stop it first),
        ``emulator`` or ``server``.
    :param limit: seconds it may take in all: its configured deadline.
    :param secrets: what must appear nowhere (default: the token in use).
    :param setup, cleanup: run before and after, outside the measurement.
    :param check: further checks after the run; returns problems found.
    """

    group: str
    name: str
    run: Callable[[Env], Any]
    expect: type[BaseException] | None
    mentions: tuple[str, ...] = ()
    reaches: Literal["nothing", "emulator", "server"] = "nothing"
    limit: float = 10.0
    secrets: tuple[str, ...] = ()
    setup: Callable[[Env], Any] | None = None
    cleanup: Callable[[Env], None] | None = None
    check: Callable[[Env], list[str]] | None = None

    @property
    def id(self) -> str:
        return f"{self.group}: {self.name}"


@dataclass
class Outcome:
    """What a case did, and every rule it broke."""

    case: Case
    error: BaseException | None
    message: str
    elapsed: float
    silent_success: bool = False
    raw_library: bool = False
    secret_seen: bool = False
    hang: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a record that cannot be formatted still must not break the run
            self.lines.append(str(record.msg))


@contextmanager
def _captured_logs() -> Iterator[_Capture]:
    capture = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("airflow.task"), logging.getLogger("neev_provider")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)


@contextmanager
def _own_connections() -> Iterator[None]:
    """Restore every ``AIRFLOW_CONN_*`` variable a case set."""
    before = {key: value for key, value in os.environ.items() if key.startswith("AIRFLOW_CONN_")}
    try:
        yield
    finally:
        for key in [key for key in os.environ if key.startswith("AIRFLOW_CONN_")]:
            del os.environ[key]
        os.environ.update(before)


def _texts(error: BaseException | None, result: Any, logs: list[str]) -> list[str]:
    texts = [*logs, repr(result)]
    for item in exception_chain(error) if error is not None else []:
        texts += [str(item), repr(item), repr(getattr(item, "__dict__", ""))]
    return texts


def _message(error: BaseException | None, result: Any) -> str:
    if isinstance(result, Reported):
        return result.message
    return str(error) if error is not None else ""


def _unwrapped(error: BaseException | None) -> BaseException | None:
    """A task's ``AirflowFailException`` (bad input: no retries) is judged by the error it carries."""
    if isinstance(error, AirflowFailException) and isinstance(error.__cause__, PACKAGE_ERRORS):
        return error.__cause__
    return error


def _judge(
    outcome: Outcome, result: Any, logs: list[str], env: Env, secrets: tuple[str, ...], offset: int
) -> None:
    case, error, problems = outcome.case, _unwrapped(outcome.error), outcome.problems
    failed_report = isinstance(result, Reported) and not result.ok
    if case.expect is None:
        if error is not None:
            problems.append(f"expected success, got {type(error).__name__}: {outcome.message[:300]}")
    elif error is None and not failed_report:
        outcome.silent_success = True
        problems.append("silent success: no error")
    elif error is not None and not isinstance(error, PACKAGE_ERRORS):
        outcome.raw_library = True
        problems.append(f"raw library exception {type(error).__name__}: {outcome.message[:300]}")
    elif error is not None and not isinstance(error, case.expect):
        problems.append(
            f"expected {case.expect.__name__}, got {type(error).__name__}: {outcome.message[:300]}"
        )
    missing = [fragment for fragment in case.mentions if fragment not in outcome.message]
    if missing:
        problems.append(f"the message does not mention {missing}: {outcome.message[:400]!r}")
    if len(outcome.message) > MAX_MESSAGE_CHARS:
        problems.append(f"a {len(outcome.message)}-character message")
    seen = [secret for secret in secrets for text in _texts(error, result, logs) if secret and secret in text]
    if seen:
        outcome.secret_seen = True
        problems.append(f"secret seen {len(seen)} time(s)")
    allowed = HANG_FACTOR * case.limit + DEADLINE_SLACK
    if outcome.elapsed > allowed:
        outcome.hang = True
        problems.append(
            f"took {outcome.elapsed:.2f} s, past {allowed:g} s (its deadline is {case.limit:g} s)"
        )
    problems.extend(_reach_problems(case, env, offset))


def _reach_problems(case: Case, env: Env, offset: int) -> list[str]:
    """Requests the case made where it should not have; ``offset`` requests were its setup's."""
    problems = []
    emulator_calls = len(env.emulator.requests()) - offset
    if case.reaches in ("nothing", "server") and emulator_calls:
        problems.append(
            f"{emulator_calls} request(s) reached the emulator although validation should stop it"
        )
    if case.reaches in ("nothing", "emulator") and env.server.requests:
        problems.append(f"{len(env.server.requests)} request(s) reached the bad server")
    return problems


def run_case(case: Case, env: Env) -> Outcome:
    """Run ``case`` once, from a clean emulator and an idle bad server, and judge it."""
    env.emulator.reset()
    env.server.serve(lambda request: HangUp())
    with _own_connections():
        if case.setup is not None:
            case.setup(env)
        requests_before = len(env.emulator.requests())
        error: BaseException | None = None
        result: Any = None
        printed = io.StringIO()
        with _captured_logs() as capture, redirect_stdout(printed), redirect_stderr(printed):
            started = time.monotonic()
            try:
                result = case.run(env)
            except BaseException as caught:  # judging every ending, KeyboardInterrupt aside
                if isinstance(caught, KeyboardInterrupt):
                    raise
                error = caught
            elapsed = time.monotonic() - started
        capture.lines.append(printed.getvalue())
        outcome = Outcome(case, error, _message(error, result), elapsed)
        secrets = case.secrets or (env.token, SERVER_TOKEN)
        _judge(outcome, result, capture.lines, env, secrets, requests_before)
        if case.check is not None:
            outcome.problems.extend(case.check(env))
        if case.cleanup is not None:
            case.cleanup(env)
    left = env.emulator.volumes()
    if left:
        outcome.problems.append(f"{len(left)} volume(s) left in the emulator")
    return outcome
