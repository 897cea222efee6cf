"""The rules that read answers: which 404 means "gone", the list envelope, the page walk, the caps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neev_provider.client import ClientConfig, NeevCloudClient, Page, TokenAuth, UnexpectedResponseError
from neev_provider.client._body import MAX_BODY_BYTES, BodyReader, decode_json
from neev_provider.client._paging import PageWalk
from neev_provider.client.errors import (
    EndpointNotFoundError,
    NotFoundError,
    error_from_response,
)
from tests.hostile.bad_server import Answer, BadServer, Request, json_answer

VID = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
OTHER = "0b6f0c7e-0000-4000-8000-000000000000"


def _body(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


NOT_FOUND_BODIES = [
    {"code": "not_found", "message": f'volume "{VID}" not found', "details": {"volume": VID}},
    {"code": "NOT_FOUND", "message": "resource not found"},
    {"code": "not_found", "message": f"no route matches GET /x/{VID}", "details": {"path": "/x"}},
    {"code": "not_found", "message": f'volume "{OTHER}" not found'},
    {"message": "no Route matched with those values"},
    b"<html>404 Not Found</html>",
    b"",
]


@pytest.mark.parametrize("body", NOT_FOUND_BODIES, ids=range(len(NOT_FOUND_BODIES)))
@pytest.mark.parametrize("route_served", [True, False], ids=["route-served", "route-missing"])
def test_a_404_on_a_volume_means_gone_when_the_projects_route_is_served_whatever_its_words(
    body: Any, route_served: bool
) -> None:
    """The status rule, never the wording: the list of the same project proves the route."""
    listing = json_answer({"volumes": [], "pagination": {"total_items": 0}})

    def route(request: Request) -> Answer:
        if request.path.endswith("/volumes") and route_served:
            return listing
        return Answer(404, _body(body), {"Content-Type": "application/json"})

    with BadServer() as server:
        server.serve(route)
        client = NeevCloudClient(
            ClientConfig(org_id="o", project_id="p", auth=TokenAuth("t0ken-x"), host=server.url)
        )
        if route_served:
            assert client.find_volume(VID) is None
            with pytest.raises(NotFoundError):
                client.delete_volume(VID)
        else:
            with pytest.raises(EndpointNotFoundError, match="the URL does not exist"):
                client.find_volume(VID)
        probes = [r for r in server.requests if r.path.endswith("/volumes")]
        assert len(probes) == 1  # proven once, then known; a missing route is asked again each time
        assert error_from_response(404, {}, _body(body)).__class__ is NotFoundError


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
