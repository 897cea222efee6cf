"""Hostile input: what a user can get wrong in operator and sensor arguments, connection
fields and extras, and client calls. Validation must stop each before any request, with a
message naming the field and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from neev_provider._compat import AirflowSensorTimeout
from neev_provider.client import (
    AuthenticationError,
    ClientConfig,
    CreateVolumeRequest,
    LoginAuth,
    NeevCloudTransportError,
    NeevCloudValidationError,
    NotFoundError,
    RetryPolicy,
    TokenAuth,
)
from neev_provider.client.errors import (
    NeevCloudConfigurationError,
)
from neev_provider.exceptions import NeevVolumeFailedError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.sensors import NeevVolumeSensor
from neev_provider.volumes.wait import Target, VolumeWatch
from tests.hostile.runner import Case, Env, Reported, context, open_api

VID = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
OTHER = "0b6f0c7e-0000-4000-8000-000000000000"
LONG = "x" * 100_000
LEAKY = "pat-nc-leaky"  # the visible part of a malformed token; it must never be echoed

CONNECTION = "connection extras"
HOOK = "hook"
CLIENT = "client"
SENSOR = "sensor"
OPERATORS = "operators"

# -- connection extras and fields: read through the hook, refused before any request ------------


def _connection(name: str, mentions: tuple[str, ...], secrets: tuple[str, ...] = (), **connect: Any) -> Case:
    def run(env: Env) -> Any:
        env.connect(**connect)
        return NeevCloudHook().get_conn()

    return Case(CONNECTION, name, run, NeevCloudConfigurationError, mentions, secrets=secrets)


CONNECTION_CASES = [
    _connection("extra is not JSON", ("extra", "not valid JSON", "neevcloud_default"), raw_extra="{bad json"),
    _connection("extra is a JSON list", ("not an object",), raw_extra="[1, 2]"),
    _connection("org_id missing", ('"org_id"', "extra.org_id is not set"), drop=("org_id",)),
    _connection("project_id missing", ('"project_id"',), drop=("project_id",)),
    _connection(
        "org, project and token missing, all at once",
        ("3 problems", "password is not set", "extra.org_id", "extra.project_id"),
        drop=("org_id", "project_id", "password"),
    ),
    _connection("org_id '..'", ("extra.org_id='..'", "request path"), org_id=".."),
    _connection("org_id '.'", ("extra.org_id='.'",), org_id="."),
    _connection("project_id with '/'", ("extra.project_id", "'/'"), project_id="a/b"),
    _connection("project_id with '?'", ("'?'",), project_id="p?x=1"),
    _connection("org_id with '#'", ("'#'",), org_id="o#x"),
    _connection("org_id percent-encoded dots", ("'%'",), org_id="%2e%2e"),
    _connection("project_id with a space", ("a space",), project_id="prj x"),
    _connection("org_id with a line break", ("line break",), org_id="org\nx"),
    _connection("org_id of 100,000 characters", ("extra.org_id", "at most 128"), org_id=LONG),
    _connection("auth_type unknown", ("extra.auth_type", "token, login"), auth_type="oauth"),
    _connection("timeout 'nan'", ("extra.timeout", "finite"), timeout="nan"),
    _connection("timeout 'inf'", ("extra.timeout", "finite"), timeout="inf"),
    _connection("timeout 1e309", ("extra.timeout",), timeout="1e309"),
    _connection("timeout negative", ("extra.timeout",), timeout="-1"),
    _connection("timeout zero", ("extra.timeout",), timeout="0"),
    _connection("timeout of a day", ("extra.timeout", "at most 3600"), timeout=86400),
    _connection("timeout a word", ("extra.timeout",), timeout="soon"),
    _connection("max_retries a million", ("extra.max_retries", "0 to 10"), max_retries="1000000"),
    _connection("max_retries negative", ("extra.max_retries",), max_retries="-1"),
    _connection("max_retries a word", ("extra.max_retries",), max_retries="often"),
    _connection("max_retries a fraction", ("extra.max_retries",), max_retries=2.5),
    _connection("verify a missing CA bundle", ("extra.verify", "no file"), verify="/missing/ca.pem"),
    _connection("verify a word", ("extra.verify",), verify="maybe"),
    _connection("host javascript:", ("host='javascript:alert(1)'",), host="javascript:alert(1)"),
    _connection("host with a port that is no number", ("host", "port"), host="127.0.0.1:notaport"),
    _connection("host port out of range", ("host", "port"), host="127.0.0.1", port=99999),
    _connection("host plain http, not loopback", ("must use https",), host="http://api.ai.neevcloud.com"),
    _connection("host ending in '/?'", ("'?' or '#'",), host="https://api.ai.neevcloud.com/?"),
    _connection("host with a fragment", ("'?' or '#'",), host="https://api.ai.neevcloud.com/#top"),
    _connection(
        "host with credentials",
        ("must not carry credentials",),
        ("s3cret-pw",),
        host="https://u:s3cret-pw@x.io",
    ),
    _connection(
        "host is a full endpoint URL",
        ("not an API path", "'https://api.ai.neevcloud.com'"),
        host="https://api.ai.neevcloud.com/storage/api/v1beta1/orgs/o/projects/p/volumes",
    ),
    _connection("host with a dot segment", ("host",), host="https://api.ai.neevcloud.com/../x"),
    _connection("host with a space", ("a space",), host="https://api .ai.neevcloud.com"),
    _connection("host ftp", ("must be a URL",), host="ftp://api.ai.neevcloud.com"),
    _connection("host not ASCII", ("xn--",), host="https://apí.example.com"),
    _connection("token empty", ("password is not set", "API token"), password=""),
    _connection("token with a line break", ("line break", "(hidden)"), (LEAKY,), password=f"{LEAKY}\nrest"),
    _connection(
        "token with CR LF header injection", ("carriage return",), (LEAKY,), password=f"{LEAKY}\r\nX-A: 1"
    ),
    _connection("token with a zero-width space", ("ZERO WIDTH SPACE",), (LEAKY,), password=f"{LEAKY}\u200b"),
    _connection("token with a non-Latin-1 letter", ("non-ASCII",), (LEAKY,), password=f"{LEAKY}\u0436"),
    _connection("token with a space inside", ("a space",), (LEAKY,), password=f"{LEAKY} more"),
    _connection("token 'Bearer ' and nothing", ("password", "only the word 'Bearer'"), password="Bearer   "),
    _connection("login mode without an e-mail", ("login is not set", "auth_type"), auth_type="login"),
    _connection(
        "login mode password with a NUL",
        ("password", "control character"),
        ("hunter2",),
        auth_type="login",
        login="user@example.com",
        password="hunter2\x00",
    ),
    _connection(
        "login mode e-mail with a line break",
        ("login", "line break"),
        auth_type="login",
        login="user@example.com\nBcc: x",
        password="emulator-password",
    ),
]


# -- the hook: test_connection and the connection named in API and transport errors -------------


def _test_connection(env: Env, **connect: Any) -> Reported:
    env.connect(**connect)
    ok, message = NeevCloudHook(connect.get("conn_id", "neevcloud_default")).test_connection()
    return Reported(ok, message)


def _hook_get(env: Env, **connect: Any) -> Any:
    env.connect(**connect)
    return NeevCloudHook().client.get_volume(VID)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HOOK_CASES = [
    Case(
        HOOK,
        "UI test under a temporary id names 'the connection being tested'",
        lambda env: _test_connection(env, conn_id="uK8TdCiY", drop=("org_id", "project_id")),
        NeevCloudConfigurationError,
        ("the connection being tested", "extra.org_id", "extra.project_id"),
    ),
    Case(
        HOOK,
        "CLI test of a wrong token names the connection and the 401",
        lambda env: _test_connection(env, password="pat-nc-wrong-one"),
        AuthenticationError,
        ("connection 'neevcloud_default'", "401", "listing the volumes"),
        reaches="emulator",
        secrets=("pat-nc-wrong-one",),
    ),
    Case(
        HOOK,
        "401 on a read names the connection and the operation",
        lambda env: _hook_get(env, password="pat-nc-wrong-one"),
        AuthenticationError,
        ("connection 'neevcloud_default'", f"reading volume {VID}", "HTTP 401"),
        reaches="emulator",
        secrets=("pat-nc-wrong-one",),
    ),
    Case(
        HOOK,
        "connection refused names the connection and the operation",
        lambda env: _hook_get(env, host=f"http://127.0.0.1:{_closed_port()}", max_retries="0"),
        NeevCloudTransportError,
        ("connection 'neevcloud_default'", "reading volume", "could not connect"),
    ),
    Case(
        HOOK,
        "a volume that never existed: not found in the scope, check the id",
        lambda env: _hook_get(env),
        NotFoundError,
        ("not found in org 'org-emulator', project 'prj-emulator'", "check the id and the scope"),
        reaches="emulator",
    ),
    Case(
        HOOK,
        "task override org_id '..'",
        lambda env: (env.connect(), NeevCloudHook(org_id="..").get_conn()),
        NeevCloudConfigurationError,
        ("org_id='..'",),
    ),
]


# -- the client without Airflow -------------------------------------------------------------------


def _config(**values: Any) -> ClientConfig:
    base: dict[str, Any] = {"org_id": "org-a", "project_id": "prj-b", "auth": TokenAuth("pat-nc-ok")}
    return ClientConfig(**{**base, **values})


def _emulator_api(env: Env, call: Callable[[Any], Any], kind: str = "sync") -> Any:
    config = ClientConfig(
        org_id=env.emulator.org_id,
        project_id=env.emulator.project_id,
        auth=TokenAuth(env.token),
        host=env.emulator.url,
    )
    with open_api(kind, config) as api:
        return call(api)


def _client(name: str, run: Callable[[Env], Any], mentions: tuple[str, ...], **options: Any) -> Case:
    return Case(CLIENT, name, run, options.pop("expect", NeevCloudValidationError), mentions, **options)


CLIENT_CASES = [
    _client(
        "get_volume with a malformed id",
        lambda env: _emulator_api(env, lambda a: a.get_volume("vol-1")),
        ("volume_id='vol-1'", "UUID"),
    ),
    _client(
        "get_volume with a 100,000-character id",
        lambda env: _emulator_api(env, lambda a: a.get_volume(LONG)),
        ("volume_id=", "100000 characters"),
    ),
    _client(
        "org override '..' on a call",
        lambda env: _emulator_api(env, lambda a: a.get_volume(VID, org_id="..")),
        ("org_id='..'",),
    ),
    _client(
        "project override with '/' (async)",
        lambda env: _emulator_api(env, lambda a: a.delete_volume(VID, project_id="p/../q"), "async"),
        ("project_id", "'/'"),
    ),
    _client("ClientConfig org_id '..'", lambda env: _config(org_id=".."), ("org_id='..'",)),
    _client("ClientConfig timeout nan", lambda env: _config(timeout=math.nan), ("timeout=nan", "finite")),
    _client("ClientConfig timeout inf", lambda env: _config(timeout=math.inf), ("timeout=inf",)),
    _client("ClientConfig call_timeout nan", lambda env: _config(call_timeout=math.nan), ("call_timeout",)),
    _client(
        "ClientConfig verify a missing file",
        lambda env: _config(verify="/missing/ca.pem"),
        ("verify", "no file"),
    ),
    _client(
        "RetryPolicy a million retries",
        lambda env: RetryPolicy(max_retries=10**6),
        ("max_retries", "0 to 10"),
    ),
    _client("RetryPolicy max_delay nan", lambda env: RetryPolicy(max_delay=math.nan), ("max_delay",)),
    _client(
        "RetryPolicy max_retry_after inf",
        lambda env: RetryPolicy(max_retry_after=math.inf),
        ("max_retry_after",),
    ),
    _client(
        "create size_gb '²'",
        lambda env: CreateVolumeRequest(size_gb="²", region_id="as-south-1"),
        ("size_gb='²'",),
    ),  # type: ignore[arg-type]
    _client(
        "create size_gb nan",
        lambda env: CreateVolumeRequest(size_gb=math.nan, region_id="as-south-1"),
        ("size_gb=nan",),
    ),  # type: ignore[arg-type]
    _client(
        "create a 100,000-character name",
        lambda env: CreateVolumeRequest(size_gb=1, region_id="r", name=LONG),
        ("name=", "100000 characters"),
    ),
    _client(
        "create a region with a line break",
        lambda env: CreateVolumeRequest(size_gb=1, region_id="as-south-1\n"),
        ("region_id",),
    ),
    _client(
        "create a mount path with a NUL",
        lambda env: CreateVolumeRequest(size_gb=1, region_id="r", mount_path="/mnt/\x00"),
        ("mount_path",),
    ),
    _client(
        "find_volume_by_name ''",
        lambda env: _emulator_api(env, lambda a: a.find_volume_by_name("")),
        ("name=''",),
    ),
    _client("list limit 0", lambda env: _emulator_api(env, lambda a: a.list_volumes(limit=0)), ("limit=0",)),
    _client(
        "list page nan (async)",
        lambda env: _emulator_api(env, lambda a: a.list_volumes(page=math.nan), "async"),
        ("page=nan",),
    ),
    _client(
        "extend to 2000 GB",
        lambda env: _emulator_api(env, lambda a: a.extend_volume(VID, 2000)),
        ("size_gb=2000",),
    ),
    _client(
        "TokenAuth with a tab inside",
        lambda env: TokenAuth(f"{LEAKY}\tx"),
        ("token=(hidden)", "a tab"),
        secrets=(LEAKY,),
    ),
    _client(
        "LoginAuth password with a BOM",
        lambda env: LoginAuth("u@example.com", "pw\ufeffpw"),
        ("password=(hidden)", "ZERO WIDTH NO-BREAK SPACE"),
        secrets=("pw\ufeffpw",),
    ),
    _client(
        "VolumeWatch poll_interval nan",
        lambda env: VolumeWatch(VID, Target.BOUND, deadline=1e9, poll_interval=math.nan),
        ("poll_interval=nan",),
    ),
    _client(
        "VolumeWatch poll_interval 1e-9 (a busy loop)",
        lambda env: VolumeWatch(VID, Target.BOUND, deadline=1e9, poll_interval=1e-9),
        ("poll_interval", "0.01"),
    ),
    _client(
        "VolumeWatch deadline inf",
        lambda env: VolumeWatch(VID, Target.BOUND, deadline=math.inf, poll_interval=1),
        ("deadline=inf",),
    ),
    _client(
        "get_volume of an id that never existed (async)",
        lambda env: _emulator_api(env, lambda a: a.get_volume(OTHER), "async"),
        ("not found in org 'org-emulator', project 'prj-emulator'", "check the id and the scope"),
        expect=NotFoundError,
        reaches="emulator",
    ),
]


# -- the sensor -----------------------------------------------------------------------------------


def sensor(env: Env, volume_id: str = VID, **kwargs: Any) -> Any:
    env.connect(**kwargs.pop("connect", {}))
    values: dict[str, Any] = {"task_id": "wait_bound", "poke_interval": 0.05, "timeout": 30, "mode": "poke"}
    values.update(kwargs)
    return NeevVolumeSensor(volume_id=volume_id, **values).execute(context())


def _pending_volume(env: Env) -> str:
    env.connect()
    created = NeevCloudHook().client.create_volume(
        CreateVolumeRequest(size_gb=1, region_id="as-south-1", name="held")
    )
    env.emulator.set_state(created.id, status="pending")  # a forced state stays until changed
    return created.id


def _delete_all(env: Env) -> None:
    env.connect()
    client = NeevCloudHook().client
    for each in client.iter_volumes():
        client.delete_volume(each.id)


def _held_volume(env: Env) -> str:
    return str(env.emulator.volumes()[0]["id"])


SENSOR_CASES = [
    Case(
        SENSOR,
        "timeout nan",
        lambda env: sensor(env, timeout=math.nan),
        NeevCloudValidationError,
        ("timeout=nan",),
    ),
    Case(
        SENSOR,
        "timeout inf",
        lambda env: sensor(env, timeout=math.inf),
        NeevCloudValidationError,
        ("timeout=inf",),
    ),
    Case(
        SENSOR,
        "timeout a timedelta of 10**6 days",
        lambda env: sensor(env, timeout=timedelta(days=10**6)),
        NeevCloudValidationError,
        ("timeout",),
    ),
    Case(
        SENSOR,
        "poke_interval nan",
        lambda env: sensor(env, poke_interval=math.nan),
        NeevCloudValidationError,
        ("poke_interval=nan",),
    ),
    Case(
        SENSOR,
        "poke_interval 0 (a busy loop)",
        lambda env: sensor(env, poke_interval=0),
        NeevCloudValidationError,
        ("poke_interval=0", "0.01"),
    ),
    Case(
        SENSOR,
        "volume_id '../x'",
        lambda env: sensor(env, volume_id="../x"),
        NeevCloudValidationError,
        ("volume_id='../x'",),
    ),
    Case(
        SENSOR,
        "target 'deleted'",
        lambda env: sensor(env, target="deleted"),
        NeevCloudValidationError,
        ("target",),
    ),
    Case(
        SENSOR,
        "min_size_gb '²'",
        lambda env: sensor(env, min_size_gb="²"),
        NeevCloudValidationError,
        ("min_size_gb='²'",),
    ),
    Case(
        SENSOR,
        "connection project_id '..'",
        lambda env: sensor(env, connect={"project_id": ".."}),
        NeevCloudConfigurationError,
        ("extra.project_id='..'",),
    ),
    Case(
        SENSOR,
        "an id that never existed (poke): not found in the scope, no quota advice",
        lambda env: sensor(env, volume_id=OTHER),
        NeevVolumeFailedError,
        ("was not found", "org 'org-emulator', project 'prj-emulator'", "check the volume id"),
        reaches="emulator",
    ),
    Case(
        SENSOR,
        "an id that never existed (deferrable): fails before deferring",
        lambda env: sensor(env, volume_id=OTHER, deferrable=True),
        NeevVolumeFailedError,
        ("was not found", "check the volume id"),
        reaches="emulator",
    ),
    Case(
        SENSOR,
        "poke-mode timeout names the volume and its last state",
        lambda env: sensor(env, volume_id=_held_volume(env), timeout=0.3, poke_interval=0.1),
        AirflowSensorTimeout,
        ("volume ", "not bound after", "last seen: status=pending"),
        reaches="emulator",
        limit=3.0,
        setup=_pending_volume,
        cleanup=_delete_all,
    ),
]


# -- the operators --------------------------------------------------------------------------------


def create(env: Env, connect: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    env.connect(**(connect or {}))
    values: dict[str, Any] = {"task_id": "create_volume", "size_gb": 10, "poll_interval": 0.05}
    values.update(kwargs)
    return NeevCreateVolumeOperator(**values).execute(context())


def _extend(env: Env, **kwargs: Any) -> Any:
    env.connect()
    values: dict[str, Any] = {"task_id": "extend_volume", "volume_id": VID, "size_gb": 20}
    values.update(kwargs)
    return NeevExtendVolumeOperator(**values).execute(context())


def delete(env: Env, connect: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    env.connect(**(connect or {}))
    values: dict[str, Any] = {"task_id": "delete_volume", "volume_id": VID, "poll_interval": 0.05}
    values.update(kwargs)
    return NeevDeleteVolumeOperator(**values).execute(context())


def _operator(name: str, run: Callable[[Env], Any], mentions: tuple[str, ...], **options: Any) -> Case:
    return Case(OPERATORS, name, run, options.pop("expect", NeevCloudValidationError), mentions, **options)


def _volume_is_gone(env: Env) -> list[str]:
    return [] if not env.emulator.volumes() else ["the volume still exists"]


OPERATOR_CASES = [
    _operator("create size_gb '²'", lambda env: create(env, size_gb="²"), ("size_gb='²'", "whole number")),
    _operator("create size_gb 0", lambda env: create(env, size_gb=0), ("size_gb=0", "1 to 1000")),
    _operator("create size_gb '1e3'", lambda env: create(env, size_gb="1e3"), ("size_gb='1e3'",)),
    _operator("create size_gb 10**100", lambda env: create(env, size_gb=10**100), ("size_gb=",)),
    _operator(
        "create a 100,000-character name", lambda env: create(env, name=LONG), ("name=", "100000 characters")
    ),
    _operator("create name '../etc'", lambda env: create(env, name="../etc"), ("name='../etc'",)),
    _operator(
        "create volume_mode 'tape'", lambda env: create(env, volume_mode="tape"), ("volume_mode='tape'",)
    ),
    _operator("create mount_path relative", lambda env: create(env, mount_path="mnt"), ("mount_path='mnt'",)),
    _operator(
        "create attached_to a bad instance id",
        lambda env: create(env, attached_to=[{"instance_id": "x"}]),
        ("instance_id",),
    ),
    _operator("create timeout nan", lambda env: create(env, timeout=math.nan), ("timeout=nan",)),
    _operator(
        "create timeout inf (never into trigger kwargs)",
        lambda env: create(env, timeout=math.inf),
        ("timeout=inf",),
    ),
    _operator(
        "create poll_interval nan", lambda env: create(env, poll_interval=math.nan), ("poll_interval=nan",)
    ),
    _operator(
        "create poll_interval inf", lambda env: create(env, poll_interval=math.inf), ("poll_interval=inf",)
    ),
    _operator("create if_exists 'maybe'", lambda env: create(env, if_exists="maybe"), ("if_exists='maybe'",)),
    _operator(
        "create without region or org: both at once",
        lambda env: create(env, connect={"drop": ("region_id", "org_id")}),
        ("2 problems", "extra.org_id is not set", "region_id is not set", '"region_id"'),
        expect=NeevCloudConfigurationError,
    ),
    _operator(
        "create region with a line break",
        lambda env: create(env, region_id="as-south-1\n"),
        ("region_id",),
        expect=NeevCloudConfigurationError,
    ),
    _operator(
        "create host ending in '/?'",
        lambda env: create(env, connect={"host": env.emulator.url + "/?"}),
        ("'?' or '#'",),
        expect=NeevCloudConfigurationError,
    ),
    _operator("extend size_gb 2000", lambda env: _extend(env, size_gb=2000), ("size_gb=2000",)),
    _operator("extend size_gb '-5'", lambda env: _extend(env, size_gb="-5"), ("size_gb='-5'",)),
    _operator(
        "extend a malformed volume_id",
        lambda env: _extend(env, volume_id="not-a-uuid"),
        ("volume_id='not-a-uuid'",),
    ),
    _operator(
        "extend if_larger 'shrink'", lambda env: _extend(env, if_larger="shrink"), ("if_larger='shrink'",)
    ),
    _operator("delete volume_id '..'", lambda env: delete(env, volume_id=".."), ("volume_id='..'",)),
    _operator(
        "delete detach_timeout nan",
        lambda env: delete(env, detach_timeout=math.nan),
        ("detach_timeout=nan",),
    ),
    _operator(
        "delete detach_timeout negative", lambda env: delete(env, detach_timeout=-5), ("detach_timeout=-5",)
    ),
    _operator(
        "delete with project_id '..': refused, not 'nothing to delete'",
        lambda env: delete(env, project_id=".."),
        ("project_id='..'",),
        expect=NeevCloudConfigurationError,
    ),
    _operator(
        "delete with org_id '..' in the connection",
        lambda env: delete(env, connect={"org_id": ".."}),
        ("extra.org_id='..'",),
        expect=NeevCloudConfigurationError,
    ),
    Case(
        OPERATORS,
        "delete through a host ending in /storage: normalised, and the volume is really gone",
        lambda env: delete(env, connect={"host": env.emulator.url + "/storage"}, volume_id=_held_volume(env)),
        None,
        reaches="emulator",
        setup=lambda env: _pending_volume(env),
        check=_volume_is_gone,
    ),
]
