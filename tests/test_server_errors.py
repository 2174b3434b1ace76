"""Bad requests get Stripe's error object, status and the offending ``param``; nothing is
written for a request that is rejected."""

from __future__ import annotations

from typing import Any

import pytest

from server_support import PUBLISHABLE, SECRET, validate


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    validate("api_errors", body["error"])
    assert response.headers["request-id"].startswith("req_")
    assert body["error"]["request_log_url"].endswith(response.headers["request-id"])
    return dict(body["error"])


def _count_payment_intents(server: Any) -> int:
    with server.http() as http:
        return len(http.get("/v1/payment_intents", params={"limit": 100}).json()["data"])


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"amount": "12.5", "currency": "usd"}, "amount", "Invalid integer: 12.5"),
        ({"amount": "2000"}, "currency", "Missing required param: currency."),
        ({"amount": "2000", "currency": "usd", "colour": "red"}, "colour", "unknown parameter"),
        (
            {"amount": "2000", "currency": "usd", "radar_options[sesion]": "rse_1"},
            "radar_options[sesion]",
            "unknown parameter",
        ),
        ({"amount": "2000", "currency": "usd", "confirm": "yes"}, "confirm", "Invalid boolean"),
        ({"amount": "2000", "currency": "usd", "metadata": "x"}, "metadata", "Invalid object"),
        (
            {"amount": "2000", "currency": "usd", "description": "x" * 5001},
            "description",
            "at most 5000 characters",
        ),
        (
            {"amount": "2000", "currency": "usd", "metadata[k]": "v" * 501},
            "metadata[k]",
            "at most 500 characters",
        ),
        ({"amount": "100000000000000000000", "currency": "usd"}, "amount", "no more than"),
        ({"amount": "2000", "currency": "zzz"}, "currency", "Invalid currency"),
    ],
)
def test_invalid_parameters(server: Any, body: dict[str, str], param: str, message: str) -> None:
    with server.http() as http:
        error = _error(http.post("/v1/payment_intents", data=body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert message in error["message"]
    assert _count_payment_intents(server) == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"amount=1&amount[x]=2", "amount"),
        (b"amount[x]=2&amount=1", "amount"),
        (b"amount=1&amount=2", "amount"),
        (b"expand[0]=a&expand[x]=b", "expand"),
        (b"expand[1]=a", "expand"),
        (b"a[b][c][d][e][f][g]=1", "a[b][c][d][e][f][g]"),
        # digits that are not ASCII ("²" is a digit to str.isdigit, not to int)
        (b"expand[]=a&expand[%D9%A1]=b", "expand"),
    ],
)
def test_malformed_form_bodies(server: Any, body: bytes, param: str) -> None:
    with server.http() as http:
        response = http.post(
            "/v1/payment_intents",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert _error(response, 400)["param"] == param


def test_non_ascii_digits_in_list_filters_are_400(server: Any) -> None:
    with server.http() as http:
        response = http.get("/v1/payment_intents", params={"created[\u00b2]": "null"})
    assert _error(response, 400)["param"].startswith("created")


def test_body_that_is_not_utf8_or_not_a_form(server: Any) -> None:
    with server.http() as http:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert (
            "UTF-8"
            in _error(http.post("/v1/customers", content=b"\xff=1", headers=form), 400)["message"]
        )
        response = http.post("/v1/customers", json={"email": "a@example.com"})
        assert "x-www-form-urlencoded" in _error(response, 400)["message"]


def test_body_size_limit(server_factory: Any) -> None:
    server = server_factory(max_body_bytes=4096)
    with server.http() as http:
        response = http.post("/v1/customers", data={"description": "x" * 5000})
        error = _error(response, 413)
        assert error["code"] == "request_too_large"
        chunks = (b"description=" + b"x" * 3000, b"x" * 3000)
        streamed = http.post(
            "/v1/customers",
            content=iter(chunks),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert _error(streamed, 413)["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "You did not provide an API key"),
        ("sk_test_wrong", "Invalid API Key provided: sk_test_********rong"),
        (PUBLISHABLE, "cannot be made with a publishable API key"),
    ],
)
def test_wrong_or_missing_key_is_401_and_touches_nothing(
    server: Any, key: str | None, message: str
) -> None:
    with server.http(key) as http:
        response = http.post(
            "/v1/payment_intents",
            data={
                "amount": "2000",
                "currency": "usd",
                "confirm": "true",
                "payment_method": "pm_card_visa",
            },
        )
    assert message in _error(response, 401)["message"]
    assert _count_payment_intents(server) == 0


def test_sessions_take_publishable_keys_only(server: Any) -> None:
    with server.http(SECRET) as http:
        assert "publishable" in _error(http.post("/v1/radar/sessions"), 401)["message"]
    with server.http(PUBLISHABLE) as http:
        assert http.post("/v1/radar/sessions").status_code == 200
        assert _error(http.get("/v1/charges"), 401)
    with server.http("bogus") as http:
        assert _error(http.post("/v1/radar/sessions"), 401)


def test_basic_auth_and_bad_schemes(server: Any) -> None:
    with server.http(None) as http:
        assert http.get("/v1/charges", auth=(SECRET, "")).status_code == 200
        response = http.get("/v1/charges", headers={"Authorization": f"Token {SECRET}"})
        assert "Bearer" in _error(response, 401)["message"]


def test_missing_objects_are_404(server: Any) -> None:
    with server.http() as http:
        error = _error(http.get("/v1/charges/ch_nope"), 404)
        assert error["code"] == "resource_missing"
        assert error["param"] == "charge"
        error = _error(
            http.post(
                "/v1/payment_intents",
                data={"amount": "2000", "currency": "usd", "customer": "cus_nope"},
            ),
            404,
        )
        assert error["param"] == "customer"


def test_unknown_query_parameters_on_retrieve(server: Any) -> None:
    with server.http() as http:
        pi = http.post("/v1/payment_intents", data={"amount": "2000", "currency": "usd"}).json()
        error = _error(http.get(f"/v1/payment_intents/{pi['id']}", params={"foo": "1"}), 400)
        assert error["param"] == "foo"
        assert error["code"] == "parameter_unknown"
        error = _error(http.get("/v1/charges", params={"limit": "1000"}), 400)
        assert error["param"] == "limit"


def test_idempotency_conflict(server: Any) -> None:
    with server.http() as http:
        headers = {"Idempotency-Key": "key-1"}
        first = http.post("/v1/customers", data={"email": "a@example.com"}, headers=headers)
        assert first.status_code == 200
        again = http.post("/v1/customers", data={"email": "a@example.com"}, headers=headers)
        assert again.json()["id"] == first.json()["id"]
        conflict = http.post("/v1/customers", data={"email": "b@example.com"}, headers=headers)
        error = _error(conflict, 400)
        assert error["type"] == "idempotency_error"
        assert error["code"] == "idempotency_key_in_use"
        too_long = http.post("/v1/customers", headers={"Idempotency-Key": "k" * 256})
        assert _error(too_long, 400)["param"] == "idempotency_key"


def test_blocked_payment_replays_its_card_error(server: Any) -> None:
    with server.http() as http:
        body = {
            "amount": "250000",
            "currency": "usd",
            "confirm": "true",
            "payment_method": "pm_card_visa",
        }
        headers = {"Idempotency-Key": "big-order"}
        first = _error(http.post("/v1/payment_intents", data=body, headers=headers), 402)
        again = _error(http.post("/v1/payment_intents", data=body, headers=headers), 402)
        assert first["decline_code"] == again["decline_code"] == "fraudulent"
        assert len(http.get("/v1/charges").json()["data"]) == 1


def test_stripe_version_and_request_id_headers(server: Any) -> None:
    with server.http() as http:
        response = http.get("/v1/charges", headers={"Stripe-Version": "2023-08-16"})
        assert response.status_code == 200
        assert response.headers["stripe-version"] == "2023-08-16"
        assert response.headers["request-id"].startswith("req_")
        other = http.get("/v1/charges")
        assert other.headers["request-id"] != response.headers["request-id"]


def test_unknown_urls_and_methods(server: Any) -> None:
    with server.http() as http:
        assert "Unrecognized request URL" in _error(http.get("/v1/nothing"), 404)["message"]
        assert "not allowed" in _error(http.request("TRACE", "/v1/customers"), 405)["message"]
        # an operation's URL with another method leaves the direct path for the router
        assert "not allowed" in _error(http.delete("/v1/payment_intents"), 405)["message"]
