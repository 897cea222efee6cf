"""Run the test suite on every supported Airflow and Python, each cell in its own pinned virtualenv.

Usage::

    python scripts/test_matrix.py                          # every cell
    python scripts/test_matrix.py --versions 2.10.5 3.3.2  # those Airflows, on Python 3.11
    python scripts/test_matrix.py --pythons 3.13           # the Python 3.13 cells
    python scripts/test_matrix.py --jobs 3                 # three cells at a time
    python scripts/test_matrix.py --lock 3.0.6             # regenerate a cell's constraints
    python scripts/test_matrix.py --lock 3.3.2 --python 3.13

A cell is a Python and an Airflow: every supported Airflow on Python 3.11 (:data:`VERSIONS`), and
the other supported Pythons with the oldest or the newest Airflow (:data:`PYTHON_CELLS`). Each
cell has a virtualenv ``.matrix/py<P>-airflow-<V>/`` (git-ignored), installed from the cell's
constraints file kept in the repository (:func:`constraints_file`; the newest Airflow on Python
3.11 is the top-level ``constraints.txt`` of ``make setup``). A virtualenv is reused while its
constraints and the packaging part of ``pyproject.toml`` are unchanged (a stamp records their
hash). Only pytest runs per cell: the unit tests and the ``dag.test()`` runs of the example DAGs;
lint, type checks and the docs build run once, in ``make test``.

Cells run ``--jobs`` at a time (default 1). Most of a cell's time is spent waiting on
``dag.test()``, real Airflow services and the emulator's clock, so two cores carry three cells.
The run ends with one table (cell, passed, failed, skipped, minutes) and fails if any cell is red.

``--lock`` resolves ``apache-airflow==V`` plus this package with its ``[emulator]`` extra and the
``test`` dependency group (and the bounds in :data:`BOUNDS`) with pip's resolver in a scratch
virtualenv of the cell's Python, and writes ``pip freeze`` as the cell's constraints file.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
CONSTRAINTS = ROOT / "constraints"
#: Every supported Airflow, oldest first; each runs on :data:`DEFAULT_PYTHON`.
VERSIONS = ("2.10.5", "2.11.2", "3.0.6", "3.1.8", "3.2.2", "3.3.2")
DEFAULT_PYTHON = "3.11"
#: The other supported Pythons, each with the Airflow it is run with: the oldest Python with the
#: oldest Airflow, the newest ones with the newest Airflow.
PYTHON_CELLS = (("3.10", "2.10.5"), ("3.12", "3.3.2"), ("3.13", "3.3.2"))

#: Requirements added to ``apache-airflow==V`` + :data:`INSTALL` when a version's constraints are resolved.
BOUNDS: dict[str, tuple[str, ...]] = {
    # Without them dag.test() fails on 3.0 with ServerResponseError (the in-process execution API).
    "3.0.6": ("cadwyn<6", "fastapi<0.117"),
    # FastAPI 0.137+ (and so cadwyn 9) break the execution API's routes at import (a pydantic
    # discriminator error), so dag.test() fails; Airflow 3.3 declares the same cap itself.
    # svcs 26.2 removes `app.state.svcs_registry` when a lifespan ends, the attribute Airflow 3.2's
    # in-process execution API reads: dag.test() tasks then fail with ServerResponseError.
    "3.2.2": ("fastapi<0.137", "svcs<26.2"),
}
#: Resolved with every version so that its constraints pin the build backend too (applied to pip's
#: isolated build environments as PIP_BUILD_CONSTRAINT).
BUILD_REQUIREMENTS = ("hatchling",)
#: What every version's virtualenv installs: the package (editable) and what its tests need.
INSTALL = ("--editable", ".[emulator]", "--group", "test")
#: The longest a cell's pytest may run (the slowest cell takes about 40 minutes on a busy machine).
CELL_MINUTES = 75.0
#: The exit code given to a cell stopped at :data:`CELL_MINUTES` (that of ``timeout(1)``).
CELL_TIMED_OUT = 124
#: How long a stopped cell's pytest has to finish its teardown before it is killed.
STOP_GRACE_SECONDS = 120.0


@dataclass(frozen=True)
class Cell:
    """One Python and one Airflow."""

    python: str
    airflow: str

    @property
    def name(self) -> str:
        return f"py{self.python}-airflow-{self.airflow}"

    @property
    def venv(self) -> Path:
        return MATRIX / self.name


@dataclass
class Result:
    cell: Cell
    counts: dict[str, int]
    setup_seconds: float
    test_seconds: float
    exit_code: int

    @property
    def green(self) -> bool:
        # A cell in which nothing passed (every test skipped or none collected) proves nothing.
        counts = self.counts
        return self.exit_code == 0 and counts["passed"] > 0 and not counts["failed"] and not counts["errors"]


def all_cells() -> list[Cell]:
    return [Cell(DEFAULT_PYTHON, v) for v in VERSIONS] + [Cell(p, v) for p, v in PYTHON_CELLS]


def constraints_file(cell: Cell) -> Path:
    """The cell's constraints; the newest Airflow on Python 3.11 is what ``make setup`` installs."""
    if cell.python == DEFAULT_PYTHON:
        if cell.airflow == VERSIONS[-1]:
            return ROOT / "constraints.txt"
        return CONSTRAINTS / f"airflow-{cell.airflow}.txt"
    return CONSTRAINTS / f"airflow-{cell.airflow}-py{cell.python}.txt"


