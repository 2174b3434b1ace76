"""Schemathesis over the server's own OpenAPI document: generated requests to every
operation, valid and invalid, never get a 5xx, and every error the app answers keeps Stripe's
shape (requests that are not valid HTTP are refused by uvicorn's parser with its own 400)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from engine_model import stepped_model
from radarcore.radar import Radar
from radarcore.server import ServerConfig, create_app
from radarcore.server.openapi import openapi_document
from server_support import PUBLISHABLE, SECRET, serve_in_thread

schema = schemathesis.openapi.from_dict(openapi_document())

#: uvicorn's answer to bytes that are not a valid HTTP request (its parser never calls the app).
UVICORN_PROTOCOL_ERROR = "Invalid HTTP request received."


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "radar.db"
    config = ServerConfig(
        database_url=f"sqlite:///{path}",
        secret_keys=(SECRET,),
        publishable_keys=(PUBLISHABLE,),
        log_requests=False,
    )
    engine = Radar(config.database_url, model=stepped_model())  # type: ignore[arg-type]
    with engine, serve_in_thread(create_app(config, radar=engine)) as running:
        yield running


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
def test_no_server_errors(case: Any, fuzzed: Any) -> None:
    key = PUBLISHABLE if case.operation.path == "/v1/radar/sessions" else SECRET
    response = case.call(base_url=fuzzed.url, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    if response.status_code == 400 and response.text == UVICORN_PROTOCOL_ERROR:
        return  # not HTTP (say, a control character in the path): refused before the app
    if response.status_code >= 400:
        error = json.loads(response.text)["error"]
        assert error["type"] in ("invalid_request_error", "card_error", "idempotency_error")
        assert error["message"]
