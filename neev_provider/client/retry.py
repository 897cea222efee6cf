"""The one retry policy, shared by the sync and the async client.

What is retried (the platform's conventions):

- network failures, when the request is idempotent or provably never reached the server;
- 429, always: the server refused the request before acting on it;
- 500, 502, 503 and 504, for idempotent requests only.

Anything else, every other 4xx included, fails at once. A create or extend POST that
fails ambiguously (read timeout, reset, 5xx) is not replayed: it becomes an
:class:`~neev_provider.client.errors.AmbiguousRequestError`, and the caller looks the resource up instead.

Waits grow exponentially (0.25 s doubling, capped at 8 s) with jitter in [50 %, 100 %];
a ``Retry-After`` sent by the server replaces the computed wait, clamped to ``max_retry_after``
(30 s by default). At most :data:`~neev_provider.client.validation.MAX_RETRIES` (10) retries,
and never past the call's budget.

The deadline of one call, retries included (``CallBudget``): every call gets one when it
starts. Each attempt's timeout is the configured ``timeout`` cut to what is left of the budget;
the transport gives up on an attempt (headers, or a body trickling in) once the budget is
spent, however the server behaves; and a retry happens only if its wait leaves time for another
attempt (a ``Retry-After`` longer than what is left ends the call with the server's error
instead of a sleep). A caller that must end by a point in time, such as a wait that must not
outlive its own deadline, narrows the budget of the calls it makes with :func:`call_deadline`.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neev_provider.client import validation
from neev_provider.client.errors import (
    AmbiguousRequestError,
    NeevCloudAPIError,
    NeevCloudError,
    NeevCloudTransportError,
    NeevCloudValidationError,
    RateLimitError,
    ServerError,
    UnexpectedStatusError,
)

if TYPE_CHECKING:
    import tenacity

log = logging.getLogger(__name__)

# The point in time (seconds since the epoch) calls in this context should end by, if any.
_OUTER_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "neev_call_deadline", default=None
)
# An attempt never gets less than this: a zero timeout would mean "no timeout" to some libraries.
_MIN_ATTEMPT_SECONDS = 0.001


@contextmanager
def call_deadline(deadline: float) -> Iterator[None]:
    """Have the client calls made inside end by ``deadline`` (seconds since the epoch).

    A call started near or past that point still gets one attempt of the configured
    ``timeout``, so a last look at a deadline is possible; it is never longer than the
    configuration's own ``call_timeout``.
    """
    token = _OUTER_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _OUTER_DEADLINE.reset(token)


@dataclass(frozen=True)
class CallBudget:
    """How long one call may still take.

    :param seconds: the whole budget.
    :param ends_at: when it is spent, on the ``time.monotonic()`` clock.
    """

    seconds: float
    ends_at: float

    @classmethod
    def start(cls, call_timeout: float, attempt_timeout: float) -> CallBudget:
        """Start a call's budget: ``call_timeout``, narrowed by an enclosing :func:`call_deadline`."""
        seconds = call_timeout
        outer = _OUTER_DEADLINE.get()
        if outer is not None:
            seconds = min(call_timeout, max(outer - time.time(), attempt_timeout))
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left (0 once spent)."""
        return max(0.0, self.ends_at - time.monotonic())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return time.monotonic() >= self.ends_at

    def attempt_timeout(self, timeout: float) -> float:
        """The timeout of the next attempt: ``timeout``, but never past the budget."""
        return max(_MIN_ATTEMPT_SECONDS, min(timeout, self.remaining()))

    def allows_wait(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` still leaves time for another attempt."""
        return seconds + _MIN_ATTEMPT_SECONDS < self.remaining()


def seconds(value: float) -> str:
    """Format a duration for a message: ``1.5 s``, ``30 s``, ``150 s``."""
    return f"{value:.1f} s" if value < 10 and value != int(value) else f"{value:.0f} s"


RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait before trying a request again.

    :param max_retries: retries after the first attempt (0 disables retrying; at most 10).
    :param initial_delay: the first computed wait, in seconds; it doubles each retry.
    :param max_delay: the cap on a computed wait.
    :param max_retry_after: the cap on a wait the server asks for with ``Retry-After``.
    :param jitter: draws the random factor in [0, 1) that spreads waits; replace it to make
        waits deterministic in tests.
    """

    max_retries: int = 2
    initial_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        count = self.max_retries
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= validation.MAX_RETRIES:
            rule = f"must be a whole number from 0 to {validation.MAX_RETRIES}"
            raise NeevCloudValidationError("max_retries", count, rule)
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            validation.number(getattr(self, name), name, low=0, high=3600.0, low_inclusive=True)

    def should_retry(self, error: BaseException, *, idempotent: bool) -> bool:
        """Decide whether ``error`` is worth another attempt of the same request."""
        if isinstance(error, RateLimitError):
            return True
        if isinstance(error, NeevCloudTransportError):
            return idempotent or not error.request_sent
        if isinstance(error, ServerError):
            return idempotent and error.status in RETRYABLE_SERVER_STATUSES
        return False

    def delay(self, retry_number: int, error: BaseException | None) -> float:
        """Return the wait before retry ``retry_number`` (1 for the first retry)."""
        if isinstance(error, NeevCloudAPIError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        base = min(self.max_delay, self.initial_delay * 2 ** (retry_number - 1))
        return float(base * (0.5 + 0.5 * self.jitter()))

    def _tenacity_arguments(
        self, operation: str, *, idempotent: bool, budget: CallBudget | None = None
    ) -> dict[str, Any]:
        """Return keyword arguments for ``tenacity.Retrying`` or ``tenacity.AsyncRetrying``.

        :param budget: the call's budget; no retry starts whose wait would leave no time for it.
        """
        import tenacity

        # The wait is drawn once, when deciding to retry, so the decision and the sleep agree.
        planned = [0.0]

        def retry(state: tenacity.RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if error is None or not self.should_retry(error, idempotent=idempotent):
                return False
            planned[0] = self.delay(state.attempt_number, error)
            if budget is not None and not budget.allows_wait(planned[0]):
                log.warning(
                    "%s failed (%s); no retry: waiting %.2f s would leave no time of the call's %s",
                    operation,
                    error,
                    planned[0],
                    seconds(budget.seconds),
                )
                return False
            return True

        def wait(state: tenacity.RetryCallState) -> float:
            return planned[0]

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s failed (%s); retry %d of %d in %.2f s",
                operation,
                error,
                state.attempt_number,
                self.max_retries,
                state.upcoming_sleep,
            )

        return {
            "retry": retry,
            "wait": wait,
            "stop": tenacity.stop_after_attempt(self.max_retries + 1),
            "before_sleep": before_sleep,
            "reraise": True,
        }


def is_ambiguous(error: BaseException) -> bool:
    """Whether a failed non-idempotent request may nevertheless have taken effect.

    A redirect or an undocumented success status counts: the server did answer, and may have
    acted before pointing elsewhere (a 303 after a POST means exactly that).
    """
    if isinstance(error, NeevCloudTransportError):
        return error.request_sent
    return isinstance(error, ServerError) or (isinstance(error, UnexpectedStatusError) and error.status < 400)


def resolve_final_error(error: NeevCloudError, operation: str, *, idempotent: bool) -> NeevCloudError:
    """Return the error to raise once retrying is over: ambiguity is reported as such."""
    if not idempotent and is_ambiguous(error):
        return AmbiguousRequestError(operation, error)
    return error


def is_transient(error: BaseException) -> bool:
    """Whether a failed read is worth trying again later (a wait keeps going through these)."""
    return RetryPolicy().should_retry(error, idempotent=True)
