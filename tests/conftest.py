"""Shared fixtures: stores of every backend (SQLite, PostgreSQL, memory)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from radarcore.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent

# Helpers next to the tests (the engine's fixtures' constants) are imported by module name.
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


#: The stepped test model: margin by amount_in_usd (<= 100: -3, <= 1000: -1, else 2), so with the
#: identity calibration the risk scores are 61 (normal), 70 (elevated) and 84 (highest).
STEPS = ((100.0, -3.0), (1000.0, -1.0), (None, 2.0))


def stepped_model() -> object:
    from radarcore.forest import Forest
    from radarcore.models._spec import SpecBuilder, TreeSpec

    tree = TreeSpec()
    root = tree.add_split(0, STEPS[0][0])  # type: ignore[arg-type]
    low = tree.add_leaf(STEPS[0][1])
    upper = tree.add_split(0, STEPS[1][0])  # type: ignore[arg-type]
    middle = tree.add_leaf(STEPS[1][1])
    high = tree.add_leaf(STEPS[2][1])
    tree.set_children(root, low, upper)
    tree.set_children(upper, middle, high)
    return Forest.from_spec(SpecBuilder(feature_names=["amount_in_usd"], trees=[tree]))


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
