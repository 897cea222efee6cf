"""The openapi-core contract check catches what breaks the spec, so it cannot pass by checking nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest

from neev_provider import __version__
from neev_provider.client import ClientConfig, NeevCloudClient, TokenAuth
from neev_provider.emulator import EmulatorServer, EmulatorSettings, Exchange, create_app
from neev_provider.emulator.models import Volume
from tests.support.contract import (
    CLIENT_AGENT_PREFIX,
    ContractMonitor,
    check_exchange,
    fail_on_violations,
    report,
)

pytestmark = pytest.mark.contract

VOLUMES = "/storage/api/v1beta1/orgs/o/projects/p/volumes"
CLIENT = f"{CLIENT_AGENT_PREFIX}{__version__}"
VOLUME_ID = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
RAW = "python-requests/2.32.3"
REQUEST = {"sizeGB": 10, "regionID": "as-south-1", "volumeMode": "block"}


def volume(**changes: Any) -> dict[str, Any]:
    body = {
        "id": VOLUME_ID,
        "name": "scratch",
        "orgID": "o",
        "projectID": "p",
        "regionID": "as-south-1",
        "sizeGB": 10,
        "volumeMode": "filesystem",
        "planID": "nv-standard-as-south-1",
        "status": "pending",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def exchange(
    method: str = "GET",
    path: str = f"{VOLUMES}/{VOLUME_ID}",
    *,
    status: int | None = 200,
    response: Any = None,
    request: Any = None,
    query: str = "",
    agent: str = CLIENT,
    fault: str | None = None,
    operation: str | None = "getNetworkVolume",
) -> Exchange:
    """Build an exchange as the tap would record it."""
    headers = [("user-agent", agent), ("authorization", "Bearer t")]
    if request is not None:
        headers.append(("content-type", "application/json"))
    payload = volume() if response is None else response
    body = b"" if status == 204 else json.dumps(payload).encode()
    return Exchange(
        method=method,
        path=path,
        raw_path=path,
        query_string=query,
        request_headers=tuple(headers),
        request_body=b"" if request is None else json.dumps(request).encode(),
        status=status,
        response_headers=(("content-type", "application/json"),) if body else (),
        response_body=body,
        fault=fault,
        operation=operation,
    )


def listing(query: str) -> Exchange:
    return exchange("GET", VOLUMES, query=query, operation="listNetworkVolumes", response={})


def creation(**changes: Any) -> Exchange:
    body = {key: value for key, value in {**REQUEST, **changes}.items() if value is not None}
    return exchange("POST", VOLUMES, status=201, request=body, operation="createNetworkVolume")


def errors(item: Exchange) -> list[str]:
    return [str(violation) for violation in check_exchange(item).violations]


def test_a_conforming_exchange_is_checked_both_ways_and_passes() -> None:
    verdict = check_exchange(creation())
    assert (verdict.request_checked, verdict.response_checked, verdict.violations) == (True, True, ())


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (exchange(response=volume(planID=None)), "'planID' is a required property"),
        (exchange(response=volume(id="not-a-uuid")), "'not-a-uuid' is not a 'uuid'"),
        (exchange(response=volume(status="ready")), "'ready' is not one of"),
        (exchange(response=volume(sizeGB="10")), "'10' is not of type 'integer'"),
        (exchange(response=volume(plan_id="x")), "Additional properties are not allowed ('plan_id'"),
        (exchange(status=400, response={"code": "x", "message": "m"}), "Unknown response http status: 400"),
        (exchange(status=404, response={"message": "m"}), "'code' is a required property"),
        (
            dataclasses.replace(
                exchange("DELETE", status=204, operation="deleteNetworkVolume"), response_body=b"{}"
            ),
            "status 204 documents no body",
        ),
    ],
    ids=["missing", "format", "enum", "type", "extra", "undocumented-status", "error-body", "body-on-204"],
)
def test_a_response_that_breaks_the_spec_is_caught(item: Exchange, fragment: str) -> None:
    found = errors(item)
    assert len(found) == 1, found
    assert found[0].startswith(f"response of {item.operation} ({item.method} ")
    assert fragment in found[0]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (listing("limit=0"), "limit"),
        (listing("available=maybe"), "available"),
        (exchange(path=f"{VOLUMES}/not-a-uuid"), "volume_id"),
        (creation(sizeGB=0), "0 is less than the minimum of 1"),
        (creation(volumeMode="tape"), "'tape' is not one of"),
        (creation(regionID=None), "'regionID' is a required property"),
        (creation(region="as-south-1"), "'region' was unexpected"),
        (dataclasses.replace(creation(), request_body=b""), "Missing required request body"),
        (exchange(path=f"{VOLUMES}/{VOLUME_ID}/resize", status=404, response={}), "Path not found"),
    ],
    ids=[
        "query-range",
        "query-type",
        "path-format",
        "body-range",
        "body-enum",
        "body-required",
        "body-extra",
        "no-body",
        "no-such-path",
    ],
)
def test_a_client_request_that_breaks_the_spec_is_caught(item: Exchange, fragment: str) -> None:
    found = [text for text in errors(item) if text.startswith("request of")]
    assert found, errors(item)
    assert fragment in found[0]


def test_only_the_project_client_s_requests_are_checked() -> None:
    not_found = {"code": "not_found", "message": "no such volume"}
    raw = exchange(path=f"{VOLUMES}/not-a-uuid", agent=RAW, status=404, response=not_found)
    verdict = check_exchange(raw)
    assert (verdict.request_checked, verdict.response_checked, verdict.violations) == (False, True, ())


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (exchange(status=503, response={"code": "x", "message": "m"}, fault="status"), "injected fault"),
        (exchange(status=None, fault="drop"), "injected fault"),
        (exchange("PUT", VOLUMES, status=405, response={}, agent=RAW), "no such operation"),
        (exchange("POST", "/tenant/api/v1/auth/login", status=200, response={}), "outside the spec's server"),
    ],
    ids=["status-fault", "drop", "unknown-method", "tenant-auth"],
)
def test_answers_the_spec_cannot_describe_are_not_checked(item: Exchange, reason: str) -> None:
    verdict = check_exchange(item)
    assert (verdict.response_checked, verdict.unchecked, verdict.violations) == (False, reason, ())


def test_a_latency_fault_leaves_the_answer_checked() -> None:
    verdict = check_exchange(exchange(response=volume(status="ready"), fault="latency"))
    assert verdict.response_checked
    assert len(verdict.violations) == 1


def test_drift_in_the_emulator_is_caught_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """A volume rendered without ``planID`` travels tap -> monitor -> openapi-core and is reported."""
    original = Volume.to_dict

    def drifted(self: Volume) -> dict[str, Any]:
        rendered = original(self)
        rendered["plan_id"] = rendered.pop("planID")
        return rendered

    monkeypatch.setattr(Volume, "to_dict", drifted)
    monitor = ContractMonitor()

    async def scenario() -> int:
        app = create_app(EmulatorSettings(token="t"), observer=monitor.observe)
        headers = {"Authorization": "Bearer t", "User-Agent": CLIENT}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), headers=headers) as client:
            response = await client.post(f"http://emulator{VOLUMES}", json=REQUEST)
        return response.status_code

    assert asyncio.run(scenario()) == 201
    violations = monitor.check_pending()
    assert [violation.part for violation in violations] == ["response"]
    message = report(violations)
    assert f"response of createNetworkVolume (POST {VOLUMES} -> 201) breaks the spec" in message
    assert "'planID' is a required property" in message
    assert "'plan_id' was unexpected" in message
    assert monitor.counts["requests"] == monitor.counts["responses"] == 1


def test_the_session_emulator_is_checked(
    neev_emulator: EmulatorServer, contract_monitor: ContractMonitor
) -> None:
    """The suite's own emulator feeds the monitor: a client call is counted as checked both ways."""
    contract_monitor.check_pending()
    before = contract_monitor.counts.copy()
    config = ClientConfig(
        org_id=neev_emulator.org_id,
        project_id=neev_emulator.project_id,
        auth=TokenAuth(neev_emulator.token),
        host=neev_emulator.url,
    )
    with NeevCloudClient(config) as client:
        client.list_volumes()
    assert contract_monitor.check_pending() == []
    assert contract_monitor.counts["requests"] == before["requests"] + 1
    assert contract_monitor.counts["responses"] == before["responses"] + 1


def test_a_violation_fails_the_test_with_a_readable_message() -> None:
    """What the autouse fixture in ``tests/conftest.py`` does after every test."""
    monitor = ContractMonitor()
    monitor.observe(exchange(response=volume(status="ready")))
    monitor.observe(exchange())
    with pytest.raises(pytest.fail.Exception) as failure:
        fail_on_violations(monitor, "during this test")
    assert str(failure.value) == (
        "1 exchange(s) with the emulator broke the OpenAPI spec:\n"
        f"  - response of getNetworkVolume (GET {VOLUMES}/{VOLUME_ID} -> 200) breaks the spec: "
        f"{check_exchange(exchange(response=volume(status='ready'))).violations[0].error}\n"
        "(during this test)"
    )
    fail_on_violations(monitor, "after")  # the queue is empty now: nothing to report twice
