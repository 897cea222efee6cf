"""The rules that read answers: which 404 means "gone", the list envelope, the page walk, the caps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neev_provider.client import Page, UnexpectedResponseError
from neev_provider.client.body import MAX_BODY_BYTES, BodyReader, decode_json
from neev_provider.client.errors import (
    EndpointNotFoundError,
    NotFoundError,
    error_from_response,
    names_missing_resource,
)
from neev_provider.client.paging import PageWalk

VID = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
OTHER = "0b6f0c7e-0000-4000-8000-000000000000"


def _body(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("payload", "gone"),
    [
        # The emulator's answer, which is the spec's ErrorResponse for that volume.
        ({"code": "not_found", "message": f'volume "{VID}" not found', "details": {"volume": VID}}, True),
        ({"code": "NOT_FOUND", "message": "network volume not found"}, True),
        ({"code": "not_found", "message": "not found", "details": {"volume_id": VID.upper()}}, True),
        (
            {"code": "not_found", "message": f"no route matches GET /x/{VID}", "details": {"path": "/x"}},
            False,
        ),
        ({"code": "not_found", "message": f'volume "{OTHER}" not found'}, False),
        ({"code": "not_found", "message": "project not found"}, False),
        ({"message": "no Route matched with those values"}, False),
        ({"error": "not found"}, False),
        ({"code": "not_found", "message": "volume not found", "details": "x"}, False),
        (b"<html>404 Not Found</html>", False),
        (b"", False),
        ([1, 2], False),
    ],
)
def test_only_the_apis_own_not_found_for_the_volume_means_gone(payload: Any, gone: bool) -> None:
    body = _body(payload)
    assert names_missing_resource(body, VID) is gone
    error = error_from_response(404, {}, body, method="GET", url="http://h/x", resource_id=VID)
    assert type(error) is (NotFoundError if gone else EndpointNotFoundError)
    if not gone:
        assert "the URL does not exist" in str(error)


def test_a_list_in_another_envelope_is_an_error_not_an_empty_list() -> None:
    assert Page.from_api({}, page=1, limit=20).volumes == ()
    assert Page.from_api({"volumes": None}, page=1, limit=20).volumes == ()
    with pytest.raises(UnexpectedResponseError, match="'items'"):
        Page.from_api({"items": []}, page=1, limit=20)


def _volume(index: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "name": f"v{index}",
        "orgID": "o",
        "projectID": "p",
        "regionID": "r",
        "sizeGB": 1,
        "volumeMode": "block",
        "planID": "x",
        "status": "bound",
    }


def _page(indexes: range, asked: int, **pagination: Any) -> Page:
    return Page.from_api(
        {"volumes": [_volume(i) for i in indexes], "pagination": pagination}, page=asked, limit=2
    )


def test_a_page_walk_stops_at_the_page_cap() -> None:
    walk = PageWalk(limit=2, max_pages=3)
    assert walk.accept(1, _page(range(0, 2), 1))[1] == 2
    assert walk.accept(2, _page(range(2, 4), 2))[1] == 3
    with pytest.raises(UnexpectedResponseError, match="more than 3 pages"):
        walk.accept(3, _page(range(4, 6), 3))


def test_a_page_walk_yields_a_shifted_volume_once_and_ends() -> None:
    walk = PageWalk(limit=2)
    first, following = walk.accept(1, _page(range(0, 2), 1, current_page=1, total_pages=2))
    second, last = walk.accept(2, _page(range(1, 3), 2, current_page=2, total_pages=2))
    assert [v.name for v in first + second] == ["v0", "v1", "v2"]
    assert (following, last) == (2, None)


def test_the_body_cap_applies_to_the_declared_and_the_read_size() -> None:
    with pytest.raises(UnexpectedResponseError, match="8 MiB"):
        BodyReader("op", content_length=str(MAX_BODY_BYTES + 1))
    reader = BodyReader("op", content_length=None)
    reader.feed(b"x" * MAX_BODY_BYTES)
    with pytest.raises(UnexpectedResponseError, match="stopped reading"):
        reader.feed(b"x")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (b"[" * 65 + b"]" * 65, "nests deeper"),
        (b"NaN", "not JSON"),
    ],
)
def test_json_is_bounded(content: bytes, fragment: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=fragment):
        decode_json(content, "op")
    assert decode_json(b"[" * 64 + b"]" * 64, "op") is not None
