"""``scripts/test_matrix.py``: which cells count as green, and a cell that does not end."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "test_matrix.py"
IGNORES_CTRL_C = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)\n"


@pytest.fixture(scope="module", name="matrix")
def fixture_matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_matrix_script_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _result(matrix: ModuleType, exit_code: int = 0, **counts: int) -> object:
    everything = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, **counts}
    return matrix.Result(matrix.Cell("3.11", "3.3.2"), everything, 0.0, 0.0, exit_code)


@pytest.mark.parametrize(
    ("exit_code", "counts", "green"),
    [
        (0, {"passed": 5, "skipped": 2}, True),
        (0, {"passed": 0, "skipped": 7}, False),  # every test skipped proves nothing
        (5, {}, False),  # nothing collected
        (0, {"passed": 5, "failed": 1}, False),
        (0, {"passed": 5, "errors": 1}, False),
        (1, {"passed": 5}, False),
    ],
)
def test_a_cell_is_green_only_when_tests_passed_and_none_failed(
    matrix: ModuleType, exit_code: int, counts: dict[str, int], green: bool
) -> None:
    assert _result(matrix, exit_code, **counts).green is green  # type: ignore[attr-defined]


def test_a_report_cut_off_while_written_counts_nothing_and_names_no_failure(
    matrix: ModuleType, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text('<?xml version="1.0"?><testsuites><testsuite tests="3" failures="1"><testcase')

    assert matrix._counts(junit) == {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    assert matrix._failures(junit) == []


def test_a_cell_past_its_time_is_stopped_and_marked(matrix: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "pytest.log"
    # A child that ignores Ctrl-C: only the kill after the grace period ends it.

    code = matrix._run(
        [sys.executable, "-c", IGNORES_CTRL_C], env={}, log=log, minutes=0.01, grace_seconds=0.2
    )

    assert code == matrix.CELL_TIMED_OUT
    assert "still running after 0.01 minutes: interrupted" in log.read_text()


def _started(child: str) -> subprocess.Popen[str]:
    """Start ``child`` and return once it says it is ready."""
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def test_a_stopped_cell_is_interrupted_first_so_it_can_clean_up(matrix: ModuleType) -> None:
    child = (
        "import signal, time\n"
        # Python's own Ctrl-C handling, even if this test was started with Ctrl-C ignored.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "try:\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(600)\n"
        "except KeyboardInterrupt:\n"
        "    print('cleaned up', flush=True)\n"
    )
    with _started(child) as process:
        matrix._stop(process, grace_seconds=60)

        assert process.returncode == 0
        assert process.stdout is not None
        assert process.stdout.read() == "cleaned up\n"


def test_a_stopped_cell_that_ignores_the_interrupt_is_killed(matrix: ModuleType) -> None:
    with _started(IGNORES_CTRL_C.replace("time.sleep", "print('ready', flush=True)\ntime.sleep")) as process:
        matrix._stop(process, grace_seconds=0.2)

    assert process.returncode == -signal.SIGKILL
