"""API dialects: the same spec, answered with other wording, order, fields and gateway pages.

Dialects that the contract monitor's closed schemas accept run on the session's emulator (so every
exchange is also checked against the spec there); ``extra-fields`` adds fields the spec allows but
the monitor's strict check refuses, so it runs on an emulator of its own and is checked leniently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import jsonschema
import pytest
import requests

from neev_provider.emulator import EmulatorServer, EmulatorSettings
from neev_provider.emulator.dialect_extras import (
    ATTACHMENT_EXTRAS,
    INSTANCE_EXTRAS,
    PAGINATION_EXTRAS,
    VOLUME_EXTRAS,
)
from neev_provider.emulator.store import Store
from tests.emulator.emulator_client import DEFAULT_BODY, ApiClient
from tests.support.spec import check_response, component

STORAGE = "/storage/api/v1beta1"


@pytest.fixture(name="dialect")
def fixture_dialect(api: ApiClient) -> Iterator[ApiClient]:
    """Return the API client; the test sets the dialect with ``api.server.configure(dialect=...)``."""
    yield api
    # Back to native for whoever uses the session's server next without resetting it.
    api.server.configure(dialect="native")


@pytest.fixture(name="extra_api")
def fixture_extra_api() -> Iterator[ApiClient]:
    """A client of a private emulator in the extra-fields dialect, checked against the open spec."""
    settings = EmulatorSettings(dialect=("extra-fields",), bind_delay=0)
    with EmulatorServer(settings) as server, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {server.token}"
        yield ApiClient(server, session, strict=False)


def _raw(api, method, path="/volumes", **kwargs):
    return api.session.request(method, api.server.api_base() + path, timeout=10, **kwargs)


# -- choosing a dialect ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("native", ("native",)),
        ((), ("native",)),
        ("", ("native",)),
        ("newest-first, Generic", ("generic", "newest-first")),
        (("html-errors", "generic", "generic"), ("generic", "html-errors")),
        (("native", "shifting"), ("shifting",)),
    ],
)
def test_settings_normalise_the_dialect(given, normalised):
    assert EmulatorSettings(dialect=given).dialect == normalised


def test_settings_refuse_an_unknown_dialect():
    with pytest.raises(ValueError, match="unknown dialect 'polite'"):
        EmulatorSettings(dialect="generic,polite")


def test_admin_patch_changes_the_dialect_until_reset(neev_emulator):
    settings = neev_emulator.configure(dialect=["html-errors", "generic"])
    assert settings["dialect"] == ["generic", "html-errors"]
    assert neev_emulator.configure(dialect="shifting")["dialect"] == ["shifting"]
    url = f"{neev_emulator.url}/_emulator/settings"
    for bad in ("polite", 3, ["generic", 3]):
        response = requests.patch(url, json={"dialect": bad}, timeout=10)
        assert response.status_code == 400, bad
        assert response.json()["details"]["field"] == "dialect"  # the admin API stays native
    neev_emulator.reset()
    assert requests.get(url, timeout=10).json()["dialect"] == ["native"]


# -- generic --------------------------------------------------------------------------------------


def test_generic_errors_say_only_the_status(dialect):
    api = dialect
    api.server.configure(dialect="generic")
    missing = str(uuid.uuid4())
    not_found = api.get(missing)
    assert not_found.status_code == 404
    assert not_found.json() == {"code": "NOT_FOUND", "message": "resource not found"}
    assert missing not in not_found.text
    bad = api.call("createNetworkVolume", "POST", "/volumes", json={**DEFAULT_BODY, "sizeGB": 0})
    assert (bad.status_code, bad.json()) == (400, {"code": "BAD_REQUEST", "message": "bad request"})
    anonymous = requests.get(api.server.api_base() + "/volumes", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"code": "UNAUTHORIZED", "message": "unauthorized"}
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"code": "INTERNAL", "message": "internal error"}),
        (503, {"code": "SERVICE_UNAVAILABLE", "message": "service unavailable"}),
        (429, {"code": "TOO_MANY_REQUESTS", "message": "too many requests"}),
    ],
)
def test_generic_wording_of_injected_faults(dialect, status, body):
    dialect.server.configure(dialect="generic")
    dialect.server.inject("status", status=status, retry_after=3)
    response = _raw(dialect, "GET")
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["Retry-After"] == "3"


def test_generic_delete_of_a_volume_in_use_is_a_bare_400(dialect):
    api = dialect
    api.server.configure(dialect="generic")
    volume = api.bound_volume()
    attachment = api.server.attach(volume["id"])
    refused = api.delete(volume["id"])
    assert refused.status_code == 400  # the spec: a 400 on delete means "in use"; the body says nothing
    assert refused.json() == {"code": "BAD_REQUEST", "message": "bad request"}
    assert "use" not in refused.text.lower()
    assert volume["id"] not in refused.text
    api.server.detach(volume["id"], attachment["id"])
    assert api.delete(volume["id"]).status_code == 204


def test_generic_route_miss_is_a_404_without_a_volume_shape(dialect):
    dialect.server.configure(dialect="generic")
    volume_id = str(uuid.uuid4())
    for path in (f"/volumes/{volume_id}/shrink", "/disks"):
        response = _raw(dialect, "GET", path)
        assert response.status_code == 404
        assert volume_id not in response.text
        assert "details" not in response.json()


def test_native_wording_is_the_default(api):
    missing = str(uuid.uuid4())
    body = api.get(missing).json()
    assert body["code"] == "not_found"
    assert body["details"] == {"volume": missing}


# -- newest-first ---------------------------------------------------------------------------------


def test_newest_first_lists_the_newest_volume_first(dialect):
    api = dialect
    api.server.configure(dialect="newest-first")
    for name in ("a", "b", "c"):
        api.create(name=name)
        api.server.advance(1)
    pages = [[v["name"] for v in api.list(limit=2, page=page).json()["volumes"]] for page in (1, 2)]
    assert pages == [["c", "b"], ["a"]]
    assert [v["name"] for v in api.server.volumes()] == ["a", "b", "c"]  # the admin list is unchanged


# -- shifting -------------------------------------------------------------------------------------


def _names(response):
    return [volume["name"] for volume in response.json()["volumes"]]


def _seed(api, foreign, own):
    for index in range(foreign):
        api.create(name=f"shift-seed-{index}")
    for index in range(own):
        api.create(name=f"own-{index}")


def test_shifting_moves_an_item_across_the_page_boundary(dialect):
    api = dialect
    api.server.configure(dialect="shifting")
    _seed(api, foreign=2, own=4)
    first = api.list(limit=3, page=1)
    assert _names(first) == ["shift-seed-0", "shift-seed-1", "own-0"]  # own-1 is first on page 2
    second = api.list(limit=3, page=2)
    # Before page 2 was read, shift-seed-0 went and a new shift-… volume came last: all moved up one.
    assert _names(second)[:2] == ["own-2", "own-3"]
    newcomer = _names(second)[2]
    assert newcomer.startswith("shift-")
    assert newcomer not in ("shift-seed-0", "shift-seed-1")
    assert first.json()["pagination"]["total_items"] == second.json()["pagination"]["total_items"] == 6
    assert "own-1" not in _names(first) + _names(second)  # the paging client never saw it
    again = api.list(limit=3, page=1)
    assert _names(again) == ["shift-seed-1", "own-0", "own-1"]  # own-1 crossed onto page 1
    events = [event["event"] for event in api.server.events()]
    assert "deleted by another client (shifting dialect)" in events


def test_shifting_newest_first_shows_an_item_twice(dialect):
    api = dialect
    api.server.configure(dialect="shifting,newest-first")
    _seed(api, foreign=2, own=4)
    first = _names(api.list(limit=3, page=1))
    second = _names(api.list(limit=3, page=2))
    assert first == ["own-3", "own-2", "own-1"]
    assert second == ["own-1", "own-0", "shift-seed-1"]  # a new shift-… volume went on top


def test_shifting_reads_of_page_one_and_lists_without_foreign_volumes_stay_still(dialect):
    api = dialect
    api.server.configure(dialect="shifting")
    _seed(api, foreign=0, own=4)
    assert _names(api.list(limit=2, page=2)) == _names(api.list(limit=2, page=2)) == ["own-2", "own-3"]
    api.create(name="shift-x")
    assert _names(api.list(limit=2, page=1)) == _names(api.list(limit=2, page=1)) == ["own-0", "own-1"]
    assert "shift-x" in [v["name"] for v in api.server.volumes()]


# -- extra-fields ---------------------------------------------------------------------------------


def _spec_properties(name):
    return set(component(name)["properties"])


@pytest.mark.parametrize(
    ("extras", "schema"),
    [
        (VOLUME_EXTRAS, "NetworkVolumeResponse"),
        (ATTACHMENT_EXTRAS, "VolumeAttachmentResponse"),
        (INSTANCE_EXTRAS, "AttachedTo"),
        (PAGINATION_EXTRAS, "ListNetworkVolumesPagination"),
    ],
)
def test_extras_are_unknown_to_the_spec(extras, schema):
    assert extras
    assert not set(extras) & _spec_properties(schema)


def _extras(document, schema):
    return set(document) - _spec_properties(schema)


def _strictly_invalid(operation, response):
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        check_response(operation, response.status_code, response.headers["content-type"], response.content)


def test_extra_fields_on_every_object(extra_api):
    api = extra_api
    instance = {"instance_id": str(uuid.uuid4()), "instance_name": "rt", "instance_type": "h100"}
    created = api.create(attachedTo=[instance], mountPath="/mnt/x")
    assert _extras(created, "NetworkVolumeResponse") == set(VOLUME_EXTRAS)
    assert _extras(created["volumeAttachments"][0], "VolumeAttachmentResponse") == set(ATTACHMENT_EXTRAS)
    assert _extras(created["airuntime_instances"][0], "AttachedTo") == set(INSTANCE_EXTRAS)

    listing = api.list()
    _strictly_invalid("listNetworkVolumes", listing)  # the extras are really there...
    body = listing.json()  # ...and the lenient check in api.list() passed: the spec allows them
    assert _extras(body, "ListNetworkVolumesResponse") == {"trace_id", "x_internal"}
    assert _extras(body["pagination"], "ListNetworkVolumesPagination") == set(PAGINATION_EXTRAS)
    assert _extras(body["volumes"][0], "NetworkVolumeResponse") == set(VOLUME_EXTRAS)

    fetched = api.get(created["id"])
    _strictly_invalid("getNetworkVolume", fetched)
    extended = api.extend(created["id"], 20)
    assert extended.status_code == 202
    assert _extras(extended.json(), "NetworkVolumeResponse") == set(VOLUME_EXTRAS)


def test_extra_fields_in_error_bodies(extra_api):
    api = extra_api
    errors = [
        api.get(str(uuid.uuid4())),
        api.call("createNetworkVolume", "POST", "/volumes", json={"sizeGB": "ten"}),
        api.call("listNetworkVolumes", "GET", "/volumes", headers={"Authorization": "Bearer nope"}),
    ]
    assert [response.status_code for response in errors] == [404, 400, 401]
    for response in errors:
        body = response.json()
        assert _extras(body, "ErrorResponse") == {"trace_id", "x_internal"}
        assert len(body["trace_id"]) == 32
    assert errors[0].json()["trace_id"] != errors[1].json()["trace_id"]


def test_extra_fields_with_generic_errors():
    with EmulatorServer(EmulatorSettings(dialect="generic,extra-fields")) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        response = requests.get(f"{server.api_base()}/volumes/{uuid.uuid4()}", headers=headers, timeout=10)
    body = response.json()
    assert set(body) == {"code", "message", "trace_id", "x_internal"}
    assert (body["code"], body["message"]) == ("NOT_FOUND", "resource not found")


# -- html-errors ----------------------------------------------------------------------------------


def _is_gateway_page(response, status):
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{status} " in response.text
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_html_errors_turn_5xx_into_gateway_pages(dialect, status):
    dialect.server.configure(dialect="html-errors")
    dialect.server.inject("status", status=status, retry_after=2)
    response = _raw(dialect, "GET")
    _is_gateway_page(response, status)
    assert response.headers["Retry-After"] == "2"


def test_html_errors_keep_json_for_what_the_spec_describes(dialect):
    api = dialect
    api.server.configure(dialect="html-errors")
    api.server.inject("status", status=429)
    limited = _raw(api, "GET")
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert api.get(str(uuid.uuid4())).json()["code"] == "not_found"  # a volume 404: the spec's JSON
    bad = api.call("createNetworkVolume", "POST", "/volumes", json={**DEFAULT_BODY, "sizeGB": 0})
    assert bad.json()["details"]["field"] == "sizeGB"


def test_html_errors_answer_route_misses_with_a_gateway_page(dialect):
    dialect.server.configure(dialect="html-errors")
    _is_gateway_page(_raw(dialect, "GET", "/disks"), 404)
    _is_gateway_page(dialect.session.get(dialect.server.url + "/nowhere", timeout=10), 404)
    _is_gateway_page(dialect.session.get(dialect.server.url + STORAGE, timeout=10), 404)
    # Under a project's volumes the service itself answers, in JSON, even where no route serves.
    for path in ("/volumes/", f"/volumes/{uuid.uuid4()}/shrink"):
        response = _raw(dialect, "GET", path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_html_errors_on_an_emulator_bug(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Store, "list_volumes", broken)
    with EmulatorServer(EmulatorSettings(dialect=("html-errors",))) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        response = requests.get(server.api_base() + "/volumes", headers=headers, timeout=10)
    _is_gateway_page(response, 500)
    assert "boom" not in response.text
