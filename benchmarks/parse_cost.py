"""What the provider adds to parsing a DAG file, next to the same DAG built from EmptyOperators.

The DAG processor parses each file again and again, in a process that already has Airflow
loaded; whatever a DAG file imports is paid on every parse. Two figures, each the median of
``--runs`` fresh processes with Airflow preloaded:

- importing ``neev_provider.operators`` (goal: at most 30 ms), and with ``.sensors``; and, for
  information, ``.triggers``, which only the triggerer imports;
- executing each example DAG file, against a mirror of it in which every provider operator is an
  ``EmptyOperator`` taking the same arguments (goal: at most 2x the mirror), printed as a ratio.

Usage: ``python benchmarks/parse_cost.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "example_dags").glob("*.py"))

# Airflow is loaded before the clock starts, as in the DAG processor.
PRELOAD = """
import time, runpy, sys
try:
    from airflow.sdk import DAG, BaseOperator, task
except ImportError:
    from airflow import DAG
    from airflow.models import BaseOperator
    from airflow.decorators import task
try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator
"""

MIRROR_HEADER = '''
try:
    from airflow.providers.standard.operators.empty import EmptyOperator as _Empty
except ImportError:
    from airflow.operators.empty import EmptyOperator as _Empty
import inspect as _inspect
try:
    from airflow.sdk import BaseOperator as _Base
except ImportError:
    from airflow.models import BaseOperator as _Base
_KNOWN = set(_inspect.signature(_Base.__init__).parameters)


class _Mirror(_Empty):
    """An EmptyOperator that takes (and ignores) the provider operator's own arguments.

    Those a DAG may map over are named: expand() accepts only arguments a signature names.
    """

    def __init__(self, *, volume_id=None, name=None, size_gb=None, **kwargs):
        super().__init__(**{k: v for k, v in kwargs.items() if k in _KNOWN})


NeevCreateVolumeOperator = NeevDeleteVolumeOperator = NeevExtendVolumeOperator = _Mirror
NeevReapVolumesOperator = NeevVolumeSensor = _Mirror

import contextlib as _contextlib
import types as _types
try:
    from airflow.sdk import TaskGroup as _TaskGroup
except ImportError:
    from airflow.utils.task_group import TaskGroup as _TaskGroup


@_contextlib.contextmanager
def scratch_volume(size_gb, *, group_id=None, extend_to_fit=False, delete_options=None, **kwargs):
    """The same tasks and wiring as the provider's scratch_volume, of EmptyOperators."""
    with _TaskGroup(group_id or "scratch_volume", add_suffix_on_collision=group_id is None):
        create = _Mirror(task_id="create", **kwargs)
        delete = _Mirror(task_id="delete", **kwargs)
    with delete.as_teardown(setups=create):
        yield _types.SimpleNamespace(id=create.output["volume_id"], create=create, delete=delete)
'''

_IMPORT = re.compile(r"^from neev_provider\.[\w.]+ import (\([^)]*\)|[^\n]+)$", re.MULTILINE)


def mirror_of(source: str) -> str:
    """The DAG file with the provider's imports replaced by EmptyOperator stand-ins."""
    body = _IMPORT.sub("", source)
    head, sep, rest = body.partition("from __future__ import annotations\n")
    return head + sep + MIRROR_HEADER + rest if sep else MIRROR_HEADER + body


def timed(code: str, env: dict[str, str]) -> float:
    """Run ``PRELOAD`` then time ``code`` in a fresh interpreter; return seconds."""
    script = PRELOAD + f"\nstarted = time.perf_counter()\n{code}\nprint(time.perf_counter() - started)\n"
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def median(code: str, env: dict[str, str], runs: int) -> float:
    return statistics.median(timed(code, env) for _ in range(runs))


def side_by_side(ours: str, theirs: str, env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """The medians of ``ours``, of ``theirs`` and of their ratio, from pairs run back to back.

    Each pair meets the same load, and which of the two runs first alternates.
    """
    pairs = []
    for run in range(runs):
        if run % 2:
            theirs_time, ours_time = timed(theirs, env), timed(ours, env)
        else:
            ours_time, theirs_time = timed(ours, env), timed(theirs, env)
        pairs.append((ours_time, theirs_time))
    return (
        statistics.median(p[0] for p in pairs),
        statistics.median(p[1] for p in pairs),
        statistics.median(p[0] / p[1] for p in pairs),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neev-parse-") as tmp:
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        # As installed from a wheel: pip compiles the package's bytecode at install time, so a
        # parse never compiles the provider's sources (PYTHONDONTWRITEBYTECODE would make it).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "neev_provider")], check=True)
        # The DAG processor has a metadata database, and Airflow 2 reads it while parsing a DAG
        # scheduled on a dataset alias.
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, check=True
        )
        imports = median("import neev_provider.operators", env, args.runs)
        with_sensor = median("import neev_provider.operators, neev_provider.sensors", env, args.runs)
        trigger = median("import neev_provider.triggers", env, args.runs)
        http = (
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    PRELOAD + "\nbefore = set(sys.modules)\nimport neev_provider.operators, "
                    "neev_provider.sensors\nprint(sorted({m.split('.')[0] for m in "
                    "set(sys.modules) - before} & {'requests', 'urllib3', 'httpx', 'httpcore', 'tenacity'}))",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        print(f"import neev_provider.operators, Airflow loaded: {imports * 1000:.1f} ms (goal <= 30)")
        print(f"  ... and neev_provider.sensors: {with_sensor * 1000:.1f} ms")
        print(f"import neev_provider.triggers (the triggerer's, not a DAG file's): {trigger * 1000:.1f} ms")
        print(f"HTTP libraries importing the operators and the sensor loads: {http}")
        print(f"\n{'DAG file':<32} {'provider (ms)':>14} {'mirror (ms)':>12} {'ratio':>8}  (goal <= 2.0)")
        for path in EXAMPLES:
            mirror = Path(tmp) / f"mirror_{path.name}"
            mirror.write_text(mirror_of(path.read_text()))
            ours, theirs, ratio = side_by_side(
                f"runpy.run_path({str(path)!r})", f"runpy.run_path({str(mirror)!r})", env, args.runs
            )
            print(f"{path.name:<32} {ours * 1000:>14.1f} {theirs * 1000:>12.1f} {ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
