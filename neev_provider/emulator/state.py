"""Everything one emulator instance remembers, and how to reset it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from neev_provider.emulator.auth import Authenticator
from neev_provider.emulator.clock import Clock
from neev_provider.emulator.dialects import DIALECTS, Dialect, dialect_names
from neev_provider.emulator.errors import validation_error
from neev_provider.emulator.faults import FaultInjector
from neev_provider.emulator.journal import Journal
from neev_provider.emulator.settings import EmulatorSettings
from neev_provider.emulator.store import Store
from neev_provider.emulator.validation import check_int, check_seconds

#: Settings that ``PATCH /_emulator/settings`` may change at run time.
TUNABLE = ("bind_delay", "resize_delay", "delete_delay", "token_ttl", "dialect")
#: What the admin API shows instead of the token: a page that can read the admin API (a DNS
#: rebinding one, say) must not learn the credential of the token-protected API.
TOKEN_SHOWN = "(set)"


class EmulatorState:
    """Bundle the clock, store, authenticator, faults and journal of one emulator.

    :param settings: initial settings; :meth:`reset` returns to them.
    """

    def __init__(self, settings: EmulatorSettings) -> None:
        self.initial_settings = settings
        self.settings = dataclasses.replace(settings)
        #: The dialect as flags, recomputed only when the settings change (read on every request).
        self.dialect = Dialect.of(settings.dialect)
        self.clock = Clock()
        self.store = Store(self.clock, lambda: self.settings)
        self.auth = Authenticator(self.clock, lambda: self.settings)
        self.faults = FaultInjector(settings.seed)
        self.journal = Journal(self.clock)

    def reset(self) -> None:
        """Drop volumes, outcomes, faults, issued tokens and the journal; restore settings and clock."""
        self.settings = dataclasses.replace(self.initial_settings)
        self.dialect = Dialect.of(self.settings.dialect)
        self.store.reset()
        self.auth.reset()
        self.faults.reset(self.settings.seed)
        self.journal.clear()
        self.clock.reset()

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Validate and apply a settings patch (only :data:`TUNABLE` keys)."""
        updates: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in TUNABLE:
                raise validation_error(
                    key, "tunable", f"is not a tunable setting ({', '.join(TUNABLE)})", value
                )
            if key == "token_ttl":
                updates[key] = check_int(key, value, minimum=1)
            elif key == "dialect":
                updates[key] = _check_dialect(value)
            else:
                updates[key] = check_seconds(key, value)
        self.settings = dataclasses.replace(self.settings, **updates)
        self.dialect = Dialect.of(self.settings.dialect)

    def describe_settings(self) -> dict[str, Any]:
        """Render the settings for the admin API (token and passwords left out)."""
        current = self.settings
        return {
            "token": TOKEN_SHOWN,
            "bind_delay": current.bind_delay,
            "resize_delay": current.resize_delay,
            "delete_delay": current.delete_delay,
            "token_ttl": current.token_ttl,
            "regions": list(current.regions),
            "users": sorted(current.users),
            "seed": current.seed,
            "dialect": list(current.dialect),
        }


def _check_dialect(value: Any) -> tuple[str, ...]:
    """Validate a dialect from a settings patch: a comma-separated string or a list of names."""
    if not isinstance(value, str) and not (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    ):
        raise validation_error("dialect", "dialect", "must be a string or a list of strings", value)
    try:
        return dialect_names(value)
    except ValueError as exc:
        raise validation_error("dialect", "enum", str(exc), value, allowed=list(DIALECTS)) from None
