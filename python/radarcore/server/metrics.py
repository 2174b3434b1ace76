"""Prometheus metrics of the server (``GET /metrics``).

* ``radarcore_decisions_total{outcome, risk_level, rule}``: assessed payments by Radar's outcome
  type, risk level and the rule that decided (``none`` when no rule did);
* ``radarcore_assessment_seconds``: time inside ``Radar.assess`` (features, model, rules);
* ``radarcore_assessment_failures_total``: assessments that failed open (``risk_level: unknown``);
* ``radarcore_requests_total{operation, status}`` and ``radarcore_request_seconds{operation}``;
* ``radarcore_model_info{version}``: 1 for the model in use (``none`` without one);
* ``radarcore_webhook_backlog``: webhook deliveries not yet delivered (read from the database at
  scrape time, so it is right whichever worker answers).

With several uvicorn workers, ``radarcore serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and every
scrape aggregates the workers' files (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from radarcore.radar import Assessment, Radar

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class _Backlog(Collector):
    def __init__(self, backlog: Callable[[], int]) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "radarcore_webhook_backlog",
            "Webhook deliveries not yet delivered (pending or retrying).",
            value=self._backlog(),
        )


class Metrics:
    """The server's metrics on their own registry (one app, one registry)."""

    def __init__(self, radar: Radar) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        registry = None if self._multiprocess else self.registry
        self.decisions = Counter(
            "radarcore_decisions",
            "Assessed payments by outcome type, risk level and deciding rule.",
            ("outcome", "risk_level", "rule"),
            registry=registry,
        )
        self.assessment_seconds = Histogram(
            "radarcore_assessment_seconds",
            "Time inside Radar.assess (features, model, rules).",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "radarcore_assessment_failures",
            "Assessments that failed and authorized the payment (risk_level unknown).",
            registry=registry,
        )
        self.requests = Counter(
            "radarcore_requests",
            "API requests by operation and HTTP status.",
            ("operation", "status"),
            registry=registry,
        )
        self.request_seconds = Histogram(
            "radarcore_request_seconds",
            "API request latency by operation (server side, from routing to the encoded body).",
            ("operation",),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.model = Gauge(
            "radarcore_model_info",
            "1 for the model version in use.",
            ("version",),
            registry=registry,
            multiprocess_mode="max",
        )
        self.model.labels(version=radar.model_version or "none").set(1)
        self._backlog: Collector | None = None
        # Label children by their labels: prometheus_client's labels() checks and joins the
        # values on every call, a few microseconds per request.
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._decision_children: dict[tuple[str, str | None, str], Any] = {}

    def watch_backlog(self, backlog: Callable[[], int]) -> None:
        """Report ``backlog()`` as ``radarcore_webhook_backlog`` at every scrape."""
        self._backlog = _Backlog(backlog)
        if not self._multiprocess:
            self.registry.register(self._backlog)

    def observe(self, assessment: Assessment, seconds: float) -> None:
        """Record one assessment (the engine's assessment observer)."""
        outcome = assessment.outcome
        rule = outcome.rule.id if outcome.rule is not None else "none"
        key = (outcome.type, outcome.risk_level, rule)
        child = self._decision_children.get(key)
        if child is None:
            child = self._decision_children[key] = self.decisions.labels(*key)
        child.inc()
        self.assessment_seconds.observe(seconds)
        if outcome.risk_level == "unknown":
            self.failures.inc()

    def request(self, operation: str, status: int, seconds: float) -> None:
        """Record one API request (``radarcore_requests_total``, ``radarcore_request_seconds``)."""
        key = (operation, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self.requests.labels(operation, str(status)),
                self.request_seconds.labels(operation),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if not self._multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        if self._backlog is not None:
            registry.register(self._backlog)
        return generate_latest(registry), CONTENT_TYPE_LATEST
