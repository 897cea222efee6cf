"""Check the artifacts a user would install: build them, inspect them, install the wheel alone, use it.

``make dist-check`` (and CI) runs this:

1. build the sdist, and the wheel from the sdist, with the pinned build backend (``python -m build``);
2. ``twine check --strict`` both;
3. check the wheel's contents: the package with ``py.typed`` and the OpenAPI spec, the entry
   points, the metadata (version, classifiers, project URLs, no development extra), and no tests;
4. install the wheel with its ``[emulator]`` extra, not the source tree, into a new virtualenv
   with the pinned ``constraints.txt``;
5. from that virtualenv, in a new Airflow home: ``airflow providers list`` shows the provider,
   ``airflow connections test`` succeeds against the emulator started from the installed
   package, and the main example DAG and the README's "In a DAG" block, pasted as it is, run
   with ``airflow dags test`` and leave no volume.

Everything it writes but the virtualenv (the artifacts, logs and the Airflow home) stays in
``.dist-check/`` (git-ignored) for inspection; each run starts it afresh.
"""

from __future__ import annotations

import email
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support, which the tests share with this script

from tests.support.airflow_cli import AirflowCLI  # noqa: E402
from tests.test_readme import readme_dag  # noqa: E402

OUT = ROOT / ".dist-check"
CONSTRAINTS = ROOT / "constraints.txt"
DIST_NAME = "airflow-provider-neevcloud"
EXAMPLE_DAG = ROOT / "example_dags" / "scratch_volume_training.py"
EXAMPLE_DAG_ID = "neevcloud_scratch_volume_training"
README_DAG_ID = "scratch_volume"
#: Files the wheel must hold, beside the package's modules.
WHEEL_DATA = ("neev_provider/py.typed", "neev_provider/openapi/storage-v1beta1.openapi.json")
#: What the wheel's metadata must declare.
PROJECT_URLS = ("Documentation", "Changelog", "Issues", "Source")
CLASSIFIERS = (
    "Framework :: Apache Airflow :: Provider",
    "Development Status :: ",
    "Programming Language :: Python :: 3.",
)


class CheckFailed(Exception):
    """A check failed; the message says which and why."""


