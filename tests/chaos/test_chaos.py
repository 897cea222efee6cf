"""A short seeded chaos run: every promise holds over 32 lifecycles with a quarter of requests faulted.

``make chaos`` runs the same harness over 200 lifecycles (``python -m tests.chaos``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.chaos.__main__ import MIN_FAULTED_SHARE
from tests.chaos.harness import run_chaos
from tests.support.contract import ContractMonitor


def test_a_short_seeded_chaos_run_keeps_every_promise(
    tmp_path: Path, contract_monitor: ContractMonitor
) -> None:
    report = run_chaos(32, seed=7, workdir=tmp_path, observer=contract_monitor.observe)
    print(report.table())

    assert report.lifecycles == 32
    assert report.faulted_share >= MIN_FAULTED_SHARE
    assert sum(report.kills.values()) >= 3  # create, extend and delete each lose a worker
    assert report.trigger_restarts >= 1
    assert report.duplicates_alive_at_end == 0
    assert report.orphans == 0
    assert report.wrong_states == []
    assert report.foreign_exceptions == []
    assert report.secret_sightings == []
    assert report.unclosed == []


def test_a_socket_left_open_is_counted_even_outside_pytest() -> None:
    # A Python of its own: pytest's warning filters turn ResourceWarning into an error already;
    # make chaos runs with Python's defaults, which ignore it.
    child = (
        "import socket\n"
        "from tests.chaos.harness import unclosed_resources\n"
        "with unclosed_resources() as found:\n"
        "    leaked = socket.socket()\n"
        "    del leaked\n"
        "print(repr(found))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", child], cwd=root, capture_output=True, text=True, check=True)

    found = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert len(found) == 1
    assert found[0].startswith("ResourceWarning: unclosed <socket.socket")
