"""Labelled fraud scenarios injected into the legitimate stream, and the labels table.

Each scenario has a signature that shows in history rather than in one static column:

* ``card_testing``: bursts of small attempts over many new cards from one device and a few
  IPs at one merchant within minutes, mostly declined, often automated.
* ``stolen_card``: a population card cashed out from a new device, email and customer, often
  from a foreign IP, at high amounts, a few payments within hours.
* ``account_takeover``: an existing customer's account and saved card used from a new device
  and IP, shipping to a new address, high amounts.
* ``compromised_merchant``: cards that paid at one breached merchant during a window are cashed
  out elsewhere days later.
* ``card_present_far``: a cloned card used at a terminal far from where it was used hours before.
* ``friendly_fraud``: an ordinary payment by the real customer (usual device and IP) that the
  customer later disputes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from radarcore.synth._legit import (
    AUTHORIZED,
    CHECK_FAIL,
    CHECK_NOT_PROVIDED,
    CHECK_PASS,
    CHECK_UNAVAILABLE,
    CHECK_UNCHECKED,
    DECLINED,
    amounts_in_minor_units,
    online_merchants,
    terminals,
)
from radarcore.synth._rows import LABELS, Rows
from radarcore.synth._world import (
    CASH_OUT_CATEGORIES,
    CATEGORY_NAMES,
    CATEGORY_PRESENT,
    CATEGORY_SHIPS,
    CITY_COUNTRY,
    CITY_LAT,
    CITY_LON,
    CITY_TZ,
    CURRENCIES,
    DAY,
    FRAUD_CITIES,
    HEADLESS_USER_AGENT,
    HOME_CITIES,
    HOUR,
    MINOR_PER_USD,
    MINUTE,
    PM_TYPES,
    SCENARIOS,
    USER_AGENT_WEIGHT,
    USER_AGENTS,
    IntArray,
    World,
    add_addresses,
    add_cards,
    add_devices,
    add_emails,
    add_ips,
    add_names,
    counter_ids,
    haversine_km,
    pick,
)

CARD, CARD_PRESENT = PM_TYPES.index("card"), PM_TYPES.index("card_present")
WALLET_NONE = 0


def _episode_sizes(rng: np.random.Generator, budget: int, low: int, high: int) -> IntArray:
    """Episode sizes in ``[low, high]`` (the last one may be smaller) summing to ``budget``."""
    sizes: list[int] = []
    remaining = budget
    while remaining > 0:
        size = min(int(rng.integers(low, high + 1)), remaining)
        sizes.append(size)
        remaining -= size
    return np.array(sizes, dtype=np.int64)


def _spread(
    rng: np.random.Generator, sizes: IntArray, start: IntArray, width: IntArray
) -> IntArray:
    """Per row, ``start`` of its episode plus a sorted offset within ``width`` seconds."""
    episode = np.repeat(np.arange(sizes.size), sizes)
    offset = (rng.random(episode.size) * width[episode]).astype(np.int64)
    order = np.lexsort((offset, episode))
    return np.asarray(start[episode] + offset[order], dtype=np.int64)


def _card_owner(world: World) -> IntArray:
    """Owning population customer of each card (``-1`` for cards fraudsters brought in)."""
    customers = world.customers
    owner = np.full(world.cards.size, -1, dtype=np.int64)
    population = customers["card_first"] >= 0
    first = customers["card_first"][population]
    count = customers["card_count"][population]
    owner[np.repeat(first, count) + _ranks(count)] = np.repeat(np.flatnonzero(population), count)
    return owner


def _ranks(count: IntArray) -> IntArray:
    """0, 1, ..., count[i]-1 for each i, concatenated."""
    starts = np.repeat(np.cumsum(count) - count, count)
    return np.arange(int(count.sum())) - starts


def _cities_in(rng: np.random.Generator, countries: npt.NDArray[np.object_]) -> IntArray:
    """A home city in each country (any home city when the country has none)."""
    city = HOME_CITIES[rng.integers(0, HOME_CITIES.size, countries.size)]
    for country in np.unique(countries):
        inside = HOME_CITIES[CITY_COUNTRY[HOME_CITIES] == country]
        rows = np.flatnonzero(countries == country)
        if inside.size:
            city[rows] = inside[rng.integers(0, inside.size, rows.size)]
    return city


def _fraudster_cities(
    rng: np.random.Generator, victim_countries: npt.NDArray[np.object_], foreign_share: float
) -> IntArray:
    """Where the fraudster connects from: abroad, or a proxy in the victim's country."""
    foreign = rng.random(victim_countries.size) < foreign_share
    return np.where(
        foreign,
        FRAUD_CITIES[rng.integers(0, FRAUD_CITIES.size, victim_countries.size)],
        _cities_in(rng, victim_countries),
    )