def version() -> str:
    """The package's version, from the one place it is written."""
    source = (ROOT / "neev_provider" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', source, re.MULTILINE)
    if match is None:
        raise CheckFailed("no __version__ in neev_provider/__init__.py")
    return match.group(1)


def pinned_env() -> dict[str, str]:
    """This environment, with pip pinned to constraints.txt (build environments included)."""
    return {
        **os.environ,
        "PIP_CONSTRAINT": str(CONSTRAINTS),
        "PIP_BUILD_CONSTRAINT": str(CONSTRAINTS),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def run(command: list[str], log: Path, *, cwd: Path = ROOT) -> None:
    """Run ``command``, its output into ``log``; raise :class:`CheckFailed` if it fails."""
    with log.open("w") as out:
        code = subprocess.call(command, cwd=cwd, env=pinned_env(), stdout=out, stderr=subprocess.STDOUT)
    if code:
        raise CheckFailed(f"`{shlex.join(command)}` exited {code}; see {shown(log)}:\n{tail(log)}")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:]


def step(text: str) -> None:
    print(f"- {text}", flush=True)


# -- the artifacts --------------------------------------------------------------------------


def build(dist: Path) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from it; return both."""
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], OUT / "build.log")
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return sdist, wheel


def check_wheel(wheel: Path, expected_version: str) -> list[str]:
    """Return what is wrong with the wheel's contents and metadata."""
    problems = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    problems += [f"missing {name}" for name in WHEEL_DATA if name not in names]
    stray = [n for n in names if not n.startswith(("neev_provider/", f"{info}/"))]
    problems += [f"unexpected file {name}" for name in stray]
    junk = ("__pycache__", "/tests/", "conftest")
    problems += [f"unexpected file {name}" for name in names if any(part in name for part in junk)]
    if metadata["Version"] != expected_version:
        problems.append(f"version {metadata['Version']}, not {expected_version}")
    if "dev" in metadata.get_all("Provides-Extra", []):
        problems.append("publishes a 'dev' extra: development tools belong in dependency groups")
    classifiers = metadata.get_all("Classifier", [])
    problems += [f"no classifier {c!r}" for c in CLASSIFIERS if not any(x.startswith(c) for x in classifiers)]
    urls = [value.split(",")[0] for value in metadata.get_all("Project-URL", [])]
    problems += [f"no project URL {label!r}" for label in PROJECT_URLS if label not in urls]
    if "neev_provider:get_provider_info" not in entry_points:
        problems.append("no apache_airflow_provider entry point")
    return problems


def check_sdist(sdist: Path) -> list[str]:
    """Return what is wrong with the sdist: it must hold what building and testing need, no more."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", *WHEEL_DATA)
    problems = [f"missing {name}" for name in needed if name not in names]
    junk = (".venv/", ".git/", ".demo/", ".dist-check/", ".matrix/", "docs/_build/")
    return problems + [f"unexpected file {name}" for name in sorted(names) if name.startswith(junk)]


# -- the installed wheel --------------------------------------------------------------------


def install(wheel: Path, venv: Path) -> None:
    """A new virtualenv with the pinned pip, then the wheel and its emulator extra, nothing else."""
    run([sys.executable, "-m", "venv", str(venv)], OUT / "venv.log")
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    run([*pip, "install", "--upgrade", "pip"], OUT / "pip.log", cwd=venv)
    run([*pip, "install", f"{wheel}[emulator]"], OUT / "install.log", cwd=venv)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import neev_provider; print(neev_provider.__file__)"],
        cwd=venv,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(venv)):
        raise CheckFailed(f"neev_provider is imported from {where}, not from the installed wheel")


@contextmanager
def emulator(venv: Path) -> Iterator[tuple[str, str]]:
    """Start ``python -m neev_provider.emulator`` from the virtualenv; yield its URL and connection."""
    python = str(venv / "bin" / "python")
    command = [python, "-m", "neev_provider.emulator", "--port", "0", "--bind-delay", "1"]
    process = subprocess.Popen(
        command, cwd=venv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        first, second = process.stdout.readline(), process.stdout.readline()
        match = re.search(r"listening on (\S+)", first)
        if match is None or not second.startswith("export AIRFLOW_CONN_NEEVCLOUD_DEFAULT="):
            raise CheckFailed(f"the emulator did not start: {first}{second}")
        connection = shlex.split(second.split("=", 1)[1])[0]
        yield match.group(1), connection
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def emulator_volumes(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_emulator/volumes", timeout=30) as answer:
        volumes: list[dict[str, Any]] = json.load(answer)["volumes"]
        return volumes


def use(venv: Path) -> None:
    """Register, connect and run a DAG with the installed provider, as a user would."""
    dags = OUT / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE_DAG, dags)
    # The README's "In a DAG" block, as a newcomer pastes it (the package's Airflow is 3.x).
    (dags / "readme_scratch_volume.py").write_text(readme_dag())
    with emulator(venv) as (url, connection):
        step(f"emulator started from the installed package: {url}")
        cli = AirflowCLI(
            home=OUT / "airflow-home",
            dags_folder=dags,
            bin_dir=venv / "bin",
            env={"AIRFLOW_CONN_NEEVCLOUD_DEFAULT": connection, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"},
        )
        providers = {row["package_name"]: row["version"] for row in cli.json("providers", "list")}
        if DIST_NAME not in providers:
            raise CheckFailed(f"`airflow providers list` does not show {DIST_NAME}: {sorted(providers)}")
        step(f"`airflow providers list`: {DIST_NAME} {providers[DIST_NAME]}")
        tested = cli.run("connections", "test", "neevcloud_default").stdout
        if "Connection success!" not in tested:
            raise CheckFailed(f"`airflow connections test neevcloud_default` did not succeed:\n{tested}")
        step("`airflow connections test neevcloud_default`: Connection success!")
        cli.migrate()
        dag_run = cli.dags_test(EXAMPLE_DAG_ID, log=OUT / "dags-test.log")
        left = emulator_volumes(url)
        states = ", ".join(f"{task} {state}" for task, state in dag_run.states.items())
        if set(dag_run.states.values()) != {"success"} or left:
            raise CheckFailed(f"the example DAG did not succeed: {states}; volumes left: {len(left)}")
        step(f"`airflow dags test {EXAMPLE_DAG_ID}`: {states}; volumes left: 0")
        readme_run = cli.dags_test(README_DAG_ID, log=OUT / "readme-dags-test.log")
        left = emulator_volumes(url)
        states = ", ".join(f"{task} {state}" for task, state in readme_run.states.items())
        if set(readme_run.states.values()) != {"success"} or left:
            raise CheckFailed(f"the README's DAG did not succeed: {states}; volumes left: {len(left)}")
        step(f"`airflow dags test {README_DAG_ID}` (the README's block): {states}; volumes left: 0")


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    try:
        expected = version()
        sdist, wheel = build(OUT / "dist")
        step(f"built {shown(sdist)} and {shown(wheel)}")
        run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], OUT / "twine.log")
        step("`twine check --strict`: PASSED for both")
        problems = check_wheel(wheel, expected) + check_sdist(sdist)
        if problems:
            raise CheckFailed("the artifacts are wrong:\n  " + "\n  ".join(problems))
        step(f"contents: {', '.join(WHEEL_DATA)}, entry points and metadata {expected}; no tests")
        with tempfile.TemporaryDirectory(prefix="neev-dist-check-") as tmp:
            venv = Path(tmp) / "venv"
            install(wheel, venv)
            step("installed the wheel with [emulator] into a new virtualenv (pinned by constraints.txt)")
            use(venv)
    except CheckFailed as failure:
        print(f"dist check FAILED: {failure}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as failure:
        output = f"{failure.stdout or ''}{failure.stderr or ''}"[-3000:]
        print(f"dist check FAILED: `{shlex.join(failure.cmd)}` exited {failure.returncode}:\n{output}")
        return 1
    print(f"dist check passed; artifacts and logs in {shown(OUT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
