"""The API's operations: each Stripe endpoint mapped onto one call of the engine's services.

:data:`OPERATIONS` is the whole API surface (method, path, the service call, which keys may call
it); the app's routes and its OpenAPI document are both built from it. A call receives the
engine, the path parameters, the decoded form parameters (without ``expand``) and the
``Idempotency-Key``, and returns a Stripe object, a list or a plain dict. Parameters are checked
by the services themselves; endpoints whose service method takes fixed keywords check the
names here first, so an unknown parameter is Stripe's ``parameter_unknown`` error everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from radarcore.errors import InvalidRequestError

if TYPE_CHECKING:
    from radarcore.radar import Radar
    from radarcore.server.webhooks import Webhooks

__all__ = ["OPERATIONS", "Call", "Context", "Operation", "expand"]


@dataclass(frozen=True)
class Context:
    """What an operation's call gets: the engine, the webhooks, the request's inputs, and for
    the publishable endpoints (called by browsers) the browser's address and user agent."""

    radar: Radar
    webhooks: Webhooks
    path: Mapping[str, str]
    params: dict[str, Any]
    idempotency_key: str | None
    client_ip: str | None = None
    user_agent: str | None = None


Call = Callable[[Context], Any]


@dataclass(frozen=True)
class Operation:
    """One endpoint. ``key``: which API keys may call it (``publishable`` only for sessions).
    ``operation_id`` names it in the OpenAPI document (Stripe's id where Stripe has one)."""

    method: Literal["GET", "POST", "DELETE"]
    path: str
    operation_id: str
    call: Call
    key: Literal["secret", "publishable"] = "secret"
    summary: str = ""


