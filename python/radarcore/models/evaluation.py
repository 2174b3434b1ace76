"""Evaluating risk models on a later time window, against a rules-only baseline.

:func:`evaluate` replays the whole history point in time (labels fed at their ``known_at``, as
the live engine would have received them), keeps the payments of the test window, takes every
fraud label ever learnt about them as the truth (the honest report: fraud found out late counts)
and measures, for each model and for the rules-only baseline:

* ROC AUC and average precision of the ranking;
* recall, precision, false-positive rate and fraud amount caught (USD) at the risk-level
  thresholds (``risk_score`` 65 and 75; for the rules, their review and block decisions) and at
  fixed block rates (0.1 %, 0.5 %, 1 % of payments);
* card precision at 100 cards per day;
* average precision and recall at 0.5 % block rate per day.

:func:`write_html` turns the report into one self-contained HTML page with plots
(precision-recall, score distributions by label, metric by day); the report itself is plain JSON.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from radarcore.features import FeatureExtractor, numeric_attributes
from radarcore.models.bundle import RiskModel
from radarcore.models.metrics import (
    average_precision,
    card_precision_top_k,
    metrics_at_block_rate,
    metrics_at_threshold,
    roc_auc,
)
from radarcore.models.training import DAY, Replay, fraud_targets, replay
from radarcore.rules import RuleSet

__all__ = [
    "BASELINE_RULES",
    "BLOCK_RATES",
    "Evaluation",
    "baseline_rules",
    "evaluate",
    "rule_scores",
    "summary_table",
    "write_html",
]

BLOCK_RATES = (0.001, 0.005, 0.01)
"""Shares of payments blocked at which every system is compared."""

BASELINE_RULES = (
    "Block if :total_charges_per_card_number_hourly: > 3",
    "Block if :declined_charges_per_card_number_daily: > 1",
    "Block if :card_count_for_ip_address_daily: > 2",
    "Block if :card_count_for_email_daily: > 2",
    "Block if :dispute_count_on_card_number_yearly: > 0",
    "Block if :efw_count_on_card_daily: > 0",
    "Review if :card_country: != :ip_country:",
    "Review if :is_anonymous_ip:",
    "Review if :is_disposable_email:",
    "Review if :cvc_check: = 'fail'",
    "Review if :distance_between_ip_and_billing_address: > 1000",
    "Review if :hours_since_card_first_seen: < 1 and :amount_in_usd: > 300",
)
"""Sensible hand-written Radar rules a team would start with before any model."""


def baseline_rules() -> RuleSet:
    """:data:`BASELINE_RULES` followed by Radar's default rules (lists, risk levels)."""
    return RuleSet.default(list(BASELINE_RULES))


@dataclass(frozen=True)
class Evaluation:
    """The JSON report and the per-payment arrays the plots need."""

    report: dict[str, Any]
    labels: npt.NDArray[np.bool_]
    days: npt.NDArray[np.int64]
    scores: dict[str, npt.NDArray[np.float64]]
    risk_scores: dict[str, npt.NDArray[np.int32]]


