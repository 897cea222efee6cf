"""The one function that maps an HTTP answer to the exception tree."""

from __future__ import annotations

import email.utils

import pytest

from neev_provider.client import errors
from neev_provider.client.errors import error_from_response, parse_retry_after


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.NeevCloudAPIError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[errors.NeevCloudAPIError]) -> None:
    error = error_from_response(status, {}, b'{"code": "x", "message": "m"}')
    assert type(error) is cls


def test_in_use_is_the_deletes_400_whatever_its_words() -> None:
    """The spec's status rule for a delete, never the message: generic words are "in use" too."""
    delete_400 = {400: errors.VolumeInUseError}
    generic = error_from_response(
        400, {}, b'{"code": "BAD_REQUEST", "message": "bad request"}', by_status=delete_400
    )
    html = error_from_response(400, {}, b"<html>400</html>", by_status=delete_400)
    elsewhere = error_from_response(
        400, {}, b'{"code": "volume_in_use", "message": "Volume is in use by vm-1"}'
    )
    assert isinstance(generic, errors.VolumeInUseError)
    assert isinstance(html, errors.VolumeInUseError)
    assert type(elsewhere) is errors.BadRequestError  # a 400 of another call is not read from its words


def test_alternative_error_shapes_are_read() -> None:
    legacy = error_from_response(500, {}, b'{"error": "boom", "details": ["a"]}')
    assert legacy.message == "boom"
    assert legacy.details == {"details": ["a"]}


def test_request_id_and_retry_after_come_from_headers() -> None:
    error = error_from_response(429, {"x-request-id": "req-1", "retry-after": "4"}, b"")
    assert error.request_id == "req-1"
    assert error.retry_after == 4.0
    assert "req-1" in str(error)


def test_a_long_non_json_body_is_cut_to_an_excerpt() -> None:
    error = error_from_response(502, {"content-type": "text/html"}, b"<p>" + b"x" * 5000 + b"</p>")
    assert len(error.message) < 250
    assert error.message.startswith("non-JSON error body (text/html)")


def test_retry_after_accepts_both_forms() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after("5", now=now) == 5.0
    assert parse_retry_after(date, now=now) == pytest.approx(12.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
