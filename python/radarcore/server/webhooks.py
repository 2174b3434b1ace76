"""Webhooks: operator-registered endpoints receive the engine's events, signed like Stripe's.

The operator registers endpoints (``POST /v1/webhook_endpoints`` with ``url`` and
``enabled_events``; the response carries the ``whsec_`` signing secret, once). Every writing
request's events reach :meth:`Webhooks.sink` inside the request's transaction; for each
endpoint that subscribed to the event's type a delivery row is written to the outbox there, so
an event is stored exactly when the objects it announces are, and never lost.

A background task (one per server process) claims due deliveries (a lease, so two processes
never send the same one at once), POSTs the event JSON with ``Stripe-Signature:
t=<unix time>,v1=<HMAC-SHA256 of "<t>.<payload>" keyed by the secret>`` (what
``stripe.Webhook.construct_event`` verifies) and records the result: a 2xx response is
delivered; anything else is retried with exponential backoff (``webhook_retry_base`` seconds,
doubling, capped at ``webhook_retry_max``, up to ``webhook_max_attempts`` attempts). A receiver
that is down, or a server restart, only delays delivery: the rows stay pending in the database.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson

from radarcore._params import P, check
from radarcore.errors import InvalidRequestError
from radarcore.objects import WebhookEndpoint, new_id

if TYPE_CHECKING:
    from radarcore.radar import Radar
    from radarcore.server.config import ServerConfig
    from radarcore.server.metrics import Metrics
    from radarcore.services import Unit

__all__ = ["EVENT_TYPES", "Webhooks", "sign"]

logger = logging.getLogger("radarcore.server.webhooks")

#: The event types the engine produces (``*`` subscribes to all).
EVENT_TYPES = (
    "charge.captured",
    "charge.dispute.created",
    "charge.failed",
    "charge.refunded",
    "charge.succeeded",
    "payment_intent.amount_capturable_updated",
    "payment_intent.canceled",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "radar.early_fraud_warning.created",
    "review.closed",
    "review.opened",
)
API_VERSION = "2023-08-16"

_CREATE = {
    "url": P(required=True),
    "enabled_events": P("list", required=True, choices=("*", *EVENT_TYPES)),
    "description": P(),
    "metadata": P("metadata"),
    "api_version": P(),
}
_LIST = {"limit": P("int", minimum=1, maximum=100), "starting_after": P()}


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value of ``payload`` sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Webhooks:
    """Endpoints, the outbox writer and the delivery task of one server process."""

    def __init__(self, radar: Radar, config: ServerConfig, metrics: Metrics) -> None:
        self._radar = radar
        self._config = config
        self._cache: tuple[str | None, Sequence[WebhookEndpoint]] | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        radar.event_sink = self.sink
        metrics.watch_backlog(radar.store.webhook_backlog)

    # --- endpoints -----------------------------------------------------------------------------

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        p = check(_CREATE, params)
        url = urlsplit(p["url"])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidRequestError(f"Invalid URL: {p['url'][:200]}", param="url")
        radar = self._radar
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            created=radar.clock(),
            url=p["url"],
            api_version=p.get("api_version"),
            description=p.get("description"),
            enabled_events=list(dict.fromkeys(p["enabled_events"])),
            livemode=radar.settings.livemode,
            metadata=p.get("metadata", {}),
            secret="whsec_" + secrets.token_urlsafe(32),
        )
        with radar.unit() as unit:
            radar.store.put(endpoint)
            radar.config_changed(unit)
        return {**endpoint.to_dict(), "secret": endpoint.secret}

    def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        found = self._radar.store.get(endpoint_id)
        if not isinstance(found, WebhookEndpoint):
            raise InvalidRequestError(
                f"No such webhook endpoint: '{endpoint_id}'",
                param="webhook_endpoint",
                code="resource_missing",
            )
        return found

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        p = check(_LIST, params)
        data, more = self._radar.store.list(
            "webhook_endpoint", limit=p.get("limit", 10), starting_after=p.get("starting_after")
        )
        return {
            "object": "list",
            "url": "/v1/webhook_endpoints",
            "has_more": more,
            "data": [e.to_dict() for e in data],
        }

    def delete(self, endpoint_id: str) -> dict[str, Any]:
        radar = self._radar
        with radar.unit() as unit:
            self.retrieve(endpoint_id)
            radar.store.delete(endpoint_id)
            radar.config_changed(unit)
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    def _endpoints(self) -> Sequence[WebhookEndpoint]:
        generation = self._radar.config_generation
        if self._cache is None or self._cache[0] != generation:
            found = self._radar.store.list("webhook_endpoint", limit=None)[0]
            endpoints = [e for e in found if isinstance(e, WebhookEndpoint)]
            self._cache = (generation, endpoints)
        return self._cache[1]

    # --- the outbox ----------------------------------------------------------------------------

    def sink(self, unit: Unit) -> None:
        """Write the unit's events to the outbox (called inside its transaction)."""
        endpoints = self._endpoints()
        if not endpoints:
            return
        rows: builtins.list[tuple[str, str, str]] = []
        now = self._radar.clock()
        livemode = self._radar.settings.livemode
        for event_type, obj in unit.events:
            targets = [
                e.id
                for e in endpoints
                if e.status == "enabled"
                and ("*" in e.enabled_events or event_type in e.enabled_events)
            ]
            if not targets:
                continue
            event_id = new_id("evt")
            payload = orjson.dumps(
                {
                    "id": event_id,
                    "object": "event",
                    "api_version": API_VERSION,
                    "created": now,
                    "data": {"object": obj.to_dict()},
                    "livemode": livemode,
                    "pending_webhooks": len(targets),
                    "request": {"id": None, "idempotency_key": None},
                    "type": event_type,
                }
            ).decode()
            rows += [(event_id, target, payload) for target in targets]
        if rows:
            self._radar.store.enqueue_webhooks(rows, time.time())
            unit.after_commit.append(self._notify)

    def _notify(self) -> None:
        """Wake the delivery task (from whichever thread committed the request)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- delivery ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the delivery task while the app serves."""
        self._loop = asyncio.get_running_loop()
        task = asyncio.create_task(self._deliver_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_forever(self) -> None:
        config = self._config
        async with httpx.AsyncClient(timeout=config.webhook_timeout) as client:
            while True:
                try:
                    sent = await self.deliver_due(client)
                except Exception:
                    logger.exception("webhook delivery pass failed")
                    sent = 0
                if sent == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=0.5)

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """Send every delivery due now (concurrently); returns how many were attempted."""
        config = self._config
        store = self._radar.store
        due = store.claim_webhooks(time.time(), config.webhook_timeout + 5.0, 64)
        if not due:
            return 0
        results = await asyncio.gather(*(self._send(client, d.endpoint, d.payload) for d in due))
        for delivery, error in zip(due, results, strict=True):
            attempts = delivery.attempts + 1
            if error is None:
                store.finish_webhook(
                    delivery.id, status="delivered", attempts=attempts, due=time.time(), error=None
                )
                continue
            gave_up = attempts >= config.webhook_max_attempts
            delay = min(config.webhook_retry_base * 2 ** (attempts - 1), config.webhook_retry_max)
            store.finish_webhook(
                delivery.id,
                status="failed" if gave_up else "pending",
                attempts=attempts,
                due=time.time() + delay,
                error=error,
            )
            logger.warning(
                "webhook %s to %s failed (attempt %d): %s",
                delivery.event_id,
                delivery.endpoint,
                attempts,
                error,
                extra={"event_id": delivery.event_id, "endpoint": delivery.endpoint},
            )
        return len(due)

    async def _send(self, client: httpx.AsyncClient, endpoint_id: str, payload: str) -> str | None:
        endpoint = self._radar.store.get(endpoint_id)
        if not isinstance(endpoint, WebhookEndpoint) or endpoint.secret is None:
            return None  # deleted since: nothing left to deliver to
        body = payload.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(body, endpoint.secret, int(time.time())),
            "User-Agent": "radarcore webhooks",
        }
        try:
            response = await client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
