"""``radarcore serve --workers 2``: two processes, each with its own engine and velocity state,
assess payments of the same card concurrently; the counters every assessment reads are those
of every payment committed before it, whichever worker took it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from radarcore.radar import Radar
from server_support import SECRET, serve_subprocess

N = 24
THRESHOLD = 12
CARD = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][number]": "4000056655665556",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2031",
}


def _pay(url: str, i: int) -> int:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SECRET}"}) as http:
        response = http.post(
            "/v1/payment_intents",
            data={"amount": str(1000 + i), "currency": "usd", "confirm": "true", **CARD},
        )
    assert response.status_code in (200, 402), response.text
    return response.status_code


def test_two_workers_share_velocity_counters(tmp_path: Path) -> None:
    database = tmp_path / "radar.db"
    rules = tmp_path / "rules.txt"
    rules.write_text(f"Block if :total_charges_per_card_number_hourly: >= {THRESHOLD}\n")
    url = f"sqlite:///{database}"
    log = tmp_path / "serve.log"
    env = {"RADARCORE_LOG_LEVEL": "INFO"}
    with (
        serve_subprocess(url, workers=2, rules=str(rules), log=log, env=env) as server,
        ThreadPoolExecutor(8) as pool,
    ):
        statuses = list(pool.map(lambda i: _pay(server.url, i), range(N)))
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    pids = {e["pid"] for e in lines if e.get("path") == "/v1/payment_intents"}
    assert len(pids) == 2, "both workers assessed payments"
    # Exactly the payments that saw THRESHOLD or more earlier charges on the card were blocked;
    # with counters per worker, each would have seen only about half of them.
    assert statuses.count(402) == N - THRESHOLD
    assert statuses.count(200) == THRESHOLD
    with Radar(url) as engine:
        charges = engine.charges.list(limit=100).data
        assert len(charges) == N
        probe = {**(charges[0].event or {}), "id": "ch_probe"}
        seen = engine.velocity_attributes(probe)
    # the next payment of the card, assessed by an engine restored from the database, sees all
    assert seen["total_charges_per_card_number_hourly"] == N


def test_every_worker_scores_with_a_promoted_model_from_its_next_payment(tmp_path: Path) -> None:
    """A model promoted by another process on the database (``radar.models.promote``) is used by
    both workers from their next payment on: each payment is scored wholly by one version."""
    from radarcore import FeatureExtractor
    from radarcore.models import RiskCalibration, RiskModel, default_model

    url = f"sqlite:///{tmp_path / 'radar.db'}"
    bundled = default_model()
    with (
        serve_subprocess(url, workers=2, log=tmp_path / "serve.log") as server,
        ThreadPoolExecutor(4) as pool,
    ):
        assert set(pool.map(lambda i: _pay(server.url, i), range(4))) <= {200, 402}
        with Radar(url) as admin:
            assert admin.model_versions == (bundled.version, None)
            shifted = RiskCalibration(bundled.calibration.slope, bundled.calibration.intercept + 5)
            promoted = RiskModel(bundled.forest, shifted, FeatureExtractor().schema.names)
            admin.models.create(promoted)
            admin.models.promote(promoted.version)
        list(pool.map(lambda i: _pay(server.url, i), range(4, 12)))
    with Radar(url) as engine:
        versions = [e.payload.get("model") for e in engine.store.events() if e.kind == "payment"]
    assert versions == [bundled.version] * 4 + [promoted.version] * 8
