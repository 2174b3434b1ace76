"""Persistence: one transaction per assessment, restart (snapshot + replay equals the live
state), and a crash (SIGKILL mid-stream) that loses no committed payment, leaves none
half-written and restores the same velocity counters as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from radarcore import CardError, FeatureExtractor
from radarcore.models import default_model
from radarcore.objects import Charge, PaymentIntent
from radarcore.radar import Radar, RadarSettings
from radarcore.store import open_store

KEY = b"k" * 32


def payments(radar: Radar, count: int, clock: Any) -> None:
    for i in range(count):
        clock.advance(97)
        pm = radar.payment_methods.create(
            type="card",
            card={
                "number": ("4242424242424242", "5555555555554444")[i % 2],
                "exp_month": 1,
                "exp_year": 2031,
            },
            billing_details={"email": f"user{i % 3}@example.com"},
        )
        try:
            pi = radar.payment_intents.create(
                amount=1_000 + 100 * i, currency="usd", payment_method=pm.id, confirm=True
            )
        except CardError:
            continue
        if i % 4 == 0:
            radar.refunds.create(
                payment_intent=pi.id, reason="fraudulent" if i % 8 == 0 else "requested_by_customer"
            )


def replayed_from_scratch(radar: Radar) -> bytes:
    """The velocity state of a run that applied every logged entry, never stopping."""
    features = FeatureExtractor()
    for entry in radar.store.events():
        event = entry.payload["event"]
        if entry.kind == "payment":
            features.update(event, entry.payload["result"])
            for label in entry.payload["labels"]:
                features.record_label(event, label, at=entry.created)
        else:
            features.record_label(event, entry.payload["label"], at=entry.created)
    return features.snapshot()


def test_restart_restores_the_velocity_state(radar_factory: Any, clock: Any) -> None:
    settings = RadarSettings(snapshot_every=5, fingerprint_key=KEY)
    first = radar_factory(model=False, settings=settings)
    payments(first, 12, clock)
    live = first.velocity_snapshot()
    assert first.store.latest_snapshot()[0] < first.store.last_event_seq()
    second = radar_factory(model=False, settings=settings)
    assert second.velocity_snapshot() == live == replayed_from_scratch(second)
    charge = first.charges.list().data[0]
    assert second.charges.retrieve(charge.id) == charge


def test_the_fingerprint_key_is_kept_in_the_store(radar_factory: Any) -> None:
    first = radar_factory(model=False)
    second = radar_factory(model=False)
    assert first.fingerprint_key == second.fingerprint_key
    card = {"number": "4242424242424242", "exp_month": 1, "exp_year": 2031}
    assert (
        first.payment_methods.create(type="card", card=card).card.fingerprint
        == second.payment_methods.create(type="card", card=card).card.fingerprint
    )


def test_a_failed_write_leaves_nothing(radar: Radar, monkeypatch: pytest.MonkeyPatch) -> None:
    pm = radar.payment_methods.create(
        type="card", card={"number": "4242424242424242", "exp_month": 1, "exp_year": 2031}
    )
    before = radar.velocity_snapshot()

    def broken(*args: Any) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(radar.store, "append_event", broken)
    with pytest.raises(OSError, match="disk full"):
        radar.payment_intents.create(
            amount=5_000, currency="usd", payment_method=pm.id, confirm=True
        )
    monkeypatch.undo()
    assert radar.store.list("charge")[0] == []
    assert radar.store.list("payment_intent")[0] == []
    assert radar.velocity_snapshot() == before


WORKER = textwrap.dedent(
    """
    import sys
    from radarcore import CardError
    from radarcore.radar import Radar, RadarSettings

    def card(i):
        digits = "4000" + str(100_000_000_00 + i % 9)[-11:]
        total = 0
        for j, ch in enumerate(reversed(digits + "0")):
            d = int(ch)
            total += (d * 2 - 9 if d > 4 else d * 2) if j % 2 else d
        return digits + str((10 - total % 10) % 10)

    clock = iter(range(1_700_000_000, 1_800_000_000, 37))
    radar = Radar(sys.argv[1], settings=RadarSettings(snapshot_every=7,
                  fingerprint_key=b"k" * 32), clock=lambda: next(clock))
    i = 0
    while True:
        i += 1
        pm = radar.payment_methods.create(
            type="card", card={"number": card(i), "exp_month": 1, "exp_year": 2031},
            billing_details={"email": f"user{i % 5}@example.com"})
        print(i, flush=True)
        try:
            pi = radar.payment_intents.create(amount=1_000 + i, currency="usd",
                                              payment_method=pm.id, confirm=True)
        except CardError:
            continue
        if i % 6 == 0:
            radar.refunds.create(payment_intent=pi.id, reason="fraudulent")
    """
)


def test_crash_loses_nothing_committed(store_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, store_url], env=env, stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    for line in worker.stdout:
        if int(line) >= 40:
            break
    time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL

    store = open_store(store_url)
    charges = store.list("charge", limit=None)[0]
    intents = store.list("payment_intent", limit=None)[0]
    logged = [e.payment for e in store.events() if e.kind == "payment"]
    assert len(charges) >= 40
    assert sorted(c.id for c in charges) == sorted(logged)  # type: ignore[attr-defined]
    charge_ids = {c.id for c in charges}  # type: ignore[attr-defined]
    for pi in intents:
        assert isinstance(pi, PaymentIntent)
        assert pi.latest_charge in charge_ids
    for charge in charges:
        assert isinstance(charge, Charge)
        assert charge.payment_intent in {pi.id for pi in intents}  # type: ignore[attr-defined]
    store.close()

    radar = Radar(store_url, settings=RadarSettings(snapshot_every=7, fingerprint_key=KEY))
    assert radar.store.latest_snapshot() is not None
    uninterrupted = replayed_from_scratch(radar)
    assert radar.velocity_snapshot() == uninterrupted
    probe = dict(charges[0].event)  # type: ignore[attr-defined]
    probe["id"] = "ch_probe"
    fresh = FeatureExtractor()
    fresh.restore(uninterrupted)
    assert radar.velocity_attributes(probe) == fresh.attributes_one(probe)
    radar.store.close()


def test_radar_with_no_arguments_uses_the_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import radarcore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RADARCORE_DATABASE_URL", raising=False)
    with radarcore.Radar() as radar:
        assert radar.store.url == "sqlite:///radarcore.db"
        assert radar.has_model
        assert radar.model_versions == (default_model().version, None)
        assert [r.id for r in radar.rules.rules][-2:] == [
            "block_if_high_risk",
            "manual_review_if_elevated_risk",
        ]
        pi = radar.payment_intents.create(
            amount=2_000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        assert pi.status == "succeeded"
        outcome = radar.charges.retrieve(pi.latest_charge).outcome
        assert outcome.risk_level == "normal"
        assert isinstance(outcome.risk_score, int)
        assert 0 <= outcome.risk_score < 65
    assert (tmp_path / "radarcore.db").exists()
    monkeypatch.setenv("RADARCORE_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    with radarcore.Radar() as radar:
        assert radar.store.url.endswith("other.db")
