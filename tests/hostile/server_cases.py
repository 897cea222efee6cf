"""Hostile answers: what a server can send that the emulator, faithful to the spec, never does.

Each runs against :class:`~tests.hostile.bad_server.BadServer` through the sync and the async
client, and some through the operators and the sensor, with a 1 s request timeout and no
retries unless a case says otherwise, so each call's deadline is 1 s.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from neev_provider._compat import AirflowSensorTimeout
from neev_provider.client import (
    AmbiguousRequestError,
    AuthenticationError,
    CreateVolumeRequest,
    LoginAuth,
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from neev_provider.client.errors import (
    BadRequestError,
    EndpointNotFoundError,
    UnexpectedStatusError,
)
from neev_provider.exceptions import NeevVolumeTimeoutError, result_of
from neev_provider.triggers import NeevVolumeTrigger
from neev_provider.volumes.wait import Target, VolumeWatch, wait_for_volume
from tests.hostile.bad_server import (
    Answer,
    HangUp,
    Raw,
    Request,
    Route,
    Silence,
    gzip_bomb,
    json_answer,
    volume,
)
from tests.hostile.input_cases import LONG, OTHER, VID, create, delete, sensor
from tests.hostile.runner import Case, Env, Reported, open_api

SERVERS = "malformed servers"

# -- malformed servers: the bad server, through the sync and the async client ---------------------


def _on(method: str, answer: Callable[[Request], Any]) -> Route:
    """Answer requests of ``method`` with ``answer``; anything else with a hang-up."""
    return lambda request: answer(request) if request.method == method else HangUp()


def _page(volumes: list[dict[str, Any]], **pagination: Any) -> Answer:
    return json_answer({"volumes": volumes, "pagination": pagination})


def _http(status: str, headers: str, body: bytes = b"") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}Connection: close\r\n\r\n".encode() + body


# Built once, at import: built in the server's thread, it could eat the client's 1 s budget.
_BOMB = gzip_bomb(16 * 1024 * 1024)


# 512 MiB of zeros inside two gzip layers: under a kilobyte on the wire.
_STACKED_BOMB = gzip.compress(gzip_bomb(512 * 1024 * 1024), compresslevel=9)
_DEEP = b"[" * 100_000 + b"]" * 100_000


def _reflect(request: Request, template: str) -> dict[str, Any]:
    """An error body quoting back what the request carried, as a careless server does."""
    header = request.headers.get("authorization", "")
    return {"code": "unauthorized", "message": template.format(header=header), "details": {"got": header}}


def _reflect_escaped(request: Request) -> Answer:
    token = request.headers.get("authorization", "").partition(" ")[2]
    escaped = json.dumps(token)[1:-1].replace("-", "\\u002d")
    url = quote(token, safe="")
    body = (
        '{"code": "unauthorized", "message": "token '
        + escaped
        + ' is invalid", "details": {"url": "?t='
        + url
        + '"}}'
    )
    return Answer(401, body.encode(), {"Content-Type": "application/json"})


_FULL_PAGE = [volume(f"00000000-0000-4000-8000-{index:012d}", f"v{index}") for index in range(100)]
_A_VOLUME = json_answer(volume(VID))
_BIG = b" " * (28 * 1024 * 1024)
_HUGE_SIZE = json_answer({**volume(VID), "sizeGB": 0}).body.replace(b'"sizeGB": 0', b'"sizeGB": 1e400')


def _lookup(api: Any) -> Any:
    return api.find_volume_by_name("scratch")


def _get(api: Any) -> Any:
    return api.get_volume(VID)


def _find(api: Any) -> Any:
    return api.find_volume(VID)


def _create_call(api: Any) -> Any:
    return api.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name="scratch"))


# (name, route, call, expected error, mentions, config overrides, deadline)
_MALFORMED: list[
    tuple[str, Route, Callable[[Any], Any], type[BaseException], tuple[str, ...], dict[str, Any], float]
] = [
    (
        "list envelope {'items': [...]}",
        _on("GET", lambda r: json_answer({"items": [volume(VID, "scratch")]})),
        _lookup,
        UnexpectedResponseError,
        ("'items'", "not read as an empty list"),
        {},
        1.0,
    ),
    (
        "list whose current_page never advances",
        _on("GET", lambda r: _page([volume(VID)], current_page=1, total_pages=5)),
        _lookup,
        UnexpectedResponseError,
        ("do not advance",),
        {},
        1.0,
    ),
    (
        "list that ignores the page parameter",
        _on("GET", lambda r: json_answer({"volumes": _FULL_PAGE})),
        _lookup,
        UnexpectedResponseError,
        ("repeats volumes",),
        {},
        1.0,
    ),
    (
        "list 'volumes' an object",
        _on("GET", lambda r: json_answer({"volumes": {"a": 1}})),
        _lookup,
        UnexpectedResponseError,
        ("'volumes' is not a list",),
        {},
        1.0,
    ),
    (
        "28 MB answer with Content-Length",
        _on("GET", lambda r: Answer(200, _BIG, {"Content-Type": "application/json"})),
        _lookup,
        UnexpectedResponseError,
        ("larger than the 8 MiB",),
        {},
        1.0,
    ),
    (
        "28 MB answer read until close",
        _on(
            "GET",
            lambda r: Answer(
                200, headers={"Content-Type": "application/json"}, chunks=(b" " * 65536 for _ in range(448))
            ),
        ),
        _lookup,
        UnexpectedResponseError,
        ("larger than the 8 MiB",),
        {},
        1.0,
    ),
    (
        "gzip bomb (16 MB inflated)",
        _on("GET", lambda r: Answer(200, _BOMB, {"Content-Encoding": "gzip"})),
        _get,
        UnexpectedResponseError,
        ("larger than the 8 MiB",),
        {},
        1.0,
    ),
    (
        "gzip inside gzip (a stacked bomb)",
        _on("GET", lambda r: Answer(200, _STACKED_BOMB, {"Content-Encoding": "gzip, gzip"})),
        _get,
        UnexpectedResponseError,
        ("encoded 'gzip, gzip'", "one gzip or deflate layer"),
        {},
        1.0,
    ),
    (
        "an encoding the client never asked for (br)",
        _on("GET", lambda r: Answer(200, b"\x0b\x02\x80{}\x03", {"Content-Encoding": "br"})),
        _get,
        UnexpectedResponseError,
        ("encoded 'br'",),
        {},
        1.0,
    ),
    (
        "a 401 quoting the Authorization header back",
        _on("GET", lambda r: json_answer(_reflect(r, "rejected {header}"), 401)),
        _get,
        AuthenticationError,
        ("HTTP 401",),
        {},
        1.0,
    ),
    (
        "a 401 quoting the token JSON-escaped and URL-encoded",
        _on("GET", lambda r: _reflect_escaped(r)),
        _get,
        AuthenticationError,
        ("HTTP 401",),
        {},
        1.0,
    ),
    (
        "gzip that is not gzip",
        _on("GET", lambda r: Answer(200, b"not gzip at all", {"Content-Encoding": "gzip"})),
        _get,
        UnexpectedResponseError,
        ("compressed body is broken",),
        {},
        1.0,
    ),
    (
        "JSON nested 100,000 deep",
        _on("GET", lambda r: Answer(200, _DEEP)),
        _get,
        UnexpectedResponseError,
        ("nests deeper than 64",),
        {},
        1.0,
    ),
    (
        "JSON nested 200 deep in an error body",
        _on("GET", lambda r: Answer(500, b"[" * 200 + b"]" * 200)),
        _get,
        ServerError,
        ("HTTP 500",),
        {},
        1.0,
    ),
    (
        "JSON with NaN",
        _on("GET", lambda r: Answer(200, b'{"volumes": [], "pagination": {"total_items": NaN}}')),
        _lookup,
        UnexpectedResponseError,
        ("not JSON",),
        {},
        1.0,
    ),
    (
        "HTML with 200",
        _on("GET", lambda r: Answer(200, b"<html>login</html>", {"Content-Type": "text/html"})),
        _get,
        UnexpectedResponseError,
        ("not JSON",),
        {},
        1.0,
    ),
    (
        "a JSON array for a volume",
        _on("GET", lambda r: json_answer([])),
        _get,
        UnexpectedResponseError,
        ("expected a volume object",),
        {},
        1.0,
    ),
    (
        "a volume without a string id",
        _on("GET", lambda r: json_answer({**volume(VID), "id": 5})),
        _get,
        UnexpectedResponseError,
        ("'id'",),
        {},
        1.0,
    ),
    (
        "sizeGB 1e400",
        _on("GET", lambda r: Answer(200, _HUGE_SIZE)),
        _get,
        UnexpectedResponseError,
        ("'sizeGB'",),
        {},
        1.0,
    ),
    (
        "303 after the create POST",
        _on("POST", lambda r: Answer(303, headers={"Location": "https://login.example.com/"})),
        _create_call,
        AmbiguousRequestError,
        ("redirects (303)", "login.example.com"),
        {},
        1.0,
    ),
    (
        "302 on a read",
        _on("GET", lambda r: Answer(302, headers={"Location": "https://x.example/"})),
        _get,
        UnexpectedStatusError,
        ("redirects (302)",),
        {},
        1.0,
    ),
    (
        "200 instead of 201 on create",
        _on("POST", lambda r: _A_VOLUME),
        _create_call,
        AmbiguousRequestError,
        ("answered 200",),
        {},
        1.0,
    ),
    (
        "404 HTML page on find_volume",
        _on("GET", lambda r: Answer(404, b"<html>Not Found</html>", {"Content-Type": "text/html"})),
        _find,
        EndpointNotFoundError,
        ("HTTP 404", "the URL does not exist"),
        {},
        1.0,
    ),
    (
        "404 route answer on find_volume",
        _on(
            "GET",
            lambda r: json_answer(
                {
                    "code": "not_found",
                    "message": f"no route matches GET {r.path}",
                    "details": {"path": r.path},
                },
                404,
            ),
        ),
        _find,
        EndpointNotFoundError,
        ("no route matches",),
        {},
        1.0,
    ),
    (
        "404 about another volume",
        _on(
            "GET", lambda r: json_answer({"code": "not_found", "message": f'volume "{OTHER}" not found'}, 404)
        ),
        _find,
        EndpointNotFoundError,
        ("404",),
        {},
        1.0,
    ),
    (
        "404 in another envelope",
        _on("GET", lambda r: json_answer({"error": "not found"}, 404)),
        _find,
        EndpointNotFoundError,
        ("404",),
        {},
        1.0,
    ),
    (
        "500 with a 1 MB HTML page",
        _on("GET", lambda r: Answer(500, b"<html>" + b"x" * 1_000_000, {"Content-Type": "text/html"})),
        _get,
        ServerError,
        ("non-JSON error body (text/html)",),
        {},
        1.0,
    ),
    (
        "400 with a 100,000-character message",
        _on("GET", lambda r: json_answer({"code": "bad", "message": LONG}, 400)),
        _get,
        BadRequestError,
        ("100000 characters",),
        {},
        1.0,
    ),
    (
        "a body trickled a byte at a time",
        _on(
            "GET",
            lambda r: Raw(
                b"{" + b" " * 99999, drip=0.05, first=_http("200 OK", "Content-Length: 100000\r\n")
            ),
        ),
        _get,
        NeevCloudTimeoutError,
        ("1 s",),
        {},
        1.0,
    ),
    (
        "headers trickled a byte at a time",
        _on("GET", lambda r: Raw(_http("200 OK", "X-Slow: " + "y" * 5000 + "\r\n"), drip=0.05, piece=1)),
        _get,
        NeevCloudTimeoutError,
        ("1 s",),
        {},
        1.0,
    ),
    (
        "silence after the request",
        _on("GET", lambda r: Silence(30)),
        _get,
        NeevCloudTimeoutError,
        ("1 s",),
        {},
        1.0,
    ),
    (
        "hang-up without an answer",
        _on("GET", lambda r: HangUp()),
        _get,
        NeevCloudTransportError,
        ("[GET ",),
        {},
        1.0,
    ),
    (
        "garbage instead of HTTP",
        _on("GET", lambda r: Raw(b"HELLO THERE\r\n\r\n")),
        _get,
        NeevCloudTransportError,
        ("[GET ",),
        {},
        1.0,
    ),
    (
        "a status line that is no status",
        _on("GET", lambda r: Raw(b"HTTP/1.1 abc OK\r\n\r\n")),
        _get,
        NeevCloudTransportError,
        ("[GET ",),
        {},
        1.0,
    ),
    (
        "a body shorter than its Content-Length",
        _on("GET", lambda r: Raw(_http("200 OK", "Content-Length: 1000\r\n", b"{}"))),
        _get,
        NeevCloudTransportError,
        ("[GET ",),
        {},
        1.0,
    ),
    # http.client refuses these headers, httpx reads them and then finds no volume: both clear.
    (
        "a 100 kB header line",
        _on("GET", lambda r: Raw(_http("200 OK", "X-Big: " + "z" * 100_000 + "\r\n"))),
        _get,
        NeevCloudError,
        ("reading volume",),
        {},
        1.0,
    ),
    (
        "200 headers",
        _on("GET", lambda r: Raw(_http("200 OK", "".join(f"X-H{i}: v\r\n" for i in range(200))))),
        _get,
        NeevCloudError,
        ("reading volume",),
        {},
        1.0,
    ),
    (
        "broken chunked encoding",
        _on("GET", lambda r: Raw(_http("200 OK", "Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n"))),
        _get,
        NeevCloudTransportError,
        ("[GET ",),
        {},
        1.0,
    ),
    (
        "429 asking to wait a day",
        _on(
            "GET",
            lambda r: json_answer({"code": "slow", "message": "later"}, 429, **{"Retry-After": "86400"}),
        ),
        _get,
        RateLimitError,
        ("HTTP 429",),
        {"retry": RetryPolicy(max_retries=3), "call_timeout": 2.0},
        2.0,
    ),
    (
        "503 forever, ten retries allowed",
        _on("GET", lambda r: json_answer({"code": "down", "message": "down"}, 503)),
        _get,
        ServerError,
        ("HTTP 503",),
        {"retry": RetryPolicy(max_retries=10), "call_timeout": 2.0},
        2.0,
    ),
    (
        "Retry-After nan on 503",
        _on("GET", lambda r: json_answer({"code": "down", "message": "down"}, 503, **{"Retry-After": "nan"})),
        _get,
        ServerError,
        ("HTTP 503",),
        {},
        1.0,
    ),
    (
        "202 with an empty body on extend",
        _on("POST", lambda r: Answer(202)),
        lambda api: api.extend_volume(VID, 20),
        UnexpectedResponseError,
        ("expected a volume object",),
        {},
        1.0,
    ),
]


def _malformed_case(kind: str, entry: tuple[Any, ...]) -> Case:
    name, route, call, expect, mentions, overrides, deadline = entry

    def run(env: Env) -> Any:
        env.server.serve(route)
        with open_api(kind, env.config(**overrides)) as api:
            return call(api)

    return Case(SERVERS, f"{name} ({kind})", run, expect, mentions, reaches="server", limit=deadline)


def _login_answer(env: Env, kind: str, body: Answer) -> Any:
    env.server.serve(_on("POST", lambda r: body))
    config = env.config(auth=LoginAuth("user@example.com", "hunter2-secret"))
    with open_api(kind, config) as api:
        return api.list_volumes()


_ECHOING_PASSWORD = 'hunter2/"secret'


def _echo_login(request: Request) -> Answer:
    """A FastAPI-style 422 that echoes its input, the password with it (JSON-escaped)."""
    sent = json.loads(request.body)
    detail = [{"loc": ["body", "password"], "msg": "weak password", "input": sent["password"]}]
    return Answer(422, json.dumps({"detail": detail}).encode(), {"Content-Type": "application/json"})


def _login_cases(kind: str) -> list[Case]:
    secrets = ("hunter2-secret", "tok-en")
    escaped = (_ECHOING_PASSWORD, json.dumps(_ECHOING_PASSWORD)[1:-1], 'hunter2\\/\\"secret')
    return [
        Case(
            SERVERS,
            f"a 422 on login echoing the password ({kind})",
            lambda env: _login_echo(env, kind),
            NeevCloudError,
            ("HTTP 422", "weak password"),
            reaches="server",
            secrets=escaped,
        ),
        Case(
            SERVERS,
            f"login answer's token holds a line break ({kind})",
            lambda env: _login_answer(env, kind, json_answer({"access_token": "tok-en\nX-Evil: 1"})),
            UnexpectedResponseError,
            ("access_token", "line break"),
            reaches="server",
            secrets=secrets,
        ),
        Case(
            SERVERS,
            f"login answer is HTML ({kind})",
            lambda env: _login_answer(env, kind, Answer(200, b"<html>sign in</html>")),
            UnexpectedResponseError,
            ("not JSON",),
            reaches="server",
            secrets=secrets,
        ),
    ]


def _login_echo(env: Env, kind: str) -> Any:
    env.server.serve(_on("POST", _echo_login))
    config = env.config(auth=LoginAuth("user@example.com", _ECHOING_PASSWORD))
    with open_api(kind, config) as api:
        return api.list_volumes()


def _through_airflow(
    name: str,
    route: Route,
    run: Callable[[Env], Any],
    expect: type[BaseException],
    mentions: tuple[str, ...],
    limit: float = 10.0,
) -> Case:
    def go(env: Env) -> Any:
        env.server.serve(route)
        return run(env)

    return Case(SERVERS, name, go, expect, mentions, reaches="server", limit=limit)


def _posted(env: Env) -> list[str]:
    return [f"a {r.method} reached the server" for r in env.server.requests if r.method != "GET"]


def _wait_on(env: Env) -> Any:
    env.server.serve(
        _on("GET", lambda r: Raw(b"{" * 9999, drip=0.05, first=_http("200 OK", "Content-Length: 9999\r\n")))
    )
    watch = VolumeWatch(VID, Target.BOUND, deadline=time.time() + 1.5, poll_interval=0.1)
    config = env.config(
        timeout=1.0, retry=RetryPolicy(max_retries=2)
    )  # a 63 s call budget; the wait's is 1.5 s
    with open_api("sync", config) as api:
        return result_of(wait_for_volume(api, watch), task="wait")


def _trigger_event(env: Env, route: Route) -> Reported:
    """Run a deferred wait against the server; its event's message is what Airflow stores."""
    env.server.serve(route)
    env.connect(to="server", timeout="1", max_retries="0")
    trigger = NeevVolumeTrigger(volume_id=VID, target="bound", deadline=time.time() + 2, poll_interval=0.2)

    async def events() -> list[Any]:
        return [event.payload async for event in trigger.run()]

    (event,) = asyncio.run(events())
    return Reported(event["status"] == "success", f"{event['status']}: {event['message']}")