def _only(params: Mapping[str, Any], *allowed: str) -> dict[str, Any]:
    """``params`` when every name is one of ``allowed``; else Stripe's unknown-parameter error."""
    for name in params:
        if name not in allowed:
            raise InvalidRequestError(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
    return dict(params)


def _none(c: Context) -> None:
    _only(c.params)


def _retrieve(service: str) -> Call:
    def call(c: Context) -> Any:
        _none(c)
        (object_id,) = c.path.values()
        return getattr(c.radar, service).retrieve(object_id)

    return call


def _list(service: str) -> Call:
    return lambda c: getattr(c.radar, service).list(c.params)


def _create(service: str) -> Call:
    return lambda c: getattr(c.radar, service).create(c.params, idempotency_key=c.idempotency_key)


def _update(service: str) -> Call:
    def call(c: Context) -> Any:
        (object_id,) = c.path.values()
        return getattr(c.radar, service).update(
            object_id, c.params, idempotency_key=c.idempotency_key
        )

    return call


def _delete(service: str) -> Call:
    def call(c: Context) -> Any:
        _none(c)
        (object_id,) = c.path.values()
        return getattr(c.radar, service).delete(object_id)

    return call


_MAX_USER_AGENT = 5000


def _session_create(c: Context) -> Any:
    """A Radar Session records the browser's IP address and user agent from the request unless
    the body states them (a shop's backend relaying a browser's session)."""
    params = dict(c.params)
    if c.client_ip is not None:
        params.setdefault("ip_address", c.client_ip)
    if c.user_agent:
        params.setdefault("user_agent", c.user_agent[:_MAX_USER_AGENT])
    return c.radar.radar_sessions.create(params, idempotency_key=c.idempotency_key)


def _pi_confirm(c: Context) -> Any:
    return c.radar.payment_intents.confirm(
        c.path["intent"], c.params, idempotency_key=c.idempotency_key
    )


def _pi_capture(c: Context) -> Any:
    _none(c)
    return c.radar.payment_intents.capture(c.path["intent"], idempotency_key=c.idempotency_key)


def _pi_cancel(c: Context) -> Any:
    p = _only(c.params, "cancellation_reason")
    return c.radar.payment_intents.cancel(c.path["intent"], idempotency_key=c.idempotency_key, **p)


def _si_confirm(c: Context) -> Any:
    return c.radar.setup_intents.confirm(
        c.path["intent"], c.params, idempotency_key=c.idempotency_key
    )


def _charge_capture(c: Context) -> Any:
    _none(c)
    return c.radar.charges.capture(c.path["charge"], idempotency_key=c.idempotency_key)


def _charge_allow(c: Context) -> Any:
    _none(c)
    return c.radar.charges.add_to_allow_list(c.path["charge"])


def _pm_attach(c: Context) -> Any:
    p = _only(c.params, "customer")
    if "customer" not in p:
        raise InvalidRequestError(
            "Missing required param: customer.", param="customer", code="parameter_missing"
        )
    return c.radar.payment_methods.attach(c.path["payment_method"], customer=p["customer"])


def _pm_detach(c: Context) -> Any:
    _none(c)
    return c.radar.payment_methods.detach(c.path["payment_method"])


def _review_approve(c: Context) -> Any:
    _none(c)
    return c.radar.reviews.approve(c.path["review"], idempotency_key=c.idempotency_key)


def _evaluation_report(method: str) -> Call:
    def call(c: Context) -> Any:
        return getattr(c.radar.payment_evaluations, method)(
            c.path["payment_evaluation"], c.params, idempotency_key=c.idempotency_key
        )

    return call


def _webhook(method: str) -> Call:
    def call(c: Context) -> Any:
        if method in ("create", "list"):
            return getattr(c.webhooks, method)(c.params)
        _none(c)
        return getattr(c.webhooks, method)(c.path["webhook_endpoint"])

    return call


_PI = "/v1/payment_intents"
_EFW = "/v1/radar/early_fraud_warnings"
_VL = "/v1/radar/value_lists"
_VLI = "/v1/radar/value_list_items"
_PE = "/v1/radar/payment_evaluations"
_WH = "/v1/webhook_endpoints"

#: The API, in the order of the OpenAPI document.
OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/v1/customers", "PostCustomers", _create("customers")),
    Operation("GET", "/v1/customers/{customer}", "GetCustomersCustomer", _retrieve("customers")),
    Operation("POST", "/v1/customers/{customer}", "PostCustomersCustomer", _update("customers")),
    Operation("POST", "/v1/radar/sessions", "PostRadarSessions", _session_create, "publishable"),
    Operation(
        "GET",
        "/v1/radar/sessions/{session}",
        "GetRadarSessionsSession",
        _retrieve("radar_sessions"),
    ),
    Operation("GET", "/v1/payment_methods", "GetPaymentMethods", _list("payment_methods")),
    Operation("POST", "/v1/payment_methods", "PostPaymentMethods", _create("payment_methods")),
    Operation(
        "GET",
        "/v1/payment_methods/{payment_method}",
        "GetPaymentMethodsPaymentMethod",
        _retrieve("payment_methods"),
    ),
    Operation(
        "POST",
        "/v1/payment_methods/{payment_method}",
        "PostPaymentMethodsPaymentMethod",
        _update("payment_methods"),
    ),
    Operation(
        "POST",
        "/v1/payment_methods/{payment_method}/attach",
        "PostPaymentMethodsPaymentMethodAttach",
        _pm_attach,
    ),
    Operation(
        "POST",
        "/v1/payment_methods/{payment_method}/detach",
        "PostPaymentMethodsPaymentMethodDetach",
        _pm_detach,
    ),
    Operation("GET", _PI, "GetPaymentIntents", _list("payment_intents")),
    Operation("POST", _PI, "PostPaymentIntents", _create("payment_intents")),
    Operation("GET", _PI + "/{intent}", "GetPaymentIntentsIntent", _retrieve("payment_intents")),
    Operation("POST", _PI + "/{intent}", "PostPaymentIntentsIntent", _update("payment_intents")),
    Operation("POST", _PI + "/{intent}/confirm", "PostPaymentIntentsIntentConfirm", _pi_confirm),
    Operation("POST", _PI + "/{intent}/capture", "PostPaymentIntentsIntentCapture", _pi_capture),
    Operation("POST", _PI + "/{intent}/cancel", "PostPaymentIntentsIntentCancel", _pi_cancel),
    Operation("GET", "/v1/setup_intents", "GetSetupIntents", _list("setup_intents")),
    Operation("POST", "/v1/setup_intents", "PostSetupIntents", _create("setup_intents")),
    Operation(
        "GET", "/v1/setup_intents/{intent}", "GetSetupIntentsIntent", _retrieve("setup_intents")
    ),
    Operation(
        "POST", "/v1/setup_intents/{intent}/confirm", "PostSetupIntentsIntentConfirm", _si_confirm
    ),
    Operation("GET", "/v1/charges", "GetCharges", _list("charges")),
    Operation("POST", "/v1/charges", "PostCharges", _create("charges")),
    Operation("GET", "/v1/charges/{charge}", "GetChargesCharge", _retrieve("charges")),
    Operation("POST", "/v1/charges/{charge}", "PostChargesCharge", _update("charges")),
    Operation("POST", "/v1/charges/{charge}/capture", "PostChargesChargeCapture", _charge_capture),
    Operation(
        "POST",
        "/v1/charges/{charge}/add_to_allow_list",
        "PostChargesChargeAddToAllowList",
        _charge_allow,
    ),
    Operation("GET", "/v1/refunds", "GetRefunds", _list("refunds")),
    Operation("POST", "/v1/refunds", "PostRefunds", _create("refunds")),
    Operation("GET", "/v1/refunds/{refund}", "GetRefundsRefund", _retrieve("refunds")),
    Operation("POST", "/v1/refunds/{refund}", "PostRefundsRefund", _update("refunds")),
    Operation("POST", "/v1/disputes", "PostDisputes", _create("disputes")),
    Operation("GET", "/v1/disputes/{dispute}", "GetDisputesDispute", _retrieve("disputes")),
    Operation("GET", "/v1/reviews", "GetReviews", _list("reviews")),
    Operation("GET", "/v1/reviews/{review}", "GetReviewsReview", _retrieve("reviews")),
    Operation("POST", "/v1/reviews/{review}/approve", "PostReviewsReviewApprove", _review_approve),
    Operation("GET", _VL, "GetRadarValueLists", _list("value_lists")),
    Operation("POST", _VL, "PostRadarValueLists", _create("value_lists")),
    Operation(
        "GET", _VL + "/{value_list}", "GetRadarValueListsValueList", _retrieve("value_lists")
    ),
    Operation(
        "POST", _VL + "/{value_list}", "PostRadarValueListsValueList", _update("value_lists")
    ),
    Operation(
        "DELETE", _VL + "/{value_list}", "DeleteRadarValueListsValueList", _delete("value_lists")
    ),
    Operation("GET", _VLI, "GetRadarValueListItems", _list("value_list_items")),
    Operation("POST", _VLI, "PostRadarValueListItems", _create("value_list_items")),
    Operation("GET", _VLI + "/{item}", "GetRadarValueListItemsItem", _retrieve("value_list_items")),
    Operation(
        "DELETE", _VLI + "/{item}", "DeleteRadarValueListItemsItem", _delete("value_list_items")
    ),
    Operation("GET", _EFW, "GetRadarEarlyFraudWarnings", _list("early_fraud_warnings")),
    Operation("POST", _EFW, "PostRadarEarlyFraudWarnings", _create("early_fraud_warnings")),
    Operation(
        "GET",
        _EFW + "/{early_fraud_warning}",
        "GetRadarEarlyFraudWarningsEarlyFraudWarning",
        _retrieve("early_fraud_warnings"),
    ),
    Operation("POST", _PE, "PostRadarPaymentEvaluations", _create("payment_evaluations")),
    Operation(
        "GET",
        _PE + "/{payment_evaluation}",
        "GetRadarPaymentEvaluationsPaymentEvaluation",
        _retrieve("payment_evaluations"),
    ),
    Operation(
        "POST",
        _PE + "/{payment_evaluation}/report_outcome",
        "PostRadarPaymentEvaluationsPaymentEvaluationReportOutcome",
        _evaluation_report("report_outcome"),
    ),
    Operation(
        "POST",
        _PE + "/{payment_evaluation}/report_event",
        "PostRadarPaymentEvaluationsPaymentEvaluationReportEvent",
        _evaluation_report("report_event"),
    ),
    Operation("GET", _WH, "GetWebhookEndpoints", _webhook("list")),
    Operation("POST", _WH, "PostWebhookEndpoints", _webhook("create")),
    Operation(
        "GET",
        _WH + "/{webhook_endpoint}",
        "GetWebhookEndpointsWebhookEndpoint",
        _webhook("retrieve"),
    ),
    Operation(
        "DELETE",
        _WH + "/{webhook_endpoint}",
        "DeleteWebhookEndpointsWebhookEndpoint",
        _webhook("delete"),
    ),
)

