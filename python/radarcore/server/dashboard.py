"""The analyst dashboard under ``/dashboard`` and the browser collector at ``/radar.js``.

Server-rendered pages (Jinja2 templates in ``server/templates``, a little vanilla JS in
``server/static``) over the app's engine (``request.app.state.server.radar``):

* payments with risk badges and search (:mod:`radarcore.server.search`), a payment page with
  the risk insights (the top factors behind its score from the model's TreeSHAP contributions,
  the rule that decided, related payments sharing its card, email or IP) and its actions
  (refund, refund and report fraud, add to allow list on a blocked payment);
* the review queue (approve, refund, refund and report fraud);
* the value lists and their items (create a list, add and remove items);
* the rules: edited as text with inline syntax errors (positions from the parser), backtested
  on the stored history, saved only once backtested;
* the model page: score distribution, precision and recall by threshold on the stored labelled
  payments.

Sign in: with ``RADARCORE_DASHBOARD_PASSWORD`` when it is set, otherwise with one of the
server's secret API keys. The session is a signed, HttpOnly, ``SameSite=Strict`` cookie
(itsdangerous, with a key kept in the store, valid for :data:`SESSION_SECONDS`); every form
carries a CSRF token bound to the session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from radarcore.errors import RadarError, RuleSetError, RuleSyntaxError, StripeError
from radarcore.models.metrics import metrics_at_threshold
from radarcore.objects import Charge, Review
from radarcore.radar import Radar
from radarcore.rules import RuleSet
from radarcore.server.search import QueryError, parse_query
from radarcore.services import load_rule_lists

__all__ = ["COOKIE", "SESSION_SECONDS", "routes"]

COOKIE = "radarcore_dashboard"
SESSION_SECONDS = 12 * 3600
PAGE_SIZE = 25
_HERE = Path(__file__).parent
_STATIC = _HERE / "static"
_templates = Jinja2Templates(directory=str(_HERE / "templates"))
_COOKIE_KEY_META = "dashboard_cookie_key"
_THRESHOLDS = tuple(range(0, 101, 5))

Handler = Callable[[Request], Awaitable[Response]]


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def _when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_templates.env.filters["money"] = _money
_templates.env.filters["when"] = _when


def _radar(request: Request) -> Radar:
    radar: Radar = request.app.state.server.radar
    return radar


def _serializer(request: Request) -> URLSafeTimedSerializer:
    cached: URLSafeTimedSerializer | None = getattr(request.app.state, "dashboard_signer", None)
    if cached is None:
        store = _radar(request).store
        with store.transaction():
            key = store.get_meta(_COOKIE_KEY_META)
            if key is None:
                key = secrets.token_hex(32)
                store.set_meta(_COOKIE_KEY_META, key)
        cached = URLSafeTimedSerializer(key, salt="radarcore-dashboard")
        request.app.state.dashboard_signer = cached
    return cached


def _session(request: Request) -> str | None:
    """The signed-in session's id, or ``None``."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        session: str = _serializer(request).loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    return session


