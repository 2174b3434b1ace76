"""Model versions in the engine: the bundled default, versions kept in the store, shadow scoring,
promotion and rollback, refresh across engines, and a hot swap under concurrent load."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine_model import stepped_model
from radarcore import CardError, FeatureExtractor, ModelError
from radarcore.errors import InvalidRequestError
from radarcore.models import RiskCalibration, RiskModel, default_model
from radarcore.objects import Charge
from radarcore.radar import Radar

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}
SCHEMA = list(FeatureExtractor().schema.names)


def shifted(model: RiskModel, points: float, version: str) -> RiskModel:
    """The same trees with the risk score moved by about ``points`` (a distinguishable
    version: any mix of two such versions shows in the scores)."""
    logits = points * np.log(9.0) / 10.0
    calibration = RiskCalibration(
        model.calibration.slope, model.calibration.intercept + float(logits)
    )
    return RiskModel(model.forest, calibration, model.schema, dict(model.metadata), version)


def stepped(version: str, intercept: float = 0.0) -> RiskModel:
    return RiskModel(stepped_model(), RiskCalibration(1.0, intercept), SCHEMA, {}, version)  # type: ignore[arg-type]


def pay(radar: Radar, amount: int, email: str = "jane@example.com") -> Any:
    pm = radar.payment_methods.create(type="card", card=CARD, billing_details={"email": email})
    return radar.payment_intents.create(
        amount=amount, currency="usd", payment_method=pm.id, confirm=True
    )


def logged_payments(radar: Radar) -> list[dict[str, Any]]:
    return [e.payload | {"id": e.payment} for e in radar.store.events() if e.kind == "payment"]


def replayed_scores(radar: Radar) -> list[tuple[str, str, dict[str, int]]]:
    """(payment id, recorded version, every stored version's score of the payment's features),
    with the features rebuilt by replaying the event log through a fresh extractor."""
    fx = FeatureExtractor()
    models = {
        v.id: RiskModel.from_bytes(radar.store.model_data(v.id) or b"") for v in radar.models.list()
    }
    out = []
    for entry in radar.store.events():
        event = entry.payload["event"]
        if entry.kind == "payment":
            row = fx.extract_one(event)[None]
            scores = {v: int(m.risk_scores(row)[0]) for v, m in models.items()}
            out.append((entry.payment, entry.payload["model"], scores))
            fx.update(event, entry.payload["result"])
        else:
            fx.record_label(event, entry.payload["label"], at=entry.created)
    return out


def test_radar_scores_with_the_bundled_model_by_default(store_url: str) -> None:
    radar = Radar(store_url)
    bundled = default_model()
    assert radar.has_model
    assert radar.model_versions == (bundled.version, None)
    charges = [radar.charges.retrieve(pay(radar, a).latest_charge) for a in (500, 90_000, 5_000)]
    scored = replayed_scores(radar)
    assert [c.outcome.risk_score for c in charges] == [s[v] for _, v, s in scored]
    assert {v for _, v, _ in scored} == {bundled.version}
    assert len({c.outcome.risk_score for c in charges}) > 1
    assert [v.to_dict()["status"] for v in radar.models.list()] == ["live"]
    radar.store.close()


def test_model_none_runs_without_a_model_and_uses_no_stored_version(store_url: str) -> None:
    Radar(store_url, model=stepped("rcm_stepped")).store.close()
    radar = Radar(store_url, model=None)
    assert not radar.has_model
    assert radar.model_versions == (None, None)
    charge = radar.charges.retrieve(pay(radar, 5_000).latest_charge)
    assert charge.outcome.risk_level == "not_assessed"
    assert "model" not in logged_payments(radar)[0]
    radar.models.promote("rcm_stepped")
    assert not radar.refresh_model()
    assert not radar.has_model
    radar.store.close()


def test_the_store_keeps_every_version_and_the_live_one_across_restarts(store_url: str) -> None:
    radar = Radar(store_url, model=stepped("rcm_a"))
    created = radar.models.create(stepped("rcm_b", intercept=1.0))
    assert created.to_dict() == {
        "id": "rcm_b",
        "object": "radar.model_version",
        "created": created.created,
        "status": "inactive",
        "n_trees": 1,
        "features": 1,
        "metadata": {},
    }
    assert radar.model_versions == ("rcm_a", None)
    radar.models.promote("rcm_b")
    assert radar.model_versions == ("rcm_b", None)
    assert {v.id: v.status for v in radar.models.list()} == {"rcm_a": "inactive", "rcm_b": "live"}
    radar.store.close()
    reopened = Radar(store_url)  # the default: the live version kept in the store
    assert reopened.model_versions == ("rcm_b", None)
    assert reopened.models.retrieve("rcm_a").status == "inactive"
    reopened.store.close()


def test_a_shadow_model_is_scored_and_recorded_but_not_acted_on(store_url: str) -> None:
    radar = Radar(store_url, model=stepped("rcm_live"))
    radar.models.create(stepped("rcm_shadow", intercept=40.0), shadow=True)
    assert radar.model_versions == ("rcm_live", "rcm_shadow")
    charge = radar.charges.retrieve(pay(radar, 5_000).latest_charge)
    assert charge.outcome.type == "authorized"
    assert charge.outcome.risk_level == "normal"
    [entry] = logged_payments(radar)
    assert entry["model"] == "rcm_live"
    assert entry["shadow"] == {"model": "rcm_shadow", "risk_score": 100}
    assert radar.models.retrieve("rcm_shadow").status == "shadow"
    promoted = radar.models.promote()  # the version in shadow
    assert (promoted.id, promoted.status) == ("rcm_shadow", "live")
    assert radar.model_versions == ("rcm_shadow", None)
    with pytest.raises(CardError):
        pay(radar, 5_000)
    assert logged_payments(radar)[-1]["model"] == "rcm_shadow"
    radar.models.shadow("rcm_live")
    assert radar.model_versions == ("rcm_shadow", "rcm_live")
    assert radar.models.shadow(None) is None
    assert radar.model_versions == ("rcm_shadow", None)
    radar.store.close()


def test_rollback_returns_to_earlier_versions(store_url: str) -> None:
    radar = Radar(store_url, model=stepped("rcm_1"))
    for version in ("rcm_2", "rcm_3"):
        radar.models.create(stepped(version, intercept=0.5))
        radar.models.promote(version)
    assert radar.models.rollback().id == "rcm_2"
    assert radar.models.rollback().id == "rcm_1"
    with pytest.raises(InvalidRequestError, match="no earlier live model version") as info:
        radar.models.rollback()
    assert info.value.param == "model"
    assert radar.models.rollback("rcm_3").id == "rcm_3"
    assert radar.model_versions == ("rcm_3", None)
    assert radar.models.rollback().id == "rcm_1"
    radar.store.close()


def test_unknown_versions_are_rejected(store_url: str) -> None:
    radar = Radar(store_url, model=stepped("rcm_1"))
    for call in (
        lambda: radar.models.promote("rcm_nope"),
        lambda: radar.models.shadow("rcm_nope"),
        lambda: radar.models.retrieve("rcm_nope"),
        lambda: radar.models.rollback("rcm_nope"),
    ):
        with pytest.raises(InvalidRequestError, match="No such model version: 'rcm_nope'") as e:
            call()
        assert (e.value.param, e.value.code) == ("model", "resource_missing")
    with pytest.raises(InvalidRequestError, match="No model version is in shadow"):
        radar.models.promote()
    assert radar.model_versions == ("rcm_1", None)
    radar.store.close()


def test_another_engine_picks_up_a_promotion_when_it_refreshes(store_url: str) -> None:
    first = Radar(store_url, model=stepped("rcm_a"))
    second = Radar(store_url)
    assert second.model_versions == ("rcm_a", None)
    assert not second.refresh_model()
    first.models.create(stepped("rcm_b", intercept=1.0))
    first.models.promote("rcm_b")
    assert second.model_versions == ("rcm_a", None)  # until it looks
    assert second.refresh_model()
    assert second.model_versions == ("rcm_b", None)
    assert not second.refresh_model()
    first.models.rollback()
    assert second.refresh_model()
    assert second.model_versions == ("rcm_a", None)
    first.store.close()
    second.store.close()


def test_a_promotion_moves_the_configuration_generation_other_engines_check(
    store_url: str,
) -> None:
    """A model change is announced by the same stored generation as list changes, so another
    engine's next payment uses the promoted version without anyone calling refresh_model()."""
    first = Radar(store_url, model=stepped("rcm_a"))
    second = Radar(store_url)
    before = second.store.generation()
    first.models.create(stepped("rcm_b", intercept=1.0))
    first.models.promote("rcm_b")
    assert second.store.generation() != before
    assert second.model_versions == ("rcm_a", None)
    pay(second, 1000)
    assert second.model_versions == ("rcm_b", None)
    assert logged_payments(second)[-1]["model"] == "rcm_b"
    first.store.close()
    second.store.close()


