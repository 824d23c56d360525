from __future__ import annotations

import pytest

from tradewire.errors import (
    FatalBrokerError,
    NonRetryableBrokerError,
    NotFound,
    OrderRejected,
    RetryableBrokerError,
)
from tradewire.venues.alpaca.errors import (
    error_from_response,
    is_duplicate_client_order_id,
    retry_after_seconds,
)


def test_error_403_on_order_is_rejection_with_code_and_body(fixture_bytes):
    body = fixture_bytes("alpaca/http_error_403_buying_power.json")
    err = error_from_response(403, body, {}, is_order=True)
    assert isinstance(err, OrderRejected)
    assert (err.status, err.code) == (403, 40310000)
    assert "insufficient buying power" in str(err)
    assert err.body == body


def test_error_422_duplicate_client_order_id_is_recognized(fixture_bytes):
    err = error_from_response(
        422, fixture_bytes("alpaca/http_error_422_duplicate.json"), {}, is_order=True
    )
    assert isinstance(err, OrderRejected)
    assert err.code == 40010001
    assert is_duplicate_client_order_id(err)


def test_error_401_is_fatal(fixture_bytes):
    assert isinstance(
        error_from_response(401, fixture_bytes("alpaca/http_error_401.json"), {}), FatalBrokerError
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_error_429_and_5xx_are_retryable(status):
    err = error_from_response(status, b'{"code":1,"message":"x"}', {"retry-after": "2"})
    assert isinstance(err, RetryableBrokerError)
    assert err.retry_after == 2.0


def test_error_404_is_not_found_and_other_4xx_non_retryable():
    assert isinstance(error_from_response(404, b"{}", {}), NotFound)
    err = error_from_response(400, b"{}", {})
    assert isinstance(err, NonRetryableBrokerError)
    assert not isinstance(err, OrderRejected)


def test_error_with_non_json_body_keeps_text():
    err = error_from_response(502, b"<html>Bad Gateway</html>", {})
    assert err.code is None
    assert "Bad Gateway" in str(err)


def test_retry_after_falls_back_to_ratelimit_reset():
    assert retry_after_seconds({"x-ratelimit-reset": "105"}, now_s=100) == 5
    assert retry_after_seconds({}, now_s=0) is None