def _csrf(request: Request, session: str) -> str:
    key = _serializer(request).secret_key
    assert isinstance(key, bytes)
    return hmac.new(key, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()


def _credentials_ok(request: Request, given: str) -> bool:
    password = os.environ.get("RADARCORE_DASHBOARD_PASSWORD")
    candidates = [password] if password else sorted(request.app.state.server.secret_keys)
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(given.encode(), candidate.encode())
    return ok


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    session = request.state.dashboard_session
    return _templates.TemplateResponse(
        request,
        template,
        {"csrf": _csrf(request, session), "flash": request.query_params.get("flash"), **context},
        status_code=status,
    )


def _back(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        url += ("&" if "?" in url else "?") + urlencode({"flash": flash})
    return RedirectResponse(url, status_code=303)


def _signed_in(handler: Handler) -> Handler:
    """Pages behind the login; POSTs must also carry the session's CSRF token."""

    async def wrapped(request: Request) -> Response:
        session = _session(request)
        if session is None:
            if request.method == "GET":
                return RedirectResponse(f"/dashboard/login?next={request.url.path}", 303)
            return Response("Sign in first.", 401)
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf")
            if not isinstance(token, str) or not hmac.compare_digest(
                token, _csrf(request, session)
            ):
                return Response("The form's CSRF token is missing or wrong; reload the page.", 403)
            request.state.form = form
        request.state.dashboard_session = session
        return await handler(request)

    wrapped.__name__ = handler.__name__
    return wrapped


def _form(request: Request, name: str) -> str:
    value = request.state.form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _local(target: str | None, default: str) -> str:
    """``target`` when it is a dashboard path (no redirects off the dashboard), else
    ``default``."""
    if target and target.startswith("/dashboard/") and "//" not in target and "\\" not in target:
        return target
    return default


# --- sign in ------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    error = None
    target = _local(request.query_params.get("next"), "/dashboard/payments")
    if request.method == "POST":
        form = await request.form()
        given = form.get("password")
        if isinstance(given, str) and given and _credentials_ok(request, given):
            response = RedirectResponse(target, status_code=303)
            token = _serializer(request).dumps(secrets.token_hex(16))
            response.set_cookie(
                COOKIE,
                token,
                max_age=SESSION_SECONDS,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/dashboard",
            )
            return response
        error = "Wrong password or API key."
    uses_password = bool(os.environ.get("RADARCORE_DASHBOARD_PASSWORD"))
    return _templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "next": target, "uses_password": uses_password},
        status_code=401 if error else 200,
    )


@_signed_in
async def logout(request: Request) -> Response:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


# --- payments -----------------------------------------------------------------------------------


@_signed_in
async def home(request: Request) -> Response:
    return RedirectResponse("/dashboard/payments", status_code=303)


@_signed_in
async def payments(request: Request) -> Response:
    radar = _radar(request)
    query = request.query_params.get("q", "").strip()
    after = request.query_params.get("starting_after") or None
    error = None
    found: list[Any] = []
    more = False
    try:
        filters = parse_query(query)
    except QueryError as problem:
        error = str(problem)
    else:
        found, more = radar.store.list("charge", limit=PAGE_SIZE, starting_after=after, **filters)
    return _page(
        request,
        "payments.html",
        status=400 if error else 200,
        query=query,
        error=error,
        charges=found,
        has_more=more,
        next_after=found[-1].id if found and more else None,
    )


def _related(radar: Radar, charge: Charge) -> list[tuple[str, str, list[Any]]]:
    event = charge.event or {}
    out = []
    for label, column, value in (
        ("card", "card_fingerprint", event.get("card_fingerprint")),
        ("email", "email", event.get("email")),
        ("IP address", "ip_address", charge.ip_address),
    ):
        if value:
            same, _ = radar.store.list("charge", limit=11, **{column: value})
            others = [c for c in same if isinstance(c, Charge) and c.id != charge.id][:10]
            out.append((label, value, others))
    return out


@_signed_in
async def payment(request: Request) -> Response:
    radar = _radar(request)
    stored = radar.store.get(request.path_params["charge"])
    if not isinstance(stored, Charge):
        return _page(request, "missing.html", status=404, what="payment")
    try:
        factors = radar.explain(stored.id)
    except KeyError:
        factors = []
    review = radar.store.get(stored.review) if stored.review else None
    session = (
        radar.store.get(stored.radar_options.session)
        if stored.radar_options and stored.radar_options.session
        else None
    )
    return _page(
        request,
        "payment.html",
        charge=stored,
        factors=factors,
        scale=max([abs(f.points) for f in factors] + [1e-9]),
        has_model=radar.has_model,
        related=_related(radar, stored),
        review=review if isinstance(review, Review) else None,
        session=session,
    )


async def _act(request: Request, action: Callable[[Radar], str], back: str) -> Response:
    try:
        message = action(_radar(request))
    except StripeError as error:
        return _back(back, f"Error: {error.message}")
    return _back(back, message)


