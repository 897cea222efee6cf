"""Parsing answers: every spec-valid answer parses; unknown fields and values are tolerated."""

from __future__ import annotations

from datetime import timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from neev_provider.client import ExtensionStatus, Page, UnexpectedResponseError, Volume, VolumeStatus
from neev_provider.client._paging import PageWalk
from tests.support.spec import component
from tests.support.strategies import from_schema

OTHER_ID = "0b6f0c7e-0000-4000-8000-000000000001"
THIRD_ID = "0b6f0c7e-0000-4000-8000-000000000002"
MINIMAL: dict[str, Any] = {
    "id": "1d4f0a8e-5b7c-4e2a-9f3d-6c8b7a9e0f12",
    "name": "scratch",
    "orgID": "org-a",
    "projectID": "prj-b",
    "regionID": "as-south-1",
    "sizeGB": 10,
    "volumeMode": "filesystem",
    "planID": "nv-standard",
    "status": "pending",
}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=from_schema(component("NetworkVolumeResponse")))
def test_every_spec_valid_volume_parses(data: dict[str, Any]) -> None:
    volume = Volume.from_api(data)
    assert volume.id == data["id"]
    assert volume.size_gb == data["sizeGB"]
    assert volume.status.value == data["status"]
    assert volume.to_dict() == data


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=from_schema(component("ListNetworkVolumesResponse")))
def test_every_spec_valid_list_parses(data: dict[str, Any]) -> None:
    page = Page.from_api(data, page=1, limit=20)
    assert len(page.volumes) == len(data.get("volumes", []))


def test_optional_fields_may_be_missing() -> None:
    volume = Volume.from_api(MINIMAL)
    assert volume.extension_status is None
    assert volume.actual_size_gb is None
    assert volume.capacity_gb == 10
    assert volume.attachments == ()
    assert volume.created_at is None


def test_unknown_status_values_do_not_break_parsing() -> None:
    volume = Volume.from_api({**MINIMAL, "status": "Migrating", "extension_status": "queued"})
    assert volume.status is VolumeStatus.UNKNOWN
    assert volume.extension_status is ExtensionStatus.UNKNOWN
    assert volume.raw["status"] == "Migrating"


def test_status_is_read_case_insensitively() -> None:
    assert Volume.from_api({**MINIMAL, "status": "Bound"}).status is VolumeStatus.BOUND


def test_timestamps_with_z_are_parsed_as_utc() -> None:
    volume = Volume.from_api({**MINIMAL, "createdAt": "2026-11-27T01:02:03Z"})
    assert volume.created_at is not None
    assert volume.created_at.tzinfo is not None
    assert volume.created_at.utcoffset() == timezone.utc.utcoffset(None)


@pytest.mark.parametrize("field", ["id", "status", "sizeGB", "name"])
def test_a_missing_required_field_is_named(field: str) -> None:
    data = {key: value for key, value in MINIMAL.items() if key != field}
    with pytest.raises(UnexpectedResponseError, match=field):
        Volume.from_api(data)


def test_a_walk_without_pagination_guesses_from_the_page_length() -> None:
    walk = PageWalk(limit=2)
    full = Page.from_api({"volumes": [MINIMAL, {**MINIMAL, "id": OTHER_ID}]}, page=1, limit=2)
    short = Page.from_api({"volumes": [{**MINIMAL, "id": THIRD_ID}]}, page=2, limit=2)
    assert walk.accept(1, full)[1] == 2
    assert walk.accept(2, short)[1] is None


def test_a_walk_stops_at_the_last_page_it_is_told_of() -> None:
    page = Page.from_api(
        {
            "volumes": [MINIMAL],
            "pagination": {"current_page": 3, "items_per_page": 2, "total_items": 5, "total_pages": 3},
        },
        page=3,
        limit=2,
    )
    assert PageWalk(limit=2).accept(3, page) == ([page.volumes[0]], None)


def test_a_malformed_item_is_set_aside_not_fatal() -> None:
    page = Page.from_api({"volumes": [MINIMAL, {"id": OTHER_ID, "name": "foreign"}]}, page=1, limit=20)
    assert [v.id for v in page.volumes] == [MINIMAL["id"]]
    assert page.unparsed == ({"id": OTHER_ID, "name": "foreign"},)
    assert "orgID" in str(page.unparsed_reason)
