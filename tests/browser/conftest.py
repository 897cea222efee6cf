"""A real ``airflow api-server`` (with its React UI) on loopback, and headless Chromium to drive it.

Screenshots of every step go to ``artifacts/browser/`` (git-ignored), named by test and step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neev_provider.emulator import EmulatorServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


@pytest.fixture(scope="module", name="api_server")
def fixture_api_server(
    neev_emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    """Airflow's API server alone, with connection testing enabled (it is off by default)."""
    from tests.integration.services import airflow_services

    home = tmp_path_factory.mktemp("airflow-ui")
    dags = home / "dags"
    dags.mkdir()
    extra_env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    with airflow_services(home, dags, extra_env, services=("api-server",)) as airflow:
        yield airflow


@pytest.fixture(scope="module", name="browser")
def fixture_browser() -> Iterator[object]:
    """Headless Debian Chromium, installed first where missing."""
    from playwright.sync_api import sync_playwright

    from tests.browser.chromium import FLAGS, ensure_chromium

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="page")
def fixture_page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page, tall enough for the whole connection dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 1800})  # type: ignore[attr-defined]
    page = context.new_page()
    # Every wait is for an element or a page event; this only bounds it. The UI's first dialog
    # took over 30 s on two cores busy with the matrix beside this suite.
    page.set_default_timeout(90_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(name="shots")
def fixture_shots(request: pytest.FixtureRequest) -> Path:
    """The test's screenshot folder, emptied."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
