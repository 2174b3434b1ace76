"""Webhooks: events signed like Stripe's (verified with ``stripe.Webhook.construct_event``),
retried with backoff while the receiver fails, kept across a receiver outage and a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine_model import stepped_model
from radarcore.radar import Radar
from radarcore.server import ServerConfig, create_app
from radarcore.server.webhooks import sign
from server_support import PUBLISHABLE, SECRET, free_port, serve_in_thread

EVENTS = [
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "review.opened",
    "review.closed",
    "radar.early_fraud_warning.created",
]


class Receiver:
    """A webhook receiver that records what it gets; it answers 500 ``failures`` times first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, str]] = []
        self.attempts = 0
        self.lock = threading.Lock()

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.attempts += 1
            if self.failures > 0:
                self.failures -= 1
                return Response(status_code=500)
            self.received.append((body, request.headers["stripe-signature"]))
        return Response(status_code=200)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    def events(self, secret: str) -> list[Any]:
        """The events received that carry a valid signature by ``secret``."""
        with self.lock:
            received = list(self.received)
        events = []
        for body, signature in received:
            try:
                events.append(stripe.Webhook.construct_event(body, signature, secret))
            except stripe.SignatureVerificationError:
                continue
        return events

    def wait_for(self, secret: str, count: int, timeout: float = 30) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events(secret)
            if len(events) >= count:
                return events
            time.sleep(0.05)
        raise AssertionError(f"received {len(self.events(secret))} events, expected {count}")


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    with serve_in_thread(receiver.app()) as running:
        yield running.url + "/hook"


def _config(path: Path) -> ServerConfig:
    return ServerConfig(
        database_url=f"sqlite:///{path}",
        secret_keys=(SECRET,),
        publishable_keys=(PUBLISHABLE,),
        webhook_retry_base=0.05,
        webhook_retry_max=0.2,
    )


@contextmanager
def radar_server(path: Path) -> Iterator[Any]:
    config = _config(path)
    engine = Radar(config.database_url, model=stepped_model())  # type: ignore[arg-type]
    with engine, serve_in_thread(create_app(config, radar=engine)) as running:
        yield running


def _endpoint(client: Any, url: str, events: list[str] = EVENTS) -> Any:
    endpoint = client.v1.webhook_endpoints.create({"url": url, "enabled_events": events})
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.id.startswith("we_")
    return endpoint


def _pay(client: Any, amount: int) -> Any:
    return client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )


def test_signature_matches_stripes_scheme() -> None:
    payload = b'{"id":"evt_1","object":"event"}'
    header = sign(payload, "whsec_test", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_test")  # too old
    fresh = sign(payload, "whsec_test", int(time.time()))
    assert stripe.Webhook.construct_event(payload, fresh, "whsec_test").id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, fresh, "whsec_other")


def test_events_are_delivered_signed(tmp_path: Path) -> None:
    receiver = Receiver()
    with receiving(receiver) as url, radar_server(tmp_path / "radar.db") as server:
        client = server.client()
        endpoint = _endpoint(client, url)
        listed = client.v1.webhook_endpoints.list()
        assert [e.id for e in listed.data] == [endpoint.id]
        assert "secret" not in listed.data[0].to_dict()
        paid = _pay(client, 2000)
        reviewed = _pay(client, 50_000)
        review = client.v1.reviews.list().data[0]
        client.v1.reviews.approve(review.id)
        client.v1.refunds.create({"payment_intent": paid.id, "reason": "fraudulent"})
        client.raw_request(
            "post",
            "/v1/radar/early_fraud_warnings",
            charge=reviewed.latest_charge,
            fraud_type="misc",
        )
        with pytest.raises(stripe.CardError):
            _pay(client, 250_000)
        events = receiver.wait_for(endpoint.secret, 7)
    types = [e.type for e in events]
    assert sorted(types) == sorted(
        [
            "charge.succeeded",
            "charge.succeeded",
            "review.opened",
            "review.closed",
            "charge.refunded",
            "radar.early_fraud_warning.created",
            "charge.failed",
        ]
    )
    for event in events:
        assert event.object == "event"
        assert event.id.startswith("evt_")
    by_type = {e.type: e for e in events}
    assert by_type["review.opened"].data.object.id == review.id
    assert by_type["review.closed"].data.object.closed_reason == "approved"
    assert by_type["charge.refunded"].data.object.refunded is True
    assert by_type["charge.failed"].data.object.outcome.type == "blocked"


def test_only_enabled_events_are_sent_and_deleted_endpoints_get_nothing(tmp_path: Path) -> None:
    receiver = Receiver()
    with receiving(receiver) as url, radar_server(tmp_path / "radar.db") as server:
        client = server.client()
        endpoint = _endpoint(client, url, ["review.opened"])
        everything = _endpoint(client, url, ["*"])
        _pay(client, 2000)
        _pay(client, 50_000)
        assert [e.type for e in receiver.wait_for(endpoint.secret, 1)] == ["review.opened"]
        deleted = client.v1.webhook_endpoints.delete(everything.id)
        assert deleted.deleted is True
        _pay(client, 60_000)
        ours = receiver.wait_for(endpoint.secret, 2)
        time.sleep(0.3)
        theirs = receiver.events(everything.secret)
    assert [e.type for e in ours] == ["review.opened", "review.opened"]
    assert len(receiver.received) == len(ours) + len(theirs)
    assert {e.data.object.amount for e in theirs if e.type == "charge.succeeded"} == {2000, 50_000}


def test_failed_deliveries_are_retried_with_backoff(tmp_path: Path) -> None:
    receiver = Receiver(failures=3)
    with receiving(receiver) as url, radar_server(tmp_path / "radar.db") as server:
        client = server.client()
        endpoint = _endpoint(client, url, ["charge.succeeded"])
        _pay(client, 2000)
        events = receiver.wait_for(endpoint.secret, 1)
        with server.http() as http:
            metrics = http.get("/metrics").text
    assert events[0].type == "charge.succeeded"
    assert receiver.attempts == 4
    assert "radarcore_webhook_backlog 0.0" in metrics


def test_events_survive_a_receiver_outage_and_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "radar.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with radar_server(database) as server:
        client = server.client()
        endpoint = _endpoint(client, url, ["charge.succeeded"])
        _pay(client, 2000)
        _pay(client, 3000)
        time.sleep(0.5)  # a few attempts against a closed port
        with server.http() as http:
            assert "radarcore_webhook_backlog 2.0" in http.get("/metrics").text
    receiver = Receiver()
    app = receiver.app()
    with serve_in_thread_on(app, port), radar_server(database):
        events = receiver.wait_for(endpoint.secret, 2)
    assert sorted(e.data.object.amount for e in events) == [2000, 3000]


@contextmanager
def serve_in_thread_on(app: Starlette, port: int) -> Iterator[None]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(30)


def test_endpoint_errors(server: Any) -> None:
    client = server.client()
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.webhook_endpoints.create({"url": "ftp://x", "enabled_events": ["*"]})
    assert error.value.param == "url"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.webhook_endpoints.create(
            {"url": "https://example.com", "enabled_events": ["charge.exploded"]}
        )
    assert error.value.param == "enabled_events[0]"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.webhook_endpoints.retrieve("we_nope")
    assert error.value.http_status == 404
