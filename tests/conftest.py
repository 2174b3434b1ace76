"""Shared fixtures: small trained models (forest), extractor and payments (features), stores
of every backend and engines on them (engine)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine_model import stepped_model
from radarcore import FeatureExtractor
from radarcore.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent

N_FEATURES = 8
CATEGORICAL = 3


@dataclass
class Data:
    train: np.ndarray
    label: np.ndarray
    test: np.ndarray
    classes: np.ndarray


@pytest.fixture(scope="session")
def data() -> Data:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1600, N_FEATURES))
    x[rng.random(x.shape) < 0.08] = np.nan
    x[:, CATEGORICAL] = rng.integers(0, 30, size=len(x))
    x[rng.random(len(x)) < 0.05, CATEGORICAL] = np.nan
    x[rng.random(len(x)) < 0.2, 5] = 0.0
    z = np.nan_to_num(x)
    signal = z[:, 0] - z[:, 1] * z[:, 2] + (z[:, CATEGORICAL] % 4 == 1) + 0.3 * z[:, 5]
    label = (signal + rng.normal(size=len(x)) > 0.4).astype(np.int32)
    classes = np.digitize(signal + rng.normal(size=len(x)), [-0.5, 0.8])
    test = x[1200:].copy()
    # Categories never seen in training, negative, huge and fractional values.
    test[:6, CATEGORICAL] = [45.0, -1.0, 1e10, 2.7, -0.5, 31.0]
    test[6:9, 5] = [1e-36, -0.0, 1e-34]
    return Data(x[:1200], label[:1200], test, classes[:1200])


@pytest.fixture(scope="session")
def lgb_binary(data: Data) -> Any:
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "num_leaves": 15,
        "verbose": -1,
        "num_threads": 1,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "seed": 1,
    }
    dataset = lgb.Dataset(data.train, data.label, categorical_feature=[CATEGORICAL])
    return lgb.train(params, dataset, 40)


# --- features: extractor and a complete card payment ---

T0 = 1_699_920_000  # 2023-11-14T00:00:00Z: on a day boundary, so every bucket edge is easy to hit


@pytest.fixture
def fx() -> FeatureExtractor:
    return FeatureExtractor(anonymous_ips=["198.51.100.0/24", "2001:db8:dead::7"])


@pytest.fixture
def payment() -> dict[str, Any]:
    """A complete card payment at T0."""
    return {
        "id": "ch_1",
        "created": T0,
        "amount": 2_000,
        "currency": "usd",
        "card_fingerprint": "fp_A",
        "card_bin": "424242",
        "card_brand": "visa",
        "card_funding": "credit",
        "card_country": "US",
        "customer": "cus_1",
        "email": "jane.doe@example.com",
        "name": "Jane Doe",
        "billing_line1": "1 Main St",
        "billing_city": "Brooklyn",
        "billing_state": "NY",
        "billing_postal_code": "10022",
        "billing_country": "US",
        "ip_address": "203.0.113.7",
        "ip_country": "US",
        "device_id": "dev_1",
        "merchant": "acct_1",
    }


# --- stores and the Radar engine ---------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test server: ``RADARCORE_TEST_POSTGRES_URL`` if set, else one started for the session.

    A server that cannot be reached or started fails the tests that need it (never skips them).
    """
    url = os.environ.get("RADARCORE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    state = tmp_path_factory.mktemp("postgres") / "state"
    env = {**os.environ, "RADARCORE_PG_STATE": str(state)}
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run(
        ["bash", script, "start"], capture_output=True, text=True, env=env, check=True
    )
    yield started.stdout.strip().split("=", 1)[1]
    subprocess.run(["bash", script, "stop"], env=env, check=True)


@pytest.fixture
def store_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """Returns a function backend -> URL of a fresh, empty database of that backend.

    Calling it twice with the same backend gives the same database (to reopen it).
    """
    made: dict[str, str] = {}
    schemas: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        if backend in made:
            return made[backend]
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'radar.db'}"
        elif backend == "memory":
            url = "memory://"
        else:
            import psycopg

            base = request.getfixturevalue("postgres_url")
            schema = "t_" + uuid.uuid4().hex[:12]
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            schemas.append((base, schema))
            url = f"{base}?options=-csearch_path%3D{schema}"
        made[backend] = url
        return url

    yield make
    if schemas:
        import psycopg

        for base, schema in schemas:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The persistent backends every store and engine test runs against."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, store_url_factory: Callable[[str], str]) -> str:
    return store_url_factory(backend)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