_MAX_EXPAND_DEPTH = 4


def _cannot(path: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"This property cannot be expanded ({path}).", param="expand", code="parameter_invalid"
    )


def _expand_one(radar: Radar, node: Any, parts: list[str], path: str) -> None:
    if isinstance(node, list):
        for item in node:
            _expand_one(radar, item, parts, path)
        return
    if not isinstance(node, dict):
        raise _cannot(path)
    head, rest = parts[0], parts[1:]
    if head not in node:
        raise _cannot(path)
    value = node[head]
    if isinstance(value, str):
        found = radar.store.get(value)
        if found is None:
            raise _cannot(path)
        value = node[head] = found.to_dict()
    elif value is None:
        return
    elif not isinstance(value, dict | list) or (not rest and head == "data"):
        raise _cannot(path)
    if rest:
        _expand_one(radar, value, rest, path)


def expand(radar: Radar, body: dict[str, Any], paths: object) -> dict[str, Any]:
    """``body`` with the ids named by ``expand`` (``latest_charge``, ``data.charge``,
    ``latest_charge.review``) replaced by the objects; an id that names no object, a field that
    is not an id and a path deeper than four levels are Stripe's ``expand`` error."""
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise InvalidRequestError("Invalid array", param="expand", code="parameter_invalid")
    for path in paths:
        parts = path.split(".")
        if len(parts) > _MAX_EXPAND_DEPTH or "" in parts:
            raise _cannot(path)
        _expand_one(radar, body, parts, path)
    return body
