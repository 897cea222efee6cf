"""Contract tests: every exchange checked by openapi-core, and schemathesis against the emulator."""

from __future__ import annotations
