"""Stripe's ``webhook_endpoint``: where the operator wants events sent.

>>> endpoint = WebhookEndpoint(id="we_1", created=0, url="https://example.com/hook",
...                            enabled_events=["charge.succeeded"], secret="whsec_x")
>>> "secret" in endpoint.to_dict(), endpoint.to_record()["secret"]
(False, 'whsec_x')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from radarcore.objects._base import PRIVATE, StripeObject

__all__ = ["WebhookEndpoint"]


@dataclass
class WebhookEndpoint(StripeObject):
    """A registered endpoint. ``secret`` (``whsec_...``) signs the deliveries; as on Stripe it
    is shown only in the response that creates the endpoint."""

    id: str
    created: int
    url: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    api_version: str | None = None
    description: str | None = None
    enabled_events: list[str] = field(default_factory=list)
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    status: Literal["enabled", "disabled"] = "enabled"
    secret: str | None = field(default=None, metadata=PRIVATE)