def rule_scores(rules: RuleSet, attributes: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """A rules-only risk ranking: 2 per matching block rule plus 1 per matching review rule
    (allow rules subtract 10), so payments that trip more and stronger rules rank higher."""
    _, matched = rules.matches(attributes)
    weights = np.array(
        [{"block": 2.0, "review": 1.0, "allow": -10.0}.get(r.action.value, 0.0) for r in rules],
        dtype=np.float64,
    )
    return np.asarray(weights @ matched, dtype=np.float64)


def evaluate(
    payments: pa.Table,
    labels: pa.Table,
    models: Mapping[str, RiskModel],
    *,
    start: int,
    end: int | None = None,
    rules: RuleSet | None = None,
    prepared: Replay | None = None,
    progress: bool = False,
) -> Evaluation:
    """Compare ``models`` and a rules-only baseline on payments created in ``[start, end)``.

    ``prepared`` reuses a :func:`~radarcore.models.training.replay` of ``payments`` with every
    label fed (``label_cutoff=None``).
    """
    if not models:
        raise ValueError("evaluate needs at least one model")
    data = replay(payments, labels, progress=progress) if prepared is None else prepared
    for name, model in models.items():
        try:
            model.check_schema(data.schema)
        except Exception as error:
            raise type(error)(f"model {name!r}: {error}") from error
    created = data.created
    window = created >= start
    if end is not None:
        window &= created < end
    rows = np.flatnonzero(window)
    if rows.size == 0:
        raise ValueError(f"no payments in the test window [{start}, {end})")
    test = data.payments.take(pa.array(rows))
    features = data.features[rows]
    y = fraud_targets(test.column("id"), labels)
    if not 0 < int(y.sum()) < y.size:
        raise ValueError(
            f"the test window has {int(y.sum())} fraudulent payments out of {y.size}: "
            "it needs both classes"
        )
    schema = list(data.schema.names)
    amount = features[:, schema.index("amount_in_usd")]
    amount = np.where(np.isnan(amount), 0.0, amount)
    days = (created[rows] // DAY).astype(np.int64)
    cards = np.asarray(test.column("card_fingerprint").fill_null("").to_numpy(zero_copy_only=False))

    scores: dict[str, npt.NDArray[np.float64]] = {}
    risk: dict[str, npt.NDArray[np.int32]] = {}
    systems: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        margins = model.margins(features)
        scores[name] = margins
        risk[name] = model.calibration.risk_score(margins)
        thresholds = {
            "elevated (risk_score >= 65)": metrics_at_threshold(risk[name], y, 65, amount),
            "highest (risk_score >= 75)": metrics_at_threshold(risk[name], y, 75, amount),
        }
        systems[name] = _system(
            "model", margins, y, amount, cards, days, thresholds, model.metadata, model.version
        )
    rule_set = baseline_rules() if rules is None else rules
    attributes = _attributes(test, features, rule_set)
    scores["rules"] = rule_scores(rule_set, attributes)
    actions = rule_set.evaluate_many(attributes).action_names()
    review_or_block = np.isin(actions, ["review", "block"]).astype(np.float64)
    block = (actions == "block").astype(np.float64)
    thresholds = {
        "review or block": metrics_at_threshold(review_or_block, y, 1.0, amount),
        "block": metrics_at_threshold(block, y, 1.0, amount),
    }
    systems["rules"] = _system(
        "rules", scores["rules"], y, amount, cards, days, thresholds, {}, None
    )
    systems["rules"]["rules"] = [str(r) for r in rule_set.rules]
    report = {
        "window": {"start": int(start), "end": None if end is None else int(end)},
        "payments": int(y.size),
        "fraudulent": int(y.sum()),
        "fraud_rate": float(y.mean()),
        "fraud_amount_usd": float(amount[y].sum()),
        "systems": systems,
    }
    return Evaluation(report, y, days, scores, risk)


def _system(
    kind: str,
    scores: npt.NDArray[np.float64],
    y: npt.NDArray[np.bool_],
    amount: npt.NDArray[np.float64],
    cards: npt.NDArray[Any],
    days: npt.NDArray[np.int64],
    thresholds: Mapping[str, Any],
    metadata: Mapping[str, Any],
    version: str | None,
) -> dict[str, Any]:
    by_day = []
    for day in np.unique(days):
        mask = days == day
        positives = int(y[mask].sum())
        by_day.append(
            {
                "day": int(day),
                "payments": int(mask.sum()),
                "fraudulent": positives,
                "average_precision": average_precision(scores[mask], y[mask])
                if positives
                else None,
                "recall_at_0.5%": metrics_at_block_rate(scores[mask], y[mask], 0.005).recall
                if positives
                else None,
            }
        )
    return {
        "kind": kind,
        "version": version,
        "roc_auc": roc_auc(scores, y),
        "average_precision": average_precision(scores, y),
        "thresholds": {k: v.to_dict() for k, v in thresholds.items()},
        "block_rates": {
            f"{rate:.1%}": metrics_at_block_rate(scores, y, rate, amount).to_dict()
            for rate in BLOCK_RATES
        },
        "card_precision_at_100_per_day": card_precision_top_k(scores, y, cards, days, 100),
        "by_day": by_day,
        "training": dict(metadata),
    }


def _attributes(
    test: pa.Table, features: npt.NDArray[np.float64], rules: RuleSet
) -> dict[str, Any]:
    # The rule inputs batch scoring builds: numeric attributes from the point-in-time replay,
    # and the string attributes, which read only the payment itself (no state).
    reads = {s.source for s in (*rules.program.numeric_slots, *rules.program.string_slots)}
    out: dict[str, Any] = numeric_attributes(features, reads)
    out.update(FeatureExtractor.string_attributes_many(test, reads))
    return out


def summary_table(report: Mapping[str, Any]) -> str:
    """The headline numbers of every system as a Markdown table."""
    header = (
        "| system | ROC AUC | avg precision | "
        + " | ".join(f"recall @ {r:.1%} blocked" for r in BLOCK_RATES)
        + " | FPR @ 0.5% | fraud USD caught @ 0.5% | card precision @ 100/day |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, system in report["systems"].items():
        rates = system["block_rates"]
        cells = [
            name,
            f"{system['roc_auc']:.4f}",
            f"{system['average_precision']:.4f}",
            *(f"{rates[f'{r:.1%}']['recall']:.3f}" for r in BLOCK_RATES),
            f"{rates['0.5%']['false_positive_rate']:.4f}",
            f"{rates['0.5%']['fraud_amount_caught']:,.0f}",
            f"{system['card_precision_at_100_per_day']:.3f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_html(evaluation: Evaluation, path: str) -> None:
    """Write the report as one HTML page with embedded PNG plots and the JSON numbers."""
    report = evaluation.report
    names = list(report["systems"])
    rows = []
    for name in names:
        system = report["systems"][name]
        rates = system["block_rates"]
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    name,
                    f"{system['roc_auc']:.4f}",
                    f"{system['average_precision']:.4f}",
                    *(f"{rates[f'{r:.1%}']['recall']:.3f}" for r in BLOCK_RATES),
                    *(f"{rates[f'{r:.1%}']['false_positive_rate']:.4f}" for r in BLOCK_RATES),
                    f"{rates['0.5%']['fraud_amount_caught']:,.0f}",
                    f"{system['card_precision_at_100_per_day']:.3f}",
                )
            )
            + "</tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "system",
            "ROC AUC",
            "avg precision",
            *(f"recall @ {r:.1%} blocked" for r in BLOCK_RATES),
            *(f"FPR @ {r:.1%} blocked" for r in BLOCK_RATES),
            "fraud USD caught @ 0.5%",
            "card precision @ 100/day",
        )
    )
    plots = "".join(
        f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" '
        f'src="data:image/png;base64,{image}">'
        for title, image in _plots(evaluation)
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>radarcore evaluation</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>radarcore evaluation</h1><p>{report['payments']:,} payments, "
        f"{report['fraudulent']:,} fraudulent ({report['fraud_rate']:.3%}).</p>"
        f"<table><tr>{header}</tr>{''.join(rows)}</table>{plots}"
        f"<h2>Numbers</h2><pre>{html.escape(json.dumps(report, indent=2))}</pre></body></html>"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)


