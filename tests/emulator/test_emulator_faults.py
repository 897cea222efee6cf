"""Fault injection over real HTTP, and the request journal that counts calls."""

from __future__ import annotations

import json
import logging
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from neev_provider.emulator import EmulatorServer
from tests.emulator.emulator_client import DEFAULT_BODY, ApiClient
from tests.support.spec import check_response


def _statuses(server):
    return [entry["status"] for entry in server.requests()]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_fault_then_recovery(api, status):
    api.server.inject("status", operation="listNetworkVolumes", status=status, times=2)
    first = api.session.get(api.server.api_base() + "/volumes", timeout=10)
    second = api.session.get(api.server.api_base() + "/volumes", timeout=10)
    third = api.list()
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    body = check_response(
        "listNetworkVolumes", status, first.headers["content-type"], first.content, undocumented_errors=True
    )
    assert body["details"]["fault_id"]
    assert _statuses(api.server) == [status, status, 200]
    assert [entry["fault"] for entry in api.server.requests()] == ["status", "status", None]


def test_429_carries_retry_after(api):
    api.server.inject("status", status=429, retry_after=7)
    response = api.session.get(api.server.api_base() + "/volumes", timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == "rate_limited"
    assert response.headers["x-request-id"]


def test_non_json_body_override(api):
    page = "<html><body>502 Bad Gateway</body></html>"
    api.server.inject("status", status=502, body=page, content_type="text/html")
    response = api.session.get(api.server.api_base() + "/volumes", timeout=10)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == page


def test_fault_matches_operation_and_method(api):
    volume = api.create()
    api.server.inject("status", operation="getNetworkVolume", status=503, times=5)
    api.server.inject("status", method="DELETE", status=500, times=5)
    assert api.list().status_code == 200
    assert api.session.get(api.server.api_base() + f"/volumes/{volume['id']}", timeout=10).status_code == 503
    assert (
        api.session.delete(api.server.api_base() + f"/volumes/{volume['id']}", timeout=10).status_code == 500
    )


def test_latency_fault_delays_then_answers(api):
    api.server.inject("latency", operation="listNetworkVolumes", seconds=0.3)
    started = time.monotonic()
    assert api.list().status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert api.list().status_code == 200
    assert time.monotonic() - started < 0.3


def test_drop_with_requests(api):
    api.server.inject("drop", operation="createNetworkVolume")
    with pytest.raises(requests.ConnectionError):
        api.session.post(api.server.api_base() + "/volumes", json=DEFAULT_BODY, timeout=10)
    assert api.server.volumes() == []
    assert api.list().status_code == 200  # the session recovers with a new connection
    [dropped, _] = api.server.requests()
    assert (dropped["fault"], dropped["status"]) == ("drop", None)


def test_drop_with_httpx(api):
    api.server.inject("drop", operation="listNetworkVolumes")
    headers = {"Authorization": f"Bearer {api.server.token}"}
    with httpx.Client(headers=headers) as client:
        with pytest.raises(httpx.TransportError):
            client.get(api.server.api_base() + "/volumes")
        assert client.get(api.server.api_base() + "/volumes").status_code == 200


def test_commit_then_drop_creates_volume(api):
    api.server.inject("commit_then_drop", operation="createNetworkVolume")
    with pytest.raises(requests.ConnectionError):
        api.session.post(
            api.server.api_base() + "/volumes", json={**DEFAULT_BODY, "name": "ghost"}, timeout=10
        )
    [volume] = api.server.volumes()
    assert volume["name"] == "ghost"
    assert api.list().json()["pagination"]["total_items"] == 1
    entry = api.server.requests()[0]
    assert (entry["operation"], entry["fault"], entry["status"]) == (
        "createNetworkVolume",
        "commit_then_drop",
        201,
    )


def test_commit_then_drop_with_httpx(api):
    volume = api.create()
    api.server.inject("commit_then_drop", operation="deleteNetworkVolume")
    headers = {"Authorization": f"Bearer {api.server.token}"}
    with httpx.Client(headers=headers) as client, pytest.raises(httpx.TransportError):
        client.delete(api.server.api_base() + f"/volumes/{volume['id']}")
    assert api.get(volume["id"]).status_code == 404


def test_rate_is_probabilistic_and_seeded(api):
    def run():
        api.server.reset()
        api.server.inject("status", operation="listNetworkVolumes", status=503, rate=0.5)
        return [
            api.session.get(api.server.api_base() + "/volumes", timeout=10).status_code for _ in range(40)
        ]

    first, second = run(), run()
    assert first == second  # same seed, same sequence
    assert 5 < first.count(503) < 35


def test_times_counts_down_and_clear_faults(api):
    api.server.inject("status", status=500, times=1)
    api.server.inject("status", status=503, times=1, operation="listNetworkVolumes")
    codes = [api.session.get(api.server.api_base() + "/volumes", timeout=10).status_code for _ in range(3)]
    assert codes == [500, 503, 200]
    api.server.inject("status", status=500, times=100)
    api.server.clear_faults()
    assert api.list().status_code == 200


def test_admin_is_never_faulted_nor_journalled(api):
    api.server.inject("drop", times=10)
    assert api.server.volumes() == []
    assert api.server.requests() == []


def test_journal_counts_operations(api):
    volume = api.create()
    api.get(volume["id"])
    api.get(volume["id"])
    api.session.get(api.server.url + "/nowhere", timeout=10)
    operations = [entry["operation"] for entry in api.server.requests()]
    assert operations == ["createNetworkVolume", "getNetworkVolume", "getNetworkVolume", None]
    assert all(len(entry["request_id"]) == 32 for entry in api.server.requests())


def test_bad_fault_spec_is_400(api):
    response = requests.post(api.server.url + "/_emulator/faults", json={"kind": "explode"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "kind"
    response = requests.post(
        api.server.url + "/_emulator/faults", json={"kind": "status", "operation": "nope"}, timeout=10
    )
    assert response.status_code == 400


def test_login_can_be_faulted(neev_emulator):
    neev_emulator.inject("status", operation="login", status=503)
    url = f"{neev_emulator.url}/tenant/api/v1/auth/login"
    body = {"email": "user@example.com", "password": "emulator-password"}
    assert requests.post(url, json=body, timeout=10).status_code == 503
    assert requests.post(url, json=body, timeout=10).status_code == 200
    assert [entry["operation"] for entry in neev_emulator.requests()] == ["login", "login"]


def _post_and_hang_up(api, body):
    """Send a create and close the connection at once, as a client that timed out does."""
    url = urlsplit(api.server.api_base() + "/volumes")
    payload = json.dumps(body).encode()
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {api.server.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head.encode() + payload)
        time.sleep(0.05)


@pytest.fixture(name="server_log")
def fixture_server_log():
    """What uvicorn logs (its loggers do not propagate to the root logger, so caplog misses them)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("uvicorn")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_late_commit_creates_after_the_client_gave_up(api, server_log):
    api.server.inject("late_commit", operation="createNetworkVolume", seconds=0.5)
    with pytest.raises(requests.Timeout):
        api.session.post(
            api.server.api_base() + "/volumes", json={**DEFAULT_BODY, "name": "late"}, timeout=0.1
        )
    assert api.server.volumes() == []  # the client gave up: a lookup now proves nothing
    _wait_for(lambda: len(api.server.volumes()) == 1)
    assert api.server.volumes()[0]["name"] == "late"
    entry = api.server.requests()[0]
    assert (entry["fault"], entry["status"]) == ("late_commit", 201)
    assert server_log == []  # no traceback, no noise


def test_error_then_commit_answers_504_and_commits(api, server_log):
    api.server.inject("error_then_commit", operation="createNetworkVolume", seconds=0.3)
    response = api.session.post(
        api.server.api_base() + "/volumes", json={**DEFAULT_BODY, "name": "gateway"}, timeout=10
    )
    assert response.status_code == 504
    assert response.json()["code"] == "gateway_timeout"
    assert api.server.volumes() == []
    _wait_for(lambda: len(api.server.volumes()) == 1)
    assert api.server.volumes()[0]["name"] == "gateway"
    assert server_log == []


def test_a_client_leaving_during_latency_leaves_the_log_quiet(server_log):
    # An emulator of its own, without the session's spec observer (which reads bodies up front).
    with EmulatorServer() as server, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {server.token}"
        api = ApiClient(server, session)
        server.inject("latency", seconds=0.4, times=3)
        for _ in range(2):
            with pytest.raises(requests.Timeout):
                session.get(server.api_base() + "/volumes", timeout=0.05)
        _post_and_hang_up(api, {**DEFAULT_BODY, "name": "slow"})  # a body, read after the pause
        # A slow backend still commits, once its pause is over (however busy the machine).
        _wait_for(lambda: [v["name"] for v in server.volumes()] == ["slow"], timeout=30)
        assert api.list().status_code == 200
    assert server_log == []
