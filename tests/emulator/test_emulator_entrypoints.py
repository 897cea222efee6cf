"""The command-line entry point and the pytest plugin, each run in a subprocess."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "neev_provider.emulator.pytest_plugin"


def _entry_point_installed():
    return any(entry.value == PLUGIN for entry in entry_points(group="pytest11"))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def test_cli_serves_and_prints_connection():
    command = [sys.executable, "-m", "neev_provider.emulator", "--port", "0", "--token", "cli-token"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_env(), cwd=REPO_ROOT) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            export = process.stdout.readline()
            url = banner.split()[-1]
            assert url.startswith("http://127.0.0.1:")
            name, _, value = export.removeprefix("export ").strip().partition("=")
            assert name == "AIRFLOW_CONN_NEEVCLOUD_DEFAULT"
            connection = json.loads(shlex.split(value)[0])
            assert connection["host"] == url
            assert connection["password"] == "cli-token"
            assert connection["extra"]["project_id"] == "prj-emulator"
            response = requests.get(
                f"{url}/storage/api/v1beta1/orgs/o/projects/p/volumes",
                headers={"Authorization": "Bearer cli-token"},
                timeout=10,
            )
            assert response.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0


def test_pytest_plugin_fixture(tmp_path):
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_one(neev_emulator):
                url = neev_emulator.api_base() + "/volumes"
                headers = {"Authorization": f"Bearer {neev_emulator.token}"}
                body = {"sizeGB": 1, "regionID": "as-south-1", "volumeMode": "block"}
                assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 201
                assert len(neev_emulator.volumes()) == 1

            def test_two_starts_clean(neev_emulator):
                assert neev_emulator.volumes() == []
            """
        )
    )
    # Once the package is installed the pytest11 entry point loads the plugin; asking for it again
    # with -p under a different name would make pluggy refuse the duplicate registration.
    load = [] if _entry_point_installed() else ["-p", PLUGIN]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *load,
            "-c",
            os.devnull,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_cli_port_in_use_is_one_line_with_the_fix():
    import socket

    from neev_provider.emulator.__main__ import DEFAULT_PORT

    assert DEFAULT_PORT not in (8080, 8793, 8794, 5555)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "neev_provider.emulator", "--port", str(port)]
        result = subprocess.run(
            command, capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (another emulator, or Airflow?); pass --port 0 "
        "for a free port, or --port N for another one"
    ]


def test_cli_refuses_a_port_out_of_range():
    command = [sys.executable, "-m", "neev_provider.emulator", "--port", "70000"]
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 2
    assert "'70000' is not a port" in result.stderr
