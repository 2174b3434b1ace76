"""Shared fixtures: stores of every backend (SQLite, PostgreSQL, memory)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from radarcore.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent


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
