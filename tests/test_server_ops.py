"""Operations: ``/healthz``, ``/metrics`` (Prometheus), JSON logs with request ids, the
OpenAPI document, generated test keys and the ``radarcore serve`` command."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from radarcore.server import ServerConfig
from radarcore.server.api import OPERATIONS
from radarcore.server.logs import JsonFormatter
from radarcore.server.openapi import openapi_document, stripe_subset
from server_support import serve_subprocess


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_healthz(server: Any) -> None:
    body = httpx.get(server.url + "/healthz").json()
    assert body["status"] == "ok"
    assert re.fullmatch(r"rcm_[0-9a-f]{16}", body["model_version"])  # the live version


def test_metrics_count_decisions_latency_and_model(server: Any) -> None:
    client = server.client()
    for amount in (2000, 50_000):
        client.v1.payment_intents.create(
            {"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
    with pytest.raises(Exception, match="declined"):
        client.v1.payment_intents.create(
            {
                "amount": 250_000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
    samples = _samples(httpx.get(server.url + "/metrics").text)
    decisions = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "radarcore_decisions_total"
    }
    assert decisions == {
        (("outcome", "authorized"), ("risk_level", "normal"), ("rule", "none")): 1.0,
        (
            ("outcome", "manual_review"),
            ("risk_level", "elevated"),
            ("rule", "manual_review_if_elevated_risk"),
        ): 1.0,
        (("outcome", "blocked"), ("risk_level", "highest"), ("rule", "block_if_high_risk")): 1.0,
    }
    assert samples[("radarcore_assessment_seconds_count", ())] == 3.0
    assert samples[("radarcore_assessment_failures_total", ())] == 0.0
    assert samples[("radarcore_webhook_backlog", ())] == 0.0
    model = [labels for (name, labels), v in samples.items() if name == "radarcore_model_info"]
    assert len(model) == 1
    requests = samples[
        ("radarcore_requests_total", (("operation", "PostPaymentIntents"), ("status", "402")))
    ]
    assert requests == 1.0


def test_request_logs_are_json_with_request_ids(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="radarcore.server"):
        response = httpx.get(server.url + "/v1/charges", headers={"Authorization": "Bearer x"})
    records = [r for r in caplog.records if getattr(r, "request_id", None)]
    assert [r.request_id for r in records] == [response.headers["request-id"]]  # type: ignore[attr-defined]
    entry = json.loads(JsonFormatter().format(records[0]))
    assert entry["status"] == 401
    assert entry["path"] == "/v1/charges"
    assert entry["request_id"] == response.headers["request-id"]
    assert entry["duration_ms"] >= 0


def test_openapi_document_comes_from_the_route_table_and_stripes_subset(server: Any) -> None:
    served = httpx.get(server.url + "/openapi.json").json()
    assert served == openapi_document()
    operations = {(m.upper(), p) for p, item in served["paths"].items() for m in item}
    assert operations == {(op.method, op.path) for op in OPERATIONS}
    subset = stripe_subset()
    confirm = served["paths"]["/v1/payment_intents/{intent}/confirm"]["post"]
    form = confirm["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    expected = subset["paths"]["/v1/payment_intents/{intent}/confirm"]["post"]
    assert form["properties"].keys() == expected["requestBody_form"]["schema"]["properties"].keys()
    assert served["components"]["schemas"]["charge"] == subset["components"]["schemas"]["charge"]
    assert served["components"]["schemas"]["customer"]["type"] == "object"
    import openapi_spec_validator

    openapi_spec_validator.validate(served)


def test_config_from_environment() -> None:
    config = ServerConfig.from_env(
        {"RADARCORE_PORT": "9000", "RADARCORE_SECRET_KEYS": "sk_a, sk_b", "RADARCORE_WORKERS": "3"},
        port=9100,
    )
    assert config.port == 9100
    assert config.secret_keys == ("sk_a", "sk_b")
    assert config.workers == 3
    with pytest.raises(ValueError, match="must start with 'pk_'"):
        ServerConfig.from_env({"RADARCORE_PUBLISHABLE_KEYS": "sk_oops"})
    with pytest.raises(ValueError, match="RADARCORE_PORT"):
        ServerConfig.from_env({"RADARCORE_PORT": "eighty"})


def test_serve_generates_and_keeps_test_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'radar.db'}"
    env = {"RADARCORE_SECRET_KEYS": "", "RADARCORE_PUBLISHABLE_KEYS": ""}
    keys = []
    for run in range(2):
        log = tmp_path / f"serve{run}.log"
        with serve_subprocess(url, log=log, env=env) as server:
            text = log.read_text()
            deadline = time.monotonic() + 10
            while run == 0 and "publishable key" not in text and time.monotonic() < deadline:
                time.sleep(0.1)
                text = log.read_text()
            if run == 0:
                secret = text.split("secret key:")[1].split()[0]
                publishable = text.split("publishable key:")[1].split()[0]
                keys = [secret, publishable]
            else:
                assert "generated" not in text
            assert keys[0].startswith("sk_test_")
            assert keys[1].startswith("pk_test_")
            with server.http(keys[0]) as http:
                assert http.get("/v1/charges").status_code == 200
            with server.http(keys[1]) as http:
                assert http.post("/v1/radar/sessions").status_code == 200
            with server.http("sk_test_radarcore") as http:
                assert http.get("/v1/charges").status_code == 401
