"""Every client method against the emulator, sync and async alike."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider.client import (
    CreateVolumeRequest,
    DuplicateVolumeNameError,
    ExtensionStatus,
    NotFoundError,
    Volume,
    VolumeStatus,
)
from neev_provider.emulator import EmulatorServer


def create(api: Any, name: str, size_gb: int = 10, **kwargs: Any) -> Volume:
    volume: Volume = api.create_volume(
        CreateVolumeRequest(size_gb=size_gb, region_id="as-south-1", name=name, **kwargs)
    )
    return volume


def test_create_then_get_follows_the_lifecycle(api: Any, neev_emulator: EmulatorServer) -> None:
    created = create(api, "scratch-a", size_gb=25, volume_mode="block", mount_path="/mnt/scratch")

    assert created.status is VolumeStatus.PENDING
    assert (created.name, created.size_gb, created.volume_mode, created.region_id) == (
        "scratch-a",
        25,
        "block",
        "as-south-1",
    )
    assert (created.org_id, created.project_id) == (neev_emulator.org_id, neev_emulator.project_id)
    assert created.created_at is not None

    neev_emulator.advance(60)
    fetched = api.get_volume(created.id)
    assert fetched.id == created.id
    assert fetched.status is VolumeStatus.BOUND
    assert fetched.to_dict()["status"] == "bound"


def test_extend_reports_progress_then_the_new_size(api: Any, neev_emulator: EmulatorServer) -> None:
    volume = create(api, "grow-me", size_gb=10)
    neev_emulator.advance(60)

    extending = api.extend_volume(volume.id, 40)
    assert extending.extension_status is ExtensionStatus.RESIZING

    neev_emulator.advance(60)
    done = api.get_volume(volume.id)
    assert done.extension_status is ExtensionStatus.SUCCEEDED
    assert done.size_gb == 40
    assert done.capacity_gb == 40


def test_delete_removes_the_volume(api: Any, neev_emulator: EmulatorServer) -> None:
    volume = create(api, "short-lived")
    api.delete_volume(volume.id)
    with pytest.raises(NotFoundError):
        api.get_volume(volume.id)
    assert neev_emulator.volumes() == []


def test_list_volumes_returns_one_page_with_truthful_pagination(api: Any) -> None:
    for index in range(5):
        create(api, f"listed-{index}")

    page = api.list_volumes(page=2, limit=2)

    assert [v.name for v in page.volumes] == ["listed-2", "listed-3"]
    assert (page.page, page.limit, page.total_items, page.total_pages) == (2, 2, 5, 3)


def test_iter_volumes_walks_every_page(api: Any, neev_emulator: EmulatorServer) -> None:
    names = [f"many-{index:02d}" for index in range(7)]
    for name in names:
        create(api, name)

    seen = [volume.name for volume in api.iter_volumes(limit=3)]

    assert seen == names
    pages_fetched = [r for r in neev_emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert len(pages_fetched) == 3


def test_available_filter_lists_only_bound_volumes(api: Any, neev_emulator: EmulatorServer) -> None:
    bound = create(api, "old-one")
    neev_emulator.advance(60)
    create(api, "new-one")

    assert [v.id for v in api.iter_volumes(available=True)] == [bound.id]
    assert len(list(api.iter_volumes(available=False))) == 2


def test_find_volume_by_name(api: Any) -> None:
    wanted = create(api, "needle")
    create(api, "hay")

    assert api.find_volume_by_name("needle").id == wanted.id
    assert api.find_volume_by_name("missing") is None


def test_find_volume_by_name_refuses_to_guess_between_duplicates(api: Any) -> None:
    first = create(api, "twin")
    second = create(api, "twin")

    with pytest.raises(DuplicateVolumeNameError) as caught:
        api.find_volume_by_name("twin")
    assert set(caught.value.volume_ids) == {first.id, second.id}


def test_org_and_project_can_be_overridden_per_call(api: Any) -> None:
    other = api.create_volume(
        CreateVolumeRequest(size_gb=5, region_id="as-south-1", name="elsewhere"),
        org_id="org-other",
        project_id="prj-other",
    )

    assert other.org_id == "org-other"
    assert api.find_volume_by_name("elsewhere") is None
    assert api.get_volume(other.id, org_id="org-other", project_id="prj-other").name == "elsewhere"
    with pytest.raises(NotFoundError):
        api.get_volume(other.id)


def test_attached_instances_are_sent_and_reported(api: Any) -> None:
    instance = {
        "instance_id": "6b0f7f9e-7d0a-4c55-9b8e-3f4f4b1f2a10",
        "instance_name": "trainer-0",
        "instance_type": "gpu-h100",
    }
    volume = create(api, "shared", attached_to=(instance,))

    assert volume.raw["airuntime_instances"] == [instance]
    assert [a.resource_name for a in volume.mounted_attachments] == ["trainer-0"]


def test_find_volume_answers_none_for_a_missing_volume(api: Any) -> None:
    volume = create(api, "findable")

    assert api.find_volume(volume.id).id == volume.id
    api.delete_volume(volume.id)
    assert api.find_volume(volume.id) is None
