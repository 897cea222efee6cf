"""Only a local program steers the emulator: loopback Host, JSON state changes, no token shown.

A web page the emulator's user visits can reach 127.0.0.1 too: by DNS rebinding (its own domain
in ``Host``) or by a cross-site "simple" POST (form or text/plain content type). Both are refused.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.spec import schema_ref, validate

JSON = {"Content-Type": "application/json"}
FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:6338",
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "0.0.0.0",
    "192.168.1.10:6338",
    "[2001:db8::1]:6338",
    "localhost:notaport",
    "[::1",
]
LOOPBACK_HOSTS = ["127.0.0.1", "127.0.0.1:6338", "127.8.9.10:80", "localhost", "LocalHost:6338", "[::1]:6338"]


def _admin(server, method, path, **kwargs):
    return requests.request(method, f"{server.url}/_emulator{path}", timeout=10, **kwargs)


def _refused(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    validate(schema_ref("ErrorResponse"), body)  # the spec's {code, message, details}
    assert body["code"] == code
    return body


def _offset(server):
    return _admin(server, "GET", "/clock").json()["offset"]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_a_foreign_host_is_refused_on_get(neev_emulator, host):
    response = _admin(neev_emulator, "GET", "/settings", headers={"Host": host})
    body = _refused(response, 403, "forbidden_host")
    assert body["details"] == {"hosts": [host]}
    assert "bind_delay" not in response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:6338"])
def test_a_foreign_host_is_refused_on_post_and_changes_nothing(api, host):
    api.create()
    headers = {**JSON, "Host": host}
    _refused(_admin(api.server, "POST", "/reset", headers=headers), 403, "forbidden_host")
    _refused(
        _admin(api.server, "POST", "/clock/advance", json={"seconds": 60}, headers=headers),
        403,
        "forbidden_host",
    )
    _refused(
        _admin(api.server, "POST", "/faults", json={"kind": "drop", "times": 5}, headers=headers),
        403,
        "forbidden_host",
    )
    assert len(api.server.volumes()) == 1
    assert _offset(api.server) == 0
    assert _admin(api.server, "GET", "/faults").json() == {"faults": []}


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_loopback_hosts_are_served(neev_emulator, host):
    assert _admin(neev_emulator, "GET", "/clock", headers={"Host": host}).status_code == 200
    response = _admin(neev_emulator, "POST", "/clock/advance", json={"seconds": 1}, headers={"Host": host})
    assert response.status_code == 200


def test_a_request_without_host_is_refused(neev_emulator):
    url = urlsplit(neev_emulator.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"GET /_emulator/settings HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
    assert b"forbidden_host" in answer


def test_the_public_api_answers_any_host(api):
    # A real API sits behind a name; only the admin API is tied to loopback.
    url = api.server.api_base() + "/volumes"
    assert api.session.get(url, headers={"Host": "api.example"}, timeout=10).status_code == 200


def test_a_text_plain_post_is_refused(api):
    api.create()
    plain = {"Content-Type": "text/plain"}
    _refused(_admin(api.server, "POST", "/reset", headers=plain), 415, "unsupported_media_type")
    # A page's fetch() may send JSON text under text/plain without a preflight: still refused.
    response = _admin(api.server, "POST", "/faults", data='{"kind": "drop", "times": 5}', headers=plain)
    body = _refused(response, 415, "unsupported_media_type")
    assert body["details"] == {"method": "POST", "content_type": "text/plain"}
    assert len(api.server.volumes()) == 1
    assert _admin(api.server, "GET", "/faults").json() == {"faults": []}


def test_a_form_encoded_post_is_refused(api):
    response = _admin(api.server, "POST", "/clock/advance", data={"seconds": "60"})
    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    _refused(response, 415, "unsupported_media_type")
    response = _admin(api.server, "POST", "/faults", files={"kind": (None, "drop")})
    assert response.request.headers["Content-Type"].startswith("multipart/form-data")
    _refused(response, 415, "unsupported_media_type")
    assert _offset(api.server) == 0
    assert _admin(api.server, "GET", "/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/reset"), ("DELETE", "/faults"), ("DELETE", "/requests"), ("PATCH", "/settings")],
)
def test_a_state_change_without_content_type_is_refused(neev_emulator, method, path):
    response = _admin(neev_emulator, method, path)
    assert "Content-Type" not in response.request.headers
    assert _refused(response, 415, "unsupported_media_type")["details"] == {"method": method}


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
def test_a_bodiless_state_change_with_json_type_is_served(neev_emulator, content_type):
    neev_emulator.advance(5)
    response = _admin(neev_emulator, "POST", "/reset", headers={"Content-Type": content_type})
    assert response.status_code == 204
    assert _offset(neev_emulator) == 0


def test_settings_never_show_the_token(neev_emulator):
    token = neev_emulator.token
    shown = _admin(neev_emulator, "GET", "/settings")
    assert shown.json()["token"] == "(set)"
    patched = _admin(neev_emulator, "PATCH", "/settings", json={"bind_delay": 1}, headers=JSON)
    assert patched.json()["token"] == "(set)"
    assert neev_emulator.configure(resize_delay=1)["token"] == "(set)"
    for path in ("/settings", "/clock", "/volumes", "/events", "/faults", "/requests"):
        assert token not in _admin(neev_emulator, "GET", path).text, path
    assert token not in patched.text


def test_the_server_helpers_still_steer_the_emulator(neev_emulator):
    # Every helper that changes state goes through the guard; none may be refused.
    neev_emulator.configure(bind_delay=0)
    neev_emulator.advance(1)
    neev_emulator.script_outcome("extend", "failed")
    rule = neev_emulator.inject("latency", seconds=0, times=1)
    assert rule["kind"] == "latency"
    neev_emulator.clear_faults()
    neev_emulator.clear_requests()
    neev_emulator.reset()
    assert _offset(neev_emulator) == 0
