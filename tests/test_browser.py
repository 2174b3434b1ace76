"""Browser tests in Debian's Chromium (Playwright): a test shop pays with ``radar.js`` and an
analyst works the dashboard. Screenshots of the main pages go to ``test-artifacts/screenshots``.

The shop is a test-only page of the app (``/shop``): it loads ``/radar.js``, creates a Radar
Session and posts the session id to its backend (``/shop/pay``), which creates a PaymentMethod
and confirms a PaymentIntent over the API with the secret key, as a shop's server would.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route as AppRoute

from conftest import ROOT, ServedApp
from radarcore.objects import RadarSession
from server_support import PUBLISHABLE, SECRET, serve_in_thread

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

SHOP = """<!doctype html>
<html><head><meta charset="utf-8"><title>Test shop</title></head>
<body>
<h1>Test shop</h1>
<form id="checkout">
  <label>Email <input name="email" value="shopper@example.com"></label>
  <label>Amount (USD) <input name="amount" value="50.00"></label>
  <label>Card <input name="card" value="4242424242424242"></label>
  <button type="submit">Pay</button>
</form>
<p>Session: <span id="session"></span></p>
<p>Result: <span id="result"></span></p>
<script src="__API__/radar.js"></script>
<script>
  const radar = Radar(new URLSearchParams(location.search).get("key") || __KEY__);
  document.getElementById("checkout").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const {radarSession, error} = await radar.createRadarSession();
    document.getElementById("session").textContent =
      radarSession ? radarSession.id : "error " + error.type + ": " + error.message;
    const response = await fetch("/shop/pay", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        email: form.get("email"), amount: form.get("amount"), card: form.get("card"),
        session: radarSession ? radarSession.id : null,
      }),
    });
    const paid = await response.json();
    document.getElementById("result").textContent = paid.status + " " + (paid.charge || "");
  });
</script>
</body></html>
"""


def _shop_backend(base: str, order: dict[str, Any]) -> dict[str, Any]:
    """What the shop's server does: PaymentMethod, then PaymentIntent confirmed with the
    session, over Radar's API with the secret key."""
    session = {"radar_options[session]": order["session"]} if order["session"] else {}
    with httpx.Client(base_url=base, auth=(SECRET, "")) as api:
        pm = api.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": order["card"],
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "billing_details[email]": order["email"],
            },
        ).json()
        response = api.post(
            "/v1/payment_intents",
            data={
                "amount": str(round(float(order["amount"]) * 100)),
                "currency": "usd",
                "payment_method": pm["id"],
                "receipt_email": order["email"],
                "confirm": "true",
                **session,
            },
        )
        body = response.json()
        if response.status_code == 402:
            return {"status": "declined:" + body["error"]["decline_code"], "charge": None}
        response.raise_for_status()
        return {"status": body["status"], "charge": body["latest_charge"]}


def _shop_routes(publishable_key: str, api: str = "") -> list[AppRoute]:
    """The shop's page and backend; ``api``: the API's origin when it is not the shop's."""

    async def shop(request: Request) -> Response:
        page = SHOP.replace("__KEY__", json.dumps(publishable_key)).replace("__API__", api)
        return HTMLResponse(page)

    async def pay(request: Request) -> Response:
        order = await request.json()
        base = api or str(request.base_url).rstrip("/")
        return JSONResponse(await run_in_threadpool(_shop_backend, base, order))

    return [AppRoute("/shop", shop), AppRoute("/shop/pay", pay, methods=["POST"])]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def shop(served_app: ServedApp) -> ServedApp:
    """The test server with the shop's routes."""
    served_app.app.router.routes.extend(_shop_routes(PUBLISHABLE))
    return served_app


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def checkout(
    page: Page, shop: ServedApp, *, email: str, amount: str, key: str | None = None
) -> tuple[str, str]:
    """Pays in the test shop (with another publishable key: ``key``); returns the session and
    result texts."""
    page.goto(f"{shop.url}/shop" + ("" if key is None else f"?key={key}"))
    page.fill("input[name=email]", email)
    page.fill("input[name=amount]", amount)
    page.click("button[type=submit]")
    expect(page.locator("#result")).not_to_be_empty(timeout=20_000)
    return page.inner_text("#session"), page.inner_text("#result")


