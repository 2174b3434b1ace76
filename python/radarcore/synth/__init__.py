"""A seeded, realistic synthetic payment stream with labelled fraud.

:func:`generate` builds a population (customers with cards, emails, devices, home IPs and
addresses; merchants with categories, currencies and ticket sizes; card-present terminals in
every city), a legitimate stream with daily and weekly rhythms, travel, new devices and large
purchases, and labelled fraud scenarios (see ``SCENARIOS``) whose signatures are in history:
velocity, novelty of device, email or card, distance from the usual location, IP country
against card country.

The scenarios: ``card_testing`` (bursts of small, mostly declined attempts over many fresh cards
from one device and a few IPs), ``stolen_card`` (a customer's card cashed out from a new device,
email and account, often from abroad, at high amounts), ``account_takeover`` (an existing
account and its saved card used from a new device and IP, shipping elsewhere),
``compromised_merchant`` (cards seen at a breached merchant defrauded elsewhere days later),
``card_present_far`` (a cloned card at a terminal far from where the card was just used) and
``friendly_fraud`` (the cardholder's own ordinary payment, disputed later; counted in
``is_fraud`` because it ends in a fraudulent dispute).

``payments`` follows the payment event schema (``PAYMENTS_SCHEMA``), sorted by ``created`` then
``id``; its last two columns, ``is_fraud`` and ``scenario``, are ground truth for evaluation and
must never be used as features. ``labels`` (``LABELS_SCHEMA``) is what a merchant learns later,
sorted by ``known_at``: early fraud warnings after days, disputes after weeks, fraudulent and
ordinary refunds; some fraud is never labelled.

>>> history = generate(2_000, seed=7)
>>> history.payments.num_rows
2000
>>> history.payments.column_names[:4]
['id', 'created', 'amount', 'currency']
>>> generate(2_000, seed=7).payments.equals(history.payments)
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from radarcore.synth import _fraud
from radarcore.synth._legit import legit_rows
from radarcore.synth._rows import LABELS, LABELS_SCHEMA, PAYMENTS_SCHEMA, Rows, to_tables
from radarcore.synth._world import DAY, SCENARIOS, new_world, populate

__all__ = [
    "DEFAULT_START",
    "LABELS",
    "LABELS_SCHEMA",
    "PAYMENTS_PER_DAY",
    "PAYMENTS_SCHEMA",
    "SCENARIOS",
    "SCENARIO_SHARES",
    "SyntheticHistory",
    "generate",
    "read",
    "write",
]

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
"""Default start of the stream."""

PAYMENTS_PER_DAY = 20_000
"""Payments per day when ``days`` is not given."""

SCENARIO_SHARES: dict[str, float] = {
    "card_testing": 0.30,
    "stolen_card": 0.25,
    "account_takeover": 0.12,
    "compromised_merchant": 0.13,
    "card_present_far": 0.08,
    "friendly_fraud": 0.12,
}
"""Share of the fraudulent payments that each scenario contributes."""

_STEPS = 10


@dataclass(frozen=True)
class SyntheticHistory:
    """A generated history: the payment stream and the labels learnt about it later."""

    payments: pa.Table
    labels: pa.Table


def _unix_seconds(start: datetime | int) -> int:
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (e.g. datetime(2025, 1, 1, tzinfo=UTC))")
        return int(start.timestamp())
    if isinstance(start, int) and not isinstance(start, bool):
        return start
    raise TypeError(f"start must be a datetime or Unix seconds (int), got {type(start).__name__}")


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[object]:
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=_STEPS, desc=what, unit="step") as bar:
        yield bar


def generate(
    n_payments: int,
    *,
    seed: int = 0,
    start: datetime | int = DEFAULT_START,
    days: int | None = None,
    fraud_rate: float = 0.005,
    progress: bool = False,
) -> SyntheticHistory:
    """Generate ``n_payments`` payments and their labels; the same arguments give the same tables.

    ``start`` is an aware datetime or Unix seconds; ``days`` defaults to
    ``ceil(n_payments / PAYMENTS_PER_DAY)``. ``fraud_rate`` is the share of payments that are
    fraudulent (``is_fraud``), split over the scenarios by ``SCENARIO_SHARES``; very small
    streams may lack some scenarios. ``progress`` shows a progress bar on stderr.
    """
    n = _check_int("n_payments", n_payments, 1)
    seed = _check_int("seed", seed, 0)
    first = _unix_seconds(start)
    days = math.ceil(n / PAYMENTS_PER_DAY) if days is None else _check_int("days", days, 1)
    if isinstance(fraud_rate, bool) or not isinstance(fraud_rate, int | float):
        raise TypeError(f"fraud_rate must be a number, got {type(fraud_rate).__name__}")
    if not 0.0 <= fraud_rate <= 0.2:
        raise ValueError(f"fraud_rate must be between 0 and 0.2, got {fraud_rate}")
    end = first + days * DAY

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(_STEPS)]
    fraud_total = round(fraud_rate * n)
    budget = {name: int(share * fraud_total) for name, share in SCENARIO_SHARES.items()}
    budget["stolen_card"] += fraud_total - sum(budget.values())
    injected = fraud_total - budget["friendly_fraud"]

    with _progress(progress, "synth") as bar:

        def step() -> None:
            if bar is not None:
                bar.update(1)  # type: ignore[attr-defined]

        world = new_world()
        # Customers come back more often when the stream is longer.
        per_customer = min(max(3.0 + days / 4.0, 3.0), 40.0)
        n_legit = n - injected
        one_off = int(0.15 * n_legit)
        n_customers = max(20, int((n_legit - one_off) / per_customer))
        populate(world, streams[0], n_customers, one_off, first, end, max(30, n // 5_000))
        step()
        legit = legit_rows(world, streams[1], n_legit, first, days)
        step()
        parts = [
            legit,
            _fraud.card_testing(world, streams[2], budget["card_testing"], first, end),
        ]
        step()
        parts.append(_fraud.stolen_card(world, streams[3], legit, budget["stolen_card"], end))
        step()
        parts.append(
            _fraud.account_takeover(world, streams[4], legit, budget["account_takeover"], end)
        )
        step()
        parts.append(
            _fraud.compromised_merchant(
                world, streams[5], legit, budget["compromised_merchant"], first, end
            )
        )
        step()
        parts.append(
            _fraud.card_present_far(world, streams[6], legit, budget["card_present_far"], end)
        )
        step()
        _fraud.friendly_fraud(world, streams[7], legit, budget["friendly_fraud"])
        rows = Rows.concat(parts)
        step()
        label_rows, label_codes, known_at = _fraud.labels(rows, streams[8])
        step()
        payments, labels = to_tables(rows, world, label_rows, label_codes, known_at)
        step()
    return SyntheticHistory(payments=payments, labels=labels)


def write(history: SyntheticHistory, directory: str | Path) -> tuple[Path, Path]:
    """Write ``payments.parquet`` and ``labels.parquet`` into ``directory`` (created if needed).

    Returns the two paths.
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    payments, labels = folder / "payments.parquet", folder / "labels.parquet"
    pq.write_table(history.payments, payments, compression="zstd")
    pq.write_table(history.labels, labels, compression="zstd")
    return payments, labels


def read(directory: str | Path) -> SyntheticHistory:
    """Read a history that :func:`write` wrote."""
    folder = Path(directory)
    return SyntheticHistory(
        payments=pq.read_table(folder / "payments.parquet", schema=PAYMENTS_SCHEMA),
        labels=pq.read_table(folder / "labels.parquet", schema=LABELS_SCHEMA),
    )
