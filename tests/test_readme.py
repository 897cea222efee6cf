"""The README's "In a DAG" snippet, exactly as a newcomer pastes it, in a new Airflow home."""

from __future__ import annotations

import re
from pathlib import Path

from neev_provider.emulator import EmulatorServer
from tests.support.airflow_cli import AirflowCLI
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_dag(*, airflow_2: bool = False) -> str:
    """The first Python block of the README's "In a DAG" section, verbatim.

    :param airflow_2: with the import line its comment gives for Airflow 2.
    """
    section = README.read_text().split("\n## In a DAG\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert match, "the README's 'In a DAG' section has no python block"
    source = match.group(1)
    if airflow_2:
        source = re.sub(
            r"^(.*)# Airflow 2: (.*)$", lambda m: m.group(2).replace("; ", "\n"), source, flags=re.M
        )
    return source


def test_the_readme_dag_is_a_dozen_lines_with_the_volume_in_one_block() -> None:
    source = readme_dag()
    lines = [line for line in source.splitlines() if line.strip()]
    assert len(lines) <= 12, lines
    assert "with scratch_volume(" in source


def test_the_readme_dag_runs_as_pasted(neev_emulator: EmulatorServer, tmp_path: Path) -> None:
    source = readme_dag(airflow_2=not AIRFLOW_V_3_0_PLUS)
    (dag_id,) = re.findall(r'dag_id="([^"]+)"', source)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "scratch_volume.py").write_text(source)
    # The connection a newcomer exports from the emulator's start-up message; nothing else is set.
    cli = AirflowCLI(
        home=tmp_path / "airflow-home",
        dags_folder=dags,
        env={"AIRFLOW_CONN_NEEVCLOUD_DEFAULT": neev_emulator.airflow_connection()},
    )
    cli.migrate()

    run = cli.dags_test(dag_id, log=tmp_path / "dags-test.log")

    tasks = ["scratch_volume.create", "train", "scratch_volume.delete"]
    assert run.states == dict.fromkeys(tasks, "success"), f"exit {run.returncode}: {run.states}; {run.log}"
    assert "training on volume" in run.log.read_text()
    assert neev_emulator.volumes() == []
