"""Requests from shoppers' browsers: CORS on ``POST /v1/radar/sessions`` for the configured
origins only, and the Radar Session recording the browser's IP address and user agent from the
HTTP request (``X-Forwarded-For`` only from a trusted proxy), so the IP signals work over
HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine_model import stepped_model
from server_support import PUBLISHABLE, SECRET, Running, serve_in_thread

SHOP = "https://shop.example"
SESSION = {"device_id": "dev_1"}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Starts the app with the given ``ServerConfig`` fields (and ``rules``) on SQLite."""
    from contextlib import ExitStack

    from radarcore.radar import Radar
    from radarcore.server import ServerConfig, create_app

    databases = iter(range(100))
    with ExitStack() as stack:

        def run(rules: str | None = None, **config: Any) -> Running:
            url = f"sqlite:///{tmp_path / f'browser{next(databases)}.db'}"
            settings = ServerConfig(
                database_url=url,
                secret_keys=(SECRET,),
                publishable_keys=(PUBLISHABLE,),
                **config,
            )
            engine = Radar(url, model=stepped_model(), rules=rules)  # type: ignore[arg-type]
            stack.callback(engine.close)
            return stack.enter_context(serve_in_thread(create_app(settings, radar=engine)))

        yield run


def _preflight(running: Running, origin: str, path: str = "/v1/radar/sessions") -> Any:
    with running.http(None) as http:
        return http.options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )


