"""The dashboard over HTTP: sign-in, CSRF, search, payment pages, actions, rules, model page,
and ``/radar.js`` (the browser tests in ``test_browser.py`` drive the same pages in Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import ServedApp
from radarcore import CardError
from radarcore.radar import Radar
from radarcore.server.dashboard import COOKIE
from server_support import PUBLISHABLE as PUBLISHABLE_KEY
from server_support import SECRET as SECRET_KEY

VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}
MASTERCARD = {"number": "5555555555554444", "exp_month": 12, "exp_year": 2030}


def pay(radar: Radar, amount: int, email: str, card: dict[str, Any] = VISA) -> str:
    pm = radar.payment_methods.create(type="card", card=card, billing_details={"email": email})
    try:
        pi = radar.payment_intents.create(
            amount=amount, currency="usd", payment_method=pm.id, confirm=True
        )
    except CardError:
        return radar.store.list("charge", limit=1)[0][0].id  # type: ignore[attr-defined, no-any-return]
    assert pi.latest_charge is not None
    return pi.latest_charge


@pytest.fixture
def client(served_app: ServedApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_app.url, follow_redirects=False) as http:
        yield http


@pytest.fixture
def engine(served_app: ServedApp) -> Radar:
    """The engine behind the test server."""
    radar: Radar = served_app.radar
    return radar


def sign_in(client: httpx.Client, password: str = SECRET_KEY) -> str:
    """Signs in; returns the CSRF token of the session."""
    response = client.post("/dashboard/login", data={"password": password})
    assert response.status_code == 303, response.text
    page = client.get("/dashboard/payments")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert match is not None
    return match.group(1)


def charge_ids(html: str) -> list[str]:
    return re.findall(r'href="/dashboard/payments/(ch_\w+)" class="charge-link"', html)


def test_pages_need_a_sign_in(client: httpx.Client) -> None:
    for path in ("/dashboard/payments", "/dashboard/reviews", "/dashboard/rules", "/dashboard/"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/dashboard/login?next=/dashboard")
    assert client.post("/dashboard/rules", data={"rules": ""}).status_code == 401
    assert client.get("/dashboard/login").status_code == 200


@pytest.mark.parametrize("wrong", ["", "sk_test_wrong", PUBLISHABLE_KEY, SECRET_KEY + "x"])
def test_wrong_credentials_are_refused(client: httpx.Client, wrong: str) -> None:
    response = client.post("/dashboard/login", data={"password": wrong})
    assert response.status_code == 401
    assert "Wrong password or API key." in response.text
    assert COOKIE not in response.cookies
    assert client.get("/dashboard/payments").status_code == 303


def test_sign_in_with_a_secret_key_then_out(client: httpx.Client) -> None:
    response = client.post("/dashboard/login?next=/dashboard/model", data={"password": SECRET_KEY})
    assert response.headers["location"] == "/dashboard/model"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/dashboard" in cookie
    csrf = sign_in(client)
    response = client.post("/dashboard/logout", data={"csrf": csrf})
    assert response.status_code == 303
    client.cookies.clear()
    assert client.get("/dashboard/payments").status_code == 303


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/dashboard/", "/dashboard/\\evil", "/x"]
)
def test_sign_in_goes_only_to_dashboard_pages(client: httpx.Client, target: str) -> None:
    response = client.post(
        "/dashboard/login", params={"next": target}, data={"password": SECRET_KEY}
    )
    assert response.headers["location"] == "/dashboard/payments"


def test_actions_go_back_only_to_dashboard_pages(client: httpx.Client, engine: Radar) -> None:
    charge = pay(engine, 5_000, "a@example.com")
    csrf = sign_in(client)
    response = client.post(
        f"/dashboard/payments/{charge}/refund",
        data={"csrf": csrf, "back": "https://evil.example/"},
    )
    assert response.headers["location"].startswith(f"/dashboard/payments/{charge}?flash=Refunded")


def test_the_dashboard_password_replaces_the_keys(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADARCORE_DASHBOARD_PASSWORD", "correct horse battery staple")
    assert "RADARCORE_DASHBOARD_PASSWORD" in client.get("/dashboard/login").text
    assert client.post("/dashboard/login", data={"password": SECRET_KEY}).status_code == 401
    sign_in(client, "correct horse battery staple")


def test_a_forged_cookie_is_not_a_session(client: httpx.Client) -> None:
    client.cookies.set(COOKIE, "eyJzZXNzaW9uIjoiYWRtaW4ifQ.forged.signature", path="/dashboard")
    assert client.get("/dashboard/payments").status_code == 303


def test_posts_need_the_csrf_token(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    charge = pay(radar, 5_000, "a@example.com")
    sign_in(client)
    for token in (None, "0" * 64):
        data = (
            {"reason": "fraudulent"} if token is None else {"reason": "fraudulent", "csrf": token}
        )
        response = client.post(f"/dashboard/payments/{charge}/refund", data=data)
        assert response.status_code == 403
        assert "CSRF token" in response.text
    assert radar.charges.retrieve(charge).amount_refunded == 0


def test_search_finds_payments_by_each_field(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    small = pay(radar, 5_000, "small@example.com")
    review = pay(radar, 50_000, "review@example.com", MASTERCARD)
    blocked = pay(radar, 500_000, "big@example.com")
    sign_in(client)

    def search(query: str) -> list[str]:
        response = client.get("/dashboard/payments", params={"q": query})
        assert response.status_code == 200, response.text
        return charge_ids(response.text)

    assert search("") == [blocked, review, small]
    assert search("risk_level:highest") == [blocked]
    assert search("risk_level:elevated") == [review]
    assert search("email:small@example.com") == [small]
    assert search("review@example.com") == [review]
    assert search("card:4444") == [review]
    assert search("4242") == [blocked, small]
    fingerprint = radar.charges.retrieve(small).payment_method_details.card.fingerprint  # type: ignore[union-attr]
    assert search(f"card:{fingerprint}") == [blocked, small]
    assert search("amount:>100") == [blocked, review]
    assert search("amount:100..600") == [review]
    assert search("amount:>100 4242") == [blocked]
    assert search("date:2000-01-01") == []
    assert search("date:>2000-01-01 risk_level:normal") == [small]
    response = client.get("/dashboard/payments", params={"q": "risk_level:severe"})
    assert response.status_code == 400
    assert "risk_level is one of normal, elevated, highest" in response.text


def test_search_pages(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    ids = [pay(radar, 1_000 + i, "p@example.com") for i in range(27)]
    sign_in(client)
    first = client.get("/dashboard/payments", params={"q": "p@example.com"}).text
    assert charge_ids(first) == ids[::-1][:25]
    link = re.search(r'href="(/dashboard/payments\?q=[^"]+starting_after=ch_\w+)"', first)
    assert link is not None
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert charge_ids(second) == ids[::-1][25:]
    assert "Next page" not in second


def test_payment_page_has_insights_related_payments_and_actions(
    client: httpx.Client, engine: Radar
) -> None:
    radar = engine
    first = pay(radar, 5_000, "same@example.com")
    review = pay(radar, 50_000, "same@example.com")
    blocked = pay(radar, 500_000, "other@example.com")
    csrf = sign_in(client)
    replayed = radar.counters["replayed_entries"]
    page = client.get(f"/dashboard/payments/{review}").text
    assert radar.counters["replayed_entries"] == replayed  # insights read the stored row
    assert "Risk insights" in page
    assert "<code>amount_in_usd</code>" in page
    assert "+" in page.split("amount_in_usd")[1].split("pts")[0]
    assert "manual_review if <code>:risk_level: = &#39;elevated&#39;</code>" in page
    related = page.split('id="related"')[1]
    assert first in related
    assert blocked in related  # same card
    assert "Approve" in page
    assert "Add to allow list" not in page
    blocked_page = client.get(f"/dashboard/payments/{blocked}").text
    assert "Add to allow list" in blocked_page
    assert "Refund and report fraud" not in blocked_page
    response = client.post(f"/dashboard/payments/{blocked}/allow", data={"csrf": csrf})
    assert response.status_code == 303
    assert "allow+lists" in response.headers["location"]
    allowed = radar.value_lists.by_alias("default_card_fingerprint_allow_list")
    items = radar.value_list_items.list(value_list=allowed.id).data
    assert [i.value for i in items] == [
        radar.charges.retrieve(blocked).payment_method_details.card.fingerprint  # type: ignore[union-attr]
    ]
    assert client.get("/dashboard/payments/ch_missing").status_code == 404


def test_review_queue_approve_and_refund_as_fraud(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    approved = pay(radar, 50_000, "one@example.com")
    fraud = pay(radar, 60_000, "two@example.com")
    csrf = sign_in(client)
    queue = client.get("/dashboard/reviews").text
    reviews = re.findall(r'id="review-(prv_\w+)"', queue)
    assert len(reviews) == 2
    review_of = {radar.charges.retrieve(c).review: c for c in (approved, fraud)}
    response = client.post(
        f"/dashboard/reviews/{radar.charges.retrieve(approved).review}/approve",
        data={"csrf": csrf},
    )
    assert response.status_code == 303
    assert radar.reviews.retrieve(radar.charges.retrieve(approved).review).closed_reason == (  # type: ignore[arg-type]
        "approved"
    )
    response = client.post(
        f"/dashboard/payments/{fraud}/refund",
        data={"csrf": csrf, "reason": "fraudulent", "back": "/dashboard/reviews"},
    )
    assert response.headers["location"].startswith("/dashboard/reviews?flash=Refunded+and")
    charge = radar.charges.retrieve(fraud)
    assert charge.refunded
    assert charge.fraud_details.user_report == "fraudulent"
    assert radar.reviews.retrieve(charge.review).closed_reason == "refunded_as_fraud"  # type: ignore[arg-type]
    assert set(review_of) == set(reviews)
    assert re.findall(r'id="review-(prv_\w+)"', client.get("/dashboard/reviews").text) == []
    again = client.post(f"/dashboard/payments/{fraud}/refund", data={"csrf": csrf})
    assert "flash=Error%3A+Charge" in again.headers["location"]


def test_lists_create_add_and_remove(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    csrf = sign_in(client)
    response = client.post(
        "/dashboard/lists",
        data={"csrf": csrf, "name": "VIP emails", "alias": "vip", "item_type": "email"},
    )
    assert "Created+%40vip" in response.headers["location"]
    vip = radar.value_lists.by_alias("vip")
    client.post(f"/dashboard/lists/{vip.id}/items", data={"csrf": csrf, "value": "a@b.co"})
    bad = client.post(f"/dashboard/lists/{vip.id}/items", data={"csrf": csrf, "value": ""})
    assert "flash=Error%3A" in bad.headers["location"]
    page = client.get(f"/dashboard/lists/{vip.id}").text
    assert '<code class="item-value">a@b.co</code>' in page
    (item,) = radar.value_list_items.list(value_list=vip.id).data
    client.post(f"/dashboard/lists/{vip.id}/items/{item.id}/delete", data={"csrf": csrf})
    assert radar.value_list_items.list(value_list=vip.id).data == []
    assert "VIP emails" in client.get("/dashboard/lists").text
    duplicate = client.post(
        "/dashboard/lists", data={"csrf": csrf, "name": "again", "alias": "vip"}
    )
    assert "flash=Error%3A" in duplicate.headers["location"]


def test_rules_are_checked_backtested_then_saved(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    for amount in (5_000, 50_000, 500_000):
        pay(radar, amount, "r@example.com")
    csrf = sign_in(client)
    check = client.post(
        "/dashboard/rules/check", data={"csrf": csrf, "rules": "Block if :amount_in_usd > 1"}
    ).json()
    assert check["error"]["position"] == 9
    assert (check["error"]["line"], check["error"]["column"]) == (1, 10)
    assert "attribute reference is not closed" in check["error"]["message"]
    text = "# big ones\nBlock if :amount_in_usd: > 100"
    assert client.post("/dashboard/rules/check", data={"csrf": csrf, "rules": text}).json() == {
        "error": None
    }
    bad = client.post(
        "/dashboard/rules",
        data={"csrf": csrf, "rules": "Block if :amount_in_usd: > 100\nReview if :nope: = 1"},
    )
    assert bad.status_code == 400
    assert "line 2:" in bad.text
    unchecked = client.post(
        "/dashboard/rules", data={"csrf": csrf, "rules": text, "action": "save"}
    )
    assert unchecked.status_code == 400
    assert "backtest these rules before saving them" in unchecked.text
    assert radar.custom_rules == []
    tested = client.post(
        "/dashboard/rules", data={"csrf": csrf, "rules": text, "action": "backtest"}
    )
    assert tested.status_code == 200
    assert "Backtest on 3 stored payments" in tested.text
    digest = re.search(r'name="checked" value="([0-9a-f]{64})"', tested.text)
    assert digest is not None
    other = client.post(
        "/dashboard/rules",
        data={"csrf": csrf, "rules": text + " ", "action": "save", "checked": "0" * 64},
    )
    assert other.status_code == 400
    saved = client.post(
        "/dashboard/rules",
        data={"csrf": csrf, "rules": text, "action": "save", "checked": digest.group(1)},
    )
    assert saved.status_code == 303
    assert [str(r) for r in radar.custom_rules] == ["Block if :amount_in_usd: > 100"]
    assert "Block if :amount_in_usd: &gt; 100" in client.get("/dashboard/rules").text


def test_model_page(client: httpx.Client, engine: Radar) -> None:
    radar = engine
    pay(radar, 5_000, "a@example.com")
    fraud = pay(radar, 50_000, "b@example.com")
    pay(radar, 500_000, "c@example.com")
    sign_in(client)
    assert "at least one labelled fraudulent" in client.get("/dashboard/model").text
    radar.refunds.create(charge=fraud, reason="fraudulent")
    page = client.get("/dashboard/model").text
    assert "3 stored payments, 3 with a risk score, 1 of those labelled fraudulent" in page
    rows = re.findall(r"<tr[^>]*><td>(\d+)</td><td>(\d+)</td><td>[^<]*</td><td>([\d.]+)%", page)
    by_threshold = {int(t): (int(flagged), float(precision)) for t, flagged, precision in rows}
    assert by_threshold[60] == (3, 33.3)
    assert by_threshold[65] == (2, 50.0)
    assert by_threshold[75] == (1, 0.0)
    assert 'title="70–74: 1 payments, 1 fraudulent"' in page


def test_radar_js_is_served(client: httpx.Client) -> None:
    response = client.get("/radar.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "createRadarSession" in response.text


def test_sessions_expire(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from radarcore.server import dashboard

    sign_in(client)
    monkeypatch.setattr(dashboard, "SESSION_SECONDS", -1)
    response = client.get("/dashboard/payments")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login")
