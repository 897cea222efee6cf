"""Schemathesis against the emulator: generated requests for every operation, every default check.

Each of the spec's five operations gets a stateless run of at least :data:`MAX_EXAMPLES` generated
cases (schemathesis' coverage phase adds its own deterministic ones), positive and negative, sent
over real HTTP to the session's emulator with the bearer token. ``derandomize=True`` (and no
example database) makes a run repeat exactly; note that Hypothesis also draws literals from the
project modules already imported, so this file alone and the whole suite run different (each
reproducible) sets of cases. Every check schemathesis enables by default must pass, among them
``status_code_conformance`` (every answer is documented for its operation),
``response_schema_conformance``, ``negative_data_rejection`` (a schema-invalid request gets a
4xx), ``positive_data_acceptance`` (a schema-valid request is not refused with a 400),
``ignored_auth``, ``unsupported_method`` and ``allow_header_conformance``. The responses also go
through the openapi-core contract check, like every other exchange of the suite.

Three deliberate, narrow adjustments, because the spec cannot say what the emulator must know:

* ``regionID`` is a free string in the spec, but a volume can only be created in a region that
  exists; positive create cases get the emulator's region, so the create path is exercised rather
  than refused as a bad request. Negative cases are left alone.
* generated ``volume_id`` s are random UUIDs, which exist nowhere (a documented 404); so that the
  success answers (200, 202, 204) are exercised too, every other positive get, delete and extend
  case is pointed at a volume that exists, created just before in the case's org and project.
  Extend only when the generated size is one that volume can grow to (2 to 1000 GB).
* the ``Authorization`` header is supplied, not generated (``with_security_parameters=False``):
  a negative case that "drops" it would be sent with it anyway and wrongly fail. Missing and
  invalid tokens are still probed, by the ``ignored_auth`` check.

The emulator is reset before each operation and every :data:`RESET_EVERY` cases, so hundreds of
created volumes do not slow the list operation down.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from neev_provider.emulator import EmulatorServer
from neev_provider.emulator.settings import DEFAULT_REGION
from tests.support.contract import SPEC_PATH_PREFIX
from tests.support.spec import load_spec

pytestmark = pytest.mark.contract

#: Generated cases per operation, on top of the coverage phase's.
MAX_EXAMPLES = 200
#: Reset the emulator this often, so that the volumes created do not pile up.
RESET_EVERY = 100
#: Operations whose path names one volume.
ONE_VOLUME = ("getNetworkVolume", "deleteNetworkVolume", "extendNetworkVolume")

# An explicit configuration: a schemathesis.toml lying around must not change this test.
schema = schemathesis.openapi.from_dict(copy.deepcopy(load_spec()), config=SchemathesisConfig())
schema.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False)


class Run:
    """One operation's run: the emulator, an HTTP session, and a tally of what was sent."""

    def __init__(self, server: EmulatorServer, session: requests.Session) -> None:
        self.server = server
        self.session = session
        # The spec's server URL ends in /storage, and so do the emulator's paths.
        self.base_url = server.url + SPEC_PATH_PREFIX
        self.headers = {"Authorization": f"Bearer {server.token}"}
        self.operation = "?"
        self.cases = 0
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def reset(self) -> None:
        """Forget every volume; new volumes are bound at once."""
        self.server.reset()
        self.server.configure(bind_delay=0)

    def prepare(self, case: Case[Any]) -> None:
        """Count the case and apply this module's adjustments (see the module docstring)."""
        if self.cases % RESET_EVERY == 0:
            self.reset()
        self.cases += 1
        self.operation = case.operation.definition.raw["operationId"]
        assert case.meta is not None
        positive = case.meta.generation.mode.is_positive
        self.kinds[case.meta.phase.name.value] += 1
        self.kinds["positive" if positive else "negative"] += 1
        if positive:
            self._adjust(case)

    def _adjust(self, case: Case[Any]) -> None:
        body = case.body
        if self.operation == "createNetworkVolume" and isinstance(body, dict):
            body["regionID"] = DEFAULT_REGION
        elif self.operation in ONE_VOLUME and self.kinds["positive"] % 2 == 0:
            if _can_target(self.operation, body):
                case.path_parameters["volume_id"] = self._create_volume(case)

    def _create_volume(self, case: Case[Any]) -> str:
        params = case.path_parameters  # already percent-encoded by schemathesis
        url = f"{self.base_url}/api/v1beta1/orgs/{params['org_id']}/projects/{params['project_id']}/volumes"
        body = {"sizeGB": 1, "regionID": DEFAULT_REGION, "volumeMode": "filesystem"}
        response = self.session.post(url, json=body, headers=self.headers, timeout=10)
        assert response.status_code == 201, response.text
        volume_id: str = response.json()["id"]
        return volume_id

    def summary(self) -> str:
        """One line for the end of the session."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.kinds.items()))
        statuses = ", ".join(f"{status} x{count}" for status, count in sorted(self.statuses.items()))
        return f"{self.operation}: {self.cases} cases ({kinds}); answers {statuses}"


def _can_target(operation: str, body: Any) -> bool:
    """Tell whether an existing 1 GB volume accepts this case's request."""
    if operation != "extendNetworkVolume":
        return True
    size = body.get("sizeGB") if isinstance(body, dict) else None
    return type(size) is int and 2 <= size <= 1000


@pytest.fixture(name="run")
def fixture_run(neev_emulator_server: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[Run]:
    """Give one operation's run a freshly reset emulator; check and report its count afterwards."""
    with requests.Session() as session:
        run = Run(neev_emulator_server, session)
        yield run
    request.node.user_properties.append(("schemathesis", run.summary()))
    generated = run.kinds["fuzzing"]
    assert generated >= MAX_EXAMPLES, f"only {generated} cases were generated for {run.operation}"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,  # no replay of earlier failures first: every run is the same run
    # The fixtures (the run, and the autouse contract check) wrap the whole run of one
    # operation on purpose, not each generated case; HTTP round trips are not "too slow".
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_emulator_conforms_to_the_spec(case: Case[Any], run: Run) -> None:
    """Every generated request gets a documented, schema-valid answer."""
    run.prepare(case)
    # Headers passed here count as explicitly configured auth for the ignored_auth check, which
    # then probes the operation without them and with a wrong token (a session's would leak in).
    response = case.call_and_validate(base_url=run.base_url, session=run.session, headers=run.headers)
    run.statuses[response.status_code] += 1