def _add_customers(
    world: World, rng: np.random.Generator, created: IntArray, email: IntArray, name: IntArray
) -> IntArray:
    """Customer objects a fraudster creates (no cards, devices or addresses of their own)."""
    n = created.size
    none = np.full(n, -1, dtype=np.int64)
    return world.customers.add(
        id=counter_ids(world.customers.size, n, "cus_", 14),
        created=created,
        city=none, card_first=none, card_count=np.zeros(n, dtype=np.int64), email=email,
        name=name, phone=none, billing=none, alternate=none, home_ip=none, mobile_ip=none,
        device_a=none, device_b=none, device_new=none,
        switch_at=np.full(n, np.iinfo(np.int64).max), spend=np.ones(n),
        one_off=np.zeros(n, dtype=bool),
    )  # fmt: skip


def _cash_out_amount(
    world: World, rng: np.random.Generator, merchant: IntArray, floor_usd: float
) -> IntArray:
    ticket = world.merchants["ticket"][merchant]
    usd = np.maximum(ticket * rng.lognormal(0.35, 0.5, merchant.size), floor_usd)
    return amounts_in_minor_units(rng, usd, world.merchants["currency"][merchant])


def _cash_out_category(rng: np.random.Generator, n: int) -> IntArray:
    """Mostly resellable goods (electronics, gift cards), sometimes retail or travel."""
    others = np.array([CATEGORY_NAMES.index("retail"), CATEGORY_NAMES.index("travel")])
    return np.where(
        rng.random(n) < 0.75,
        CASH_OUT_CATEGORIES[rng.integers(0, CASH_OUT_CATEGORIES.size, n)],
        others[rng.integers(0, others.size, n)],
    )


