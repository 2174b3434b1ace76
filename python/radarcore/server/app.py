"""The ASGI app: Stripe's API over the engine, plus health, metrics and the OpenAPI document.

``create_app(config)`` builds the engine (a :class:`radarcore.Radar` on ``config.database_url``)
and the Starlette app; :func:`routes` is the route table (the API routes come from
:data:`radarcore.server.api.OPERATIONS`). A request goes: request id, API key, body size and
form decoding, the operation's service call, ``expand``, one JSON encode. Stripe's errors keep
Stripe's shape and status; anything else is logged and answered as Stripe's ``api_error`` (500).

Engine calls run on the event loop's thread: the engine serialises assessments anyway (one lock,
one velocity state), and a thread hop per request costs more than it could overlap.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from radarcore.errors import InvalidRequestError, StripeError
from radarcore.radar import DEFAULT_MODEL, Radar
from radarcore.server import browser, dashboard, forms
from radarcore.server.api import OPERATIONS, Context, Operation, expand
from radarcore.server.config import ServerConfig
from radarcore.server.metrics import Metrics
from radarcore.server.webhooks import Webhooks

__all__ = [
    "ServerState",
    "app_from_env",
    "create_app",
    "ensure_keys",
    "routes",
    "serve",
    "uvicorn_options",
]

logger = logging.getLogger("radarcore.server")

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_KEY_META = {"secret": "server_secret_keys", "publishable": "server_publishable_keys"}


def _error_body(error: StripeError, request_id: str) -> bytes:
    body = error.to_dict()
    body["error"]["request_log_url"] = f"/v1/request_logs/{request_id}"
    return orjson.dumps(body)


def _auth_error(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, http_status=401)


def ensure_keys(
    radar: Radar, config: ServerConfig
) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """``(secret keys, publishable keys, generated)``: the configured keys, or else test keys
    kept in the database (generated, stored and reported as ``generated`` on first start)."""
    if config.secret_keys or config.publishable_keys:
        return config.secret_keys, config.publishable_keys, False
    store = radar.store
    generated = False
    with store.transaction():
        stored = {kind: store.get_meta(meta) for kind, meta in _KEY_META.items()}
        if stored["secret"] is None or stored["publishable"] is None:
            stored = {
                "secret": "sk_test_" + secrets.token_urlsafe(24),
                "publishable": "pk_test_" + secrets.token_urlsafe(24),
            }
            for kind, meta in _KEY_META.items():
                store.set_meta(meta, stored[kind])  # type: ignore[arg-type]
            generated = True
    return (stored["secret"],), (stored["publishable"],), generated  # type: ignore[return-value]


@dataclass
class ServerState:
    """What the handlers share: the engine, its keys, webhooks and metrics."""

    config: ServerConfig
    radar: Radar
    secret_keys: frozenset[str]
    publishable_keys: frozenset[str]
    webhooks: Webhooks
    metrics: Metrics


def _api_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise _auth_error(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            pass
    raise _auth_error(
        "Invalid Authorization header: use Bearer auth "
        "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
    )


def _masked(key: str) -> str:
    return key[:8] + "*" * 8 + key[-4:] if len(key) > 12 else "*" * len(key)


def _authorize(state: ServerState, request: Request, operation: Operation) -> None:
    key = _api_key(request)
    if operation.key == "publishable":
        if key in state.publishable_keys:
            return
        if key in state.secret_keys:
            raise _auth_error("This endpoint can only be called with a publishable API key.")
    elif key in state.secret_keys:
        return
    elif key in state.publishable_keys:
        raise _auth_error(
            "This API call cannot be made with a publishable API key. Please use a secret API key."
        )
    raise _auth_error(f"Invalid API Key provided: {_masked(key)}")


async def _body(state: ServerState, request: Request) -> bytes:
    limit = state.config.max_body_bytes
    declared = request.headers.get("content-length")
    too_large = InvalidRequestError(
        f"Request body too large: the limit is {limit} bytes.",
        code="request_too_large",
        http_status=413,
    )
    if declared is not None and forms.is_number(declared) and int(declared) > limit:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _params(state: ServerState, request: Request) -> dict[str, Any]:
    query = request.url.query
    if len(query) > state.config.max_body_bytes:
        raise InvalidRequestError(
            f"Request URI too long: the query string limit is {state.config.max_body_bytes} bytes.",
            code="request_too_large",
            http_status=414,
        )
    params = forms.decode(query) if query else {}
    if request.method == "GET":
        return params
    body = await _body(state, request)
    if body:
        content_type = request.headers.get("content-type", _FORM).partition(";")[0].strip()
        if content_type != _FORM:
            raise InvalidRequestError(
                f"Invalid request: the body must be {_FORM} (Stripe's encoding), "
                f"not {content_type or 'unspecified'}.",
                code="parameter_invalid",
            )
        for key, value in forms.decode(body).items():
            if key in params:
                raise InvalidRequestError(
                    f"Received multiple values for parameter {key}.", param=key
                )
            params[key] = value
    return params


def _endpoint(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    call = operation.call
    name = operation.operation_id
    from_browser = operation.key == "publishable"

    async def endpoint(request: Request) -> Response:
        state: ServerState = request.app.state.server
        request_id = "req_" + secrets.token_hex(8)
        began = time.perf_counter()
        headers = {"Request-Id": request_id}
        version = request.headers.get("stripe-version")
        if version:
            headers["Stripe-Version"] = version
        status = 200
        if from_browser:
            headers.update(browser.cors_headers(request, state.config))
        try:
            _authorize(state, request, operation)
            params = await _params(state, request)
            expand_paths = params.pop("expand", None)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            context = Context(state.radar, state.webhooks, request.path_params, params, key or None)
            if from_browser:
                context = replace(
                    context,
                    client_ip=browser.client_address(request),
                    user_agent=request.headers.get("user-agent"),
                )
            result = call(context)
            body = result if isinstance(result, dict) else result.to_dict()
            if expand_paths is not None:
                body = expand(state.radar, body, expand_paths)
            content = orjson.dumps(body)
        except StripeError as error:
            status = error.http_status
            content = _error_body(error, request_id)
        except Exception:
            logger.exception("request %s %s failed", request.method, request.url.path)
            status = 500
            content = _error_body(
                StripeError("An unknown error occurred while processing your request."),
                request_id,
            )
        elapsed = time.perf_counter() - began
        state.metrics.request(name, status, elapsed)
        if state.config.log_requests:
            logger.info(
                "%s %s %d",
                request.method,
                request.url.path,
                status,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.url.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
        return Response(content, status, headers, _JSON)

    endpoint.__name__ = operation.operation_id
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown URL, wrong method) in Stripe's shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        message = f"The method {request.method} is not allowed for {request.url.path}."
    else:
        message = f"Unrecognized request URL ({request.method}: {request.url.path})."
    error = InvalidRequestError(message, http_status=status)
    request_id = "req_" + secrets.token_hex(8)
    return Response(_error_body(error, request_id), status, {"Request-Id": request_id}, _JSON)


async def _healthz(request: Request) -> Response:
    state: ServerState = request.app.state.server
    try:
        state.radar.store.get_meta("fingerprint_key")
    except Exception as error:
        return JSONResponse({"status": "unavailable", "error": str(error)}, 503)
    return JSONResponse(
        {"status": "ok", "pid": os.getpid(), "model_version": state.radar.model_version}
    )


async def _metrics(request: Request) -> Response:
    state: ServerState = request.app.state.server
    content, media_type = state.metrics.render()
    return Response(content, media_type=media_type)


async def _openapi(request: Request) -> Response:
    from radarcore.server.openapi import openapi_document

    return JSONResponse(openapi_document())


def routes() -> list[BaseRoute]:
    """The route table: the API operations, the dashboard and ``/radar.js``, then the
    operational endpoints."""
    api: list[BaseRoute] = [
        Route(op.path, _endpoint(op), methods=[op.method], name=op.operation_id)
        for op in OPERATIONS
    ]
    api += [
        Route(op.path, browser.preflight(op.method), methods=["OPTIONS"])
        for op in OPERATIONS
        if op.key == "publishable"
    ]
    return [
        *api,
        *dashboard.routes(),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]


class _App(Starlette):
    """Starlette with a direct path for the API operations whose URL has no parameter
    (``POST /v1/payment_intents``, ...): the request goes from the server straight to the
    operation's handler, which answers every error in Stripe's shape itself, without the
    middleware stack and the scan of the route table that every other request goes through."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        api = {op.operation_id for op in OPERATIONS}
        self._direct: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            (method, route.path): route.endpoint
            for route in self.routes
            if isinstance(route, Route) and route.name in api and not route.param_convertors
            for method in route.methods or ()
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            handler = self._direct.get((scope["method"], scope["path"]))
            if handler is not None:
                scope["app"] = self
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _open_radar(config: ServerConfig) -> Radar:
    rules = None if config.rules is None else Path(config.rules).read_text("utf-8")
    model = DEFAULT_MODEL if config.model is None else config.model
    return Radar(config.database_url, model=model, rules=rules)