def test_a_model_on_another_feature_schema_is_a_clear_error(store_url: str, tmp_path: Path) -> None:
    other = RiskModel(stepped_model(), RiskCalibration(1.0, 0.0), ["amount_in_usd", "shoe_size"])  # type: ignore[arg-type]
    path = tmp_path / "other.rcm"
    other.save(path)
    message = r"different feature schema \(2 columns\) than the extractor's \(274 columns\)"
    with pytest.raises(ModelError, match=message):
        Radar(store_url, model=path)
    radar = Radar(store_url, model=stepped("rcm_1"))
    with pytest.raises(ModelError, match=r"unknown to the model: \[.*\]"):
        radar.models.create(path)
    with pytest.raises(ModelError, match=r"missing from the extractor: \['shoe_size'\]"):
        radar.models.create(other.to_bytes())
    assert [v.id for v in radar.models.list()] == ["rcm_1"]
    with pytest.raises(ValueError, match="calibration= applies to a bare Forest"):
        Radar(store_url, model=stepped("rcm_2"), calibration=RiskCalibration(1.0, 0.0))
    radar.store.close()


def test_a_hot_swap_under_concurrent_load_loses_and_mixes_nothing(store_url: str) -> None:
    base = default_model()
    radar = Radar(store_url, model=base)
    moved = shifted(base, 7.0, "rcm_moved")
    radar.models.create(moved)
    acknowledged: list[str] = []
    failures: list[BaseException] = []
    done = threading.Event()
    lock = threading.Lock()

    def customer(worker: int) -> None:
        try:
            for i in range(40):
                pi = pay(radar, 500 + 3_000 * ((worker * 7 + i) % 30), f"c{worker}_{i % 5}@ex.com")
                with lock:
                    acknowledged.append(pi.id)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    swaps = 0

    def operator() -> None:
        nonlocal swaps
        while not done.is_set():
            radar.models.promote("rcm_moved")
            time.sleep(0.002)
            radar.models.rollback()
            time.sleep(0.002)
            swaps += 2

    workers = [threading.Thread(target=customer, args=(w,)) for w in range(4)]
    swapper = threading.Thread(target=operator)
    swapper.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    swapper.join()
    assert not failures
    assert swaps >= 4
    assert len(acknowledged) == 160
    logged = logged_payments(radar)
    charges = {}
    for pi_id in acknowledged:
        pi = radar.payment_intents.retrieve(pi_id)
        charge = radar.charges.retrieve(pi.latest_charge)
        assert isinstance(charge, Charge)
        charges[charge.id] = charge
    assert sorted(charges) == sorted(e["id"] for e in logged)
    scored = replayed_scores(radar)
    versions = {v for _, v, _ in scored}
    assert versions == {base.version, "rcm_moved"}
    for payment, version, scores in scored:
        # The recorded version's score, and the other version would have given another one.
        assert charges[payment].outcome.risk_score == scores[version]
        assert scores[base.version] != scores["rcm_moved"]
    radar.store.close()


def test_insights_use_the_version_that_scored_the_payment() -> None:
    radar = Radar("memory://", model=stepped("rcm_a"))
    radar.models.create(
        RiskModel(stepped_model(), RiskCalibration(2.0, 0.0), SCHEMA, {}, "rcm_b")  # type: ignore[arg-type]
    )
    old = pay(radar, 5_000).latest_charge
    before = radar.explain(old)
    radar.models.promote("rcm_b")
    new = pay(radar, 5_000).latest_charge
    assert radar.explain(old) == before  # still explained with rcm_a
    doubled = radar.explain(new)
    assert [f.feature for f in doubled] == [f.feature for f in before]
    assert doubled[0].points == pytest.approx(2 * before[0].points)
    assert before[0].points != 0
    radar.store.close()
