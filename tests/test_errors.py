"""Stripe-shaped errors: type, status and Stripe's error body."""

from __future__ import annotations

import pytest

from radarcore.errors import (
    CardError,
    IdempotencyError,
    InvalidRequestError,
    RadarError,
    StripeError,
)
from radarcore.server.openapi import stripe_subset

SCHEMA = stripe_subset()
ERROR_FIELDS = set(SCHEMA["components"]["schemas"]["api_errors"]["properties"])
ERROR_TYPES = set(SCHEMA["components"]["schemas"]["api_errors"]["properties"]["type"]["enum"])


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        (
            InvalidRequestError(
                "Missing required param: amount.", param="amount", code="parameter_missing"
            ),
            "invalid_request_error",
            400,
        ),
        (
            InvalidRequestError("No such charge: 'ch_x'", param="id", code="resource_missing"),
            "invalid_request_error",
            404,
        ),
        (
            CardError("Your card was declined.", code="card_declined", decline_code="fraudulent"),
            "card_error",
            402,
        ),
        (
            IdempotencyError(
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with."
            ),
            "idempotency_error",
            400,
        ),
    ],
)
def test_stripe_errors_carry_type_status_and_body(
    error: StripeError, kind: str, status: int
) -> None:
    assert isinstance(error, RadarError)
    assert error.http_status == status
    body = error.to_dict()["error"]
    assert body["type"] == kind
    assert kind in ERROR_TYPES
    assert set(body) <= ERROR_FIELDS
    assert body["message"] == str(error)
    for key in ("code", "param", "decline_code"):
        assert body.get(key) == getattr(error, key)


def test_explicit_status_wins() -> None:
    assert InvalidRequestError("x", code="resource_missing", http_status=400).http_status == 400
    assert CardError("x", http_status=400).http_status == 400


def test_unset_fields_are_left_out_of_the_body() -> None:
    assert InvalidRequestError("bad").to_dict() == {
        "error": {"type": "invalid_request_error", "message": "bad"}
    }
