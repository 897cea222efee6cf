"""The installation identity that default volume names are scoped to.

The defaults are read from Airflow's configuration through environment variables, as a
deployment sets them; ``conf`` reads those at every call.
"""

from __future__ import annotations

import socket

import pytest

from neev_provider.deployment import deployment_id, execution_api_address
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS

BLOCKED = "airflow-db-not-allowed:///"  # what Airflow 3's task runner puts in place of the database URL


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEEVCLOUD__DEPLOYMENT_ID", "CORE__EXECUTION_API_SERVER_URL", "API__BASE_URL"):
        monkeypatch.delenv(f"AIRFLOW__{name}", raising=False)


def test_a_configured_deployment_id_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "ml-platform-prod")
    assert deployment_id() == "ml-platform-prod"


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 2's task processes see the database setting")
def test_on_airflow_3_the_default_does_not_depend_on_the_hidden_database_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://airflow-api.prod:8080/execution/")
    in_dag_test = deployment_id()
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", BLOCKED)  # inside a task process
    assert deployment_id() == in_dag_test

    monkeypatch.setenv(
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://airflow-api.staging:8080/execution/"
    )
    assert deployment_id() != in_dag_test  # another installation


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the execution API is Airflow 3's")
def test_the_execution_api_defaults_to_the_base_url_and_a_loopback_one_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert execution_api_address() == f"http://localhost:8080/execution/ on {socket.gethostname()}"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    assert execution_api_address() == "https://airflow.example.com/execution/"
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://user:pw@127.0.0.1:9091/execution/")
    assert execution_api_address() == f"http://127.0.0.1:9091/execution/ on {socket.gethostname()}"


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3 uses the execution API's address")
def test_on_airflow_2_the_default_is_the_database_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow:old@db.prod/airflow")
    before = deployment_id()
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow:new@db.prod/airflow")
    assert deployment_id() == before  # a password rotation renames nothing
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow:new@db.staging/airflow")
    assert deployment_id() != before
