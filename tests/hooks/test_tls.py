"""TLS: verification off is said out loud, and both clients trust the same certificate authorities."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import certifi
import pytest

from neev_provider.client import AsyncNeevCloudClient, ClientConfig, NeevCloudClient, TokenAuth
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook

WARNING = "TLS certificate verification is off"


@pytest.fixture(name="unverified")
def fixture_unverified(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection(verify="false"))
    return neev_emulator


def _logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    return caplog.text + capsys.readouterr().out


def test_the_worker_warns_when_verification_is_off(
    unverified: EmulatorServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING)
    NeevCloudHook().client.list_volumes(limit=1)
    assert WARNING in _logged(caplog, capsys)


def test_the_triggerer_warns_when_verification_is_off(
    unverified: EmulatorServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING)

    async def build() -> None:
        config, _ = await NeevCloudHook().aget_config()
        async with AsyncNeevCloudClient(config) as client:
            await client.list_volumes(limit=1)

    asyncio.run(build())
    assert WARNING in _logged(caplog, capsys)


def test_the_connection_test_says_verification_is_off(unverified: EmulatorServer) -> None:
    ok, message = NeevCloudHook().test_connection()
    assert ok
    assert "TLS certificate verification is OFF" in message


def test_with_verification_on_nothing_is_said(
    neev_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection())
    caplog.set_level(logging.WARNING)
    ok, message = NeevCloudHook().test_connection()
    assert ok
    assert "OFF" not in message
    assert WARNING not in _logged(caplog, capsys)


def _one_authority(tmp_path: Path) -> Path:
    """A CA bundle holding exactly one certificate authority (the first of certifi's)."""
    pem = Path(certifi.where()).read_text()
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text(first + "\n")
    return bundle


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_both_clients_trust_the_ca_bundle_the_environment_names(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    bundle = _one_authority(tmp_path)
    monkeypatch.setenv(variable, str(bundle))
    config = ClientConfig(org_id="o", project_id="p", auth=TokenAuth("t0ken-x"), host="https://api.example")

    with NeevCloudClient(config) as sync_client:
        assert sync_client._session.verify == str(bundle)

    async def authorities() -> Any:
        async with AsyncNeevCloudClient(config) as client:
            return client._http._transport._pool._ssl_context.cert_store_stats()

    assert asyncio.run(authorities())["x509_ca"] == 1  # the bundle's one authority, no other


def test_a_ca_bundle_given_as_verify_is_used_by_both(tmp_path: Path) -> None:
    bundle = _one_authority(tmp_path)
    config = ClientConfig(
        org_id="o", project_id="p", auth=TokenAuth("t0ken-x"), host="https://api.example", verify=str(bundle)
    )

    with NeevCloudClient(config) as sync_client:
        assert sync_client._session.verify == str(bundle)

    async def authorities() -> Any:
        async with AsyncNeevCloudClient(config) as client:
            return client._http._transport._pool._ssl_context.cert_store_stats()

    assert asyncio.run(authorities())["x509_ca"] == 1
