"""NeevCloudHook: a connection in, a working client out, on the emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from neev_provider import get_provider_info
from neev_provider.client import NeevCloudValidationError, TokenAuth
from neev_provider.client.errors import NeevCloudConfigurationError
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.connection import ConnectionFields, base_url, client_config, connection_label
from neev_provider.hooks.neevcloud import NeevCloudHook
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS

SECRET = "pat-nc-hook-secret-never-shown"


@pytest.fixture(name="connection")
def fixture_connection(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection())
    return neev_emulator


def test_the_hook_builds_a_client_from_the_connection(connection: EmulatorServer) -> None:
    hook = NeevCloudHook()

    page = hook.get_conn().list_volumes()

    assert page.volumes == ()
    assert hook.client is hook.get_conn()
    assert hook.default_region == "as-south-1"
    assert hook.client.config.host == connection.url


def test_building_the_hook_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", raising=False)
    hook = NeevCloudHook("does_not_exist")  # would raise if the connection were read here
    assert hook.neev_conn_id == "does_not_exist"


def test_org_and_project_overrides(connection: EmulatorServer) -> None:
    hook = NeevCloudHook(org_id="org-x", project_id="prj-y")
    assert (hook.client.config.org_id, hook.client.config.project_id) == ("org-x", "prj-y")


def test_test_connection_succeeds(connection: EmulatorServer) -> None:
    ok, message = NeevCloudHook().test_connection()
    assert ok is True
    assert connection.url in message


def test_test_connection_reports_a_wrong_token_without_showing_it(
    neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection(password=SECRET))
    ok, message = NeevCloudHook().test_connection()
    assert ok is False
    assert "401" in message
    assert SECRET not in message


def test_the_async_configuration_reads_the_connection_off_the_loop(connection: EmulatorServer) -> None:
    from neev_provider.client import AsyncNeevCloudClient

    async def run() -> int:
        config, _ = await NeevCloudHook().aget_config()
        async with AsyncNeevCloudClient(config) as client:
            page = await client.list_volumes(limit=1)
            return page.total_items or 0

    assert asyncio.run(run()) == 0


def test_login_mode_connection(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    value = neev_emulator.airflow_connection(
        login="user@example.com", password="emulator-password", auth_type="login"
    )
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", value)
    assert NeevCloudHook().test_connection()[0] is True
    assert [r["operation"] for r in neev_emulator.requests()] == ["login", "listNetworkVolumes"]


def test_missing_project_is_named(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    value = json.loads(neev_emulator.airflow_connection())
    del value["extra"]["project_id"]
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", json.dumps(value))
    with pytest.raises(NeevCloudValidationError, match=r"(?s)neevcloud_default.*extra.project_id is not set"):
        NeevCloudHook().get_conn()


def test_the_token_is_not_in_reprs_or_logs(
    connection: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = NeevCloudHook()
    hook.client.list_volumes()
    texts = [repr(hook), repr(hook.client), repr(hook.get_config()), caplog.text]
    assert [t for t in texts if connection.token in t] == []


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://api.ai.neevcloud.com"),
        ("api.dev.ai.neevcloud.com", None, "https://api.dev.ai.neevcloud.com"),
        ("127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("localhost:9000", None, "http://localhost:9000"),
        ("https://api.ai.neevcloud.com/", None, "https://api.ai.neevcloud.com"),
    ],
)
def test_host_field_forms(host: str | None, port: int | None, expected: str) -> None:
    assert base_url(host, port) == expected


def test_prefixed_extras_from_older_forms_are_read() -> None:
    fields = ConnectionFields(
        conn_id="c",
        host="http://127.0.0.1:1",
        password="t0k3n-value",
        extra={"extra__neevcloud__org_id": "org-1", "extra__neevcloud__project_id": "prj-1", "timeout": "12"},
    )
    config = client_config(fields)
    assert (config.org_id, config.project_id, config.timeout) == ("org-1", "prj-1", 12.0)
    assert isinstance(config.auth, TokenAuth)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"auth_type": "oauth"}, "auth_type"),
        ({"timeout": "soon"}, "timeout"),
        ({"verify": "maybe"}, "verify"),
    ],
)
def test_bad_extras_are_named(extra: dict[str, str], field: str) -> None:
    fields = ConnectionFields(
        conn_id="c", password="t0k3n-value", extra={"org_id": "o", "project_id": "p", **extra}
    )
    with pytest.raises(NeevCloudValidationError, match=field):
        client_config(fields)


def test_provider_info_declares_the_connection_type() -> None:
    info = get_provider_info()
    (conn_type,) = info["connection-types"]
    assert info["package-name"] == "airflow-provider-neevcloud"
    assert conn_type["connection-type"] == NeevCloudHook.conn_type
    assert conn_type["hook-class-name"] == f"{NeevCloudHook.__module__}.{NeevCloudHook.__qualname__}"
    assert set(conn_type["conn-fields"]) >= {"org_id", "project_id", "region_id", "auth_type"}
    assert NeevCloudHook.get_ui_field_behaviour()["relabeling"]["password"] == "API token"


def _airflow_cli(args: list[str], conn: str, tmp_path: Any) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": conn,
    }
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    return subprocess.run([airflow, *args], capture_output=True, text=True, env=env, timeout=180)


def test_airflow_cli_connection_test(neev_emulator: EmulatorServer, tmp_path: Any) -> None:
    good = _airflow_cli(
        ["connections", "test", "neevcloud_default"], neev_emulator.airflow_connection(), tmp_path
    )
    assert "Connection success!" in good.stdout, good.stdout + good.stderr

    bad = _airflow_cli(
        ["connections", "test", "neevcloud_default"],
        neev_emulator.airflow_connection(password=SECRET),
        tmp_path,
    )
    output = bad.stdout + bad.stderr
    assert "Connection failed" in output
    assert "401" in output
    assert SECRET not in output


def test_a_uri_connection_works(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import quote, urlsplit

    netloc = urlsplit(neev_emulator.url).netloc
    uri = (
        f"neevcloud://:{quote(neev_emulator.token, safe='')}@{netloc}"
        f"?org_id={neev_emulator.org_id}&project_id={neev_emulator.project_id}&region_id=as-south-1"
    )
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", uri)

    hook = NeevCloudHook()
    assert hook.test_connection()[0] is True
    assert hook.client.config.host == neev_emulator.url
    assert hook.default_region == "as-south-1"


def test_max_retries_extra(neev_emulator: EmulatorServer) -> None:
    fields = ConnectionFields(conn_id="c", password="t0k3n-value", extra={"org_id": "o", "project_id": "p"})
    assert (
        client_config(
            ConnectionFields(**{**vars(fields), "extra": {**fields.extra, "max_retries": "5"}})
        ).retry.max_retries
        == 5
    )
    with pytest.raises(NeevCloudValidationError, match=r"extra.max_retries='often'"):
        client_config(ConnectionFields(**{**vars(fields), "extra": {**fields.extra, "max_retries": "often"}}))


def test_every_connection_problem_is_reported_at_once_in_the_forms_order() -> None:
    fields = ConnectionFields(
        conn_id="c",
        host="javascript:alert(1)",
        password="pat-nc-with\nline-break",
        extra={
            "auth_type": "token",
            "project_id": "..",
            "timeout": "nan",
            "max_retries": "99",
            "verify": "maybe",
        },
    )
    with pytest.raises(NeevCloudConfigurationError) as caught:
        client_config(fields, require_region=True)

    fields_named = [problem.field for problem in caught.value.problems]
    assert fields_named == [
        "host",
        "password",
        "extra.org_id",
        "extra.project_id",
        "extra.region_id",
        "extra.timeout",
        "extra.verify",
        "extra.max_retries",
    ]
    assert str(caught.value).startswith("connection 'c' cannot be used (8 problems):")
    assert "pat-nc-with" not in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "rule"),
    [("{oops", "it is not valid JSON"), ("[1, 2]", r"it is JSON but not an object \(a list\)")],
    ids=["not-json", "json-list"],
)
@pytest.mark.parametrize("side", ["worker", "triggerer"])
def test_an_extra_that_is_not_a_json_object_is_said_so(
    extra: str, rule: str, side: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "neevcloud", "host": "http://127.0.0.1:1", "password": "t", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", json.dumps(connection))
    hook = NeevCloudHook()
    with pytest.raises(NeevCloudConfigurationError, match=rf"extra=\(hidden\) is invalid: {rule}"):
        hook.get_conn() if side == "worker" else asyncio.run(hook.aget_config())


@pytest.mark.parametrize(
    ("conn_id", "exported", "label"),
    [
        ("uK8TdCiY", True, "the connection being tested"),
        ("uK8TdCiY", False, "connection 'uK8TdCiY'"),
        ("neevprod", True, "connection 'neevprod'"),
        ("neevcloud_default", True, "connection 'neevcloud_default'"),
    ],
)
def test_a_temporary_test_id_is_not_shown(conn_id: str, exported: bool, label: str) -> None:
    environ = {f"AIRFLOW_CONN_{conn_id.upper()}": "{}"} if exported else {}
    assert connection_label(conn_id, testing=True, environ=environ) == label
    assert connection_label(conn_id, testing=False, environ=environ) == f"connection {conn_id!r}"


def test_in_the_triggerer_the_token_is_masked_before_the_configuration_is_used(
    connection: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []

    def slow_mask(secret: str, name: str | None = None) -> None:
        time.sleep(0.2)  # telling the supervising process takes a while
        masked.append(secret)

    async def slow_amask(secret: str, name: str | None = None) -> None:
        await asyncio.sleep(0.2)
        masked.append(secret)

    monkeypatch.setattr("neev_provider.hooks.neevcloud.mask_secret", slow_mask)
    airflow_log = pytest.importorskip("airflow.sdk.log") if AIRFLOW_V_3_0_PLUS else None
    if airflow_log is not None and hasattr(airflow_log, "amask_secret"):
        monkeypatch.setattr(airflow_log, "amask_secret", slow_amask)

    # A token the provider normalises: Airflow masks the password as written, not this.
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection.airflow_connection(password=f"Bearer {connection.token}")
    )

    async def read() -> tuple[Any, set[str]]:
        config, _ = await NeevCloudHook().aget_config()
        return config, {m for m in masked if isinstance(m, str)}  # as the first request goes out

    config, masked_by_then = asyncio.run(read())

    assert set(config.auth.secrets()) <= masked_by_then  # done, not merely scheduled