def interpreter(python: str) -> str:
    """Find a CPython ``python`` (e.g. ``3.13``): among pyenv's versions, else on PATH.

    pyenv's shims are skipped: a shim of a version that is not selected exits with status 127.
    """
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/{python}.*/bin/python{python}"))
    if candidates:
        return candidates[-1]
    found = shutil.which(f"python{python}")
    if found and "/shims/" not in found:
        return found
    raise SystemExit(f"no Python {python} found (neither under {root}/versions nor on PATH)")


def _clean_env(constraints: Path | None) -> dict[str, str]:
    """The environment of child processes: no Airflow settings leak in, pip pinned to ``constraints``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYENV_VERSION"))
    }
    env.pop("PIP_CONSTRAINT", None)  # the Makefile's, for .venv
    env.pop("PIP_BUILD_CONSTRAINT", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if constraints is not None:
        env["PIP_CONSTRAINT"] = str(constraints)
        # pip >= 25.3 applies only build constraints to its isolated build environments.
        env["PIP_BUILD_CONSTRAINT"] = str(constraints)
    return env


def _run(
    command: list[str],
    *,
    env: dict[str, str],
    log: Path,
    minutes: float | None = None,
    grace_seconds: float = STOP_GRACE_SECONDS,
) -> int:
    """Run ``command``; past ``minutes``, stop it (:func:`_stop`) and return :data:`CELL_TIMED_OUT`.

    pytest-timeout bounds each test, not a hang outside one (a session fixture's teardown). The
    child stays in this process group, so a Ctrl-C or CI's kill of the group reaches it as before.
    """
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            return process.wait(timeout=None if minutes is None else minutes * 60)
        except subprocess.TimeoutExpired:
            out.write(f"\n[test_matrix] still running after {minutes:g} minutes: interrupted\n")
            out.flush()
            _stop(process, grace_seconds)
            return CELL_TIMED_OUT


def _stop(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """Interrupt ``process`` as Ctrl-C would, so pytest's fixtures stop the services they started;
    kill it if it has not ended ``grace_seconds`` later (its services may then outlive it)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _fingerprint(cell: Cell, constraints: Path) -> str:
    """Hash what an installation depends on: the Python, the constraints and the packaging part of
    pyproject.toml. Tool settings (the ``[tool.*]`` tables, which come last) need no reinstall: the
    package is installed in editable mode."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    packaging = re.split(r"^\[tool\.", pyproject, maxsplit=1, flags=re.MULTILINE)[0]
    material = cell.python.encode() + constraints.read_bytes() + packaging.encode()
    return hashlib.sha256(material).hexdigest()


def ensure_venv(cell: Cell) -> Path:
    """Return the cell's virtualenv, (re)installing it only if its inputs changed."""
    constraints = constraints_file(cell)
    if not constraints.is_file():
        hint = f"--lock {cell.airflow}" + (
            "" if cell.python == DEFAULT_PYTHON else f" --python {cell.python}"
        )
        raise SystemExit(f"{constraints.relative_to(ROOT)} is missing: run with {hint}")
    venv = cell.venv
    stamp = venv / ".installed-stamp"
    fingerprint = _fingerprint(cell, constraints)
    if stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return venv
    print(f"[{cell.name}] installing into {venv.relative_to(ROOT)}", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    env = _clean_env(constraints)
    subprocess.check_call([interpreter(cell.python), "-m", "venv", str(venv)], env=env)
    upgrade_pip(venv)
    log = MATRIX / f"install-{cell.name}.log"
    if _run([str(venv / "bin" / "pip"), "install", *INSTALL], env=env, log=log):
        raise SystemExit(f"[{cell.name}] installation failed; see {log.relative_to(ROOT)}")
    stamp.write_text(fingerprint + "\n")
    return venv


def upgrade_pip(venv: Path) -> None:
    """Install the pip that ``constraints.txt`` pins (``--group`` needs pip >= 25.1)."""
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"]
    subprocess.check_call(command, cwd=ROOT, env=_clean_env(ROOT / "constraints.txt"))


def run_tests(cell: Cell, venv: Path, pytest_args: list[str]) -> tuple[dict[str, int], int]:
    """Run pytest in the cell's virtualenv; return its counts and exit code."""
    junit = venv / "junit.xml"
    junit.unlink(missing_ok=True)
    log = venv / "pytest.log"
    command = [str(venv / "bin" / "python"), "-m", "pytest", "-q", f"--junitxml={junit}", *pytest_args]
    print(f"[{cell.name}] pytest (output in {log.relative_to(ROOT)})", flush=True)
    # The core suites in the API's native dialect only: the other five are the API's variations,
    # not Airflow's, and make test runs them all (on the newest Airflow).
    env = {**_clean_env(None), "NEEV_TEST_DIALECTS": "native"}
    code = _run(command, env=env, log=log, minutes=CELL_MINUTES)
    return _counts(junit), code


def _counts(junit: Path) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    root = _junit_root(junit)
    if root is None:
        return counts
    for suite in root.iter("testsuite"):
        tests, failed, errors, skipped = (
            int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")
        )
        counts["failed"] += failed
        counts["errors"] += errors
        counts["skipped"] += skipped
        counts["passed"] += tests - failed - errors - skipped
    return counts


def _junit_root(junit: Path) -> ET.Element | None:
    """The report's root, or ``None`` if pytest wrote none or only part of one (killed while writing)."""
    try:
        return ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return None


def _failures(junit: Path, limit: int = 20) -> list[tuple[str, str]]:
    """The first failed or erroring tests of a run: their ids and the first line of the reason."""
    root = _junit_root(junit)
    if root is None:
        return []
    found = []
    for case in root.iter("testcase"):
        for outcome in (*case.iter("failure"), *case.iter("error")):
            reason = (outcome.get("message") or outcome.text or "").strip().splitlines()
            found.append((f"{case.get('classname')}::{case.get('name')}", reason[0][:300] if reason else ""))
    return found[:limit]


def run_cell(cell: Cell, pytest_args: list[str]) -> Result:
    started = time.monotonic()
    try:
        venv = ensure_venv(cell)
    except (SystemExit, subprocess.CalledProcessError) as error:
        print(f"[{cell.name}] {error}", flush=True)
        empty = {"passed": 0, "failed": 0, "errors": 1, "skipped": 0}
        return Result(cell, empty, time.monotonic() - started, 0.0, 1)
    installed = time.monotonic()
    try:
        counts, code = run_tests(cell, venv, pytest_args)
    except Exception as error:  # the other cells' results and the table must still come
        print(f"[{cell.name}] could not run: {error!r}", flush=True)
        counts, code = {"passed": 0, "failed": 0, "errors": 1, "skipped": 0}, 1
    result = Result(cell, counts, installed - started, time.monotonic() - installed, code)
    print(f"[{cell.name}] {'green' if result.green else 'RED'}: {counts}", flush=True)
    for name, message in _failures(venv / "junit.xml"):
        # The log stays on the CI machine; its output is all a reader of a red run gets.
        print(f"[{cell.name}] FAILED {name}: {message}", flush=True)
    return result


def lock(cell: Cell) -> None:
    """Resolve the cell's dependencies in a scratch virtualenv and write its constraints file."""
    scratch = MATRIX / f"lock-{cell.name}"
    shutil.rmtree(scratch, ignore_errors=True)
    env = _clean_env(None)
    subprocess.check_call([interpreter(cell.python), "-m", "venv", str(scratch)], env=env)
    upgrade_pip(scratch)
    pip = str(scratch / "bin" / "pip")
    requirements = [f"apache-airflow=={cell.airflow}", *BOUNDS.get(cell.airflow, ()), *BUILD_REQUIREMENTS]
    print(f"[{cell.name}] resolving {' '.join(requirements)} + {' '.join(INSTALL)}", flush=True)
    subprocess.check_call([pip, "install", "--quiet", *requirements, *INSTALL], cwd=ROOT, env=env)
    frozen = subprocess.run(
        [pip, "freeze", "--exclude-editable"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    pins = sorted((line for line in frozen.splitlines() if "==" in line), key=str.lower)
    option = "" if cell.python == DEFAULT_PYTHON else f" --python {cell.python}"
    header = [
        f"# Airflow {cell.airflow} on Python {cell.python} for the test matrix: `pip freeze` after pip",
        f"# resolved apache-airflow=={cell.airflow} + '.[emulator]' --group test",
        f"# + {' '.join(requirements[1:])}.",
        f"# Regenerate with: python scripts/test_matrix.py --lock {cell.airflow}{option}",
    ]
    CONSTRAINTS.mkdir(exist_ok=True)
    constraints_file(cell).write_text("\n".join([*header, *pins]) + "\n")
    shutil.rmtree(scratch)
    print(f"[{cell.name}] wrote {constraints_file(cell).relative_to(ROOT)} ({len(pins)} pins)")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def print_table(results: list[Result]) -> None:
    header = ("Python", "Airflow", "result", "passed", "failed", "errors", "skipped", "minutes", "setup")
    rows: list[tuple[str, ...]] = [header]
    for r in results:
        c = r.counts
        status = "green" if r.green else f"RED (exit {r.exit_code})"
        counts = (str(c[k]) for k in ("passed", "failed", "errors", "skipped"))
        setup = _minutes(r.setup_seconds)
        rows.append((r.cell.python, r.cell.airflow, status, *counts, _minutes(r.test_seconds), setup))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    print("\n" + "\n".join(lines), flush=True)


def select(cells: list[Cell], versions: list[str] | None, pythons: list[str] | None) -> list[Cell]:
    """The cells asked for: Airflow ``versions`` on Python 3.11, and the cells of ``pythons``."""
    if versions is None and pythons is None:
        return cells
    chosen = [c for c in cells if c.python == DEFAULT_PYTHON and c.airflow in (versions or ())]
    return chosen + [c for c in cells if c.python != DEFAULT_PYTHON and c.python in (pythons or ())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", nargs="+", metavar="VERSION", help="Airflow versions, on Python 3.11")
    parser.add_argument("--pythons", nargs="+", metavar="PYTHON", help="the cells of these Pythons")
    parser.add_argument("--jobs", type=int, default=1, help="cells run at a time (default 1)")
    parser.add_argument("--lock", nargs="+", metavar="VERSION", help="regenerate these constraints files")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="the Python of --lock (default 3.11)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    MATRIX.mkdir(exist_ok=True)
    if args.lock:
        for version in args.lock:
            lock(Cell(args.python, version))
        return 0
    cells = all_cells()
    unknown = sorted(set(args.versions or ()) - set(VERSIONS))
    unknown += sorted(set(args.pythons or ()) - {p for p, _ in PYTHON_CELLS})
    if unknown:
        known = " ".join([*VERSIONS, *(p for p, _ in PYTHON_CELLS)])
        parser.error(f"unsupported versions {unknown}; supported: {known}")
    chosen = select(cells, args.versions, args.pythons)
    # A shell starts a background job with Ctrl-C ignored, and an ignored signal stays ignored in
    # every child: the cells' pytest could not be interrupted (see _stop). Handled here, it is
    # back to its default in each child.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda cell: run_cell(cell, args.pytest_args), chosen))
    print_table(results)
    return 0 if results and all(r.green for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
