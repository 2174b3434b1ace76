"""Evaluation: a later window, models against the rules-only baseline, JSON and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import SmallHistory
from radarcore import ModelError, RuleSet
from radarcore.models import RiskModel
from radarcore.models.evaluation import (
    BLOCK_RATES,
    Evaluation,
    evaluate,
    rule_scores,
    summary_table,
    write_html,
)
from radarcore.models.metrics import average_precision
from radarcore.models.training import fraud_targets, replay


@pytest.fixture(scope="module")
def evaluation(small_history: SmallHistory, small_model: RiskModel) -> Evaluation:
    return evaluate(
        small_history.payments,
        small_history.labels,
        {"model": small_model},
        start=small_history.cutoff,
    )


def test_report_covers_every_system_and_metric(evaluation: Evaluation) -> None:
    report = evaluation.report
    assert list(report["systems"]) == ["model", "rules"]
    for system in report["systems"].values():
        assert set(system["block_rates"]) == {f"{r:.1%}" for r in BLOCK_RATES}
        assert 0.0 <= system["card_precision_at_100_per_day"] <= 1.0
        assert len(system["by_day"]) == 10
    thresholds = report["systems"]["model"]["thresholds"]
    assert set(thresholds) == {"elevated (risk_score >= 65)", "highest (risk_score >= 75)"}
    json.dumps(report)


def test_report_numbers_match_the_metrics_on_the_window(
    small_history: SmallHistory, small_model: RiskModel, evaluation: Evaluation
) -> None:
    data = replay(small_history.payments, small_history.labels)
    window = data.created >= small_history.cutoff
    y = fraud_targets(data.payments.column("id"), small_history.labels)[window]
    margins = small_model.margins(data.features[window])
    assert evaluation.report["payments"] == int(window.sum())
    assert evaluation.report["fraudulent"] == int(y.sum())
    assert evaluation.report["systems"]["model"]["average_precision"] == average_precision(
        margins, y
    )


def test_model_beats_the_rules_on_the_small_history(evaluation: Evaluation) -> None:
    systems = evaluation.report["systems"]
    assert systems["model"]["average_precision"] > systems["rules"]["average_precision"]


def test_rule_scores_weigh_block_over_review() -> None:
    rules = RuleSet.default(
        ["Block if :total_charges_per_card_number_hourly: > 3", "Review if :is_anonymous_ip:"]
    )
    columns = {
        "total_charges_per_card_number_hourly": np.array([0.0, 5.0, 0.0, 5.0]),
        "is_anonymous_ip": np.array([False, False, True, True]),
    }
    assert rule_scores(rules, columns).tolist() == [0.0, 2.0, 1.0, 3.0]


def test_html_report_embeds_plots_and_numbers(evaluation: Evaluation, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(evaluation, str(path))
    page = path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3
    for title in ("Precision-recall", "risk_score distribution by label", "by day"):
        assert title in page
    assert "&quot;average_precision&quot;" in page
    table = summary_table(evaluation.report)
    assert table.splitlines()[2].startswith("| model |")


def test_bad_evaluations_are_rejected(small_history: SmallHistory, small_model: RiskModel) -> None:
    payments, labels = small_history.payments, small_history.labels
    with pytest.raises(ValueError, match="at least one model"):
        evaluate(payments, labels, {}, start=small_history.cutoff)
    prepared = replay(payments.slice(0, 2_000))
    with pytest.raises(ValueError, match="no payments in the test window"):
        evaluate(payments, labels, {"m": small_model}, start=2**40, prepared=prepared)
    other = RiskModel(small_model.forest, small_model.calibration, [*small_model.schema, "x"])
    with pytest.raises(ModelError, match=r"model .other.: .*different feature schema"):
        evaluate(payments, labels, {"other": other}, start=0, prepared=prepared)


def test_cli_trains_then_evaluates_with_both_baselines(
    small_history: SmallHistory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.parquet as pq

    from radarcore.cli import main

    pq.write_table(small_history.payments, tmp_path / "payments.parquet")
    pq.write_table(small_history.labels, tmp_path / "labels.parquet")
    data = ["--payments", str(tmp_path / "payments.parquet")]
    data += ["--labels", str(tmp_path / "labels.parquet")]
    trained = main(
        ["train", *data, "--cutoff", "2025-01-31", "--trees", "20", "-o", str(tmp_path / "m.rcm")]
    )
    assert trained == 0
    assert "validation ROC AUC" in capsys.readouterr().out
    model = RiskModel.load(tmp_path / "m.rcm")
    assert model.metadata["cutoff"] == small_history.cutoff
    outputs = ["--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]
    model_args = ["--model", str(tmp_path / "m.rcm"), "--start", "2025-01-31"]
    status = main(["evaluate", *data, *model_args, *outputs, "--quiet"])
    assert status == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["systems"]) == ["m", "no velocity", "rules"]
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_cli_reports_a_model_that_does_not_fit_the_schema(
    small_model: RiskModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from radarcore.cli import main

    other = RiskModel(small_model.forest, small_model.calibration, [*small_model.schema, "x"])
    other.save(tmp_path / "other.rcm")
    data = ["--payments", "p", "--labels", "l", "--start", "2025-01-31"]
    status = main(["evaluate", *data, "--model", str(tmp_path / "other.rcm")])
    assert status == 2
    assert "different feature schema" in capsys.readouterr().err
