"""Run every hostile case against the emulator and a misbehaving server; print the counts by group.

    .venv/bin/python scripts/hostile_run.py [--list]

The cases are ``tests/hostile/cases.py``, the table the test suite runs too: bad input a user
can give (operator and sensor arguments, connection fields and extras, client calls) and bad
answers a server can send. Each must end in one clear error of the package's own types. The
table printed counts, per group, the cases and every way an ending fell short:

- silent: the mistake went through without an error;
- raw: an exception that is not the package's (ValueError, requests.InvalidURL, ...);
- secret: a credential seen in a message, a repr, a chained cause, a log line or the output;
- hang: longer than the case's configured deadline (plus 1 s);
- other: wrong error type, a message not naming the field or cause, a request where
  validation should have stopped it, a volume left behind.

Exit status 0 when all of these are 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Airflow reads its configuration when first imported: a private, throw-away home.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="neev-hostile-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

COLUMNS = ("cases", "clear", "silent", "raw", "secret", "hang", "other")


def _table(rows: dict[str, dict[str, int]]) -> list[str]:
    width = max(len(group) for group in [*rows, "total"])
    lines = [f"{'group':<{width}}  " + "  ".join(f"{name:>6}" for name in COLUMNS)]
    total = {name: sum(row[name] for row in rows.values()) for name in COLUMNS}
    for group, row in [*rows.items(), ("total", total)]:
        lines.append(f"{group:<{width}}  " + "  ".join(f"{row[name]:>6}" for name in COLUMNS))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every case and its result")
    args = parser.parse_args()

    from neev_provider.emulator import EmulatorServer
    from tests.hostile.bad_server import BadServer
    from tests.hostile.cases import CASES
    from tests.hostile.runner import Env, run_case

    # The runner captures every log record itself; Airflow's console handler would only add noise.
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)
    logging.lastResort = None

    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    failures = []
    started = time.monotonic()
    with EmulatorServer() as emulator, BadServer() as server:
        env = Env(emulator, server)
        for case in CASES:
            outcome = run_case(case, env)
            row = rows[case.group]
            row["cases"] += 1
            row["clear"] += outcome.ok
            row["silent"] += outcome.silent_success
            row["raw"] += outcome.raw_library
            row["secret"] += outcome.secret_seen
            row["hang"] += outcome.hang
            flagged = outcome.silent_success or outcome.raw_library or outcome.secret_seen or outcome.hang
            row["other"] += not outcome.ok and not flagged
            if args.list:
                verdict = "ok  " if outcome.ok else "FAIL"
                print(
                    f"{verdict} {outcome.elapsed:6.2f} s  {case.id}: {outcome.message.splitlines()[0][:110]}"
                )
            if not outcome.ok:
                failures.append(outcome)
    print(f"{len(CASES)} hostile cases in {time.monotonic() - started:.1f} s")
    print("\n".join(_table(dict(rows))))
    for outcome in failures:
        print(f"\nFAIL {outcome.case.id}:\n  " + "\n  ".join(outcome.problems))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