def test_cors_for_the_configured_origin_only(start: Callable[..., Running]) -> None:
    running = start(cors_origins=(SHOP,))
    allowed = _preflight(running, SHOP)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "Authorization" in allowed.headers["access-control-allow-headers"]
    refused = _preflight(running, "https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert "https://evil.example" in refused.json()["error"]["message"]
    with running.http(PUBLISHABLE) as http:
        created = http.post("/v1/radar/sessions", data=SESSION, headers={"Origin": SHOP})
        assert created.status_code == 200
        assert created.headers["access-control-allow-origin"] == SHOP
        # Errors reach the page too (radar.js reads them), still only for the allowed origin.
        bad = http.post("/v1/radar/sessions", data={"nope": "1"}, headers={"Origin": SHOP})
        assert bad.status_code == 400
        assert bad.headers["access-control-allow-origin"] == SHOP
        other = http.post(
            "/v1/radar/sessions", data=SESSION, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
    # The secret-key API is never offered to pages.
    with running.http(SECRET) as http:
        listed = http.get("/v1/charges", headers={"Origin": SHOP})
    assert listed.status_code == 200
    assert "access-control-allow-origin" not in listed.headers
    with running.http(None) as http:
        assert http.options("/v1/charges", headers={"Origin": SHOP}).status_code == 405


def test_no_cors_unless_configured_and_the_wildcard(start: Callable[..., Running]) -> None:
    assert _preflight(start(), SHOP).status_code == 403
    anywhere = _preflight(start(cors_origins=("*",)), "http://localhost:3000")
    assert anywhere.status_code == 204
    assert anywhere.headers["access-control-allow-origin"] == "*"


def test_session_records_the_request_address_and_user_agent(
    start: Callable[..., Running],
) -> None:
    running = start()
    headers = {"User-Agent": "Mozilla/5.0 (Test) Chrome/120", "X-Forwarded-For": "198.51.100.9"}
    with running.http(PUBLISHABLE) as http:
        session = http.post("/v1/radar/sessions", data=SESSION, headers=headers).json()
        stated = http.post(
            "/v1/radar/sessions",
            data={**SESSION, "ip_address": "203.0.113.7", "user_agent": "relayed"},
            headers=headers,
        ).json()
    with running.http(SECRET) as http:
        stored = http.get(f"/v1/radar/sessions/{session['id']}").json()
        relayed = http.get(f"/v1/radar/sessions/{stated['id']}").json()
    # No trusted proxy: X-Forwarded-For is not believed; the peer is the loopback client.
    assert stored["ip_address"] == "127.0.0.1"
    assert stored["user_agent"] == "Mozilla/5.0 (Test) Chrome/120"
    assert (relayed["ip_address"], relayed["user_agent"]) == ("203.0.113.7", "relayed")


def test_forwarded_for_from_a_trusted_proxy_reaches_the_ip_rules(
    start: Callable[..., Running],
) -> None:
    running = start(
        rules="Block if :ip_address: = '198.51.100.9'",
        trusted_proxies=("127.0.0.1", "10.0.0.0/8"),
    )
    # The client may prepend anything; the entries the trusted proxies appended are believed:
    # the nearest one that is not a proxy is the browser.
    chain = "6.6.6.6, 198.51.100.9, 10.1.2.3"
    with running.http(PUBLISHABLE) as http:
        session = http.post(
            "/v1/radar/sessions", data=SESSION, headers={"X-Forwarded-For": chain}
        ).json()
        other = http.post(
            "/v1/radar/sessions", data=SESSION, headers={"X-Forwarded-For": "192.0.2.1"}
        ).json()
    with running.http(SECRET) as http:
        stored = http.get(f"/v1/radar/sessions/{session['id']}").json()
    assert stored["ip_address"] == "198.51.100.9"

    def pay(session_id: str) -> Any:
        with running.http(SECRET) as http:
            return http.post(
                "/v1/payment_intents",
                data={
                    "amount": "1000",
                    "currency": "usd",
                    "payment_method": "pm_card_visa",
                    "confirm": "true",
                    "radar_options[session]": session_id,
                },
            )

    blocked = pay(session["id"])
    assert blocked.status_code == 402
    error = blocked.json()["error"]
    assert error["decline_code"] == "generic_decline"  # Stripe's code for a custom Block rule
    with running.http(SECRET) as http:
        charge = http.get(f"/v1/charges/{error['payment_intent']['latest_charge']}").json()
    assert charge["outcome"]["rule"]["predicate"] == ":ip_address: = '198.51.100.9'"
    assert pay(other["id"]).status_code == 200


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"cors_origins": ("shop.example",)}, "is not an origin"),
        ({"cors_origins": ("https://shop.example/checkout",)}, "is not an origin"),
        ({"trusted_proxies": ("proxy.local",)}, "is not an IP address or network"),
    ],
)
def test_bad_browser_settings_are_refused(config: dict[str, Any], message: str) -> None:
    from radarcore.server import ServerConfig

    with pytest.raises(ValueError, match=message):
        ServerConfig(**config)


def test_browser_settings_from_the_environment() -> None:
    from radarcore.server import ServerConfig

    config = ServerConfig.from_env(
        {
            "RADARCORE_CORS_ORIGINS": "https://a.example, http://localhost:3000",
            "RADARCORE_TRUSTED_PROXIES": "10.0.0.0/8",
        }
    )
    assert config.cors_origins == ("https://a.example", "http://localhost:3000")
    assert config.trusted_proxies == ("10.0.0.0/8",)


def test_radarcore_serve_flags(tmp_path: Path) -> None:
    """``radarcore serve --cors-origins ... --trusted-proxies ...`` reaches its workers."""
    from server_support import serve_subprocess

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    flags = {"cors_origins": SHOP, "trusted_proxies": "127.0.0.1"}
    with serve_subprocess(url, log=tmp_path / "serve.log", **flags) as running:
        assert _preflight(running, SHOP).status_code == 204
        with running.http(PUBLISHABLE) as http:
            created = http.post(
                "/v1/radar/sessions", data=SESSION, headers={"X-Forwarded-For": "198.51.100.4"}
            ).json()
        with running.http(SECRET) as http:
            stored = http.get(f"/v1/radar/sessions/{created['id']}").json()
    assert stored["ip_address"] == "198.51.100.4"
