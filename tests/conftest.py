"""Test-wide setup: a private AIRFLOW_HOME, so that no test touches a real Airflow install."""

from __future__ import annotations

import os
import tempfile

# Airflow reads its configuration at import time, so this must run before any test module
# imports it. conftest.py is imported before test modules are collected.
_HOME = tempfile.mkdtemp(prefix="neev-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
