"""Every hostile case of ``cases.py`` ends in one clear error of the package's own types.

Each case is checked for: the error type, a message naming the field or cause, no request
where validation should have stopped it (the emulator's journal, the bad server's log),
nothing left in the emulator, no secret in the message, a ``repr``, a chained cause or the
logs (captured by the runner and by ``caplog``), and no hang past its configured deadline.
``scripts/hostile_run.py`` runs the same table and prints the counts by group.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from neev_provider.emulator import EmulatorServer
from tests.hostile.bad_server import BadServer, Raw, Silence
from tests.hostile.cases import CASES
from tests.hostile.runner import DEADLINE_SLACK, HANG_FACTOR, SERVER_TOKEN, Case, Env, run_case


@pytest.fixture(scope="module", name="bad_server")
def fixture_bad_server() -> Iterator[BadServer]:
    with BadServer() as server:
        yield server


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_case(
    case: Case, neev_emulator: EmulatorServer, bad_server: BadServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = run_case(case, Env(neev_emulator, bad_server))

    assert outcome.problems == [], outcome.message
    secrets = case.secrets or (neev_emulator.token, SERVER_TOKEN)
    assert [secret for secret in secrets if secret in caplog.text] == []


def test_the_table_covers_every_group_with_enough_cases() -> None:
    groups = {case.group for case in CASES}
    assert groups == {"connection extras", "hook", "client", "sensor", "operators", "malformed servers"}
    names = {case.name for case in CASES}
    # The cases each past defect was found by stay in the table.
    assert {
        "extra is not JSON",
        "gzip bomb (16 MB inflated) (sync)",
        "gzip inside gzip (a stacked bomb) (sync)",
        "gzip inside gzip (a stacked bomb) (async)",
        "a 401 quoting the Authorization header back (sync)",
        "a 422 on login echoing the password (async)",
        "a deferred wait on a 401 that quotes the token: the event does not",
        "a deferred wait on a stacked gzip bomb",
        "delete on a server answering 404 HTML: not 'nothing to delete'",
    } <= names
    assert len({case.id for case in CASES}) == len(CASES), "case names must be unique"
    # A broken deadline runs until the bad server gives up; the hang check must see that.
    stall = min(Silence().seconds, Raw(b"").until)
    assert HANG_FACTOR * max(case.limit for case in CASES) + DEADLINE_SLACK < stall
