"""The synthetic world: geography, entity tables and the legitimate population.

Every entity (customer, card, device, IP, address, email, merchant, ...) lives in an
:class:`EntityTable`; payments refer to entities by row index, and strings are only materialised
once, when the final Arrow table is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# (city, state, country, latitude, longitude, UTC offset in minutes, weight as a customer home)
CITIES: tuple[tuple[str, str, str, float, float, int, float], ...] = (
    ("New York", "NY", "US", 40.71, -74.01, -300, 9.0),
    ("Los Angeles", "CA", "US", 34.05, -118.24, -480, 7.0),
    ("Chicago", "IL", "US", 41.88, -87.63, -360, 5.0),
    ("Houston", "TX", "US", 29.76, -95.37, -360, 4.5),
    ("Phoenix", "AZ", "US", 33.45, -112.07, -420, 3.0),
    ("Seattle", "WA", "US", 47.61, -122.33, -480, 3.0),
    ("Miami", "FL", "US", 25.76, -80.19, -300, 3.5),
    ("Boston", "MA", "US", 42.36, -71.06, -300, 3.0),
    ("Denver", "CO", "US", 39.74, -104.99, -420, 2.5),
    ("Atlanta", "GA", "US", 33.75, -84.39, -300, 3.0),
    ("London", "ENG", "GB", 51.51, -0.13, 0, 5.0),
    ("Manchester", "ENG", "GB", 53.48, -2.24, 0, 1.5),
    ("Edinburgh", "SCT", "GB", 55.95, -3.19, 0, 1.0),
    ("Berlin", "BE", "DE", 52.52, 13.40, 60, 2.5),
    ("Munich", "BY", "DE", 48.14, 11.58, 60, 1.5),
    ("Hamburg", "HH", "DE", 53.55, 9.99, 60, 1.0),
    ("Paris", "IDF", "FR", 48.86, 2.35, 60, 3.0),
    ("Lyon", "ARA", "FR", 45.76, 4.84, 60, 1.0),
    ("Madrid", "MD", "ES", 40.42, -3.70, 60, 1.2),
    ("Barcelona", "CT", "ES", 41.39, 2.17, 60, 0.8),
    ("Rome", "RM", "IT", 41.90, 12.50, 60, 1.0),
    ("Milan", "MI", "IT", 45.46, 9.19, 60, 1.0),
    ("Amsterdam", "NH", "NL", 52.37, 4.90, 60, 1.5),
    ("Tokyo", "13", "JP", 35.68, 139.69, 540, 2.5),
    ("Osaka", "27", "JP", 34.69, 135.50, 540, 1.0),
    ("Toronto", "ON", "CA", 43.65, -79.38, -300, 2.5),
    ("Vancouver", "BC", "CA", 49.28, -123.12, -480, 1.5),
    ("Sydney", "NSW", "AU", -33.87, 151.21, 600, 1.2),
    ("Mexico City", "CMX", "MX", 19.43, -99.13, -360, 0.8),
    ("Sao Paulo", "SP", "BR", -23.55, -46.63, -180, 0.5),
    ("Lagos", "LA", "NG", 6.52, 3.38, 60, 0.0),
    ("Moscow", "MOW", "RU", 55.76, 37.62, 180, 0.0),
    ("Bucharest", "B", "RO", 44.43, 26.10, 120, 0.0),
    ("Ho Chi Minh City", "SG", "VN", 10.82, 106.63, 420, 0.0),
    ("Jakarta", "JK", "ID", -6.21, 106.85, 420, 0.0),
    ("Kyiv", "KV", "UA", 50.45, 30.52, 120, 0.0),
    ("Manila", "NCR", "PH", 14.60, 120.98, 480, 0.0),
)
CITY_NAME = np.array([c[0] for c in CITIES], dtype=object)
CITY_STATE = np.array([c[1] for c in CITIES], dtype=object)
CITY_COUNTRY = np.array([c[2] for c in CITIES], dtype=object)
CITY_LAT = np.array([c[3] for c in CITIES])
CITY_LON = np.array([c[4] for c in CITIES])
CITY_TZ = np.array([c[5] for c in CITIES], dtype=np.int64)
CITY_HOME_WEIGHT = np.array([c[6] for c in CITIES])
HOME_CITIES = np.flatnonzero(CITY_HOME_WEIGHT > 0)
# Where fraudsters' connections come from, besides proxies in the victim's own country.
FRAUD_CITIES = np.flatnonzero(CITY_HOME_WEIGHT == 0)

# country -> (phone prefix, first IPv4 octets, merchant currency)
COUNTRIES: dict[str, tuple[str, tuple[int, ...], str]] = {
    "US": ("+1", (23, 24, 50, 64, 66, 67, 68, 69, 71, 72, 73, 74, 75, 76, 98, 99, 107, 108), "usd"),
    "GB": ("+44", (2, 5, 31, 51, 81, 86), "gbp"),
    "DE": ("+49", (46, 77, 79, 84, 87, 91), "eur"),
    "FR": ("+33", (37, 78, 80, 82, 90, 92), "eur"),
    "ES": ("+34", (83, 88, 95), "eur"),
    "IT": ("+39", (79, 93, 151), "eur"),
    "NL": ("+31", (62, 145, 194), "eur"),
    "JP": ("+81", (1, 14, 27, 36, 49, 60, 126), "jpy"),
    "CA": ("+1", (24, 70, 99, 142, 174), "cad"),
    "AU": ("+61", (1, 14, 27, 49, 101), "usd"),
    "MX": ("+52", (187, 189, 201), "usd"),
    "BR": ("+55", (177, 179, 187, 189), "usd"),
    "NG": ("+234", (41, 102, 105, 197), "usd"),
    "RU": ("+7", (5, 31, 46, 95, 178), "usd"),
    "RO": ("+40", (5, 79, 86, 89), "eur"),
    "VN": ("+84", (14, 27, 113, 115, 171), "usd"),
    "ID": ("+62", (36, 103, 110, 114, 180), "usd"),
    "UA": ("+380", (31, 46, 91, 176, 178), "usd"),
    "PH": ("+63", (49, 112, 122, 175), "usd"),
}
_CITY_OCTET_COUNT = np.array([len(COUNTRIES[c][1]) for c in CITY_COUNTRY])
_CITY_OCTETS = np.array(
    [np.resize(COUNTRIES[c][1], _CITY_OCTET_COUNT.max()) for c in CITY_COUNTRY], dtype=np.int64
)
CURRENCIES = ("usd", "eur", "gbp", "jpy", "cad")
# Units of the currency's minor unit per US dollar (jpy is zero-decimal).
MINOR_PER_USD = np.array([100.0, 92.0, 79.0, 150.0, 136.0])

PM_TYPES = ("card", "card_present", "sepa_debit", "us_bank_account")
CHECKS = ("pass", "fail", "unavailable", "unchecked", "not_provided")
WALLETS = ("none", "apple_pay", "google_pay", "link")
THREE_DS = ("authenticated", "attempt_acknowledged", "failed")
OUTCOMES = ("authorized", "declined", "blocked")
SCENARIOS = (
    "legit",
    "card_testing",
    "stolen_card",
    "account_takeover",
    "compromised_merchant",
    "card_present_far",
    "friendly_fraud",
)

# category -> (median ticket in usd, card present, ships goods, recurring, popularity weight)
CATEGORIES: tuple[tuple[str, float, bool, bool, bool, float], ...] = (
    ("digital_goods", 14.0, False, False, False, 14.0),
    ("software_subscription", 19.0, False, False, True, 8.0),
    ("retail", 55.0, False, True, False, 18.0),
    ("electronics", 240.0, False, True, False, 5.0),
    ("gift_cards", 60.0, False, False, False, 2.0),
    ("food_delivery", 32.0, False, True, False, 12.0),
    ("travel", 380.0, False, False, False, 3.0),
    ("grocery", 48.0, True, False, False, 8.0),
    ("restaurant", 36.0, True, False, False, 6.0),
    ("fuel", 52.0, True, False, False, 2.5),
)
CATEGORY_NAMES = tuple(c[0] for c in CATEGORIES)
CATEGORY_TICKET = np.array([c[1] for c in CATEGORIES])
CATEGORY_PRESENT = np.array([c[2] for c in CATEGORIES])
CATEGORY_SHIPS = np.array([c[3] for c in CATEGORIES])
CATEGORY_RECURRING = np.array([c[4] for c in CATEGORIES])
CATEGORY_WEIGHT = np.array([c[5] for c in CATEGORIES])
ONLINE_CATEGORIES = np.flatnonzero(~CATEGORY_PRESENT)
PRESENT_CATEGORIES = np.flatnonzero(CATEGORY_PRESENT)
CASH_OUT_CATEGORIES = np.array([CATEGORY_NAMES.index(c) for c in ("electronics", "gift_cards")])
MERCHANT_COUNTRIES = ("US", "GB", "DE", "FR", "NL", "JP", "CA")
MERCHANT_COUNTRY_WEIGHT = np.array([0.63, 0.1, 0.08, 0.07, 0.05, 0.05, 0.02])

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Emily",
    "Paul", "Ashley", "Steven", "Kimberly", "Andrew", "Donna", "Kenji", "Yuki", "Hiro", "Aiko",
    "Lukas", "Anna", "Leon", "Marie", "Hugo", "Camille", "Lucia", "Mateo", "Sofia", "Marco",
    "Giulia", "Oliver", "Amelia", "Noah", "Olivia", "Liam", "Emma"
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Green", "Tanaka", "Sato", "Suzuki", "Muller", "Schmidt", "Schneider",
    "Dubois", "Moreau", "Rossi", "Russo", "Ferrari", "Evans", "Clarke"
)  # fmt: skip
STREETS = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Church",
    "High", "Station", "Victoria", "Mill", "River", "Spring", "Market", "Bridge", "King", "Queen",
    "York", "Garden", "Forest", "Sunset", "Harbor", "Union", "Grand"
)  # fmt: skip
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way")
EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "mail.ru",
    "yandex.ru", "tutanota.com",
)  # fmt: skip
# Everyone uses the big providers; fraudsters lean a little more on anonymous ones.
PERSONAL_DOMAIN_WEIGHT = np.array([0.48, 0.11, 0.13, 0.08, 0.15, 0.025, 0.008, 0.007, 0.003])
THROWAWAY_DOMAIN_WEIGHT = np.array([0.45, 0.05, 0.15, 0.05, 0.02, 0.1, 0.08, 0.06, 0.04])
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Mobile Safari/537.36",
)
USER_AGENT_WEIGHT = np.array([0.3, 0.3, 0.15, 0.12, 0.06, 0.07])
HEADLESS_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)
# brand -> (weight, BIN first digit)
CARD_BRANDS = (("visa", 0.55, "4"), ("mc", 0.32, "5"), ("amex", 0.08, "3"), ("discover", 0.05, "6"))
FUNDING = ("credit", "debit", "prepaid", "unknown")
FUNDING_WEIGHT = np.array([0.55, 0.38, 0.06, 0.01])

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def tokens(rng: np.random.Generator, n: int, length: int, hexa: bool = False) -> Any:
    """``n`` random tokens of ``length`` base62 (or hex) characters, as bytes."""
    alphabet = _HEX if hexa else _BASE62
    body = np.ascontiguousarray(alphabet[rng.integers(0, alphabet.size, size=(n, length))])
    return body.view(f"S{length}").ravel()


def counter_ids(start: int, n: int, prefix: str, length: int) -> Any:
    """Unique ids ``prefix`` + ``length`` (>= 11) base62 characters from a counter, as bytes.

    Multiplying by an odd constant is a bijection modulo 2**64, and 11 base62 digits hold any
    64-bit value, so distinct counters give distinct ids while the ids look random.
    """
    counter = np.arange(start + 1, start + n + 1, dtype=np.uint64)
    mixed = [
        counter * np.uint64(multiplier)
        for multiplier in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
    ]
    digits = np.empty((n, length), dtype=np.uint8)
    for position in range(length):
        values = mixed[position // 11]
        digits[:, position] = _BASE62[(values % np.uint64(62)).astype(np.int64)]
        values //= np.uint64(62)
    head = np.broadcast_to(np.frombuffer(prefix.encode(), np.uint8), (n, len(prefix)))
    raw = np.ascontiguousarray(np.concatenate([head, digits], axis=1))
    return raw.view(f"S{len(prefix) + length}").ravel()


def pick(rng: np.random.Generator, weights: npt.ArrayLike, size: int) -> IntArray:
    """``size`` indices drawn with probabilities proportional to ``weights``."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w)
    draws = rng.random(size) * cdf[-1]
    result: IntArray = np.minimum(np.searchsorted(cdf, draws, side="right"), w.size - 1).astype(
        np.int64
    )
    return result


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in kilometres (NumPy broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class EntityTable:
    """Rows of one entity kind, appended in chunks; columns are NumPy arrays.

    String columns hold bytes (``S``) or Python ``str``/``None`` (object) arrays.
    """

    def __init__(self, *names: str) -> None:
        self._chunks: dict[str, list[Any]] = {name: [] for name in names}
        self._cache: dict[str, Any] = {}
        self.size = 0

    def add(self, **columns: Any) -> IntArray:
        """Append rows (every column, same length); return their indices."""
        if set(columns) != set(self._chunks):
            raise KeyError(f"expected columns {sorted(self._chunks)}, got {sorted(columns)}")
        lengths = {len(v) for v in columns.values()}
        (n,) = lengths
        for name, values in columns.items():
            self._chunks[name].append(np.asarray(values))
        self._cache.clear()
        first = self.size
        self.size += n
        return np.arange(first, first + n, dtype=np.int64)

    def replace(self, name: str, values: Any) -> None:
        """Overwrite one whole column."""
        if len(values) != self.size:
            raise ValueError(f"column {name!r} needs {self.size} values, got {len(values)}")
        self._chunks[name] = [np.asarray(values)]
        self._cache.pop(name, None)

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            chunks = self._chunks[name]
            if chunks and any(c.dtype == object for c in chunks):
                chunks = [c.astype(object) for c in chunks]
            self._cache[name] = np.concatenate(chunks) if chunks else np.empty(0)
        return self._cache[name]


@dataclass
class World:
    """Every entity of one synthetic history."""

    cards: EntityTable
    customers: EntityTable
    devices: EntityTable
    ips: EntityTable
    addresses: EntityTable
    emails: EntityTable
    names: EntityTable
    phones: EntityTable
    merchants: EntityTable


def new_world() -> World:
    return World(
        cards=EntityTable("fingerprint", "bin", "brand", "funding", "country"),
        customers=EntityTable(
            "id", "created", "city", "card_first", "card_count", "email", "name", "phone",
            "billing", "alternate", "home_ip", "mobile_ip", "device_a", "device_b", "device_new",
            "switch_at", "spend", "one_off",
        ),
        devices=EntityTable("device_id", "user_agent", "tz"),
        ips=EntityTable("address", "country", "lat", "lon", "city"),
        addresses=EntityTable(
            "line1", "line2", "city", "state", "postal_code", "country", "lat", "lon"
        ),
        emails=EntityTable("email"),
        names=EntityTable("name"),
        phones=EntityTable("phone"),
        merchants=EntityTable(
            "id", "category", "currency", "city", "ticket", "description", "terminal_ip",
            "popularity",
        ),
    )  # fmt: skip


def add_names(world: World, rng: np.random.Generator, n: int) -> IntArray:
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    names = [
        f"{FIRST_NAMES[f]} {LAST_NAMES[g]}"
        for f, g in zip(first.tolist(), last.tolist(), strict=True)
    ]
    return world.names.add(name=np.array(names, dtype=object))


def add_emails(
    world: World, rng: np.random.Generator, name_rows: IntArray | None, n: int
) -> IntArray:
    """Emails made from the names, or throwaway-looking ones when ``name_rows`` is None."""
    numbers = rng.integers(1, 9999, n)
    if name_rows is None:
        handles = tokens(rng, n, 9).astype(str)
        domains = pick(rng, THROWAWAY_DOMAIN_WEIGHT, n)
        emails = [
            f"{h.lower()}{k}@{EMAIL_DOMAINS[d]}"
            for h, k, d in zip(handles, numbers.tolist(), domains.tolist(), strict=True)
        ]
    else:
        names = world.names["name"][name_rows]
        domains = pick(rng, PERSONAL_DOMAIN_WEIGHT, n)
        style = rng.random(n)
        emails = [
            f"{nm.replace(' ', '.').lower()}@{EMAIL_DOMAINS[d]}"
            if s < 0.35
            else f"{nm.split(' ')[0].lower()}{k}@{EMAIL_DOMAINS[d]}"
            for nm, k, d, s in zip(
                names, numbers.tolist(), domains.tolist(), style.tolist(), strict=True
            )
        ]
    return world.emails.add(email=np.array(emails, dtype=object))


def add_phones(world: World, rng: np.random.Generator, cities: IntArray) -> IntArray:
    numbers = rng.integers(2_000_000_000, 9_999_999_999, cities.size)
    phones = [
        f"{COUNTRIES[CITY_COUNTRY[c]][0]}{k}"
        for c, k in zip(cities.tolist(), numbers.tolist(), strict=True)
    ]
    return world.phones.add(phone=np.array(phones, dtype=object))


def _postal_code(country: str, a: int, b: int) -> str:
    if country == "GB":
        return f"{'EMNSWL'[a % 6]}{a % 20 + 1} {b % 9 + 1}{'ABDEFGHJ'[b % 8]}{'LNPQRSTU'[a % 8]}"
    if country == "CA":
        return f"{'MVKLT'[a % 5]}{a % 10}{'ABCEG'[b % 5]} {b % 10}{'HJKLM'[a % 5]}{a % 7}"
    if country == "JP":
        return f"{a % 1000:03d}-{b % 10000:04d}"
    if country in ("NL", "AU"):
        return f"{1000 + a % 9000}"
    return f"{a % 100000:05d}"


def add_addresses(world: World, rng: np.random.Generator, cities: IntArray) -> IntArray:
    n = cities.size
    numbers = rng.integers(1, 9999, n)
    streets = rng.integers(0, len(STREETS), n)
    kinds = rng.integers(0, len(STREET_KINDS), n)
    apartments = np.where(rng.random(n) < 0.2, rng.integers(1, 40, n), 0)
    a = rng.integers(0, 10**6, n)
    b = rng.integers(0, 10**6, n)
    countries = CITY_COUNTRY[cities]
    return world.addresses.add(
        line1=np.array(
            [
                f"{k} {STREETS[s]} {STREET_KINDS[t]}"
                for k, s, t in zip(numbers.tolist(), streets.tolist(), kinds.tolist(), strict=True)
            ],
            dtype=object,
        ),
        line2=np.array([f"Apt {k}" if k else None for k in apartments.tolist()], dtype=object),
        city=CITY_NAME[cities],
        state=CITY_STATE[cities],
        postal_code=np.array(
            [
                _postal_code(c, x, y)
                for c, x, y in zip(countries, a.tolist(), b.tolist(), strict=True)
            ],
            dtype=object,
        ),
        country=countries,
        lat=CITY_LAT[cities] + rng.normal(0.0, 0.06, n),
        lon=CITY_LON[cities] + rng.normal(0.0, 0.06, n),
    )


def add_ips(
    world: World, rng: np.random.Generator, cities: IntArray, ipv6_share: float = 0.12
) -> IntArray:
    n = cities.size
    octets = rng.integers(0, 256, (n, 4))
    octets[:, 0] = _CITY_OCTETS[cities, octets[:, 0] % _CITY_OCTET_COUNT[cities]]
    octets[:, 3] = octets[:, 3] % 254 + 1
    v6 = (rng.random(n) < ipv6_share).tolist()
    groups = rng.integers(0, 65536, (n, 5))
    groups[:, 0] = 0x2A00 + cities % 10
    addresses = [
        "{:x}:{:x}:{:x}:{:x}::{:x}".format(*g) if six else "{}.{}.{}.{}".format(*o)
        for o, g, six in zip(octets.tolist(), groups.tolist(), v6, strict=True)
    ]
    return world.ips.add(
        address=np.array(addresses, dtype=object),
        country=CITY_COUNTRY[cities],
        lat=CITY_LAT[cities] + rng.normal(0.0, 0.08, n),
        lon=CITY_LON[cities] + rng.normal(0.0, 0.08, n),
        city=cities,
    )


def add_devices(
    world: World, rng: np.random.Generator, tz: IntArray, user_agents: Any = None
) -> IntArray:
    n = tz.size
    if user_agents is None:
        user_agents = np.array(USER_AGENTS, dtype=object)[pick(rng, USER_AGENT_WEIGHT, n)]
    return world.devices.add(device_id=tokens(rng, n, 32, hexa=True), user_agent=user_agents, tz=tz)


def add_cards(
    world: World, rng: np.random.Generator, countries: Any, issuer: IntArray | None = None
) -> IntArray:
    """Cards issued in ``countries``; ``issuer`` (one code per card) fixes brand and BIN."""
    n = len(countries)
    # A few hundred BINs per brand, so BINs repeat across cards as they do in reality.
    if issuer is None:
        issuer = pick(rng, [b[1] for b in CARD_BRANDS], n) * 400 + rng.zipf(1.3, n) % 400
    brand = issuer // 400
    bins = [
        f"{CARD_BRANDS[b][2]}{(t * 7919 + b * 131) % 100000:05d}"
        for b, t in zip(brand, issuer % 400, strict=True)
    ]
    return world.cards.add(
        fingerprint=tokens(rng, n, 16),
        bin=np.array(bins, dtype=object),
        brand=np.array([b[0] for b in CARD_BRANDS], dtype=object)[brand],
        funding=np.array(FUNDING, dtype=object)[pick(rng, FUNDING_WEIGHT, n)],
        country=np.asarray(countries, dtype=object),
    )


def populate(
    world: World,
    rng: np.random.Generator,
    n_customers: int,
    n_one_off: int,
    start: int,
    end: int,
    n_merchants: int,
) -> None:
    """Create the legitimate customers (with cards, devices, IPs, addresses) and the merchants.

    The last ``n_one_off`` customers are first-time buyers who sign up when they pay once.
    """
    n = n_customers + n_one_off
    one_off = np.arange(n) >= n_customers
    city = HOME_CITIES[pick(rng, CITY_HOME_WEIGHT[HOME_CITIES], n)]
    span = end - start
    # Most customers exist before the stream starts; the rest sign up during it.
    created = np.where(
        rng.random(n) < 0.75,
        start - rng.integers(DAY, 3 * 365 * DAY, n),
        start + rng.integers(0, max(span, 1), n),
    )
    created[one_off] = np.iinfo(np.int64).max
    names = add_names(world, rng, n)
    emails = add_emails(world, rng, names, n)
    phones = np.where(rng.random(n) < 0.65, add_phones(world, rng, city), -1)
    billing = add_addresses(world, rng, city)
    alternate = add_addresses(world, rng, city)
    home_ip = add_ips(world, rng, city)
    mobile_ip = add_ips(world, rng, city, ipv6_share=0.4)
    tz = CITY_TZ[city]
    device_a = add_devices(world, rng, tz)
    device_b = np.where(rng.random(n) < 0.5, add_devices(world, rng, tz), -1)
    device_new = add_devices(world, rng, tz)
    switch_at = np.where(
        rng.random(n) < 0.1, start + rng.integers(0, max(span, 1), n), np.iinfo(np.int64).max
    )
    card_count = 1 + rng.binomial(2, 0.25, n)
    card_country = np.repeat(CITY_COUNTRY[city], card_count)
    # A few cards are issued abroad (expats, international students).
    foreign = rng.random(card_country.size) < 0.03
    card_country[foreign] = CITY_COUNTRY[
        HOME_CITIES[rng.integers(0, HOME_CITIES.size, foreign.sum())]
    ]
    cards = add_cards(world, rng, card_country)
    card_first = cards[0] + np.concatenate([[0], np.cumsum(card_count)[:-1]])
    world.customers.add(
        id=counter_ids(world.customers.size, n, "cus_", 14),
        created=created,
        city=city,
        card_first=card_first,
        card_count=card_count,
        email=emails,
        name=names,
        phone=phones,
        billing=billing,
        alternate=alternate,
        home_ip=home_ip,
        mobile_ip=mobile_ip,
        device_a=device_a,
        device_b=device_b,
        device_new=device_new,
        switch_at=switch_at,
        spend=rng.lognormal(0.0, 0.35, n),
        one_off=one_off,
    )
    add_merchants(world, rng, n_merchants)


def add_merchants(world: World, rng: np.random.Generator, n_online: int) -> None:
    """Online merchants across countries, and a few card-present terminals in every city."""
    category = ONLINE_CATEGORIES[pick(rng, CATEGORY_WEIGHT[ONLINE_CATEGORIES], n_online)]
    category[: ONLINE_CATEGORIES.size] = ONLINE_CATEGORIES
    country = np.array(MERCHANT_COUNTRIES)[pick(rng, MERCHANT_COUNTRY_WEIGHT, n_online)]
    city = np.array(
        [HOME_CITIES[CITY_COUNTRY[HOME_CITIES] == c][0] for c in country], dtype=np.int64
    )
    per_city = 3
    present_city = np.repeat(np.arange(len(CITIES)), per_city * PRESENT_CATEGORIES.size)
    present_category = np.tile(np.repeat(PRESENT_CATEGORIES, per_city), len(CITIES))
    all_category = np.concatenate([category, present_category])
    all_city = np.concatenate([city, present_city])
    n = all_category.size
    is_present = CATEGORY_PRESENT[all_category]
    currency = np.array(
        [CURRENCIES.index(COUNTRIES[CITY_COUNTRY[c]][2]) for c in all_city], dtype=np.int64
    )
    terminal_ip = np.where(is_present, add_ips(world, rng, all_city, ipv6_share=0.0), -1)
    ids = np.where(
        is_present,
        counter_ids(world.merchants.size, n, "tmr_", 16),
        counter_ids(world.merchants.size, n, "acct_", 16),
    )
    seller = rng.integers(0, len(LAST_NAMES), n)
    world.merchants.add(
        id=ids,
        category=all_category,
        currency=currency,
        city=all_city,
        ticket=CATEGORY_TICKET[all_category] * rng.lognormal(0.0, 0.35, n),
        description=np.array(
            [
                f"{LAST_NAMES[s]} {CATEGORY_NAMES[c].replace('_', ' ')}"
                for s, c in zip(seller, all_category, strict=True)
            ],
            dtype=object,
        ),
        terminal_ip=terminal_ip,
        popularity=rng.zipf(1.6, n).astype(np.float64),
    )