def _plots(evaluation: Evaluation) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = evaluation.labels
    out: list[tuple[str, str]] = []

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, scores in evaluation.scores.items():
        recall, precision = _pr_curve(scores, y)
        ax.step(recall, precision, where="post", label=name)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend()
    out.append(("Precision-recall", _png(fig)))

    fig, axes = plt.subplots(
        1,
        len(evaluation.risk_scores),
        figsize=(5 * len(evaluation.risk_scores), 3.5),
        squeeze=False,
    )
    for ax, (name, risk) in zip(axes[0], evaluation.risk_scores.items(), strict=True):
        bins = np.arange(0, 102, 2)
        ax.hist(risk[~y], bins=bins, density=True, alpha=0.6, label="legitimate")
        ax.hist(risk[y], bins=bins, density=True, alpha=0.6, label="fraudulent")
        ax.axvline(65, color="orange", linestyle="--")
        ax.axvline(75, color="red", linestyle="--")
        ax.set(title=name, xlabel="risk_score", yscale="log")
        ax.legend()
    out.append(("risk_score distribution by label", _png(fig)))

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, system in evaluation.report["systems"].items():
        days = [d for d in system["by_day"] if d["average_precision"] is not None]
        ax.plot(
            [d["day"] - days[0]["day"] for d in days],
            [d["average_precision"] for d in days],
            marker="o",
            label=name,
        )
    ax.set(xlabel="day of the test window", ylabel="average precision", ylim=(0, 1))
    ax.legend()
    out.append(("Average precision by day", _png(fig)))
    return out


def _pr_curve(
    scores: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    tp = np.cumsum(y[order])
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    recall = tp[last] / max(1, int(y.sum()))
    precision = tp[last] / (last + 1)
    return np.r_[0.0, recall], np.r_[1.0, precision]


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
