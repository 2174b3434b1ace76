"""The legitimate payment stream: who pays whom, when, from where, with what.

Everything is drawn per payment in vectorised NumPy. Some legitimate payments look risky on
purpose (travel abroad, a new phone, a borrowed computer, a large purchase, a gift shipped
elsewhere) so that a model cannot reach perfect precision.
"""

from __future__ import annotations

import numpy as np

from radarcore.synth._rows import Rows
from radarcore.synth._world import (
    CATEGORY_NAMES,
    CATEGORY_PRESENT,
    CATEGORY_RECURRING,
    CATEGORY_SHIPS,
    CATEGORY_WEIGHT,
    CITY_COUNTRY,
    CITY_TZ,
    CURRENCIES,
    DAY,
    HOME_CITIES,
    HOUR,
    MINOR_PER_USD,
    MINUTE,
    PM_TYPES,
    THREE_DS,
    FloatArray,
    IntArray,
    World,
    add_devices,
    add_ips,
    pick,
)

# Share of payments per local hour of the day, and per weekday (Monday first).
HOURLY = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.25, 0.5, 0.8, 1.0, 1.1, 1.2, 1.35, 1.3, 1.2, 1.15, 1.2,
     1.3, 1.45, 1.6, 1.65, 1.5, 1.1, 0.65]
)  # fmt: skip
WEEKDAY = np.array([0.95, 0.95, 0.97, 1.0, 1.1, 1.15, 1.0])
CHECK_PASS, CHECK_FAIL, CHECK_UNAVAILABLE, CHECK_UNCHECKED, CHECK_NOT_PROVIDED = range(5)
AUTHORIZED, DECLINED = 0, 1


