"""The package's rooms import only from the rooms above them (docs/architecture.rst).

Read from the source with ``ast``: every ``neev_provider`` import of every module, including those
made inside functions (the lazy ones), so that no rule is broken where nobody looks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "neev_provider"

#: For each room, the rooms (top-level parts of ``neev_provider``) it may import from.
ALLOWED: dict[str, set[str]] = {
    "client": {"client", ""},  # "" is the package itself: its __version__
    "volumes": {"volumes", "client"},
    "hooks": {"hooks", "client", "_compat", ""},
    "triggers": {"triggers", "client", "volumes", "hooks", "_compat"},
}


def room(module: str) -> str:
    """The room of a dotted ``neev_provider`` name: ``neev_provider.client._sync`` is ``client``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neev_provider"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("neev_provider"))
    return found


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_a_room_imports_only_from_the_rooms_above_it(name: str) -> None:
    broken = {
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in (PACKAGE / name).rglob("*.py")
        for module in imports(path)
        if room(module) not in ALLOWED[name]
    }
    assert broken == set()


def test_runtime_code_never_imports_the_emulator() -> None:
    runtime = [path for path in PACKAGE.rglob("*.py") if "emulator" not in path.relative_to(PACKAGE).parts]
    offenders = [str(path) for path in runtime if any(room(m) == "emulator" for m in imports(path))]
    assert offenders == []


def test_the_rooms_import_no_circle() -> None:
    """Between rooms, imports go one way only."""
    edges = {
        (room(f"neev_provider.{path.relative_to(PACKAGE).parts[0]}"), room(module))
        for path in PACKAGE.rglob("*.py")
        if len(path.relative_to(PACKAGE).parts) > 1 and path.relative_to(PACKAGE).parts[0] != "emulator"
        for module in imports(path)
    }
    edges = {(a, b) for a, b in edges if a and b and a != b}
    assert [(a, b) for a, b in edges if (b, a) in edges] == []


def test_a_dag_file_imports_no_transport() -> None:
    """Parsing a DAG file imports the operators and sensors, never an HTTP transport.

    The transports (requests with urllib3, or httpx) are loaded when a task first makes a client;
    imported at parse time they tripled what the operators cost the DAG processor on every parse
    (benchmarks/parse_cost.py). What Airflow itself loads first (requests on Airflow 2, httpx on
    3.1+) is not the provider's doing, so only what importing the provider adds is looked at.
    """
    code = (
        "import sys\n"
        "try:\n    from airflow.sdk import DAG, BaseOperator\n"
        "except ImportError:\n    from airflow.models import DAG, BaseOperator\n"
        "before = set(sys.modules)\n"
        "import neev_provider.operators, neev_provider.sensors\n"
        "print('added:', sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("added: ")]  # not a log line
    assert lines, result.stdout
    added = set(ast.literal_eval(lines[0].removeprefix("added: ")))
    transports = {"neev_provider.client._sync", "neev_provider.client._aio"}
    libraries = {"requests", "urllib3", "httpx", "httpcore", "charset_normalizer"}
    unwanted = transports | libraries
    assert sorted(m for m in added if m in unwanted or m.startswith("neev_provider.triggers")) == []