@_signed_in
async def refund(request: Request) -> Response:
    charge_id = request.path_params["charge"]
    fraud = _form(request, "reason") == "fraudulent"

    def run(radar: Radar) -> str:
        radar.refunds.create(
            charge=charge_id, reason="fraudulent" if fraud else "requested_by_customer"
        )
        return "Refunded and reported as fraud." if fraud else "Refunded."

    back = _local(_form(request, "back"), f"/dashboard/payments/{charge_id}")
    return await _act(request, run, back)


@_signed_in
async def allow(request: Request) -> Response:
    charge_id = request.path_params["charge"]

    def run(radar: Radar) -> str:
        radar.charges.add_to_allow_list(charge_id)
        return "The card and email are on the allow lists."

    return await _act(request, run, f"/dashboard/payments/{charge_id}")


# --- reviews ------------------------------------------------------------------------------------


@_signed_in
async def reviews(request: Request) -> Response:
    radar = _radar(request)
    open_reviews = radar.reviews.list(limit=100).data
    rows = [(review, radar.store.get(review.charge or "")) for review in open_reviews]
    return _page(request, "reviews.html", rows=rows)


@_signed_in
async def approve(request: Request) -> Response:
    review_id = request.path_params["review"]

    def run(radar: Radar) -> str:
        radar.reviews.approve(review_id)
        return "Review approved."

    return await _act(request, run, _local(_form(request, "back"), "/dashboard/reviews"))


# --- lists --------------------------------------------------------------------------------------


@_signed_in
async def lists(request: Request) -> Response:
    radar = _radar(request)
    found = radar.value_lists.list(limit=100).data
    return _page(request, "lists.html", lists=found)


@_signed_in
async def create_list(request: Request) -> Response:
    def run(radar: Radar) -> str:
        created = radar.value_lists.create(
            alias=_form(request, "alias"),
            name=_form(request, "name"),
            item_type=_form(request, "item_type") or "string",
        )
        return f"Created @{created.alias}."

    return await _act(request, run, "/dashboard/lists")


@_signed_in
async def value_list(request: Request) -> Response:
    radar = _radar(request)
    try:
        found = radar.value_lists.retrieve(request.path_params["list"])
    except StripeError:
        return _page(request, "missing.html", status=404, what="list")
    items = radar.store.list("radar.value_list_item", limit=None, value_list=found.id)[0]
    return _page(request, "list.html", value_list=found, items=items)


@_signed_in
async def add_item(request: Request) -> Response:
    list_id = request.path_params["list"]

    def run(radar: Radar) -> str:
        item = radar.value_list_items.create(value_list=list_id, value=_form(request, "value"))
        return f"Added {item.value}."

    return await _act(request, run, f"/dashboard/lists/{list_id}")


@_signed_in
async def remove_item(request: Request) -> Response:
    list_id = request.path_params["list"]

    def run(radar: Radar) -> str:
        item = radar.value_list_items.retrieve(request.path_params["item"])
        radar.value_list_items.delete(item.id)
        return f"Removed {item.value}."

    return await _act(request, run, f"/dashboard/lists/{list_id}")


# --- rules --------------------------------------------------------------------------------------


def _parse_rules(radar: Radar, text: str) -> RuleSet:
    """The custom rules in ``text`` (one per line) against the stored lists."""
    return RuleSet.parse(text, lists=load_rule_lists(radar))


def _syntax_error(error: RadarError, text: str) -> dict[str, Any]:
    position = error.position if isinstance(error, RuleSyntaxError) else None
    out: dict[str, Any] = {"message": str(error), "position": position}
    if position is not None:
        before = text[:position]
        out["line"] = before.count("\n") + 1
        out["column"] = position - (before.rfind("\n") + 1) + 1
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _backtest_rows(radar: Radar, rule_set: RuleSet) -> dict[str, Any]:
    result = radar.backtest(list(rule_set.rules))
    custom = {rule.id for rule in rule_set.rules}
    return {
        "payments": result.payments,
        "by_action": result.by_action,
        "rules": [r for r in result.rules if r.rule.id in custom],
    }