def test_shop_creates_a_radar_session_and_pays(page: Page, shop: ServedApp) -> None:
    session_text, result = checkout(page, shop, email="shopper@example.com", amount="50.00")
    assert re.fullmatch(r"rse_\w+", session_text), session_text
    status, charge_id = result.split()
    assert status == "succeeded"
    screenshot(page, "shop")
    radar = shop.radar
    charge = radar.charges.retrieve(charge_id)
    assert charge.radar_options is not None
    assert charge.radar_options.session == session_text
    session = radar.radar_sessions.retrieve(session_text)
    assert isinstance(session, RadarSession)
    assert session.user_agent is not None
    assert "HeadlessChrome" in session.user_agent
    assert session.automation is True  # navigator.webdriver under Playwright
    assert session.device_id is not None
    assert re.fullmatch(r"dev_[0-9a-f]{64}", session.device_id)
    assert session.timezone_offset is not None
    assert session.browser is not None
    assert session.browser.languages[0] == "fr-FR"
    assert session.browser.window == "1280x900"
    assert session.browser.screen is not None
    assert session.browser.cookies_enabled is True
    assert session.browser.timezone
    # The device id is stable across visits (kept in localStorage and a cookie) and reaches
    # the payment event the features read.
    second_session, _ = checkout(page, shop, email="shopper@example.com", amount="20.00")
    again = radar.radar_sessions.retrieve(second_session)
    assert again.device_id == session.device_id
    assert (charge.event or {}).get("device_id") == session.device_id


@pytest.mark.parametrize("allowed", [True, False])
def test_shop_on_another_origin_needs_cors(
    page: Page, served_app: ServedApp, allowed: bool
) -> None:
    """The shop's page comes from its own origin (another port) and loads ``radar.js`` from the
    API's: the session request is cross-origin and works only for a configured origin."""
    with serve_in_thread(Starlette(routes=_shop_routes(PUBLISHABLE, served_app.url))) as shop:
        state = served_app.app.state.server
        origins = (shop.url,) if allowed else ("https://other-shop.example",)
        state.config = dataclasses.replace(state.config, cors_origins=origins)
        assert shop.url != served_app.url
        away = ServedApp(shop.url, None, served_app.radar)
        session_text, result = checkout(page, away, email="far@example.com", amount="30.00")
    status, charge_id = result.split()
    assert status == "succeeded"
    charge = served_app.radar.charges.retrieve(charge_id)
    if not allowed:
        # The browser refuses the response without CORS headers: radar.js reports a network
        # error and checkout goes on without a session.
        assert session_text.startswith("error api_connection_error:"), session_text
        assert charge.radar_options is None
        return
    assert re.fullmatch(r"rse_\w+", session_text), session_text
    assert charge.radar_options is not None
    assert charge.radar_options.session == session_text
    session = served_app.radar.radar_sessions.retrieve(session_text)
    assert session.ip_address == "127.0.0.1"
    assert session.user_agent is not None
    assert "HeadlessChrome" in session.user_agent
    assert charge.ip_address == "127.0.0.1"


@pytest.mark.parametrize("failure", ["network_down", "server_error", "wrong_key"])
def test_checkout_pays_when_radar_js_fails(page: Page, shop: ServedApp, failure: str) -> None:
    if failure == "network_down":
        page.route("**/v1/radar/sessions", lambda route: route.abort())
    elif failure == "server_error":

        def broken(route: Route) -> None:
            route.fulfill(status=500, body="<html>oops</html>", content_type="text/html")

        page.route("**/v1/radar/sessions", broken)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    key = "pk_test_unknown" if failure == "wrong_key" else None
    session_text, result = checkout(
        page, shop, email="offline@example.com", amount="12.00", key=key
    )
    expected = {
        "network_down": "error api_connection_error:",
        "server_error": "error api_error: Radar Session response was not JSON (500)",
        "wrong_key": "error invalid_request_error: Invalid API Key provided",
    }[failure]
    assert session_text.startswith(expected), session_text
    status, charge_id = result.split()
    assert status == "succeeded"
    assert shop.radar.charges.retrieve(charge_id).radar_options is None
    assert errors == []


