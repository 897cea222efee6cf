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


#: What a DAG file's parse may load of the provider: the operators and sensors, the request rules
#: and errors they check their arguments with, and the Airflow glue their classes need.
PARSE_TIME = {
    "neev_provider._compat",
    "neev_provider.assets",
    "neev_provider.client",
    "neev_provider.client._body",
    "neev_provider.client.errors",
    "neev_provider.client.validation",
    "neev_provider.exceptions",
    "neev_provider.hooks",  # the package alone, for DEFAULT_CONN_ID (Airflow 3 loads it before)
    "neev_provider.lineage",
    "neev_provider.links",
    "neev_provider.volumes",
    "neev_provider.volumes.reap_limits",
}


def added_by(statement: str) -> set[str]:
    """The modules ``statement`` adds to a process that has Airflow loaded, as the DAG processor has."""
    code = (
        "import sys\n"
        "try:\n    from airflow.sdk import DAG, BaseOperator\n"
        "except ImportError:\n    from airflow.models import DAG, BaseOperator\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print('added:', sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("added: ")]  # not a log line
    assert lines, result.stdout
    return set(ast.literal_eval(lines[0].removeprefix("added: ")))


def test_parsing_a_dag_file_loads_only_the_operators_rules_and_errors() -> None:
    """Importing the operators and the sensor loads no model, credential, transport or lifecycle policy.

    The DAG processor imports a DAG file's operators on every parse; the rest loads when a task
    runs. Loaded eagerly, the client's models, credentials and retry policy and the lifecycle
    policies (their dataclasses, mostly) cost each parse about 20 ms, over the parse budget
    (benchmarks/parse_cost.py). What Airflow itself loads first is not the provider's doing, so
    only what importing the provider adds is looked at.
    """
    added = added_by("import neev_provider.operators, neev_provider.sensors")
    tasks = {m for m in added if m.startswith(("neev_provider.operators", "neev_provider.sensors"))}
    ours = {m for m in added if m.startswith("neev_provider.")} - tasks
    assert sorted(ours - PARSE_TIME) == []


def test_a_dag_file_imports_no_transport() -> None:
    """Parsing a DAG file imports the operators and sensors, never an HTTP transport.

    The transports (requests with urllib3, or httpx) are loaded when a task first makes a client;
    imported at parse time they tripled what the operators cost the DAG processor on every parse.
    """
    added = added_by("import neev_provider.operators, neev_provider.sensors")
    transports = {"neev_provider.client._sync", "neev_provider.client._aio"}
    libraries = {"requests", "urllib3", "httpx", "httpcore", "charset_normalizer"}
    unwanted = transports | libraries
    assert sorted(m for m in added if m in unwanted or m.startswith("neev_provider.triggers")) == []


def test_the_client_surface_is_one_table_that_the_type_checker_sees_whole() -> None:
    """``neev_provider.client`` lists its public names once, in ``_EXPORTS`` (name: module).

    Type checkers read the ``TYPE_CHECKING`` imports instead; they must name the same objects
    from the same modules, and every name must resolve at run time to what its module defines.
    """
    import importlib

    import neev_provider.client as client

    tree = ast.parse((PACKAGE / "client" / "__init__.py").read_text())
    (guarded,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    imported = [
        (node.module or "", alias)
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    # ``import X as X`` is what makes a name public to a strict type checker (it cannot read __all__).
    assert [alias.name for _, alias in imported if alias.asname != alias.name] == []
    assert [module for module, _ in imported if not module.startswith("neev_provider.client.")] == []
    for_checker = {alias.name: module.rsplit(".", 1)[1] for module, alias in imported}
    assert for_checker == client._EXPORTS
    assert client.__all__ == sorted(client._EXPORTS)
    for name, module in client._EXPORTS.items():
        defined = getattr(importlib.import_module(f"neev_provider.client.{module}"), name)
        assert getattr(client, name) is defined
    with pytest.raises(AttributeError, match="no attribute 'Volumes'"):
        client.Volumes  # noqa: B018