def card_testing(world: World, rng: np.random.Generator, budget: int, start: int, end: int) -> Rows:
    """Bursts of small attempts over many fresh cards from one device and a few IPs."""
    if budget == 0:
        return Rows.blank(0)
    sizes = _episode_sizes(rng, budget, 15, 150)
    e = sizes.size
    episode = np.repeat(np.arange(e), sizes)
    n = episode.size
    merchants = world.merchants
    targets = np.flatnonzero(
        np.isin(merchants["category"], [CATEGORY_NAMES.index("digital_goods"),
                                        CATEGORY_NAMES.index("software_subscription")])
    )  # fmt: skip
    merchant = targets[rng.integers(0, targets.size, e)][episode]
    window = rng.integers(10 * MINUTE, 90 * MINUTE, e)
    first = rng.integers(start, max(end - window.max() - 1, start + 1), e)
    created = _spread(rng, sizes, first, window)

    home = FRAUD_CITIES[rng.integers(0, FRAUD_CITIES.size, e)]
    automated = rng.random(e) < 0.35
    headless = automated & (rng.random(e) < 0.5)
    browsers = np.array(USER_AGENTS, dtype=object)[pick(rng, USER_AGENT_WEIGHT, e)]
    device = add_devices(
        world, rng, CITY_TZ[home], np.where(headless, HEADLESS_USER_AGENT, browsers)
    )
    # Up to three IPs per episode, abroad or in a US data centre.
    abroad = FRAUD_CITIES[rng.integers(0, FRAUD_CITIES.size, 3 * e)]
    ip_city = np.where(rng.random(3 * e) < 0.5, abroad, HOME_CITIES[0])
    ips = add_ips(world, rng, ip_city, ipv6_share=0.05).reshape(e, 3)
    ip_count = rng.integers(1, 4, e)
    ip = ips[episode, (rng.random(n) * ip_count[episode]).astype(np.int64)]

    # Fresh cards, often enumerated from one or two BINs.
    card_country = np.array(["US", "GB", "CA", "DE", "FR"], dtype=object)[
        pick(rng, [0.7, 0.1, 0.08, 0.06, 0.06], n)
    ]
    one_bin = rng.random(e) < 0.5
    episode_issuer = rng.integers(0, 4 * 400, e)
    issuer = np.where(one_bin[episode], episode_issuer[episode], rng.integers(0, 4 * 400, n))
    card = add_cards(world, rng, card_country, issuer)

    email_style = pick(rng, [0.15, 0.35, 0.5], e)
    episode_email = add_emails(world, rng, None, e)
    row_email = add_emails(world, rng, add_names(world, rng, n), n)
    email = np.select(
        [email_style[episode] == 0, email_style[episode] == 1],
        [-1, episode_email[episode]],
        row_email,
    )
    name = np.where(rng.random(n) < 0.5, add_names(world, rng, n), -1)
    zip_check = pick(rng, [0.25, 0.35, 0.15, 0.0, 0.25], n)
    billing = np.where(
        zip_check != CHECK_NOT_PROVIDED,
        add_addresses(world, rng, HOME_CITIES[rng.integers(0, HOME_CITIES.size, n)]),
        -1,
    )
    cvc = pick(rng, [0.45, 0.4, 0.15], n)
    decline = np.where(cvc == CHECK_FAIL, 0.97, 0.78)
    usd_fixed = np.array([0.5, 1.0, 1.0, 2.0, 5.0, 10.0])[rng.integers(0, 6, e)]
    usd = np.where(rng.random(e) < 0.5, usd_fixed, 0.0)[episode]
    usd = np.where(usd > 0, usd, rng.uniform(0.5, 12.0, n))
    currency = merchants["currency"][merchant]
    amount = np.maximum(np.round(usd * MINOR_PER_USD[currency]), 1).astype(np.int64)
    return Rows.blank(
        n,
        created=created,
        amount=amount,
        merchant=merchant,
        pm_type=CARD,
        card=card,
        cvc=cvc,
        zip=zip_check,
        line1=np.where(billing >= 0, CHECK_UNAVAILABLE, CHECK_NOT_PROVIDED),
        wallet=WALLET_NONE,
        email=email,
        name=name,
        billing=billing,
        ip=ip,
        device=device[episode],
        tz=CITY_TZ[home][episode],
        automation=automated[episode],
        checkout=(rng.random(e) < 0.5)[episode],
        outcome=np.where(rng.random(n) < decline, DECLINED, AUTHORIZED),
        scenario=SCENARIOS.index("card_testing"),
    )


