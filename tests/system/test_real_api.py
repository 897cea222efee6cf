"""The system test against the real NeevCloud API: the first thing to run with an account.

See docs/system-test.rst: export the NEEVCLOUD_* variables, then ``pytest tests/system``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.system import runner

MISSING = runner.missing(os.environ)


@pytest.mark.skipif(
    bool(MISSING), reason=f"needs a NeevCloud project: {', '.join(MISSING)} not set (docs/system-test.rst)"
)
def test_volume_lifecycle_on_the_real_api(tmp_path: Path) -> None:
    run = runner.run_system_test(os.environ, tmp_path)

    login = bool(os.environ.get("NEEVCLOUD_LOGIN_EMAIL") and os.environ.get("NEEVCLOUD_LOGIN_PASSWORD"))
    assert run.states == runner.expected_states(login=login), runner.report(run)
    assert runner.leftover_volumes(os.environ) == []