# --- the Radar engine ----------------------------------------------------------------------------

START = 1_700_000_000


class Clock:
    """A settable clock for the engine (Unix seconds)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def radar_factory(store_url: str, clock: Clock) -> Iterator[Callable[..., object]]:
    """Opens engines on the test database (same database on every call); closes them after."""
    from radarcore.radar import Radar, RadarSettings

    opened: list[Radar] = []

    def make(
        *, model: bool = True, settings: RadarSettings | None = None, **kwargs: object
    ) -> Radar:
        engine = Radar(
            store_url,
            model=stepped_model() if model else None,  # type: ignore[arg-type]
            settings=settings,
            clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.store.close()


@pytest.fixture
def radar(radar_factory: Callable[..., object]) -> object:
    return radar_factory()


@dataclass(frozen=True)
class SmallHistory:
    """A 40-day synthetic history with enough fraud to train on, and a cut-off at day 30."""

    payments: Any
    labels: Any
    cutoff: int


#: Small, fast training for the 40-day history: 30 trees at twice the default learning rate
#: stand in for the default's 200 (a model that weak at 0.05 barely reaches risk_score 75).
TRAIN_ARGS: dict[str, Any] = {
    "gap": 86_400,
    "validation": 5 * 86_400,
    "maturity": 3 * 86_400,
    "num_boost_round": 30,
    "params": {"num_leaves": 15, "min_data_in_leaf": 40, "learning_rate": 0.1},
}


@pytest.fixture(scope="session")
def small_history() -> SmallHistory:
    from radarcore import synth

    history = synth.generate(40_000, seed=3, days=40, fraud_rate=0.02)
    cutoff = int(synth.DEFAULT_START.timestamp()) + 30 * 86_400
    return SmallHistory(history.payments, history.labels, cutoff)


@pytest.fixture(scope="session")
def small_model(small_history: SmallHistory) -> Any:
    from radarcore.models.training import train

    return train(
        small_history.payments, small_history.labels, cutoff=small_history.cutoff, **TRAIN_ARGS
    )


# --- the HTTP server -----------------------------------------------------------------------------


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Starts the app (on an engine with the stepped test model, SQLite in ``tmp_path``) under
    uvicorn in a thread; every server started is stopped and its engine closed afterwards."""
    from contextlib import ExitStack

    from radarcore.radar import Radar
    from radarcore.server import ServerConfig, create_app
    from server_support import PUBLISHABLE, SECRET, serve_in_thread

    with ExitStack() as stack:

        def start(*, database: str = "radar.db", **config: Any) -> Any:
            url = f"sqlite:///{tmp_path / database}"
            settings = ServerConfig(
                database_url=url,
                secret_keys=(SECRET,),
                publishable_keys=(PUBLISHABLE,),
                **config,
            )
            engine = Radar(url, model=stepped_model())  # type: ignore[arg-type]
            stack.callback(engine.close)
            return stack.enter_context(serve_in_thread(create_app(settings, radar=engine)))

        yield start


@pytest.fixture
def server(server_factory: Callable[..., Any]) -> Any:
    return server_factory()


@dataclass
class ServedApp:
    """A server under test with its app and engine at hand (the dashboard and browser tests
    add routes to the app and look at the engine's state)."""

    url: str
    app: Any
    radar: Any


@pytest.fixture
def served_app(tmp_path: Path) -> Iterator[ServedApp]:
    """Like ``server`` (same keys, stepped model, SQLite in ``tmp_path``), keeping the app and
    the engine."""
    from radarcore.radar import Radar
    from radarcore.server import ServerConfig, create_app
    from server_support import PUBLISHABLE, SECRET, serve_in_thread

    url = f"sqlite:///{tmp_path / 'dashboard.db'}"
    settings = ServerConfig(
        database_url=url, secret_keys=(SECRET,), publishable_keys=(PUBLISHABLE,)
    )
    engine = Radar(url, model=stepped_model())  # type: ignore[arg-type]
    app = create_app(settings, radar=engine)
    with serve_in_thread(app) as running:
        yield ServedApp(running.url, app, engine)
    engine.close()
