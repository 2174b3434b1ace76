"""radarcore's error tree: every error the package raises derives from :class:`RadarError`.

The Stripe-shaped errors (:class:`StripeError` and its subclasses) are what the in-process API
(:class:`radarcore.Radar`) raises for a rejected request. Each carries Stripe's ``type``,
``code``, ``param``, ``decline_code`` and the HTTP status Stripe would answer with, and
``to_dict()`` gives Stripe's error body:

>>> err = InvalidRequestError("Missing required param: amount.", param="amount",
...                           code="parameter_missing")
>>> err.http_status
400
>>> err.to_dict()["error"]["param"]
'amount'
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "CardError",
    "IdempotencyError",
    "InputError",
    "InvalidRequestError",
    "ModelError",
    "RadarError",
    "RuleSetError",
    "RuleSyntaxError",
    "SchemaError",
    "StripeError",
    "ValueListError",
]


class RadarError(Exception):
    """Base class of every error radarcore raises on purpose."""


class ModelError(RadarError):
    """A model file or buffer that cannot be loaded, or a model that does not fit the schema."""


class SchemaError(RadarError, ValueError):
    """Input that does not match the declared schema (columns, fields, types)."""


class RuleSyntaxError(RadarError, ValueError):
    """Rule text that does not parse or type-check.

    ``position`` is the 0-based character offset in the rule text where the problem starts.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        super().__init__(f"{message} (at position {position})")


class StripeError(RadarError):
    """A request rejected the way Stripe's API rejects it (base of the Stripe-shaped errors)."""

    type: ClassVar[str] = "api_error"
    default_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.decline_code = decline_code
        self.http_status = self.default_status if http_status is None else http_status

    def to_dict(self) -> dict[str, Any]:
        """Stripe's error body: ``{"error": {type, code, message, param, decline_code}}``."""
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        for key in ("code", "param", "decline_code"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return {"error": body}


class InvalidRequestError(StripeError):
    """Invalid parameters (HTTP 400); a missing object has ``code="resource_missing"`` (404)."""

    type: ClassVar[str] = "invalid_request_error"
    default_status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        if http_status is None and code == "resource_missing":
            http_status = 404
        super().__init__(message, param=param, code=code, http_status=http_status)


class CardError(StripeError):
    """A payment that was declined or blocked (HTTP 402), with Stripe's ``decline_code``;
    ``charge`` (its id) and ``payment_intent`` (the PaymentIntent's JSON) name what was stored
    for it, as Stripe's error object does."""

    type: ClassVar[str] = "card_error"
    default_status: ClassVar[int] = 402

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
        http_status: int | None = None,
        charge: str | None = None,
        payment_intent: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, param=param, code=code, decline_code=decline_code, http_status=http_status
        )
        self.charge = charge
        self.payment_intent = payment_intent

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        for key in ("charge", "payment_intent"):
            value = getattr(self, key)
            if value is not None:
                body["error"][key] = value
        return body


class IdempotencyError(StripeError):
    """An idempotency key reused with a different request (HTTP 400)."""

    type: ClassVar[str] = "idempotency_error"
    default_status: ClassVar[int] = 400


class ValueListError(RadarError, ValueError):
    """A value list or list item that breaks Radar's limits (alias, item type, value, expiry)."""


class RuleSetError(RadarError, ValueError):
    """A rule set that cannot be built: too many rules, duplicate ids, an unsupported action."""


class InputError(RadarError, ValueError):
    """An input file or directory that cannot be read (missing, unknown format, corrupt)."""
