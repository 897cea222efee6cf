"""The command-line entry point and the pytest plugin, each run in a subprocess."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests

from neev_provider.emulator.__main__ import main
from tests.support.emulator_process import EmulatorProcess, emulator_process

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "neev_provider.emulator.pytest_plugin"
EMULATOR = [sys.executable, "-m", "neev_provider.emulator"]


def _entry_point_installed():
    return any(entry.value == PLUGIN for entry in entry_points(group="pytest11"))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def _cli(*args: str, stderr: Path, env: dict[str, str] | None = None) -> Iterator[EmulatorProcess]:
    """A running ``python -m neev_provider.emulator --port 0 *args``; it must end cleanly on SIGTERM."""
    with emulator_process(*args, log=stderr, env=env or _env(), cwd=REPO_ROOT) as cli:
        yield cli
    assert cli.tree.process.returncode == 0


def _list_status(cli: EmulatorProcess, token: str) -> int:
    url = f"{cli.url}/storage/api/v1beta1/orgs/o/projects/p/volumes"
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_cli_serves_and_prints_connection(tmp_path):
    with _cli("--token", "cli-token", stderr=tmp_path / "stderr") as cli:
        assert cli.url.startswith("http://127.0.0.1:")
        assert cli.connection["host"] == cli.url
        assert cli.connection["password"] == "cli-token"
        assert cli.connection["extra"]["project_id"] == "prj-emulator"
        assert _list_status(cli, "cli-token") == 200


def test_cli_refuses_a_remote_host_without_the_opt_in():
    command = [*EMULATOR, "--host", "0.0.0.0", "--port", "0"]
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing was bound, no connection printed
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: --host 0.0.0.0 is not a loopback address")
    for exposed in ("token-protected Storage API", "unauthenticated admin API", "reset", "clock", "faults"):
        assert exposed in line
    assert "--allow-remote" in line


def test_cli_binds_a_remote_host_with_the_opt_in_and_warns(tmp_path):
    with _cli("--host", "0.0.0.0", "--allow-remote", stderr=tmp_path / "stderr") as cli:
        # Printed before it binds, so before the URL the start waited for.
        warning = (tmp_path / "stderr").read_text().splitlines()[0]
        assert warning.startswith("warning: binding 0.0.0.0 (--allow-remote):")
        assert "unauthenticated admin API" in warning
        assert "inject faults" in warning
        assert cli.url.startswith("http://127.0.0.1:")  # reached here over loopback
        assert _list_status(cli, "neev-emulator-token") == 200
        # The admin API still answers only a loopback Host.
        foreign = requests.get(f"{cli.url}/_emulator/settings", headers={"Host": "10.1.2.3:80"}, timeout=10)
        assert foreign.status_code == 403


def test_cli_takes_the_token_from_the_environment(tmp_path):
    env = {**_env(), "NEEV_EMULATOR_TOKEN": "env-token-42"}
    with _cli(stderr=tmp_path / "stderr", env=env) as cli:
        assert cli.connection["password"] == "env-token-42"
        assert _list_status(cli, "env-token-42") == 200
        assert _list_status(cli, "neev-emulator-token") == 401
        assert "env-token-42" not in " ".join(cli.tree.process.args)  # not in the process list
        settings = requests.get(f"{cli.url}/_emulator/settings", timeout=10)
        assert "env-token-42" not in settings.text


def test_cli_token_option_beats_the_environment(monkeypatch, capsys):
    from neev_provider.emulator.__main__ import _token, parse_args

    monkeypatch.setenv("NEEV_EMULATOR_TOKEN", "from-env")
    assert _token(parse_args(["--token", "from-option"])) == "from-option"
    assert _token(parse_args([])) == "from-env"
    monkeypatch.setenv("NEEV_EMULATOR_TOKEN", "")
    assert _token(parse_args([])) == "neev-emulator-token"
    assert main(["--token", " "]) == 2
    assert "the token is empty" in capsys.readouterr().err


def test_cli_help_prefers_the_environment_variable(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "prefer the environment variable NEEV_EMULATOR_TOKEN" in text
    assert "--allow-remote" in text
    assert "--dialect" in text


def test_cli_dialect_option(tmp_path):
    with _cli("--dialect", "generic,newest-first", stderr=tmp_path / "stderr") as cli:
        settings = requests.get(f"{cli.url}/_emulator/settings", timeout=10).json()
        assert settings["dialect"] == ["generic", "newest-first"]
        url = f"{cli.url}/storage/api/v1beta1/orgs/o/projects/p/volumes/{'0' * 8}-0000-0000-0000-{'0' * 12}"
        response = requests.get(url, headers={"Authorization": "Bearer neev-emulator-token"}, timeout=10)
        assert response.json() == {"code": "NOT_FOUND", "message": "resource not found"}


def test_cli_refuses_an_unknown_dialect(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dialect", "generic,polite"])
    assert exit_info.value.code == 2
    assert "unknown dialect 'polite'" in capsys.readouterr().err


def _run_user_tests(tmp_path, source, *options):
    """Run a user's test file in a pytest of its own, with the plugin loaded as users get it."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    # Once the package is installed the pytest11 entry point loads the plugin; asking for it again
    # with -p under a different name would make pluggy refuse the duplicate registration.
    load = [] if _entry_point_installed() else ["-p", PLUGIN]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load, "-c", os.devnull]
    return subprocess.run(
        [*command, *options, str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=60,
    )


def test_pytest_plugin_fixture(tmp_path):
    result = _run_user_tests(
        tmp_path,
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
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_pytest_plugin_dialect_option(tmp_path):
    source = """
        import uuid

        import requests

        def test_generic(neev_emulator):
            assert neev_emulator.settings.dialect == ("generic", "shifting")
            url = f"{neev_emulator.api_base()}/volumes/{uuid.uuid4()}"
            headers = {"Authorization": f"Bearer {neev_emulator.token}"}
            body = requests.get(url, headers=headers, timeout=10).json()
            assert body == {"code": "NOT_FOUND", "message": "resource not found"}
            neev_emulator.configure(dialect="native")

        def test_reset_restores_the_chosen_dialect(neev_emulator):
            settings = requests.get(neev_emulator.url + "/_emulator/settings", timeout=10).json()
            assert settings["dialect"] == ["generic", "shifting"]
        """
    result = _run_user_tests(tmp_path, source, "--neev-emulator-dialect", "shifting,generic")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    result = _run_user_tests(tmp_path, source, "--neev-emulator-dialect", "polite")
    assert result.returncode != 0
    assert "--neev-emulator-dialect: unknown dialect 'polite'" in result.stdout + result.stderr


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
