"""The client is usable from any Python program: it must not import Airflow."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_client_does_not_import_airflow() -> None:
    code = (
        "import sys, neev_provider.client, neev_provider.client._sync, neev_provider.client._aio;"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
