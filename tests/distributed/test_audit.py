"""The run audit reads the emulator's real lifecycle events correctly."""

from __future__ import annotations

from pathlib import Path

import requests

from neev_provider.emulator import EmulatorServer
from tests.distributed import audit

BODY = {"sizeGB": 10, "regionID": "as-south-1", "volumeMode": "filesystem"}


def _create(emulator: EmulatorServer, name: str) -> str:
    response = requests.post(
        emulator.api_base() + "/volumes",
        json={**BODY, "name": name},
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    volume_id: str = response.json()["id"]
    return volume_id


def _delete(emulator: EmulatorServer, volume_id: str) -> None:
    response = requests.delete(
        f"{emulator.api_base()}/volumes/{volume_id}",
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_a_volume_deleted_before_its_name_is_reused_is_not_a_duplicate(neev_emulator: EmulatorServer) -> None:
    first = _create(neev_emulator, "trial-0")
    _delete(neev_emulator, first)
    _create(neev_emulator, "trial-0")
    _create(neev_emulator, "trial-1")

    lives = audit.lives(neev_emulator.events())

    assert [(life.name, life.deleted is None) for life in lives] == [
        ("trial-0", False),
        ("trial-0", True),
        ("trial-1", True),
    ]
    assert audit.creates_by_name(lives) == {"trial-0": 2, "trial-1": 1}
    assert audit.peak_alive_by_name(lives) == {"trial-0": 1, "trial-1": 1}
    assert [life.name for life in audit.alive_at_end(lives)] == ["trial-0", "trial-1"]


def test_two_volumes_alive_under_one_name_are_a_duplicate(neev_emulator: EmulatorServer) -> None:
    first = _create(neev_emulator, "trial-0")
    second = _create(neev_emulator, "trial-0")
    _delete(neev_emulator, first)
    _delete(neev_emulator, second)

    lives = audit.lives(neev_emulator.events())

    assert audit.peak_alive_by_name(lives) == {"trial-0": 2}
    assert audit.alive_at_end(lives) == []


def test_a_terminated_volume_is_alive_until_it_is_gone(neev_emulator: EmulatorServer) -> None:
    neev_emulator.configure(delete_delay=30)
    first = _create(neev_emulator, "trial-0")
    _delete(neev_emulator, first)  # terminated, gone in 30 s
    _create(neev_emulator, "trial-0")

    lives = audit.lives(neev_emulator.events())

    assert audit.peak_alive_by_name(lives) == {"trial-0": 2}
    neev_emulator.advance(31)
    neev_emulator.volumes()  # the deletion is applied when something reads the volumes
    lives = audit.lives(neev_emulator.events())
    assert [life.deleted is None for life in lives] == [False, True]
    assert audit.peak_alive_by_name(lives) == {"trial-0": 2}


def test_files_containing_a_secret_are_found_in_nested_folders(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "task.log").write_text("token pat-nc-123 leaked")
    (tmp_path / "a" / "clean.log").write_text("nothing to see: ***")

    assert audit.files_containing(tmp_path, "pat-nc-123") == [tmp_path / "a" / "b" / "task.log"]
