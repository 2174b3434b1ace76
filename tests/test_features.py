"""Static attributes, model features, the catalogue, and batch against one-by-one."""

from __future__ import annotations

import doctest
import math
import threading
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

import radarcore
import radarcore.events
import radarcore.features
from radarcore import FeatureExtractor, FeatureSchema, _core
from radarcore.features import ATTRIBUTES, default_currency_rates
from strategies import payment_streams

T0 = 1_699_920_000
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/103.0.5060.53 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)


def feature(fx: FeatureExtractor, event: dict[str, Any], name: str) -> float:
    return float(fx.extract_one(event)[fx.schema.index(name)])


def test_docstring_examples_run() -> None:
    for module in (radarcore.features, radarcore.events):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0
        assert failed == 0


def test_amount_in_every_radar_currency(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    rates = default_currency_rates()
    values = fx.attributes_one(payment)  # 2,000 US cents
    currencies = _core.amount_currencies()
    assert len(currencies) == 34
    for code in currencies:
        assert values[f"amount_in_{code}"] == pytest.approx(20.0 / rates[code][1], rel=1e-12)
    yen = fx.attributes_one({**payment, "currency": "jpy", "amount": 5_000})  # zero-decimal
    assert yen["amount_in_usd"] == pytest.approx(5_000 * rates["jpy"][1])
    dinar = fx.attributes_one({**payment, "currency": "kwd", "amount": 1_500})  # three decimals
    assert dinar["amount_in_usd"] == pytest.approx(1.5 * rates["kwd"][1])


def test_custom_rate_table(payment: dict[str, Any]) -> None:
    rates = dict.fromkeys(_core.amount_currencies(), (2, 1.0))
    fx = FeatureExtractor(currency_rates={**rates, "eur": (2, 2.0), "xts": (0, 0.5)})
    assert fx.attributes_one({**payment, "currency": "eur"})["amount_in_usd"] == 40.0
    assert fx.attributes_one({**payment, "currency": "xts", "amount": 10})["amount_in_gbp"] == 5.0
    with pytest.raises(radarcore.SchemaError, match="currency: unknown currency 'ghs'"):
        fx.extract_one({**payment, "currency": "ghs"})


def test_rate_tables_are_validated() -> None:
    rates = dict.fromkeys(_core.amount_currencies(), (2, 1.0))
    with pytest.raises(
        radarcore.SchemaError, match="currency table: missing 'aed', needed by amount_in_aed"
    ):
        FeatureExtractor(currency_rates={k: v for k, v in rates.items() if k != "aed"})
    with pytest.raises(radarcore.SchemaError, match="rate of 'eur' must be a positive number"):
        FeatureExtractor(currency_rates={**rates, "eur": (2, -1.0)})
    with pytest.raises(radarcore.SchemaError, match="'euro' is not a 3-letter code"):
        FeatureExtractor(currency_rates={**rates, "euro": (2, 1.0)})
    with pytest.raises(radarcore.SchemaError, match="anonymous IP list: malformed address 'nope'"):
        FeatureExtractor(anonymous_ips=["nope"])
    with pytest.raises(radarcore.SchemaError, match="anonymous IP list: prefix too long"):
        FeatureExtractor(anonymous_ips=["10.0.0.0/33"])
    with pytest.raises(
        radarcore.SchemaError, match=r"anonymous IP list: malformed network '10\.0\.0\.0/x'"
    ):
        FeatureExtractor(anonymous_ips=["10.0.0.0/x"])
    with pytest.raises(radarcore.SchemaError, match="exponent of 'eur' must be between 0 and 4"):
        FeatureExtractor(currency_rates={**rates, "eur": (7, 1.0)})


def test_email_attributes(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    values = fx.attributes_one({**payment, "email": " Jane.Doe@Example.COM"})
    assert values["email"] == "jane.doe@example.com"
    assert values["email_domain"] == "example.com"
    assert values["is_disposable_email"] is False
    assert (
        fx.attributes_one({**payment, "email": "x@mailinator.com"})["is_disposable_email"] is True
    )
    assert (
        fx.attributes_one({**payment, "email": "x@eu.mailinator.com"})["is_disposable_email"]
        is True
    )
    own = FeatureExtractor(disposable_domains=["burner.test"])
    assert own.attributes_one({**payment, "email": "a@burner.test"})["is_disposable_email"] is True
    assert (
        own.attributes_one({**payment, "email": "a@mailinator.com"})["is_disposable_email"] is False
    )


def test_anonymous_ip_from_addresses_and_networks(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    def anonymous(ip: str) -> Any:
        return fx.attributes_one({**payment, "ip_address": ip})["is_anonymous_ip"]

    assert anonymous("198.51.100.23") is True
    assert anonymous("::ffff:198.51.100.23") is True
    assert anonymous("198.51.101.23") is False
    assert anonymous("2001:db8:dead:0::7") is True
    assert anonymous("2001:db8:dead::8") is False
    assert anonymous("203.0.113.7") is False


@pytest.mark.parametrize(
    ("user_agent", "browser", "operating_system", "automated"),
    [
        (CHROME_MAC, "Chrome 103.0.5060", "Mac OS X 10.15.7", False),
        (SAFARI_IPHONE, "Mobile Safari 17.4.0", "iOS 17.4", False),
        (FIREFOX_WINDOWS, "Firefox 125.0.0", "Windows 10", False),
        (EDGE_WINDOWS, "Edge 124.0.2478", "Windows 10", False),
        (CHROME_ANDROID, "Chrome Mobile 124.0.6367", "Android 14", False),
        (HEADLESS, "HeadlessChrome 124.0.0", "Linux", True),
        ("curl/8.4.0", "curl 8.4.0", "Other", True),
        ("something else", "Other", "Other", False),
    ],
)
def test_user_agent_parsing(
    fx: FeatureExtractor,
    payment: dict[str, Any],
    user_agent: str,
    browser: str,
    operating_system: str,
    automated: bool,
) -> None:
    values = fx.attributes_one({**payment, "user_agent": user_agent})
    assert values["browser"] == browser
    assert values["operating_system"] == operating_system
    assert values["user_agent"] == user_agent
    assert feature(fx, {**payment, "user_agent": user_agent}, "is_headless_browser") == automated
    assert _core.parse_user_agent(user_agent) == (browser, operating_system, automated)


def test_distances(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    event = {
        **payment,
        "billing_latitude": paris[0],
        "billing_longitude": paris[1],
        "shipping_latitude": london[0],
        "shipping_longitude": london[1],
        "ip_latitude": paris[0],
        "ip_longitude": paris[1],
    }
    values = fx.attributes_one(event)
    assert values["distance_between_billing_and_shipping_address"] == pytest.approx(343.5, rel=2e-3)
    assert values["distance_between_ip_and_billing_address"] == pytest.approx(0.0, abs=1e-9)
    assert values["distance_between_ip_and_shipping_address"] == pytest.approx(343.5, rel=2e-3)
    no_ip = fx.attributes_one({**event, "ip_latitude": None})
    assert no_ip["distance_between_ip_and_billing_address"] is None


def test_address_attributes(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    values = fx.attributes_one({**payment, "billing_line2": "  #2A "})
    assert values["billing_address"] == "1 Main St #2A Brooklyn, NY 10022 US"
    assert values["billing_address_line2"] == "#2A"
    assert values["billing_address_country"] == "US"
    assert values["shipping_address"] is None
    only_region = fx.attributes_one({**payment, "shipping_state": "CA", "shipping_country": "US"})
    assert only_region["shipping_address"] == "CA US"


@pytest.mark.parametrize(
    ("result", "secure", "authenticated", "shift"),
    [
        ("authenticated", True, True, True),
        ("attempt_acknowledged", True, False, True),
        ("failed", False, False, False),
        (None, False, False, False),
    ],
)
def test_three_d_secure(
    fx: FeatureExtractor,
    payment: dict[str, Any],
    result: str | None,
    secure: bool,
    authenticated: bool,
    shift: bool,
) -> None:
    values = fx.attributes_one({**payment, "three_d_secure_result": result})
    assert values["is_3d_secure"] is secure
    assert values["is_3d_secure_authenticated"] is authenticated
    assert values["has_liability_shift"] is shift
    assert values["card_3d_secure_result"] == result


@pytest.mark.parametrize(
    ("wallet", "cryptogram"),
    [("apple_pay", True), ("android_pay", False), ("none", False), (None, False)],
)
def test_has_cryptogram(
    fx: FeatureExtractor, payment: dict[str, Any], wallet: str | None, cryptogram: bool
) -> None:
    assert fx.attributes_one({**payment, "digital_wallet": wallet})["has_cryptogram"] is cryptogram


def test_flags_and_transaction_type(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    values = fx.attributes_one({**payment, "is_recurring": True, "is_checkout": False})
    assert values["is_recurring"] is True
    assert values["is_checkout"] is False
    assert values["is_off_session"] is False
    assert values["transaction_type"] == "charge"
    assert fx.attributes_one({**payment, "id": "pi_1"})["transaction_type"] == "payment_intent"
    setup = fx.attributes_one({**payment, "id": "seti_1", "is_setup_intent": True})
    assert setup["transaction_type"] == "setup_intent"
    assert setup["is_setup_intent"] is True


def test_case_sensitive_string_attributes_are_kept_as_given(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    values = fx.attributes_one({**payment, "card_fingerprint": "Fp_AbC", "cvc_check": "pass"})
    assert values["card_fingerprint"] == "Fp_AbC"
    assert values["cvc_check"] == "pass"
    case_sensitive = {c.name for c in ATTRIBUTES if c.case_sensitive}
    assert case_sensitive == {
        "customer",
        "card_fingerprint",
        "address_line1_check",
        "address_zip_check",
        "cvc_check",
    }


def test_model_only_signals(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    event = {
        **payment,
        "session_timezone_offset": -300,
        "pm_device_id": "dev_1",
        "pm_ip_address": "::ffff:203.0.113.7",
        "session_automation": True,
    }
    assert feature(fx, event, "local_hour") == 19  # 00:00 UTC is 19:00 at UTC-5
    assert feature(fx, {**event, "session_timezone_offset": 330}, "local_hour") == 5
    assert math.isnan(feature(fx, payment, "local_hour"))
    assert feature(fx, event, "email_name_similarity") == 1.0
    assert feature(fx, {**event, "email": "xk29@example.com"}, "email_name_similarity") == 0.0
    assert feature(fx, {**event, "name": "Jane Roe"}, "email_name_similarity") == 0.5
    assert math.isnan(feature(fx, {**event, "name": None}, "email_name_similarity"))
    assert feature(fx, event, "device_matches_payment_method_session") == 1.0
    assert (
        feature(fx, {**event, "pm_device_id": "dev_2"}, "device_matches_payment_method_session")
        == 0.0
    )
    assert math.isnan(feature(fx, payment, "device_matches_payment_method_session"))
    assert feature(fx, event, "ip_matches_payment_method_session") == 1.0
    assert feature(fx, event, "session_automation") == 1.0
    assert math.isnan(feature(fx, payment, "session_automation"))
    assert feature(fx, event, "card_country_matches_ip_country") == 1.0
    assert feature(fx, {**event, "ip_country": "FR"}, "card_country_matches_ip_country") == 0.0


def test_categorical_codes_are_stable(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    def code(name: str, **changes: Any) -> float:
        return feature(fx, {**payment, **changes}, name)

    assert code("card_brand_code", card_brand="visa") == code("card_brand_code", card_brand="VISA")
    assert code("card_brand_code", card_brand="mastercard") == code(
        "card_brand_code", card_brand="mc"
    )
    assert code("card_brand_code", card_brand="foo") == 0
    assert math.isnan(code("card_brand_code", card_brand=None))
    assert code("card_country_code", card_country="US") == (20 * 26 + 18) + 1
    assert code("card_country_code", card_country="us") == code("card_country_code")
    assert code("currency_code", currency="usd") == (20 * 676 + 18 * 26 + 3) + 1
    assert code("card_bin_number") == 424242
    assert code("browser_code", user_agent=CHROME_MAC) == 1


def test_schema_and_catalogue() -> None:
    schema = FeatureExtractor().schema
    assert isinstance(schema, FeatureSchema)
    assert len(set(schema.names)) == len(schema) == len(_core.feature_columns())
    assert {c.kind for c in schema.columns} == {"numeric", "bool", "category"}
    names = {c.name for c in ATTRIBUTES}
    assert len(names) == len(ATTRIBUTES)
    for required in (
        "total_charges_per_card_number_hourly",
        "card_count_for_email_daily",
        "declined_charges_per_card_number_daily",
        "name_count_for_card_weekly",
        "email_count_for_ip_daily",
        "hours_since_card_first_seen",
        "is_new_card_on_customer",
        "dispute_count_on_card_number_all_time",
        "efw_count_on_ip_weekly",
        "refund_count_on_card_hourly",
        "total_customers_with_prior_fraud_activity_for_card_yearly",
        "total_usd_amount_failed_on_customer_all_time",
        "amount_in_twd",
        "browser",
        "email_domain",
        "is_disposable_email",
        "is_anonymous_ip",
        "distance_between_ip_and_billing_address",
    ):
        assert required in names, required
    charges = [n for n in names if "_charges_per_" in n]
    assert len(charges) == 4 * 6 * 4
    assert all(c.source in {"event", "tables", "derived", "velocity", "labels"} for c in ATTRIBUTES)
    with pytest.raises(KeyError, match="no feature column named 'nope'"):
        schema.index("nope")


def _replay_one_by_one(events: list[dict[str, Any]]) -> tuple[np.ndarray, bytes]:
    fx = FeatureExtractor()
    rows = []
    for event in events:
        rows.append(fx.extract_one(event))
        fx.update(event)
    return np.array(rows).reshape(len(events), -1), fx.snapshot()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payment_streams(max_size=25))
def test_extract_many_equals_extract_one_then_update(stream: list[tuple[Any, ...]]) -> None:
    events = [op[1] | ({"outcome": op[2]} if op[2] else {}) for op in stream if op[0] == "pay"]
    expected, state = _replay_one_by_one(events)
    batch = FeatureExtractor()
    np.testing.assert_array_equal(batch.extract_many(events, sort=False), expected)
    assert batch.snapshot() == state
    order = sorted(range(len(events)), key=lambda i: events[i]["created"])
    sorted_rows, sorted_state = _replay_one_by_one([events[i] for i in order])
    resorted = FeatureExtractor()
    rows = resorted.extract_many(events)
    np.testing.assert_array_equal(rows[order], sorted_rows)
    assert resorted.snapshot() == sorted_state


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payment_streams(max_size=15))
def test_attributes_many_equals_attributes_one_then_update(stream: list[tuple[Any, ...]]) -> None:
    events = [op[1] for op in stream if op[0] == "pay"]
    one = FeatureExtractor()
    singles = []
    for event in events:
        singles.append(one.attributes_one(event))
        one.update(event)
    columns = FeatureExtractor().attributes_many(events, sort=False)
    assert set(columns) == {c.name for c in ATTRIBUTES}
    for column in ATTRIBUTES:
        values = columns[column.name]
        for row, single in enumerate(singles):
            expected = single[column.name]
            got = values[row]
            if column.kind == "numeric":
                assert values.dtype == np.float64
                assert (math.isnan(got) and expected is None) or got == expected
            elif column.kind == "bool":
                assert values.dtype == np.bool_
                assert bool(got) is expected
            else:
                assert isinstance(values, pa.DictionaryArray)
                assert got.as_py() == expected


def test_extract_many_without_update_leaves_the_state(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 + i} for i in range(3)]
    rows = fx.extract_many(events, update=False)
    assert fx.entity_count == 0
    index = fx.schema.index("total_charges_per_card_number_hourly")
    assert rows[:, index].tolist() == [0.0, 0.0, 0.0]
    assert fx.extract_many(events)[:, index].tolist() == [0.0, 1.0, 2.0]


def test_extract_many_fills_a_reused_buffer(payment: dict[str, Any]) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 + 400 * i} for i in range(6)]
    expected = FeatureExtractor().extract_many(events)
    fx = FeatureExtractor()
    buffer = np.full((3, len(fx.schema)), -7.0)
    first = fx.extract_many(events[:3], out=buffer)
    assert first is buffer
    np.testing.assert_array_equal(first, expected[:3])
    second = fx.extract_many(events[3:][::-1], out=buffer)
    assert second is buffer
    np.testing.assert_array_equal(second, expected[3:][::-1])


def test_extract_many_reuses_the_memory_of_a_dropped_matrix(payment: dict[str, Any]) -> None:
    # Matrices of 4 MiB or more are made on the memory of the last one Python dropped: never
    # on one still alive, never showing its old values, and alive after the extractor.
    events = [
        {**payment, "id": f"ch_{i}", "created": T0 + 7 * i, "customer": f"cus_{i % 97}"}
        for i in range(5_950)
    ]
    expected = FeatureExtractor().extract_many(events)
    fx = FeatureExtractor()
    first = fx.extract_many(events[:2_000])
    second = fx.extract_many(events[2_000:4_000])
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, expected[:2_000])
    np.testing.assert_array_equal(second, expected[2_000:4_000])
    address = second.__array_interface__["data"][0]
    del first, second
    third = fx.extract_many(events[4_000:])  # 1,950 rows: fits in the 2,000-row block
    assert third.__array_interface__["data"][0] == address
    assert third.flags.writeable
    assert third.flags.c_contiguous
    del fx
    np.testing.assert_array_equal(third, expected[4_000:])


@pytest.mark.parametrize(
    ("make", "got"),
    [
        (lambda n, w: np.zeros((n, w), dtype=np.float32), "got float32 (2, "),
        (lambda n, w: np.zeros((n + 1, w)), "got float64 (3, "),
        (lambda n, w: np.zeros((w, n)).T, "got float64 (2, "),
        (lambda n, w: np.zeros(n * w), "got float64 ("),
        (lambda n, w: [[0.0] * w] * n, "got list"),
    ],
)
def test_extract_many_rejects_a_bad_buffer(
    fx: FeatureExtractor, payment: dict[str, Any], make: Any, got: str
) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 + i} for i in range(2)]
    width = len(fx.schema)
    message = f"out: must be a writeable C-contiguous float64 array of shape (2, {width}), {got}"
    with pytest.raises(radarcore.SchemaError) as error:
        fx.extract_many(events, out=make(2, width))
    assert str(error.value).startswith(message)
    assert fx.entity_count == 0
    frozen = np.zeros((2, width))
    frozen.flags.writeable = False
    with pytest.raises(radarcore.SchemaError, match="writeable"):
        fx.extract_many(events, out=frozen)


def test_empty_batch(fx: FeatureExtractor) -> None:
    assert fx.extract_many([]).shape == (0, len(fx.schema))


def test_threads_share_one_extractor(payment: dict[str, Any]) -> None:
    fx = FeatureExtractor()
    per_thread = 200

    def work(k: int) -> None:
        for i in range(per_thread):
            event = {
                **payment,
                "id": f"ch_{k}_{i}",
                "created": T0 + i,
                "card_fingerprint": f"fp_{k}",
            }
            fx.extract_one(event)
            fx.update(event, "authorized")
        fx.extract_many([{**payment, "id": f"b_{k}", "created": T0 + per_thread}])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = fx.attributes_one({**payment, "id": "probe", "created": T0 + 1_000})
    assert values["total_charges_per_customer_all_time"] == 4 * per_thread + 4
    assert values["card_count_for_customer_all_time"] == 5