def sample_times(
    rng: np.random.Generator, n: int, start: int, days: int, tz_minutes: IntArray
) -> IntArray:
    """Event times with the daily rhythm in the payer's local time and a weekly rhythm."""
    first_day = start // DAY
    weekday = (first_day + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday
    day = pick(rng, WEEKDAY[weekday], n)
    hour = pick(rng, HOURLY, n)
    local = start + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    result: IntArray = np.clip(local - tz_minutes * 60, start, start + days * DAY - 1).astype(
        np.int64
    )
    return result


def online_merchants(
    world: World, rng: np.random.Generator, category: IntArray, city: IntArray
) -> IntArray:
    """An online merchant of each category, most often from the payer's country."""
    merchants = world.merchants
    m_category = merchants["category"]
    m_country = CITY_COUNTRY[merchants["city"]]
    popularity = merchants["popularity"]
    present = CATEGORY_PRESENT[m_category]
    local = rng.random(category.size) < 0.85
    chosen = np.full(category.size, -1, dtype=np.int64)
    payer_country = CITY_COUNTRY[city]
    for c in np.unique(category):
        candidates = np.flatnonzero((m_category == c) & ~present)
        rows = np.flatnonzero(category == c)
        chosen[rows] = candidates[pick(rng, popularity[candidates], rows.size)]
        for country in np.unique(payer_country[rows]):
            domestic = candidates[m_country[candidates] == country]
            mine = rows[local[rows] & (payer_country[rows] == country)]
            if domestic.size and mine.size:
                chosen[mine] = domestic[pick(rng, popularity[domestic], mine.size)]
    return chosen


def terminals(
    world: World, rng: np.random.Generator, category: IntArray, city: IntArray
) -> IntArray:
    """A card-present terminal of each category in each city."""
    merchants = world.merchants
    present = np.flatnonzero(CATEGORY_PRESENT[merchants["category"]])
    key = merchants["city"][present] * len(CATEGORY_NAMES) + merchants["category"][present]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    wanted = city * len(CATEGORY_NAMES) + category
    first = np.searchsorted(sorted_key, wanted, side="left")
    count = np.searchsorted(sorted_key, wanted, side="right") - first
    offset = (rng.random(wanted.size) * count).astype(np.int64)
    return np.asarray(present[order[first + offset]], dtype=np.int64)


def amounts_in_minor_units(
    rng: np.random.Generator, usd: FloatArray, currency: IntArray
) -> IntArray:
    """Dollar amounts converted to the currency's minor unit, rounded as prices are."""
    minor = usd * MINOR_PER_USD[currency]
    zero_decimal = currency == CURRENCIES.index("jpy")
    rounded = np.where(zero_decimal, np.round(minor, -1), np.round(minor))
    # Shop prices often end in .99 or .00.
    price_like = (rng.random(usd.size) < 0.4) & ~zero_decimal & (rounded >= 200)
    rounded = np.where(price_like, np.floor(rounded / 100) * 100 + 99, rounded)
    result: IntArray = np.maximum(rounded, 50).astype(np.int64)
    return result


def legit_rows(world: World, rng: np.random.Generator, n: int, start: int, days: int) -> Rows:
    """``n`` legitimate payments by the population (``scenario`` legit, mostly authorised)."""
    customers = world.customers
    n_customers = customers.size
    regular = np.flatnonzero(~customers["one_off"])
    cus = regular[pick(rng, rng.lognormal(0.0, 0.8, regular.size), n)]
    first_timers = np.flatnonzero(customers["one_off"])[:n]
    cus[rng.permutation(n)[: first_timers.size]] = first_timers
    home = customers["city"][cus]
    created = sample_times(rng, n, start, days, CITY_TZ[home])

    # Customers who sign up during the stream do so shortly before their first payment.
    first_payment = np.full(n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first_payment, cus, created)
    lead = np.where(
        rng.random(n_customers) < 0.5,
        rng.integers(MINUTE, 15 * MINUTE, n_customers),
        rng.integers(15 * MINUTE, 2 * DAY, n_customers),
    )
    signed_up = np.minimum(customers["created"], first_payment - lead)
    customers.replace("created", signed_up)

    # Trips: a few customers spend some days in another city, home country or abroad.
    travels = (rng.random(n_customers) < 0.06) & (days >= 2)
    trip_start = start + rng.integers(0, max(days - 1, 1) * DAY, n_customers)
    trip_end = trip_start + rng.integers(2 * DAY, 10 * DAY, n_customers)
    destination = HOME_CITIES[rng.integers(0, HOME_CITIES.size, n_customers)]
    destination = np.where(destination == customers["city"], HOME_CITIES[0], destination)
    destination = np.where(destination == customers["city"], HOME_CITIES[1], destination)
    traveller = np.flatnonzero(travels)
    trip_ip = np.full(n_customers, -1, dtype=np.int64)
    trip_ip[traveller] = add_ips(world, rng, destination[traveller], ipv6_share=0.05)
    away = travels[cus] & (created >= trip_start[cus]) & (created < trip_end[cus])
    city = np.where(away, destination[cus], home)

    category = pick(rng, CATEGORY_WEIGHT, n)
    present = CATEGORY_PRESENT[category]
    merchant = np.empty(n, dtype=np.int64)
    merchant[present] = terminals(world, rng, category[present], city[present])
    merchant[~present] = online_merchants(world, rng, category[~present], home[~present])
    currency = world.merchants["currency"][merchant]

    card_count = customers["card_count"][cus]
    secondary_card = rng.random(n) < 0.2
    card = customers["card_first"][cus] + np.where(
        secondary_card, rng.integers(0, 3, n) % card_count, 0
    )
    pm_type = np.where(present, PM_TYPES.index("card_present"), PM_TYPES.index("card"))
    bank_debit = (~present) & (rng.random(n) < 0.05)
    sepa = bank_debit & (currency == CURRENCIES.index("eur"))
    ach = bank_debit & (currency == CURRENCIES.index("usd"))
    pm_type = np.where(sepa, PM_TYPES.index("sepa_debit"), pm_type)
    pm_type = np.where(ach, PM_TYPES.index("us_bank_account"), pm_type)
    is_card = ~(sepa | ach)
    card = np.where(is_card, card, -1)

    recurring = CATEGORY_RECURRING[category] & (rng.random(n) < 0.8)
    online = ~present
    has_session = online & ~recurring

    switched = created >= customers["switch_at"][cus]
    device_b = customers["device_b"][cus]
    device = np.where((rng.random(n) < 0.3) & (device_b >= 0), device_b, customers["device_a"][cus])
    device = np.where(switched, customers["device_new"][cus], device)
    borrowed = np.flatnonzero(has_session & (rng.random(n) < 0.02))
    device[borrowed] = add_devices(world, rng, CITY_TZ[city[borrowed]])
    device = np.where(has_session, device, -1)
    tz = world.devices["tz"][device]
    tz = np.where(away & (rng.random(n) < 0.5), CITY_TZ[city], tz)

    ip = np.where(rng.random(n) < 0.7, customers["home_ip"][cus], customers["mobile_ip"][cus])
    ip = np.where(away, trip_ip[cus], ip)
    ip = np.where(has_session, ip, -1)
    ip = np.where(present, world.merchants["terminal_ip"][merchant], ip)

    saved = online & is_card & ((rng.random(n) < 0.45) | recurring)
    pm_device = np.where(saved, customers["device_a"][cus], -1)
    pm_ip = np.where(saved, customers["home_ip"][cus], -1)

    # Guest checkouts online; loyalty accounts on half of the card-present payments.
    with_customer = np.where(online, recurring | (rng.random(n) < 0.8), rng.random(n) < 0.5)
    customer = np.where(with_customer, cus, -1)
    email = np.where((online | with_customer) & (rng.random(n) < 0.95), customers["email"][cus], -1)
    name = np.where(is_card & (rng.random(n) < 0.95), customers["name"][cus], -1)
    phone = np.where(online & (rng.random(n) < 0.8), customers["phone"][cus], -1)
    billing = np.where(online & (rng.random(n) < 0.92), customers["billing"][cus], -1)
    ships = CATEGORY_SHIPS[category]
    shipping = np.where(
        rng.random(n) < 0.85, customers["billing"][cus], customers["alternate"][cus]
    )
    shipping = np.where(ships, shipping, -1)

    online_card = online & is_card
    cvc = np.where(has_session & online_card, pick(rng, [0.95, 0.006, 0.03, 0.014], n), -1)
    # Saved cards are often charged on-session without asking for the CVC again.
    cvc = np.where(saved & has_session & (rng.random(n) < 0.6), CHECK_UNCHECKED, cvc)
    has_billing = billing >= 0
    zip_check = np.where(
        has_billing,
        pick(rng, [0.9, 0.015, 0.085], n),
        CHECK_NOT_PROVIDED,
    )
    line1 = np.where(has_billing, pick(rng, [0.82, 0.02, 0.16], n), CHECK_NOT_PROVIDED)
    zip_check = np.where(online_card, zip_check, -1)
    line1 = np.where(online_card, line1, -1)
    wallet = np.where(
        present, pick(rng, [0.72, 0.2, 0.08, 0.0], n), pick(rng, [0.81, 0.1, 0.05, 0.04], n)
    )
    wallet = np.where(is_card, wallet, -1)
    strong_auth = np.isin(currency, [CURRENCIES.index("eur"), CURRENCIES.index("gbp")])
    # Codes index THREE_DS; the last weight is for no 3DS at all.
    tds = np.where(
        strong_auth, pick(rng, [0.45, 0.03, 0.005, 0.515], n), pick(rng, [0.03, 0.0, 0.0, 0.97], n)
    )
    tds = np.where(has_session & online_card & (tds < len(THREE_DS)), tds, -1)

    spend = customers["spend"][cus]
    usd = world.merchants["ticket"][merchant] * spend * rng.lognormal(0.0, 0.55, n)
    usd = np.where(recurring, world.merchants["ticket"][merchant], usd)
    big = rng.random(n) < 0.015
    usd = np.where(big, usd * rng.uniform(4.0, 12.0, n), usd)
    amount = amounts_in_minor_units(rng, usd, currency)
    setup = has_session & (rng.random(n) < 0.003)
    amount = np.where(setup, 0, amount)
    checkout = has_session & ~setup & (rng.random(n) < 0.45)

    funding = world.cards["funding"][np.maximum(card, 0)]
    decline = np.full(n, 0.02)
    decline += np.where((funding == "prepaid") & is_card, 0.04, 0.0)
    decline = np.where(cvc == CHECK_FAIL, 0.7, decline)
    decline = np.where(zip_check == CHECK_FAIL, decline + 0.1, decline)
    decline = np.where(tds == THREE_DS.index("failed"), 1.0, decline)
    outcome = np.where((rng.random(n) < decline) & ~setup, DECLINED, AUTHORIZED)

    return Rows.blank(
        n,
        created=created,
        amount=amount,
        merchant=merchant,
        pm_type=pm_type,
        card=card,
        cvc=cvc,
        zip=zip_check,
        line1=line1,
        wallet=wallet,
        tds=tds,
        customer=customer,
        email=email,
        name=name,
        phone=phone,
        billing=billing,
        shipping=shipping,
        ip=ip,
        device=device,
        tz=tz,
        automation=np.where(has_session, rng.random(n) < 0.001, -1),
        pm_device=pm_device,
        pm_ip=pm_ip,
        off_session=recurring,
        recurring=recurring,
        checkout=checkout,
        setup=setup,
        outcome=outcome,
    )
