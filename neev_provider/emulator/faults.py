"""Fault rules: which requests misbehave, how, and how often.

A rule matches on ``operation`` and/or ``method`` and fires either for the next ``times``
matching requests or with probability ``rate`` (drawn from a seeded generator, so a run is
reproducible). With neither given it fires once. The first matching rule that fires wins.

Kinds: ``status`` (answer at once with an error status, 429 with ``Retry-After``, optionally a
non-JSON ``body``), ``latency`` (sleep, then handle normally), ``drop`` (close the connection
before handling) and ``commit_then_drop`` (handle, then close the connection without answering).

Two more reproduce a backend that commits after the client gave up, the case an API without an
idempotency key makes dangerous: ``late_commit`` holds the request unanswered for ``seconds``
(the client times out meanwhile), then handles it and closes the connection; and
``error_then_commit`` answers an error ``status`` at once (504 by default, what a gateway sends
when the service behind it is slow) and handles the request ``seconds`` later.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from neev_provider.emulator.errors import EmulatorError, validation_error
from neev_provider.emulator.operations import OPERATIONS
from neev_provider.emulator.validation import check_int, check_seconds, get_enum, get_str

KINDS = ("status", "latency", "drop", "commit_then_drop", "late_commit", "error_then_commit")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_STATUS_CODES = {
    429: ("rate_limited", "Too Many Requests"),
    500: ("internal_error", "Internal Server Error"),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("service_unavailable", "Service Unavailable"),
    504: ("gateway_timeout", "Gateway Timeout"),
}


@dataclass
class FaultRule:
    """One fault rule; ``times`` counts down as the rule fires."""

    id: int
    kind: str
    operation: str | None = None
    method: str | None = None
    times: int | None = None
    rate: float | None = None
    status: int | None = None
    retry_after: int | None = None
    seconds: float | None = None
    body: str | None = None
    content_type: str | None = None
    fired: int = 0

    def matches(self, operation: str | None, method: str) -> bool:
        """Tell whether the rule applies to this request (before the dice are rolled)."""
        if self.operation is not None and self.operation != operation:
            return False
        return self.method is None or self.method == method

    def error(self) -> EmulatorError:
        """Return the error a ``status`` rule answers with."""
        status = self.status or 500
        code, reason = _STATUS_CODES.get(status, ("injected_fault", "Injected Fault"))
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return EmulatorError(
            status, code, f"{reason} (injected fault {self.id})", {"fault_id": self.id}, headers
        )

    def to_dict(self) -> dict[str, Any]:
        """Render for the admin API, without unset fields."""
        return {key: value for key, value in asdict(self).items() if value is not None}


class FaultInjector:
    """Hold the rules and decide, per request, which one fires.

    :param seed: seed of the generator behind ``rate``.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def reset(self, seed: int) -> None:
        """Drop every rule and reseed, so a reset run repeats exactly."""
        with self._lock:
            self._rules.clear()
            self._random.seed(seed)

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """Validate an admin request body and install the rule it describes."""
        rule = parse_rule(spec, next(self._ids))
        with self._lock:
            self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        """Return the installed rules, exhausted ones excluded."""
        with self._lock:
            return list(self._rules)

    def pick(self, operation: str | None, method: str) -> FaultRule | None:
        """Return the rule that fires for this request, consuming one of its ``times``."""
        if not self._rules:  # the common case: no lock, no work
            return None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation, method):
                    continue
                if rule.rate is not None and self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None


def parse_rule(spec: Mapping[str, Any], rule_id: int) -> FaultRule:
    """Validate the body of ``POST /_emulator/faults``."""
    kind = get_enum(spec, "kind", KINDS)
    rule = FaultRule(id=rule_id, kind=kind)
    if spec.get("operation") is not None:
        rule.operation = get_enum(spec, "operation", OPERATIONS)
    if spec.get("method") is not None:
        method = get_str(spec, "method")
        rule.method = get_enum({"method": (method or "").upper()}, "method", METHODS)
    if spec.get("times") is not None:
        rule.times = check_int("times", spec["times"], minimum=1)
    if spec.get("rate") is not None:
        rule.rate = _parse_rate(spec["rate"])
    if rule.times is None and rule.rate is None:
        rule.times = 1
    if kind in ("status", "error_then_commit"):
        _parse_status_fields(spec, rule, default=503 if kind == "status" else 504)
    if kind in ("latency", "late_commit"):
        rule.seconds = check_seconds("seconds", spec.get("seconds"), maximum=60)
    elif kind == "error_then_commit":
        rule.seconds = check_seconds("seconds", spec.get("seconds", 0), maximum=60)
    return rule


def _parse_rate(value: Any) -> float:
    if type(value) not in (int, float) or not 0 <= value <= 1:
        raise validation_error("rate", "range", "must be a number between 0 and 1", value)
    return float(value)


def _parse_status_fields(spec: Mapping[str, Any], rule: FaultRule, *, default: int) -> None:
    rule.status = check_int("status", spec.get("status", default), minimum=400, maximum=599)
    if spec.get("retry_after") is not None:
        rule.retry_after = check_int("retry_after", spec["retry_after"], minimum=0)
    elif rule.status == 429:
        rule.retry_after = 1
    rule.body = get_str(spec, "body", required=False) if spec.get("body") is not None else None
    if spec.get("content_type") is not None:
        rule.content_type = get_str(spec, "content_type")
    elif rule.body is not None:
        rule.content_type = "text/html; charset=utf-8"
