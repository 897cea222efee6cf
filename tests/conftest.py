"""Test-wide setup: a private AIRFLOW_HOME, and the spec check of every exchange with the emulator.

No test touches a real Airflow install. The session's emulator (the ``neev_emulator_server``
fixture of the ``neev_provider.emulator.pytest_plugin`` plugin, overridden here) queues every
public-API exchange, and an autouse fixture checks them against the OpenAPI spec with openapi-core
(see ``tests/support/contract.py``), failing the test during which a violation happened.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from neev_provider.emulator import EmulatorServer, EmulatorSettings
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS
from tests.support.contract import ContractMonitor, fail_on_violations

# Airflow reads its configuration at import time, so this must run before any test module
# imports it. conftest.py is imported before test modules are collected (and nothing imported
# above imports Airflow).
_HOME = Path(tempfile.mkdtemp(prefix="neev-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# The installation's own id, as the docs ask every deployment to set (tests of the derived one
# and of what the provider does without one remove it).
os.environ.setdefault("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "neevcloud-tests")
if not AIRFLOW_V_3_0_PLUS:
    # Airflow 2's unit-test configuration picks the LocalExecutor, which refuses SQLite, and
    # dag.test() there consults the default executor. Airflow 3 has no such check.
    os.environ.setdefault("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")


def _dags_folder() -> Path:
    """Copy the example DAGs and the test DAGs into one private DAGs folder.

    ``dag.test()`` runs only DAGs from files under ``[core] dags_folder`` (from Airflow 3.1),
    and the repository root cannot be that folder: Airflow would walk into ``.venv``.
    """
    folder = _HOME / "dags"
    folder.mkdir()
    root = Path(__file__).resolve().parent.parent
    for source in [*(root / "example_dags").glob("*.py"), *(root / "tests" / "dags").glob("*.py")]:
        shutil.copy(source, folder / source.name)
    return folder


os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(_dags_folder()))

#: Checks every exchange the session's emulator observes; its counts end the session's report.
CONTRACT = ContractMonitor()
_SCHEMATHESIS: list[str] = []


@pytest.fixture(scope="session", name="neev_emulator_server")
def fixture_neev_emulator_server(neev_emulator_settings: EmulatorSettings) -> Iterator[EmulatorServer]:
    """Run the session's emulator with the contract monitor as its observer."""
    with EmulatorServer(neev_emulator_settings, observer=CONTRACT.observe) as server:
        yield server


@pytest.fixture(name="contract_monitor", scope="session")
def fixture_contract_monitor() -> ContractMonitor:
    """Return the monitor that checks the session emulator's exchanges."""
    return CONTRACT


@pytest.fixture(autouse=True, name="_contract_check")
def fixture_contract_check() -> Iterator[None]:
    """Fail the test if an exchange made during it (or its fixtures) broke the spec."""
    fail_on_violations(CONTRACT, "before this test, while its fixtures were set up")
    yield
    fail_on_violations(CONTRACT, "during this test")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the case counts the schemathesis run reports (``tests/contract/test_schemathesis.py``)."""
    _SCHEMATHESIS.extend(str(value) for name, value in report.user_properties if name == "schemathesis")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Quote how much the contract checks covered: openapi-core's counts, schemathesis' cases."""
    if CONTRACT.counts["exchanges"]:
        terminalreporter.write_line(CONTRACT.summary())
    for line in _SCHEMATHESIS:
        terminalreporter.write_line(f"schemathesis {line}")