def test_analyst_works_the_dashboard(page: Page, shop: ServedApp) -> None:
    radar = shop.radar
    for email, amount in [
        ("shopper@example.com", "50.00"),
        ("reviewer@example.com", "500.00"),
        ("fraudster@example.com", "600.00"),
    ]:
        _, result = checkout(page, shop, email=email, amount=amount)
        assert result.startswith("succeeded"), result
    _, blocked = checkout(page, shop, email="big@example.com", amount="5000.00")
    assert blocked.startswith("declined:fraudulent"), blocked

    page.goto(f"{shop.url}/dashboard/payments")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.fill("input[name=password]", "sk_test_wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_have_text("Wrong password or API key.")
    screenshot(page, "login")
    page.fill("input[name=password]", SECRET)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/payments$"))
    expect(page.locator("table.payments tbody tr")).to_have_count(4)
    expect(page.locator(".badge.risk-highest")).to_have_count(1)
    screenshot(page, "payments")

    page.fill("input[name=q]", "email:shopper@example.com")
    page.click("form.search button")
    rows = page.locator("table.payments tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("shopper@example.com")
    page.fill("input[name=q]", "risk_level:highest")
    page.click("form.search button")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("big@example.com")
    page.fill("input[name=q]", "amount:>400")
    page.click("form.search button")
    expect(rows).to_have_count(3)
    screenshot(page, "search")

    page.fill("input[name=q]", "shopper@example.com")
    page.click("form.search button")
    page.click("a.charge-link")
    insights = page.locator("#risk-insights")
    expect(insights).to_contain_text("amount_in_usd")
    expect(insights).to_contain_text("Risk score")
    expect(insights).to_contain_text("61")
    expect(page.locator("#related")).to_contain_text("reviewer@example.com")
    screenshot(page, "payment")

    page.goto(f"{shop.url}/dashboard/reviews")
    queue = page.locator("table.reviews tbody tr")
    expect(queue).to_have_count(2)
    screenshot(page, "reviews")
    queue.filter(has_text="reviewer@example.com").get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_have_text("Review approved.")
    expect(queue).to_have_count(1)
    queue.filter(has_text="fraudster@example.com").get_by_role(
        "button", name="Refund and report fraud"
    ).click()
    expect(page.locator(".flash")).to_have_text("Refunded and reported as fraud.")
    expect(page.locator("td.empty")).to_have_text("The review queue is empty.")

    fraud_charge = next(
        c
        for c in radar.store.list("charge", limit=None)[0]
        if (c.event or {}).get("email") == "fraudster@example.com"
    )
    fingerprint = fraud_charge.payment_method_details.card.fingerprint
    page.goto(f"{shop.url}/dashboard/lists")
    page.click("text=Default card fingerprint block list")
    expect(page.locator("code.item-value")).to_have_text([fingerprint])
    screenshot(page, "list")

    page.goto(f"{shop.url}/dashboard/rules")
    editor = page.locator("#rules-text")
    editor.fill("Block if :amount_in_usd > 1000")
    error = page.locator("#rule-error")
    expect(error).to_contain_text("attribute reference is not closed")
    expect(error.locator("pre.caret")).to_have_text("Block if :amount_in_usd > 1000\n         ^")
    expect(page.locator("#save-rules")).to_be_disabled()
    screenshot(page, "rules-error")
    editor.fill("Block if :amount_in_usd: > 550")
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Backtest").click()
    backtest = page.locator("#backtest")
    expect(backtest).to_contain_text("Backtest on 4 stored payments")
    matched = backtest.locator("tbody tr").first.locator("td")
    # fraudulent (the refunded-as-fraud $600), other refunds, already blocked ($5,000), rest
    expect(matched).to_have_text(["1", "0", "1", "0", "2"])
    screenshot(page, "rules-backtest")
    page.locator("#save-rules").click()
    expect(page.locator(".flash")).to_have_text("Saved 1 rules.")
    assert [str(r) for r in radar.custom_rules] == ["Block if :amount_in_usd: > 550"]

    page.goto(f"{shop.url}/dashboard/model")
    expect(page.locator("#threshold-table")).to_be_visible()
    expect(page.locator("main")).to_contain_text("1 of those labelled fraudulent")
    screenshot(page, "model")
