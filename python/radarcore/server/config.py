"""The server's settings: ``radarcore serve`` flags, each also ``RADARCORE_<NAME>``."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

__all__ = ["ServerConfig", "split_items"]


def _keys(text: str | None, prefix: str, variable: str) -> tuple[str, ...]:
    keys = split_items(text)
    wrong = [k for k in keys if not k.startswith(prefix)]
    if wrong:
        raise ValueError(f"{variable}: every key must start with {prefix!r}, got {wrong[0][:12]!r}")
    return keys


def split_items(text: str | None) -> tuple[str, ...]:
    """The items of a comma-separated setting (blanks dropped)."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def _check_origin(origin: str) -> None:
    parts = urlsplit(origin)
    if origin != "*" and (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"cors_origins: {origin!r} is not an origin (scheme://host[:port], or *)")


@dataclass(frozen=True)
class ServerConfig:
    """How the server runs.

    ``model``: a model file (``.rcm`` bundle or ``.rcf`` forest), stored as a version and made
    live; ``None``: the database's live model version, or the bundled default model.
    ``rules``: a file of custom Radar rules, one per line (evaluated with Radar's default rules).
    ``secret_keys``/``publishable_keys``: the accepted API keys; when both are empty, test keys
    are generated on first start, stored in the database and printed. ``max_body_bytes`` caps a
    request body (Stripe's limit is not published; 64 KiB holds any request of the subset).
    ``cors_origins``: the origins (``https://shop.example``, or ``*``) whose pages may create
    Radar Sessions with ``radar.js`` from the browser (CORS on ``POST /v1/radar/sessions``).
    ``trusted_proxies``: addresses or networks of reverse proxies whose ``X-Forwarded-For`` is
    believed when a session records the browser's IP address.
    ``webhook_retry_base`` is the first retry delay in seconds (doubled per attempt, capped by
    ``webhook_retry_max``); ``webhook_timeout`` bounds one delivery.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///radarcore.db"
    model: str | None = None
    rules: str | None = None
    workers: int = 1
    secret_keys: tuple[str, ...] = ()
    publishable_keys: tuple[str, ...] = ()
    max_body_bytes: int = 65536
    webhook_retry_base: float = 5.0
    webhook_retry_max: float = 3600.0
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 20
    log_requests: bool = True
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        for origin in self.cors_origins:
            _check_origin(origin)
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerConfig:
        """Settings from ``RADARCORE_*`` variables; ``overrides`` (flags given) win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, convert in (
            ("host", str),
            ("port", int),
            ("database_url", str),
            ("model", str),
            ("rules", str),
            ("workers", int),
            ("max_body_bytes", int),
        ):
            raw = env.get(f"RADARCORE_{name.upper()}")
            if raw:
                try:
                    values[name] = convert(raw)
                except ValueError:
                    raise ValueError(f"RADARCORE_{name.upper()}: invalid value {raw!r}") from None
        values["secret_keys"] = _keys(
            env.get("RADARCORE_SECRET_KEYS"), "sk_", "RADARCORE_SECRET_KEYS"
        )
        values["publishable_keys"] = _keys(
            env.get("RADARCORE_PUBLISHABLE_KEYS"), "pk_", "RADARCORE_PUBLISHABLE_KEYS"
        )
        for name in ("cors_origins", "trusted_proxies"):
            values[name] = split_items(env.get(f"RADARCORE_{name.upper()}"))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]
