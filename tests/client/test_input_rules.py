"""The rules that keep every value from changing the request path, and every number finite."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from neev_provider.client import ClientConfig, NeevCloudValidationError, TokenAuth, validation
from neev_provider.client.retry import CallBudget, call_deadline

AUTH = TokenAuth("pat-nc-ok")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("https://api.ai.neevcloud.com/storage", "https://api.ai.neevcloud.com"),
        ("https://api.ai.neevcloud.com/storage/", "https://api.ai.neevcloud.com"),
        ("https://api.ai.neevcloud.com/storage/api/v1beta1", "https://api.ai.neevcloud.com"),
        ("https://proxy.example.com/neevcloud/storage", "https://proxy.example.com/neevcloud"),
        ("https://proxy.example.com/neevcloud", "https://proxy.example.com/neevcloud"),
        ("http://[::1]:6338", "http://[::1]:6338"),
    ],
)
def test_a_host_with_the_storage_prefix_is_normalised_and_logged(
    host: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="neev_provider.client.validation")
    config = ClientConfig(org_id="o", project_id="p", auth=AUTH, host=host)
    assert config.host == expected
    assert ("/storage" in host) == ("the Storage service's path" in caplog.text)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("https://api.ai.neevcloud.com/storage/api/v1beta1/orgs/o", "use 'https://api.ai.neevcloud.com'"),
        ("https://api.ai.neevcloud.com/tenant", "not an API path"),
        ("https://api.ai.neevcloud.com/?", "'?' or '#'"),
        ("https://api.ai.neevcloud.com/a//b", "empty, '.' or '..' segment"),
        ("https://api.ai.neevcloud.com/%2e%2e", "'%'"),
        ("https://api.ai.neevcloud.com:0", "port"),
        ("https://bad_host.example", "host name"),
    ],
)
def test_a_host_that_would_move_the_paths_is_refused(host: str, fragment: str) -> None:
    with pytest.raises(NeevCloudValidationError, match="host=") as caught:
        ClientConfig(org_id="o", project_id="p", auth=AUTH, host=host)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("value", ["..", ".", "a/b", "a\\b", "a?b", "a#b", "a%2Fb", "a b", "a\tb", "x" * 129])
def test_scope_ids_cannot_change_the_path(value: str) -> None:
    with pytest.raises(NeevCloudValidationError, match="project_id="):
        ClientConfig(org_id="o", project_id=value, auth=AUTH)


@pytest.mark.parametrize("value", ["org-abc123", "ORG_1", "prj:x", "a.b", "ünïcode"])
def test_ordinary_ids_pass(value: str) -> None:
    assert validation.scope_id(value, "org_id") == value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        (0.5, True),
        ("30", True),
        (0, False),
        (-1, False),
        (math.nan, False),
        (math.inf, False),
        ("inf", False),
        ("nan", False),
        (True, False),
        (3601, False),
        ("1e309", False),
        (None, False),
    ],
)
def test_request_timeouts_are_finite_and_bounded(value: Any, ok: bool) -> None:
    def check() -> float:
        return validation.positive_number(value, "timeout", maximum=validation.MAX_REQUEST_TIMEOUT)

    if ok:
        assert math.isfinite(check())
    else:
        with pytest.raises(NeevCloudValidationError, match="finite number greater than 0 and at most 3600"):
            check()


@pytest.mark.parametrize(
    ("text", "ok"), [("12", True), (" 7 ", True), ("²", False), ("1e3", False), ("9" * 19, False)]
)
def test_whole_numbers_are_ascii_digits(text: str, ok: bool) -> None:
    if ok:
        assert validation.whole_number(text, "size_gb") == int(text)
    else:
        with pytest.raises(NeevCloudValidationError, match="whole number"):
            validation.whole_number(text, "size_gb")


@pytest.mark.parametrize(
    ("token", "what"),
    [("a\nb", "line break"), ("a\u200bb", "ZERO WIDTH SPACE"), ("a\u00e9b", "non-ASCII"), ("a b", "a space")],
)
def test_a_token_a_header_cannot_carry_is_refused_without_showing_it(token: str, what: str) -> None:
    with pytest.raises(NeevCloudValidationError) as caught:
        TokenAuth(token)
    assert what in str(caught.value)
    assert "character 2 of 3" in str(caught.value)
    assert token not in str(caught.value)
    assert token not in repr(caught.value)


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(NeevCloudValidationError) as caught:
        validation.volume_name("x" * 100_000)
    assert len(str(caught.value)) < 300
    assert "(100000 characters)" in str(caught.value)


def test_a_call_inside_a_wait_is_bounded_by_the_wait() -> None:
    import time

    assert CallBudget.start(150.0, 30.0).seconds == 150.0
    with call_deadline(time.time() + 60):
        assert CallBudget.start(150.0, 30.0).seconds == pytest.approx(60, abs=1)
    with call_deadline(time.time() - 5):  # past: one attempt's timeout for a last look
        assert CallBudget.start(150.0, 30.0).seconds == 30.0
