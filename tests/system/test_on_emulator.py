"""The system test's DAG, unchanged, against the emulator: proof that it works before an account runs it.

Only the NEEVCLOUD_* variables differ from a real run; the DAG file, the runner and the
expectations are the ones ``test_real_api.py`` uses.
"""

from __future__ import annotations

from pathlib import Path

from neev_provider.emulator import EmulatorServer
from tests.system import runner


def emulator_env(emulator: EmulatorServer) -> dict[str, str]:
    email, password = next(iter(emulator.settings.users.items()))
    return {
        "NEEVCLOUD_HOST": emulator.url,
        "NEEVCLOUD_TOKEN": emulator.token,
        "NEEVCLOUD_ORG_ID": emulator.org_id,
        "NEEVCLOUD_PROJECT_ID": emulator.project_id,
        "NEEVCLOUD_REGION_ID": emulator.settings.regions[0],
        "NEEVCLOUD_LOGIN_EMAIL": email,
        "NEEVCLOUD_LOGIN_PASSWORD": password,
        "NEEVCLOUD_POLL_SECONDS": "0.5",
    }


def test_the_system_test_passes_against_the_emulator(neev_emulator: EmulatorServer, tmp_path: Path) -> None:
    # Long enough that each wait (bound, extended, gone) sees at least one read before the change.
    neev_emulator.configure(bind_delay=1.0, resize_delay=1.0, delete_delay=1.0)
    env = emulator_env(neev_emulator)

    run = runner.run_system_test(env, tmp_path)

    assert run.states == runner.expected_states(login=True), runner.report(run)
    assert runner.leftover_volumes(env) == []
    assert neev_emulator.volumes() == []
    calls = [(r["operation"], r["status"]) for r in neev_emulator.requests()]
    assert [op for op, _ in calls].count("createNetworkVolume") == 1
    assert ("extendNetworkVolume", 202) in calls
    assert ("deleteNetworkVolume", 204) in calls
    # The error-body check met a 404 and a 401; the login check logged in.
    assert ("getNetworkVolume", 404) in calls
    assert ("listNetworkVolumes", 401) in calls
    assert ("login", 200) in calls


def test_a_failed_step_fails_the_run_and_the_volume_is_still_deleted(
    neev_emulator: EmulatorServer, tmp_path: Path
) -> None:
    neev_emulator.configure(bind_delay=0.5, resize_delay=0.5)
    neev_emulator.script_outcome("extend", "failed")

    run = runner.run_system_test(emulator_env(neev_emulator), tmp_path)

    assert run.states["extend_volume"] == "failed", runner.report(run)
    assert run.states["check_extended"] == "upstream_failed"
    assert run.states["delete_volume"] == "success"
    # Without the watcher the run would succeed: its teardown did.
    assert run.states["watcher"] == "failed"
    assert neev_emulator.volumes() == []