AIRFLOW_SERVER_CASES = [
    Case(
        SERVERS,
        "a deferred wait on a 401 that quotes the token: the event does not",
        lambda env: _trigger_event(env, _on("GET", lambda r: json_answer(_reflect(r, "bad {header}"), 401))),
        None,
        ("HTTP 401",),
        reaches="server",
        limit=5.0,
    ),
    Case(
        SERVERS,
        "a deferred wait on a stacked gzip bomb",
        lambda env: _trigger_event(
            env, _on("GET", lambda r: Answer(200, _STACKED_BOMB, {"Content-Encoding": "gzip, gzip"}))
        ),
        None,
        ("encoded 'gzip, gzip'",),
        reaches="server",
        limit=5.0,
    ),
    _through_airflow(
        "delete on a server answering 404 HTML: not 'nothing to delete'",
        lambda r: Answer(404, b"<html>404</html>", {"Content-Type": "text/html"}),
        lambda env: delete(
            env, connect={"to": "server", "timeout": "1", "max_retries": "0"}, wait_for_completion=False
        ),
        EndpointNotFoundError,
        ("connection 'neevcloud_default'", "deleting volume", "HTTP 404"),
    ),
    _through_airflow(
        "delete on a route 404: not 'nothing to delete'",
        lambda r: json_answer(
            {
                "code": "not_found",
                "message": f"no route matches DELETE {r.path}",
                "details": {"path": r.path},
            },
            404,
        ),
        lambda env: delete(env, connect={"to": "server", "timeout": "1", "max_retries": "0"}),
        EndpointNotFoundError,
        ("no route matches",),
    ),
    _through_airflow(
        "sensor on a server answering 404 HTML",
        lambda r: Answer(404, b"<html>404</html>", {"Content-Type": "text/html"}),
        lambda env: sensor(env, connect={"to": "server", "timeout": "1", "max_retries": "0"}),
        EndpointNotFoundError,
        ("HTTP 404", "reading volume"),
    ),
    Case(
        SERVERS,
        "create on an {'items': [...]} list: fails before any POST",
        lambda env: (
            env.server.serve(_on("GET", lambda r: json_answer({"items": []}))),
            create(env, connect={"to": "server", "timeout": "1", "max_retries": "0"}, name="scratch"),
        ),
        UnexpectedResponseError,
        ("looking up volume 'scratch'", "'items'"),
        reaches="server",
        check=_posted,
    ),
    Case(
        SERVERS,
        "create on a list that never advances: fails before any POST",
        lambda env: (
            env.server.serve(_on("GET", lambda r: _page([volume(OTHER)], current_page=1, total_pages=9))),
            create(env, connect={"to": "server", "timeout": "1", "max_retries": "0"}),
        ),
        UnexpectedResponseError,
        ("do not advance",),
        reaches="server",
        check=_posted,
    ),
    Case(
        SERVERS,
        "poke-mode sensor on a trickling server times out naming the last failed read",
        lambda env: (
            env.server.serve(
                _on(
                    "GET",
                    lambda r: Raw(b" " * 999, drip=0.05, first=_http("200 OK", "Content-Length: 999\r\n")),
                )
            ),
            sensor(
                env,
                connect={"to": "server", "timeout": "1", "max_retries": "0"},
                timeout=1.5,
                poke_interval=0.2,
            ),
        )[1],
        AirflowSensorTimeout,
        ("not bound after", "last seen: the last read failed", "Raise `timeout`"),
        reaches="server",
        limit=3.0,
    ),
    Case(
        SERVERS,
        "a wait on a trickling server ends at its own deadline",
        _wait_on,
        NeevVolumeTimeoutError,
        ("was not bound after", "last seen"),
        reaches="server",
        limit=2.5,
    ),
]

MALFORMED_CASES = [
    *(_malformed_case(kind, entry) for entry in _MALFORMED for kind in ("sync", "async")),
    *_login_cases("sync"),
    *_login_cases("async"),
    *AIRFLOW_SERVER_CASES,
]