def _card_not_present_cash_out(
    world: World,
    rng: np.random.Generator,
    card: IntArray,
    created: IntArray,
    episode: IntArray,
    session: IntArray,
    scenario: str,
) -> Rows:
    """A fraudster with a card number (no account): new customer, email, device; high amounts.

    Rows of one ``episode`` share the customer and email; rows of one ``session`` group share
    the device and IP.
    """
    n = card.size
    owner = _card_owner(world)[card]
    card_country = world.cards["country"][card]
    victim_city = np.where(owner >= 0, world.customers["city"][np.maximum(owner, 0)], -1)
    victim_city = np.where(victim_city >= 0, victim_city, _cities_in(rng, card_country))

    e = int(episode.max()) + 1
    s = int(session.max()) + 1
    session_country = np.empty(s, dtype=object)
    session_country[session] = card_country
    where_from = _fraudster_cities(rng, session_country, foreign_share=0.6)
    device = add_devices(world, rng, CITY_TZ[where_from])
    ip = add_ips(world, rng, where_from, ipv6_share=0.05)

    first_seen = np.full(e, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, episode, created)
    victim_name = np.full(e, -1, dtype=np.int64)
    victim_name[episode] = np.where(owner >= 0, world.customers["name"][np.maximum(owner, 0)], -1)
    new_name = add_names(world, rng, e)
    name = np.where((victim_name >= 0) & (rng.random(e) < 0.6), victim_name, new_name)
    throwaway = add_emails(world, rng, None, e)
    plausible = add_emails(world, rng, new_name, e)
    email = np.where(rng.random(e) < 0.5, throwaway, plausible)
    with_account = rng.random(e) < 0.6
    customer = np.where(
        with_account,
        _add_customers(world, rng, first_seen - rng.integers(MINUTE, HOUR, e), email, name),
        -1,
    )

    category = _cash_out_category(rng, n)
    merchant = online_merchants(world, rng, category, victim_city)
    owner_billing = np.where(owner >= 0, world.customers["billing"][np.maximum(owner, 0)], -1)
    knows_billing = (owner_billing >= 0) & (rng.random(n) < 0.5)
    billing = np.where(
        knows_billing, owner_billing, add_addresses(world, rng, _cities_in(rng, card_country))
    )
    zip_check = np.where(knows_billing, CHECK_PASS, pick(rng, [0.3, 0.4, 0.3], n))
    drop = add_addresses(world, rng, _cities_in(rng, card_country))
    shipping = np.where(CATEGORY_SHIPS[category], drop[session], -1)
    currency = world.merchants["currency"][merchant]
    strong_auth = np.isin(currency, [CURRENCIES.index("eur"), CURRENCIES.index("gbp")])
    tds = np.where(strong_auth & (rng.random(n) < 0.3), 1, -1)
    return Rows.blank(
        n,
        created=created,
        amount=_cash_out_amount(world, rng, merchant, 40.0),
        merchant=merchant,
        pm_type=CARD,
        card=card,
        cvc=pick(rng, [0.9, 0.02, 0.08], n),
        zip=zip_check,
        line1=np.where(knows_billing, CHECK_PASS, CHECK_UNAVAILABLE),
        wallet=WALLET_NONE,
        tds=tds,
        customer=customer[episode],
        email=email[episode],
        name=name[episode],
        billing=billing,
        shipping=shipping,
        ip=ip[session],
        device=device[session],
        tz=CITY_TZ[where_from][session],
        automation=rng.random(s)[session] < 0.05,
        checkout=rng.random(n) < 0.5,
        outcome=np.where(rng.random(n) < 0.1, DECLINED, AUTHORIZED),
        scenario=SCENARIOS.index(scenario),
    )


def _eligible(rows: Rows, mask: npt.NDArray[np.bool_]) -> IntArray:
    candidates = np.flatnonzero(mask)
    return candidates if candidates.size else np.flatnonzero(rows.card >= 0)


def stolen_card(world: World, rng: np.random.Generator, legit: Rows, budget: int, end: int) -> Rows:
    """A population card cashed out a few days after its owner last used it."""
    if budget == 0:
        return Rows.blank(0)
    sizes = _episode_sizes(rng, budget, 1, 5)
    e = sizes.size
    candidates = _eligible(legit, (legit.card >= 0) & (legit.created < end - 6 * HOUR))
    victim = candidates[rng.integers(0, candidates.size, e)]
    first = np.minimum(legit.created[victim] + rng.integers(12 * HOUR, 6 * DAY, e), end - 6 * HOUR)
    first = np.maximum(first, legit.created[victim])
    created = _spread(rng, sizes, first, rng.integers(10 * MINUTE, 5 * HOUR, e))
    episode = np.repeat(np.arange(e), sizes)
    return _card_not_present_cash_out(
        world, rng, legit.card[victim][episode], np.minimum(created, end - 1), episode, episode,
        "stolen_card",
    )  # fmt: skip


