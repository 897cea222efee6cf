"""Run the test suite on every supported Airflow, each in its own pinned virtualenv.

Usage::

    python scripts/test_matrix.py                        # every version
    python scripts/test_matrix.py --versions 2.10.5 3.3.2
    python scripts/test_matrix.py --lock 3.0.6           # regenerate that version's constraints

Each version ``V`` has a virtualenv ``.matrix/airflow-V/`` (git-ignored), installed from the
constraints file ``constraints/airflow-V.txt`` kept in the repository (for the newest version,
the top-level ``constraints.txt`` of ``make setup``). Like the Makefile's ``.venv``, a virtualenv
is reused while its constraints and the packaging part of ``pyproject.toml`` are unchanged (a
stamp records their hash). Only pytest runs per version: the unit tests and the ``dag.test()``
runs of the example DAGs. Lint, type checks and the docs build run once, in ``make test``.

``--lock`` resolves ``apache-airflow==V`` plus this package with its ``[emulator]`` extra and
the ``test`` dependency group (and the bounds in :data:`BOUNDS`) with pip's resolver in a scratch
virtualenv and writes ``pip freeze`` as the version's constraints file.

Every virtualenv first gets the pip pinned in the top-level ``constraints.txt``: installing a
dependency group (``pip install --group``) needs pip 25.1 or later.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
CONSTRAINTS = ROOT / "constraints"
VERSIONS = ("2.10.5", "2.11.2", "3.0.6", "3.1.8", "3.2.2", "3.3.2")

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


@dataclass
class Result:
    version: str
    counts: dict[str, int]
    setup_seconds: float
    test_seconds: float
    exit_code: int

    @property
    def green(self) -> bool:
        return self.exit_code == 0 and not self.counts["failed"] and not self.counts["errors"]


def constraints_file(version: str) -> Path:
    """The version's constraints; the newest version's are the ones ``make setup`` installs."""
    return ROOT / "constraints.txt" if version == VERSIONS[-1] else CONSTRAINTS / f"airflow-{version}.txt"


def _clean_env(constraints: Path | None) -> dict[str, str]:
    """The environment of child processes: no Airflow settings leak in, pip pinned to ``constraints``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    env.pop("PIP_CONSTRAINT", None)  # the Makefile's, for .venv
    env.pop("PIP_BUILD_CONSTRAINT", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if constraints is not None:
        env["PIP_CONSTRAINT"] = str(constraints)
        # pip >= 25.3 applies only build constraints to its isolated build environments.
        env["PIP_BUILD_CONSTRAINT"] = str(constraints)
    return env


def _run(command: list[str], *, env: dict[str, str], log: Path | None = None) -> int:
    if log is None:
        return subprocess.call(command, cwd=ROOT, env=env)
    with log.open("w") as out:
        return subprocess.call(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _fingerprint(constraints: Path) -> str:
    """Hash what an installation depends on: the constraints and the packaging part of pyproject.toml.

    Tool settings (the ``[tool.*]`` tables, which come last) do not need a reinstall: the
    package is installed in editable mode.
    """
    pyproject = (ROOT / "pyproject.toml").read_text()
    packaging = re.split(r"^\[tool\.", pyproject, maxsplit=1, flags=re.MULTILINE)[0]
    return hashlib.sha256(constraints.read_bytes() + packaging.encode()).hexdigest()


def ensure_venv(version: str) -> Path:
    """Return the version's virtualenv, (re)installing it only if its inputs changed."""
    constraints = constraints_file(version)
    if not constraints.is_file():
        raise SystemExit(f"{constraints.relative_to(ROOT)} is missing: run with --lock {version}")
    venv = MATRIX / f"airflow-{version}"
    stamp = venv / ".installed-stamp"
    fingerprint = _fingerprint(constraints)
    if stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return venv
    print(f"[{version}] installing into {venv.relative_to(ROOT)}", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    env = _clean_env(constraints)
    subprocess.check_call([sys.executable, "-m", "venv", str(venv)], env=env)
    upgrade_pip(venv)
    log = MATRIX / f"install-{version}.log"
    if _run([str(venv / "bin" / "pip"), "install", *INSTALL], env=env, log=log):
        raise SystemExit(f"[{version}] installation failed; see {log.relative_to(ROOT)}")
    stamp.write_text(fingerprint + "\n")
    return venv


def upgrade_pip(venv: Path) -> None:
    """Install the pip that ``constraints.txt`` pins (``--group`` needs pip >= 25.1)."""
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"]
    subprocess.check_call(command, cwd=ROOT, env=_clean_env(ROOT / "constraints.txt"))


def run_tests(version: str, venv: Path, pytest_args: list[str]) -> tuple[dict[str, int], int]:
    """Run pytest in the version's virtualenv; return its counts and exit code."""
    junit = venv / "junit.xml"
    junit.unlink(missing_ok=True)
    log = venv / "pytest.log"
    command = [str(venv / "bin" / "python"), "-m", "pytest", "-q", f"--junitxml={junit}", *pytest_args]
    print(f"[{version}] pytest (output in {log.relative_to(ROOT)})", flush=True)
    code = _run(command, env=_clean_env(None), log=log)
    return _counts(junit), code


def _counts(junit: Path) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    if not junit.is_file():
        return counts
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        tests, failed, errors, skipped = (
            int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")
        )
        counts["failed"] += failed
        counts["errors"] += errors
        counts["skipped"] += skipped
        counts["passed"] += tests - failed - errors - skipped
    return counts


def lock(version: str) -> None:
    """Resolve the version's dependencies in a scratch virtualenv and write its constraints file."""
    scratch = MATRIX / f"lock-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    env = _clean_env(None)
    subprocess.check_call([sys.executable, "-m", "venv", str(scratch)], env=env)
    upgrade_pip(scratch)
    pip = str(scratch / "bin" / "pip")
    requirements = [f"apache-airflow=={version}", *BOUNDS.get(version, ()), *BUILD_REQUIREMENTS]
    print(f"[{version}] resolving {' '.join(requirements)} + {' '.join(INSTALL)}", flush=True)
    subprocess.check_call([pip, "install", "--quiet", *requirements, *INSTALL], cwd=ROOT, env=env)
    frozen = subprocess.run(
        [pip, "freeze", "--exclude-editable"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    pins = sorted((line for line in frozen.splitlines() if "==" in line), key=str.lower)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    header = [
        f"# Airflow {version} for the test matrix: `pip freeze` after pip resolved apache-airflow=={version}",
        f"# + '.[emulator]' --group test + {' '.join(requirements[1:])} on Python {python}.",
        f"# Regenerate with: python scripts/test_matrix.py --lock {version}",
    ]
    CONSTRAINTS.mkdir(exist_ok=True)
    constraints_file(version).write_text("\n".join([*header, *pins]) + "\n")
    shutil.rmtree(scratch)
    print(f"[{version}] wrote {constraints_file(version).relative_to(ROOT)} ({len(pins)} pins)")


def _duration(seconds: float) -> str:
    return f"{int(seconds) // 60}m{int(seconds) % 60:02d}s"


def print_table(results: list[Result]) -> None:
    rows: list[tuple[str, ...]] = [
        ("Airflow", "result", "passed", "failed", "errors", "skipped", "tests", "setup")
    ]
    for r in results:
        c = r.counts
        status = "green" if r.green else f"RED (exit {r.exit_code})"
        row = (r.version, status, *(str(c[k]) for k in ("passed", "failed", "errors", "skipped")))
        rows.append((*row, _duration(r.test_seconds), _duration(r.setup_seconds)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    print("\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS), metavar="VERSION")
    parser.add_argument("--lock", nargs="+", metavar="VERSION", help="regenerate these constraints files")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    MATRIX.mkdir(exist_ok=True)
    if args.lock:
        for version in args.lock:
            lock(version)
        return 0
    unknown = sorted(set(args.versions) - set(VERSIONS))
    if unknown:
        parser.error(f"unsupported versions {unknown}; supported: {' '.join(VERSIONS)}")
    results = []
    for version in [v for v in VERSIONS if v in args.versions]:
        started = time.monotonic()
        venv = ensure_venv(version)
        installed = time.monotonic()
        counts, code = run_tests(version, venv, args.pytest_args)
        result = Result(version, counts, installed - started, time.monotonic() - installed, code)
        results.append(result)
        print(f"[{version}] {'green' if result.green else 'RED'}: {counts}", flush=True)
    print_table(results)
    return 0 if all(r.green for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
