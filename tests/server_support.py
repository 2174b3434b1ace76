"""Running the server in tests: uvicorn on a free loopback port in a thread, or ``radarcore
serve`` in a subprocess (``radarcore.server.process``, which the benchmark uses too); and
validating JSON against the schemas of Stripe's subset."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import referencing
import uvicorn
from starlette.applications import Starlette

from radarcore.server.openapi import stripe_subset
from radarcore.server.process import free_port, serve_process

SECRET = "sk_test_radarcore"
PUBLISHABLE = "pk_test_radarcore"


@dataclass
class Running:
    """A server under test, by its base URL."""

    url: str

    def client(self, key: str = SECRET) -> Any:
        import stripe

        return stripe.StripeClient(key, base_addresses={"api": self.url}, max_network_retries=0)

    def http(self, key: str | None = SECRET) -> httpx.Client:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def serve_in_thread(app: Starlette) -> Iterator[Running]:
    """Run ``app`` under uvicorn in a thread (with ``radarcore serve``'s uvicorn settings when
    it is the radarcore app) until the block ends."""
    from radarcore.server.app import ServerState, uvicorn_options

    port = free_port()
    state = getattr(app.state, "server", None)
    options = uvicorn_options(state.config) if isinstance(state, ServerState) else {}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def serve_subprocess(
    database_url: str,
    *,
    log: Path,
    workers: int = 1,
    env: dict[str, str] | None = None,
    **flags: str,
) -> Iterator[Running]:
    """``radarcore serve`` in a subprocess with the test keys (see
    :func:`radarcore.server.process.serve_process`), ready when every worker answers."""
    keys = {"RADARCORE_SECRET_KEYS": SECRET, "RADARCORE_PUBLISHABLE_KEYS": PUBLISHABLE}
    with serve_process(
        database_url, log=log, workers=workers, env={**keys, **(env or {})}, **flags
    ) as url:
        yield Running(url)


# --- Stripe's schemas ------------------------------------------------------------------------


def _json_schema(node: Any, known: set[str]) -> Any:
    """OpenAPI 3.0 to JSON Schema: ``nullable`` becomes a null alternative, references to
    schemas outside the subset accept anything."""
    if isinstance(node, list):
        return [_json_schema(n, known) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v, known) for k, v in node.items() if not k.startswith("x-")}
    ref = out.get("$ref")
    if ref is not None and ref.rsplit("/", 1)[-1] not in known:
        return {}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _registry() -> tuple[referencing.Registry[Any], dict[str, Any]]:
    components = stripe_subset()["components"]["schemas"]
    known = set(components)
    converted = {name: _json_schema(copy.deepcopy(s), known) for name, s in components.items()}
    root = {"components": {"schemas": converted}}
    resource = referencing.Resource.from_contents(
        root, default_specification=referencing.jsonschema.DRAFT202012
    )
    return referencing.Registry().with_resource("urn:stripe", resource), converted


_REGISTRY, _SCHEMAS = _registry()


def validate(schema_name: str, data: Any) -> None:
    """Raise if ``data`` does not match the subset's component schema ``schema_name``."""
    schema = {"$ref": f"urn:stripe#/components/schemas/{schema_name}"}
    jsonschema.Draft202012Validator(schema, registry=_REGISTRY).validate(data)
