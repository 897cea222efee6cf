"""``make chaos``: run the full chaos suite and print its table.

Usage: ``python -m tests.chaos [--lifecycles 200] [--seed 1] [--workdir DIR]``. Exits 1 if a
duplicate, an orphan, a wrong state, a foreign exception, a secret or an unclosed socket was seen,
or if fewer than 25 % of the requests were faulted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

MIN_FAULTED_SHARE = 0.25


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where captured output goes (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neev-chaos-") as tmp:
        # Airflow reads its configuration at import: a private, throwaway home first.
        os.environ["AIRFLOW_HOME"] = tmp
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
        os.environ.setdefault("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "neevcloud-chaos")
        from tests.chaos.harness import run_chaos

        report = run_chaos(args.lifecycles, args.seed, args.workdir or Path(tmp) / "output")
    print(report.table())
    return 0 if report.clean and report.faulted_share >= MIN_FAULTED_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
