"""The installed Airflow's version, as flags (like the official providers' version_compat)."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version

AIRFLOW_VERSION = Version(Version(version("apache-airflow")).base_version)
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= Version("3.0.0")
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= Version("3.1.0")
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= Version("3.2.0")
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= Version("3.3.0")
