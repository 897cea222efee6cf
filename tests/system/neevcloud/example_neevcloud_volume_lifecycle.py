"""System test: one volume's whole life in a real NeevCloud project, and the API facts it relies on.

create -> bound -> extend -> delete, with checks of what the provider assumes about the real
API (docs/system-test.rst lists each, with the code that relies on it). The volume gets the
create task's default name, unique to the run; its delete is a teardown, so it runs whatever
failed; the ``watcher`` fails the run when any task failed, which a successful teardown would
otherwise hide (the convention of Airflow's own provider system tests).

Configured by the environment, never by editing this file:

* ``NEEVCLOUD_TOKEN``, ``NEEVCLOUD_ORG_ID``, ``NEEVCLOUD_PROJECT_ID``, ``NEEVCLOUD_REGION_ID``:
  required (the token is a personal access token, ``pat-nc-...``, or an access token);
* ``NEEVCLOUD_HOST``: the API gateway, default ``https://api.ai.neevcloud.com``;
* ``NEEVCLOUD_LOGIN_EMAIL`` and ``NEEVCLOUD_LOGIN_PASSWORD``: optional; also check login mode;
* ``NEEVCLOUD_POLL_SECONDS``: seconds between reads while waiting (default 10).

Run it with pytest (``pytest tests/system``, skipped unless the required variables are set) or,
in an Airflow home with a metadata database (``airflow db migrate``), with Airflow:
``AIRFLOW__CORE__DAGS_FOLDER=tests/system/neevcloud airflow dags test neevcloud_system_volume_lifecycle``.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any

import requests

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

from neev_provider.client import (
    DEFAULT_HOST,
    AuthenticationError,
    ClientConfig,
    LoginAuth,
    NeevCloudAPIError,
    NeevCloudClient,
    NotFoundError,
    TokenAuth,
    _calls,
)
from neev_provider.client.auth import jwt_expiry
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.sensors import NeevVolumeSensor

DAG_ID = "neevcloud_system_volume_lifecycle"
CONN_ID = "neevcloud_system_test"
REQUIRED = ("NEEVCLOUD_TOKEN", "NEEVCLOUD_ORG_ID", "NEEVCLOUD_PROJECT_ID", "NEEVCLOUD_REGION_ID")
# Small, to cost little: the platform bills per GB.
CREATE_GB, EXTEND_GB = 10, 20
WAIT_SECONDS = 20 * 60

ENV = {name: os.environ.get(name, "") for name in REQUIRED}
HOST = os.environ.get("NEEVCLOUD_HOST") or DEFAULT_HOST
POLL_SECONDS = float(os.environ.get("NEEVCLOUD_POLL_SECONDS") or 10)
LOGIN = (os.environ.get("NEEVCLOUD_LOGIN_EMAIL", ""), os.environ.get("NEEVCLOUD_LOGIN_PASSWORD", ""))


def connection() -> str:
    """The connection the tasks use, in Airflow's JSON form, from the NEEVCLOUD_* variables."""
    extra = {
        "org_id": ENV["NEEVCLOUD_ORG_ID"],
        "project_id": ENV["NEEVCLOUD_PROJECT_ID"],
        "region_id": ENV["NEEVCLOUD_REGION_ID"],
    }
    token = ENV["NEEVCLOUD_TOKEN"]
    return json.dumps({"conn_type": "neevcloud", "host": HOST, "password": token, "extra": extra})


# Airflow reads AIRFLOW_CONN_* from the environment of the process that runs a task; under
# `airflow dags test` that process parsed this file first (or is a child of one that did). An
# AIRFLOW_CONN_NEEVCLOUD_SYSTEM_TEST set by hand wins.
if all(ENV.values()):
    os.environ.setdefault(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection())


def client(auth: TokenAuth | LoginAuth | None = None) -> NeevCloudClient:
    """A client of the project under test; the connection's token unless ``auth`` is given."""
    if auth is None:
        return NeevCloudHook(CONN_ID).client
    config = ClientConfig(ENV["NEEVCLOUD_ORG_ID"], ENV["NEEVCLOUD_PROJECT_ID"], auth, host=HOST)
    return NeevCloudClient(config)