def create_app(config: ServerConfig | None = None, *, radar: Radar | None = None) -> Starlette:
    """The app on ``config`` (default: :meth:`ServerConfig.from_env`). ``radar``: an engine to
    serve instead of opening one on ``config.database_url`` (it is then not closed on
    shutdown)."""
    config = config or ServerConfig.from_env()
    owned = radar is None
    engine = _open_radar(config) if radar is None else radar
    secret, publishable, _ = ensure_keys(engine, config)
    metrics = Metrics(engine)
    engine.assessment_observer = metrics.observe
    webhooks = Webhooks(engine, config, metrics)
    state = ServerState(
        config, engine, frozenset(secret), frozenset(publishable), webhooks, metrics
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with webhooks.running():
            yield
        if owned:
            engine.close()

    app = _App(routes=routes(), lifespan=lifespan, exception_handlers={HTTPException: _http_error})
    app.state.server = state
    return app


def _environment(config: ServerConfig) -> dict[str, str]:
    env = {
        "RADARCORE_HOST": config.host,
        "RADARCORE_PORT": str(config.port),
        "RADARCORE_DATABASE_URL": config.database_url,
        "RADARCORE_WORKERS": str(config.workers),
        "RADARCORE_MAX_BODY_BYTES": str(config.max_body_bytes),
        "RADARCORE_SECRET_KEYS": ",".join(config.secret_keys),
        "RADARCORE_PUBLISHABLE_KEYS": ",".join(config.publishable_keys),
        "RADARCORE_CORS_ORIGINS": ",".join(config.cors_origins),
        "RADARCORE_TRUSTED_PROXIES": ",".join(config.trusted_proxies),
    }
    for name, value in (("MODEL", config.model), ("RULES", config.rules)):
        if value is not None:
            env[f"RADARCORE_{name}"] = value
    return env


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """uvicorn settings that go with ``config``: request heads up to 1 MiB reach the app, so an
    oversized query string gets Stripe's error (414) instead of a dropped connection;
    ``X-Forwarded-For`` is believed only from ``config.trusted_proxies`` (uvicorn's own default
    would trust 127.0.0.1)."""
    return {
        "h11_max_incomplete_event_size": max(1 << 20, 2 * config.max_body_bytes),
        "access_log": False,
        "proxy_headers": bool(config.trusted_proxies),
        "forwarded_allow_ips": ",".join(config.trusted_proxies) or None,
    }


def serve(config: ServerConfig) -> None:
    """``radarcore serve``: migrate the database, make or read the API keys (printed when
    generated), then run uvicorn with ``config.workers`` processes until interrupted."""
    import tempfile

    import uvicorn

    from radarcore.server.logs import configure_logging

    configure_logging(os.environ.get("RADARCORE_LOG_LEVEL", "INFO"))
    with _open_radar(config) as radar:
        secret, publishable, generated = ensure_keys(radar, config)
    if generated:
        print(
            "radarcore serve: generated test API keys (stored in the database):\n"
            f"  secret key:      {secret[0]}\n  publishable key: {publishable[0]}",
            flush=True,
        )
    os.environ.update(_environment(config))
    with contextlib.ExitStack() as stack:
        if config.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="radarcore-prom-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        uvicorn.run(
            "radarcore.server.app:app_from_env",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            log_config=None,
            **uvicorn_options(config),
        )


def app_from_env() -> Starlette:
    """The app factory uvicorn's workers call (``radarcore serve`` passes its settings to them
    in ``RADARCORE_*`` variables)."""
    from radarcore.server.logs import configure_logging

    configure_logging(os.environ.get("RADARCORE_LOG_LEVEL", "INFO"))
    return create_app(ServerConfig.from_env())
