"""The hostile cases, by group: bad input a user can give, and bad answers a server can send.

``CASES`` is the table both ``tests/hostile/test_hostile.py`` and ``scripts/hostile_run.py``
run. Each case names what it must end in and what its message must say; the runner checks
the rest (no silent success, no raw exception, no secret, no hang, no stray request, nothing
left behind).
"""

from __future__ import annotations

from tests.hostile.input_cases import CLIENT_CASES, CONNECTION_CASES, HOOK_CASES, OPERATOR_CASES, SENSOR_CASES
from tests.hostile.runner import Case
from tests.hostile.server_cases import MALFORMED_CASES

CASES: list[Case] = [
    *CONNECTION_CASES,
    *HOOK_CASES,
    *CLIENT_CASES,
    *SENSOR_CASES,
    *OPERATOR_CASES,
    *MALFORMED_CASES,
]