@_signed_in
async def rules(request: Request) -> Response:
    radar = _radar(request)
    text = "\n".join(rule.text for rule in radar.custom_rules)
    context: dict[str, Any] = {"text": text, "error": None, "backtest": None, "checked": None}
    status = 200
    if request.method == "POST":
        text = _form(request, "rules").replace("\r\n", "\n")
        context["text"] = text
        action = _form(request, "action")
        try:
            rule_set = _parse_rules(radar, text)
            if action == "save":
                if _form(request, "checked") != _digest(text):
                    raise RuleSetError("backtest these rules before saving them")
                radar.set_rules(list(rule_set.rules), save=True)
                return _back("/dashboard/rules", f"Saved {len(rule_set)} rules.")
            context["backtest"] = _backtest_rows(radar, rule_set)
            context["checked"] = _digest(text)
        except (RuleSyntaxError, RuleSetError) as error:
            context["error"] = _syntax_error(error, text)
            status = 400
    context["defaults"] = [r for r in radar.rules.rules if r not in radar.custom_rules]
    return _page(request, "rules.html", status=status, **context)


@_signed_in
async def check_rules(request: Request) -> Response:
    """JSON for the editor's inline check as the analyst types."""
    text = _form(request, "rules").replace("\r\n", "\n")
    try:
        _parse_rules(_radar(request), text)
    except (RuleSyntaxError, RuleSetError) as error:
        return JSONResponse({"error": _syntax_error(error, text)})
    return JSONResponse({"error": None})


# --- model --------------------------------------------------------------------------------------


@_signed_in
async def model(request: Request) -> Response:
    radar = _radar(request)
    history = radar.history()
    scores = history["risk_score"]
    scored = ~np.isnan(scores)
    labels = history["is_fraud"][scored]
    values = scores[scored]
    counts = np.histogram(values, bins=20, range=(0, 100))[0] if values.size else np.zeros(20)
    bins = [
        (5 * i, int(counts[i]), int(np.sum(labels[(values >= 5 * i) & (values < 5 * i + 5)])))
        for i in range(20)
    ]
    bins[-1] = (95, int(np.sum(values >= 95)), int(np.sum(labels[values >= 95])))
    thresholds = (
        [metrics_at_threshold(values, labels, t) for t in _THRESHOLDS]
        if values.size and labels.any()
        else []
    )
    return _page(
        request,
        "model.html",
        has_model=radar.has_model,
        payments=int(scores.size),
        scored=int(values.size),
        fraud=int(labels.sum()),
        bins=bins,
        peak=max([b[1] for b in bins] + [1]),
        thresholds=thresholds,
        elevated=radar.settings.elevated_threshold,
        highest=radar.settings.highest_threshold,
    )


# --- routes -------------------------------------------------------------------------------------


async def radar_js(request: Request) -> Response:
    return FileResponse(
        _STATIC / "radar.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


def routes() -> list[BaseRoute]:
    """``/radar.js`` and the dashboard's pages under ``/dashboard``."""
    pages = [
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/payments", payments, methods=["GET"]),
        Route("/payments/{charge}", payment, methods=["GET"]),
        Route("/payments/{charge}/refund", refund, methods=["POST"]),
        Route("/payments/{charge}/allow", allow, methods=["POST"]),
        Route("/reviews", reviews, methods=["GET"]),
        Route("/reviews/{review}/approve", approve, methods=["POST"]),
        Route("/lists", lists, methods=["GET"]),
        Route("/lists", create_list, methods=["POST"]),
        Route("/lists/{list}", value_list, methods=["GET"]),
        Route("/lists/{list}/items", add_item, methods=["POST"]),
        Route("/lists/{list}/items/{item}/delete", remove_item, methods=["POST"]),
        Route("/rules", rules, methods=["GET", "POST"]),
        Route("/rules/check", check_rules, methods=["POST"]),
        Route("/model", model, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(_STATIC)), name="dashboard_static"),
    ]
    return [
        Route("/radar.js", radar_js, methods=["GET"]),
        Mount("/dashboard", routes=pages),
    ]
