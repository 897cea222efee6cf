"""The deadline of one client call, retries included: shared arithmetic of both transports.

Every call of :class:`~neev_provider.client.sync.NeevCloudClient` and
:class:`~neev_provider.client.aio.AsyncNeevCloudClient` gets a :class:`CallBudget` when it
starts. Then:

- each attempt's timeout is the configured ``timeout`` cut to what is left of the budget;
- the transport gives up on an attempt (headers, or a body trickling in) once the budget is
  spent, however the server behaves;
- a retry happens only if its wait leaves time for another attempt (a ``Retry-After`` longer
  than what is left ends the call with the server's error instead of a sleep).

A caller that must end by a point in time, such as a wait that must not outlive its own
deadline, narrows the budget of the calls it makes with :func:`call_deadline`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
