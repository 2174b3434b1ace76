"""The Stripe-compatible HTTP server: ``radarcore serve``.

``create_app(config)`` gives the Starlette app (see :mod:`radarcore.server.app`); the API's
operations are in :mod:`radarcore.server.api`, webhooks in :mod:`radarcore.server.webhooks`.
"""

from __future__ import annotations

from radarcore.server.app import create_app
from radarcore.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
