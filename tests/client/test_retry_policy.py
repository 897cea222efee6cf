"""The retry decisions, as a table: what is retried for idempotent calls and for POSTs."""

from __future__ import annotations

import pytest

from neev_provider.client import errors
from neev_provider.client.retry import RetryPolicy, resolve_final_error


def api_error(status: int, retry_after: float | None = None) -> errors.NeevCloudAPIError:
    return errors.error_from_response(
        status, {} if retry_after is None else {"retry-after": str(retry_after)}, b"{}"
    )


def transport(sent: bool) -> errors.NeevCloudTransportError:
    return errors.NeevCloudTransportError("x", method="POST", url="u", request_sent=sent)


@pytest.mark.parametrize(
    ("error", "idempotent", "retried"),
    [
        (api_error(429), True, True),
        (api_error(429), False, True),
        (api_error(500), True, True),
        (api_error(503), False, False),
        (api_error(501), True, False),
        (api_error(400), True, False),
        (api_error(404), True, False),
        (api_error(409), True, False),
        (transport(sent=False), False, True),
        (transport(sent=True), True, True),
        (transport(sent=True), False, False),
    ],
    ids=[
        "429-get",
        "429-post",
        "500-get",
        "503-post",
        "501-get",
        "400",
        "404",
        "409",
        "refused-post",
        "reset-get",
        "reset-post",
    ],
)
def test_should_retry(error: BaseException, idempotent: bool, retried: bool) -> None:
    assert RetryPolicy().should_retry(error, idempotent=idempotent) is retried


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    low = RetryPolicy(jitter=lambda: 0.0)
    high = RetryPolicy(jitter=lambda: 1.0)
    assert [low.delay(n, None) for n in (1, 2, 3)] == [0.125, 0.25, 0.5]
    assert [high.delay(n, None) for n in (1, 2, 3, 7, 8)] == [0.25, 0.5, 1.0, 8.0, 8.0]


def test_retry_after_wins_and_is_clamped() -> None:
    policy = RetryPolicy(max_retry_after=30)
    assert policy.delay(1, api_error(429, retry_after=12)) == 12
    assert policy.delay(1, api_error(503, retry_after=99)) == 30


def test_final_error_of_a_post_reports_the_ambiguity() -> None:
    final = resolve_final_error(api_error(502), "createNetworkVolume", idempotent=False)
    assert isinstance(final, errors.AmbiguousRequestError)
    assert "createNetworkVolume" in str(final)
    assert resolve_final_error(transport(sent=False), "createNetworkVolume", idempotent=False).__class__ is (
        errors.NeevCloudTransportError
    )


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"max_retries": 1.5}, {"initial_delay": -1}])
def test_policy_arguments_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(errors.NeevCloudValidationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
