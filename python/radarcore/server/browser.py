"""What the API needs for requests that come from shoppers' browsers (``radar.js`` creating a
Radar Session with a publishable key): CORS for the shop's origin, and the browser's own IP
address and user agent, read from the HTTP request.

CORS is answered only on the publishable endpoints, for the configured origins
(``ServerConfig.cors_origins``); the secret-key API never is, so no page can call it. The
browser's address is the connection's peer as uvicorn reports it: with
``ServerConfig.trusted_proxies`` set, uvicorn's proxy-headers support replaces a trusted
proxy's address by the nearest ``X-Forwarded-For`` entry that is not a trusted proxy itself (a
client can prepend anything to that header, so only what the trusted proxies appended is
believed); without it, ``X-Forwarded-For`` is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import Response

from radarcore.errors import InvalidRequestError
from radarcore.server.config import ServerConfig

__all__ = ["client_address", "cors_headers", "preflight"]

#: Request headers radar.js (and stripe.js-like callers) send with the session request.
_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, Stripe-Version"
_MAX_AGE = "600"


def client_address(request: Request) -> str | None:
    """The browser's IP address for this request (``None`` when the server cannot tell)."""
    peer = request.client.host if request.client is not None else None
    if peer is None:
        return None
    try:
        return str(ipaddress.ip_address(peer))
    except ValueError:
        return None


def cors_headers(request: Request, config: ServerConfig) -> dict[str, str]:
    """CORS response headers for a request from an allowed origin (none otherwise)."""
    origin = request.headers.get("origin")
    if origin is None or not config.cors_origins:
        return {}
    if "*" in config.cors_origins:
        return {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}
    if origin in config.cors_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


def preflight(methods: str) -> Callable[[Request], Awaitable[Response]]:
    """The ``OPTIONS`` endpoint of a publishable route allowing ``methods``: 204 with the CORS
    headers for an allowed origin, otherwise 403 with Stripe's error object and no CORS headers
    (so the browser stops there)."""

    async def endpoint(request: Request) -> Response:
        config: ServerConfig = request.app.state.server.config
        headers: Mapping[str, str] = cors_headers(request, config)
        if not headers:
            error = InvalidRequestError(
                "Cross-origin requests are not allowed from "
                f"{request.headers.get('origin', 'a page without an Origin')}: "
                "add the shop's origin to RADARCORE_CORS_ORIGINS.",
                http_status=403,
            )
            return Response(orjson.dumps(error.to_dict()), 403, media_type="application/json")
        return Response(
            status_code=204,
            headers={
                **headers,
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Access-Control-Max-Age": _MAX_AGE,
            },
        )

    return endpoint