def error_body(error: NeevCloudAPIError) -> dict[str, Any]:
    """What the client read from an error answer; fails unless it was a JSON body with a ``code``."""
    if not error.code:
        raise AssertionError(f"HTTP {error.status}: no 'code' in the error body; the client read: {error}")
    return {"status": error.status, "code": error.code, "message": error.message}


with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "system-test"],
) as dag:

    @task
    def check_token_accepted() -> str:
        """The Storage API accepts NEEVCLOUD_TOKEN as a bearer token, on the project's paths."""
        ok, message = NeevCloudHook(CONN_ID).test_connection()
        if not ok:
            raise AssertionError(f"the Storage API refused the token or the project: {message}")
        return message

    @task
    def check_error_bodies() -> dict[str, Any]:
        """404 and 401 answers carry an ErrorResponse body ({code, message}) the client reads."""
        try:
            client().get_volume(str(uuid.uuid4()))
        except NotFoundError as error:
            not_found = error_body(error)
        else:
            raise AssertionError("a random volume id was found")
        try:
            client(TokenAuth("pat-nc-not-a-valid-token")).list_volumes(limit=1)
        except AuthenticationError as error:
            unauthorized = error_body(error)
        else:
            raise AssertionError("a made-up token was accepted")
        return {"not_found": not_found, "unauthorized": unauthorized}

    create_volume = NeevCreateVolumeOperator(
        task_id="create_volume",
        neev_conn_id=CONN_ID,
        size_gb=CREATE_GB,  # in the connection's region, NEEVCLOUD_REGION_ID
        wait_for_completion=False,
    )
    volume_id = create_volume.output["volume_id"]

    wait_bound = NeevVolumeSensor(
        task_id="wait_bound",
        neev_conn_id=CONN_ID,
        volume_id=volume_id,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=WAIT_SECONDS,
    )

    extend_volume = NeevExtendVolumeOperator(
        task_id="extend_volume",
        neev_conn_id=CONN_ID,
        volume_id=volume_id,
        size_gb=EXTEND_GB,
        poll_interval=POLL_SECONDS,
        timeout=WAIT_SECONDS,
    )

    @task
    def check_extended(volume_id: str) -> dict[str, Any]:
        """Extending to EXTEND_GB means a total of EXTEND_GB (not CREATE_GB + EXTEND_GB)."""
        volume = client().get_volume(volume_id)
        if volume.capacity_gb != EXTEND_GB or volume.size_gb != EXTEND_GB:
            raise AssertionError(
                f"asked for {EXTEND_GB} GB in total from {CREATE_GB} GB; the volume says sizeGB="
                f"{volume.size_gb}, capacity {volume.capacity_gb} GB: {volume.to_dict()}"
            )
        return volume.to_dict()

    delete_volume = NeevDeleteVolumeOperator(
        task_id="delete_volume",
        neev_conn_id=CONN_ID,
        volume_id=volume_id,
        poll_interval=POLL_SECONDS,
        timeout=WAIT_SECONDS,
    )

    checked = check_token_accepted()
    checked >> check_error_bodies()
    (
        checked
        >> create_volume
        >> wait_bound
        >> extend_volume
        >> check_extended(volume_id)
        >> delete_volume.as_teardown(setups=create_volume)
    )

    if all(LOGIN):

        @task
        def check_login() -> dict[str, Any]:
            """Login mode: the answer's fields, and the Storage API accepts the token it gives."""
            call = _calls.login(*LOGIN)
            answer = requests.request(call.method, HOST + call.path, json=call.json, timeout=30)
            tokens = call.parse_response(
                answer.status_code, answer.headers, answer.content, url=HOST + call.path
            )
            client(LoginAuth(*LOGIN)).list_volumes(limit=1)
            return {
                "fields": sorted(answer.json()),  # names only: the values are secrets
                "access_token_has_exp": jwt_expiry(tokens.access_token) is not None,
                "refresh_token": tokens.refresh_token is not None,
                "expires_in": tokens.expires_in,
            }

        checked >> check_login()

    @task(trigger_rule="one_failed", retries=0)
    def watcher() -> None:
        """Fail the run when any task failed: the teardown's success must not hide it."""
        raise AssertionError("a task of the system test failed; see its log")

    # Airflow wants a setup followed only by all_success tasks; the tasks after the setup report
    # its failure (upstream_failed), which one_failed counts.
    [t for t in dag.tasks if not t.is_setup] >> watcher()