def compromised_merchant(
    world: World, rng: np.random.Generator, legit: Rows, budget: int, start: int, end: int
) -> Rows:
    """Cards seen at a breached merchant during a window, defrauded elsewhere days later."""
    if budget == 0:
        return Rows.blank(0)
    sizes = _episode_sizes(rng, budget, 6, 25)
    online_card = (legit.pm_type == CARD) & (legit.card >= 0) & (legit.off_session == 0)
    visits = np.bincount(legit.merchant[online_card], minlength=world.merchants.size)
    # Breached merchants are mid-sized: busy enough to leak many cards, not the giants.
    busy = np.flatnonzero(visits >= 5)
    candidates = busy[visits[busy] <= np.quantile(visits[busy], 0.9)] if busy.size else busy
    if candidates.size == 0:
        candidates = np.flatnonzero(visits == visits.max())
    span = end - start
    cards: list[IntArray] = []
    times: list[IntArray] = []
    sessions: list[IntArray] = []
    for number, size in enumerate(sizes):
        merchant = candidates[rng.integers(0, candidates.size)]
        visit_rows = np.flatnonzero(online_card & (legit.merchant == merchant))
        early = visit_rows[legit.created[visit_rows] <= start + 0.6 * span]
        breach_start = legit.created[rng.choice(early if early.size else visit_rows)]
        breach_end = breach_start + max(min(14 * DAY, span // 4), HOUR)
        window = visit_rows[
            (legit.created[visit_rows] >= breach_start) & (legit.created[visit_rows] < breach_end)
        ]
        victims, first_visit = np.unique(legit.card[window], return_index=True)
        leaked = rng.permutation(victims.size)[: int(size)]
        victim = np.resize(victims[leaked], int(size))
        seen = np.resize(legit.created[window][first_visit][leaked], int(size))
        delay = np.minimum(rng.uniform(0.15, 0.7, int(size)) * (end - seen), 30 * DAY)
        times.append(np.minimum(seen + HOUR + delay.astype(np.int64), end - 1))
        cards.append(victim)
        sessions.append(3 * number + rng.integers(0, 3, int(size)))
    card = np.concatenate(cards)
    session = np.unique(np.concatenate(sessions), return_inverse=True)[1]
    return _card_not_present_cash_out(
        world, rng, card, np.concatenate(times), np.arange(card.size), session,
        "compromised_merchant",
    )  # fmt: skip


def account_takeover(
    world: World, rng: np.random.Generator, legit: Rows, budget: int, end: int
) -> Rows:
    """An existing account and its saved card used from a new device and IP."""
    if budget == 0:
        return Rows.blank(0)
    sizes = _episode_sizes(rng, budget, 1, 5)
    e = sizes.size
    customers = world.customers
    candidates = _eligible(
        legit,
        (legit.device >= 0) & (legit.customer >= 0) & (legit.card >= 0)
        & (legit.created < end - 6 * HOUR),
    )  # fmt: skip
    victim_row = candidates[rng.integers(0, candidates.size, e)]
    victim = legit.customer[victim_row]
    first = np.minimum(legit.created[victim_row] + rng.integers(HOUR, 4 * DAY, e), end - 6 * HOUR)
    first = np.maximum(first, legit.created[victim_row])
    created = np.minimum(
        _spread(rng, sizes, first, rng.integers(10 * MINUTE, 8 * HOUR, e)), end - 1
    )
    episode = np.repeat(np.arange(e), sizes)
    n = episode.size

    home = customers["city"][victim]
    where_from = _fraudster_cities(rng, CITY_COUNTRY[np.maximum(home, 0)], foreign_share=0.5)
    device = add_devices(world, rng, CITY_TZ[where_from])
    ip = add_ips(world, rng, where_from, ipv6_share=0.05)
    changed_email = rng.random(e) < 0.3
    email = np.where(changed_email, add_emails(world, rng, None, e), customers["email"][victim])
    drop = add_addresses(world, rng, _cities_in(rng, CITY_COUNTRY[np.maximum(home, 0)]))

    category = np.where(
        rng.random(n) < 0.4,
        world.merchants["category"][legit.merchant[victim_row]][episode],
        _cash_out_category(rng, n),
    )
    category = np.where(CATEGORY_PRESENT[category], CATEGORY_NAMES.index("electronics"), category)
    merchant = online_merchants(world, rng, category, np.maximum(home, 0)[episode])
    card = legit.card[victim_row]
    return Rows.blank(
        n,
        created=created,
        amount=_cash_out_amount(world, rng, merchant, 30.0),
        merchant=merchant,
        pm_type=CARD,
        card=card[episode],
        cvc=np.where(rng.random(n) < 0.6, CHECK_UNCHECKED, CHECK_PASS),
        zip=CHECK_PASS,
        line1=CHECK_PASS,
        wallet=WALLET_NONE,
        customer=victim[episode],
        email=email[episode],
        name=customers["name"][victim][episode],
        phone=customers["phone"][victim][episode],
        billing=customers["billing"][victim][episode],
        shipping=np.where(CATEGORY_SHIPS[category], drop[episode], -1),
        ip=ip[episode],
        device=device[episode],
        tz=CITY_TZ[where_from][episode],
        automation=(rng.random(e) < 0.1)[episode],
        pm_device=customers["device_a"][victim][episode],
        pm_ip=customers["home_ip"][victim][episode],
        checkout=rng.random(n) < 0.3,
        outcome=np.where(rng.random(n) < 0.05, DECLINED, AUTHORIZED),
        scenario=SCENARIOS.index("account_takeover"),
    )


def card_present_far(
    world: World, rng: np.random.Generator, legit: Rows, budget: int, end: int
) -> Rows:
    """A cloned card used at a terminal far from where the card was used hours before."""
    if budget == 0:
        return Rows.blank(0)
    sizes = _episode_sizes(rng, budget, 1, 3)
    e = sizes.size
    candidates = _eligible(
        legit, (legit.card >= 0) & (legit.ip >= 0) & (legit.created < end - 4 * HOUR)
    )
    victim = candidates[rng.integers(0, candidates.size, e)]
    ips = world.ips
    lat, lon = ips["lat"][legit.ip[victim]], ips["lon"][legit.ip[victim]]
    distance = haversine_km(lat[:, None], lon[:, None], CITY_LAT[None, :], CITY_LON[None, :])
    far = distance > 1500.0
    city = np.argmax(rng.random(far.shape) * far, axis=1)
    first = np.minimum(
        legit.created[victim] + rng.integers(30 * MINUTE, 12 * HOUR, e), end - 2 * HOUR
    )
    first = np.maximum(first, legit.created[victim])
    created = np.minimum(_spread(rng, sizes, first, rng.integers(5 * MINUTE, 2 * HOUR, e)), end - 1)
    episode = np.repeat(np.arange(e), sizes)
    n = episode.size
    present = np.flatnonzero(CATEGORY_PRESENT)
    category = present[rng.integers(0, present.size, n)]
    merchant = terminals(world, rng, category, city[episode])
    card = legit.card[victim]
    owner = _card_owner(world)[card]
    name = np.where(owner >= 0, world.customers["name"][np.maximum(owner, 0)], -1)
    usd = world.merchants["ticket"][merchant] * rng.lognormal(1.3, 0.5, n)
    return Rows.blank(
        n,
        created=created,
        amount=amounts_in_minor_units(rng, usd, world.merchants["currency"][merchant]),
        merchant=merchant,
        pm_type=CARD_PRESENT,
        card=card[episode],
        wallet=WALLET_NONE,
        name=np.where(rng.random(n) < 0.5, name[episode], -1),
        ip=world.merchants["terminal_ip"][merchant],
        outcome=np.where(rng.random(n) < 0.12, DECLINED, AUTHORIZED),
        scenario=SCENARIOS.index("card_present_far"),
    )


def friendly_fraud(world: World, rng: np.random.Generator, legit: Rows, budget: int) -> None:
    """Mark ``budget`` ordinary payments as friendly fraud (in place): the customer will
    dispute them. They come from a device and home IP the customer has paid from before."""
    customers = world.customers
    cus = np.maximum(legit.customer, 0)
    usual_device = (legit.device == customers["device_a"][cus]) | (
        legit.device == customers["device_b"][cus]
    )
    usual = (
        (legit.customer >= 0)
        & (legit.pm_type == CARD)
        & (legit.device >= 0)
        & usual_device
        & (legit.ip == customers["home_ip"][cus])
        & (legit.outcome == AUTHORIZED)
        & (legit.amount > 0)
        & (legit.scenario == 0)
    )  # fmt: skip
    # The customer has paid from this device and IP before.
    known = np.flatnonzero((legit.customer >= 0) & (legit.device >= 0))
    order = known[
        np.lexsort(
            (legit.created[known], legit.ip[known], legit.device[known], legit.customer[known])
        )
    ]
    repeat = np.zeros(len(legit), dtype=bool)
    repeat[order[1:]] = (
        (legit.customer[order[1:]] == legit.customer[order[:-1]])
        & (legit.device[order[1:]] == legit.device[order[:-1]])
        & (legit.ip[order[1:]] == legit.ip[order[:-1]])
    )
    candidates = np.flatnonzero(usual & repeat)
    if candidates.size == 0:
        return
    weight = np.sqrt(legit.amount[candidates].astype(np.float64))
    chosen = candidates[np.unique(pick(rng, weight, 3 * budget))[: min(budget, candidates.size)]]
    legit.scenario[chosen] = SCENARIOS.index("friendly_fraud")


# Per scenario (in SCENARIOS order): chance of an early fraud warning, of a fraudulent dispute,
# and of a refund marked fraudulent when no dispute came. Legitimate payments get ordinary
# refunds; friendly fraud that is not disputed ends as an ordinary refund.
_EFW = np.array([0.0, 0.04, 0.6, 0.4, 0.6, 0.55, 0.0])
_DISPUTE = np.array([0.0, 0.02, 0.65, 0.5, 0.65, 0.6, 0.85])
_FRAUD_REFUND = np.array([0.0, 0.1, 0.25, 0.3, 0.25, 0.2, 0.0])
_REFUND = np.array([0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])


def labels(rows: Rows, rng: np.random.Generator) -> tuple[IntArray, IntArray, IntArray]:
    """Labels as (row, label code, known_at): EFWs after days, disputes after weeks, some never.

    Declined payments and setup intents move no money and are never labelled.
    """
    n = len(rows)
    s = rows.scenario
    paid = (rows.outcome == AUTHORIZED) & (rows.amount > 0)
    efw = paid & (rng.random(n) < _EFW[s])
    efw_at = rows.created + (DAY * np.maximum(rng.lognormal(np.log(4.0), 0.6, n), 1.0)).astype(
        np.int64
    )
    dispute = paid & (rng.random(n) < _DISPUTE[s])
    dispute_days = np.where(
        s == SCENARIOS.index("friendly_fraud"),
        20 + rng.lognormal(np.log(20.0), 0.5, n),
        10 + rng.lognormal(np.log(18.0), 0.5, n),
    )
    dispute_at = rows.created + (DAY * dispute_days).astype(np.int64)
    fraud_refund = paid & ~dispute & (rng.random(n) < _FRAUD_REFUND[s])
    fraud_refund_at = np.where(efw, efw_at, rows.created + 2 * DAY) + rng.integers(HOUR, 3 * DAY, n)
    refund = paid & ~dispute & (rng.random(n) < _REFUND[s])
    refund_at = rows.created + rng.integers(HOUR, 30 * DAY, n)
    parts = [
        (efw, "early_fraud_warning", efw_at),
        (dispute, "dispute", dispute_at),
        (fraud_refund, "fraudulent_refund", fraud_refund_at),
        (refund, "refund", refund_at),
    ]
    row = np.concatenate([np.flatnonzero(mask) for mask, _, _ in parts])
    code = np.concatenate([np.full(int(mask.sum()), LABELS.index(lab)) for mask, lab, _ in parts])
    known_at = np.concatenate([at[mask] for mask, _, at in parts])
    return row, code.astype(np.int64), known_at
