"""The Radar engine: Stripe's objects in, Radar's outcome out, everything a fraud team needs kept.

:class:`Radar` owns the feature extractor (with its velocity state), the model, the rules and
lists, and the store. Its services mirror the official Stripe client's, so code reads the same
against Stripe and against radarcore::

    radar = Radar()                      # SQLite file, the bundled model, the default rules
    session = radar.radar_sessions.create(ip_address="203.0.113.7", user_agent="Mozilla/5.0")
    pm = radar.payment_methods.create(type="card", card={"number": "4242424242424242",
                                                         "exp_month": 12, "exp_year": 2030})
    pi = radar.payment_intents.create(amount=2000, currency="usd", payment_method=pm.id,
                                      confirm=True, radar_options={"session": session.id})
    radar.charges.retrieve(pi.latest_charge).outcome.risk_level

One payment (``confirm``): the payment event is packed from the PaymentIntent, PaymentMethod,
Customer and Radar Session(s); features are extracted from the velocity state as of *before*
the payment; the forest gives a margin, calibrated to ``risk_score`` and ``risk_level``
(thresholds 65 and 75 by default); the rules (Request 3D Secure, then Allow, Block, Review, with
the value lists) decide; the Charge, PaymentIntent, Review and the event-log entry are written
in one transaction; then the velocity state records the payment. Refunds (``fraudulent``),
early fraud warnings and disputes label the payment later, through the same log.

The model: ``Radar()`` scores with the live model version kept in the store, which in a new
store is the bundled default model (``radarcore.models.default_model()``); ``model=`` names
another one, ``model=None`` runs without a model. Every version is kept in the store;
``radar.models`` stores, shadows, promotes and rolls back versions, and each payment's log entry
records the version that scored it (see :mod:`radarcore.models.registry`).
:meth:`Radar.refresh_model` picks up a change another process made.

Without a model (``model=None``) payments are ``not_assessed``: no risk score is invented, and
only rules that do not read ``risk_score``/``risk_level`` decide. Stripe's Radar test cards
(``4000000000004954``, ``4100000000000019``, ``4000000000009235``) still give their documented
risk levels outside live mode.

Failures never stop a payment: if assessment raises, the outcome is ``risk_level: unknown``,
``reason: unknown_risk_level``, ``type: authorized``; the error is logged and counted in
``radar.counters["assessment_failures"]``.

Score holdout (off by default): ``RadarSettings(score_holdout_fraction=0.01)`` picks that
fraction of payments by a keyed hash of their id. In ``not_enforced`` mode their rules run with
the risk score and level missing, so the model's decision is not enforced (rules on other
attributes still apply) while the true score is reported and stored; in ``perturbed`` mode the
reported score is moved by up to ``score_holdout_perturbation`` points. Either way the Charge
records ``score_holdout`` so recall and false-positive rate can be measured without the bias of
the model's own blocks.

Restart and crash safety: every assessed payment and label is appended to the event log in the
transaction that writes its objects; the velocity state is snapshotted every
``snapshot_every`` entries; on start the newest snapshot is restored and the entries after it
replayed, which gives exactly the state of a run that never stopped.

Threading: one engine may be shared by threads; assessments are serialised by a lock so the
velocity state and the event log stay in the same order.

Several processes (engines) on one database: every writing request is one store transaction,
and a store transaction holds the database's write lock (SQLite ``BEGIN IMMEDIATE`` behind a
file lock, a PostgreSQL advisory lock). Inside it, before anything else, the engine catches up:
it applies the event-log entries other engines appended since the last one it applied (the
same replay as on start), and when the stored configuration generation changed (lists, saved
rules, model versions, any change announced with :meth:`Radar.config_changed` or
:meth:`radarcore.store.Store.bump_generation`) it reloads the rules, the lists and the live and
shadow models: one metadata read per transaction when nothing changed. So every assessment
sees the velocity state of every payment committed before it, whichever process assessed it.

Events: the services announce what happened (``charge.succeeded``, ``review.opened``, ...) as
Stripe event types; ``radar.event_sink``, when set, receives each request's events inside its
transaction, so an outbox written there commits or rolls back with the objects.
``radar.assessment_observer``, when set, is called with each assessment and its duration.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from radarcore import _core
from radarcore.errors import ModelError
from radarcore.features import ATTRIBUTES, FeatureExtractor
from radarcore.forest import Forest
from radarcore.models.bundle import MAGIC, RiskModel, default_model
from radarcore.models.calibration import RiskCalibration
from radarcore.objects import Charge, Outcome, OutcomeRule, RadarSession, StripeObject
from radarcore.rules import Rule, RuleSet, default_rules
from radarcore.rules import ValueList as RuleValueList
from radarcore.rules._columns import slot_value
from radarcore.rules.backtest import Backtest
from radarcore.rules.compile import Slot
from radarcore.rules.lists import DEFAULT_LIST_KINDS, FINGERPRINT_ALLOW_LIFETIME
from radarcore.rules.ruleset import object_code
from radarcore.store import Store, open_store

if TYPE_CHECKING:
    from radarcore import services

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_MODEL",
    "Assessment",
    "Contribution",
    "Radar",
    "RadarSettings",
]

logger = logging.getLogger("radarcore.radar")

#: Where ``Radar()`` keeps its data unless ``database_url`` or ``RADARCORE_DATABASE_URL`` says.
DEFAULT_DATABASE_URL = "sqlite:///radarcore.db"

_ObjectKind = Literal["charge", "payment_intent", "setup_intent"]

_SELLER_MESSAGES = {
    "authorized": "The charge was authorized.",
    "highest": "Stripe blocked this charge as too risky.",
    "blocked": "Stripe blocked this payment.",
    "elevated": (
        "Stripe evaluated this charge as having elevated risk, and placed it in your manual "
        "review queue."
    ),
    "review_rule": "A Radar rule placed this payment in your manual review queue.",
    "not_assessed": "Your business has opted out of Radar fraud risk assessments.",
    "no_model": "The charge was authorized. No risk model is configured, so its risk was not "
    "assessed.",
    "not_assessed_type": "Payment complete.",
    "unknown": (
        "Something went wrong while evaluating this payment. Our engineers have been notified "
        "and we’ll look into this as soon as possible."
    ),
    "issuer_declined": "The bank did not return any further details with this decline.",
}

_DEFAULT_BLOCK_RULE = "block_if_high_risk"
_DEFAULT_REVIEW_RULE = "manual_review_if_elevated_risk"
_RULE_ACTIONS = {"allow": "allow", "block": "block", "review": "manual_review"}


@dataclass(frozen=True)
class RadarSettings:
    """Radar settings. Thresholds: ``risk_score >= highest_threshold`` is ``highest``, ``>=
    elevated_threshold`` is ``elevated`` (65 and 75 as Stripe's defaults).

    ``assess_risk=False`` is the business opting out of risk assessment (``not_assessed``);
    ``assessed_payment_method_types`` are the types Radar scores; ``screen_setup_intents`` is
    "Use Radar on payment methods saved for future use". ``fingerprint_key`` keys the card
    fingerprints (``None``: a random key generated once and kept in the store).
    """

    elevated_threshold: int = 65
    highest_threshold: int = 75
    assess_risk: bool = True
    assessed_payment_method_types: tuple[str, ...] = ("card", "sepa_debit", "us_bank_account")
    screen_setup_intents: bool = False
    score_holdout_fraction: float = 0.0
    score_holdout_mode: Literal["not_enforced", "perturbed"] = "not_enforced"
    score_holdout_perturbation: int = 10
    snapshot_every: int = 1000
    livemode: bool = False
    fingerprint_key: bytes | None = None
    merchant: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.elevated_threshold < self.highest_threshold <= 100:
            raise ValueError(
                "risk thresholds must satisfy 0 <= elevated_threshold < highest_threshold <= "
                f"100, got {self.elevated_threshold} and {self.highest_threshold}"
            )
        if not 0.0 <= self.score_holdout_fraction <= 1.0:
            raise ValueError(
                f"score_holdout_fraction must be in [0, 1], got {self.score_holdout_fraction}"
            )
        if self.score_holdout_mode not in ("not_enforced", "perturbed"):
            raise ValueError(
                "score_holdout_mode must be 'not_enforced' or 'perturbed', "
                f"got {self.score_holdout_mode!r}"
            )
        if self.snapshot_every < 1:
            raise ValueError(f"snapshot_every must be at least 1, got {self.snapshot_every}")

    def risk_level(self, score: int) -> Literal["normal", "elevated", "highest"]:
        """The risk level of a score under these thresholds."""
        if score >= self.highest_threshold:
            return "highest"
        if score >= self.elevated_threshold:
            return "elevated"
        return "normal"


@dataclass(slots=True)
class Assessment:
    """What the engine decided for one payment attempt.

    ``result`` is what the velocity state records (``authorized``, ``blocked``, ``declined``);
    ``requires_action`` is a Request 3D Secure rule asking for authentication first.
    """

    outcome: Outcome
    result: str
    decline_code: str | None = None
    requires_action: bool = False
    score_holdout: bool = False
    labels: list[str] = field(default_factory=list)
    packed: _core.PackedEvent | None = None
    model: str | None = None
    shadow: dict[str, Any] | None = None
    row_text: str | None = None  # the feature row as pack_row gives it

    def insight_record(self) -> dict[str, str] | None:
        """What the payment keeps for its risk insights, so explaining it later reads no
        history: the feature row as assessed (``row``: :func:`pack_row`) and the model version
        that scored it (``model``, when it had one); ``None`` when no model scored it."""
        if self.row_text is None:
            return None
        record = {"row": self.row_text}
        if self.model is not None:
            record["model"] = self.model
        return record

    def model_record(self) -> dict[str, Any]:
        """What the event log keeps about the models: the version that scored the payment
        (``model``) and the shadow version's score (``shadow``), when there were any."""
        record: dict[str, Any] = {}
        if self.model is not None:
            record["model"] = self.model
        if self.shadow is not None:
            record["shadow"] = self.shadow
        return record


def pack_row(row: Any) -> str:
    """A float64 feature row, exactly and compactly (most features of a payment are missing or
    zero): the bitmaps of its NaNs and zeros, then its other values, base64-encoded (a fifth
    of the raw row's size for a typical card payment). Packed and encoded in the core, as the
    assessor packs each payment's row (``AssessedPayment.packed_row_text``)."""
    return _core.pack_row(row)


def unpack_row(text: str, width: int) -> npt.NDArray[np.float64]:
    """The row :func:`pack_row` packed (``width`` features)."""
    return _core.unpack_row(base64.b64decode(text), width)


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a payment's risk score (TreeSHAP of the model's margin).

    ``value`` is the feature as the model saw it (``None``: missing); ``points`` is its
    contribution in risk-score points (the margin contribution times the calibration's slope on
    the score scale), so the base value plus every feature's points is the payment's score
    before rounding and clipping to 0..100.
    """

    feature: str
    value: float | None
    points: float


class _AttributeLayout:
    """Where each rule attribute is: (feature-row index, is boolean) or string position."""

    def __init__(self, features: FeatureExtractor) -> None:
        self.numeric = {
            c.name: (i, c.kind == "bool")
            for i, c in enumerate(features.schema.columns)
            if c.attribute
        }
        strings = [c.name for c in ATTRIBUTES if c.kind == "string"]
        self.strings = {name: j for j, name in enumerate(strings)}


# Where a rule slot takes its value from (pipeline/assessor.hpp's SlotSourceKind).
_ROW, _ROW_BOOLEAN, _INPUT, _SUPPLIED = 0, 1, 2, 3
# What the engine supplies for a slot (register_pipeline.cpp): a constant (the slot's missing
# value), its own risk score (numeric) or level (string), a metadata value (string).
_CONSTANT, _RISK, _METADATA = 0, 1, 2


class _RulePlan:
    """Where each input slot of a rule program takes its value from in the core's assessor:
    the feature row, one of the payment's string attributes (case-folded in the core where the
    slot folds), or a value the engine supplies per payment (the risk score and level, a
    metadata value ``::key::``, the missing value of an attribute nothing computes). The
    values are what ``RuleSet.evaluate_one`` reads from the payment's attributes (a
    differential test checks the decisions). The rule parser types every attribute as the
    extractor computes it; a slot that reads one with another type is a ``TypeError`` (so the
    assessment fails open)."""

    def __init__(self, rule_set: RuleSet, layout: _AttributeLayout) -> None:
        self.layout = layout
        program = rule_set.program
        self.numeric_sources: list[tuple[int, int]] = []
        self.string_sources: list[tuple[int, int]] = []
        self.numeric_supplied: list[tuple[int, float]] = []
        self.string_supplied: list[tuple[int, str, bool]] = []
        for slot in program.numeric_slots:
            found = layout.numeric.get(slot.source)
            if found is not None and found[1] == slot.boolean:
                self.numeric_sources.append((_ROW_BOOLEAN if slot.boolean else _ROW, found[0]))
                continue
            self._check(slot)
            self.numeric_sources.append((_SUPPLIED, len(self.numeric_supplied)))
            if slot.source == "risk_score" and not slot.boolean:
                self.numeric_supplied.append((_RISK, math.nan))
            else:
                missing = slot_value(slot, None)
                assert isinstance(missing, float)
                self.numeric_supplied.append((_CONSTANT, missing))
        inputs: dict[tuple[int, bool], int] = {}
        for slot in program.string_slots:
            position = layout.strings.get(slot.source)
            if position is not None:
                key = (position, slot.fold)
                self.string_sources.append((_INPUT, inputs.setdefault(key, len(inputs))))
                continue
            self._check(slot)
            self.string_sources.append((_SUPPLIED, len(self.string_supplied)))
            source = slot.source
            if source == "risk_level":
                self.string_supplied.append((_RISK, "", slot.fold))
            elif source.startswith("::") and source.endswith("::") and len(source) >= 4:
                self.string_supplied.append((_METADATA, source[2:-2], slot.fold))
            else:
                self.string_supplied.append((_CONSTANT, "", False))
        self.string_inputs = list(inputs)

    def _check(self, slot: Slot) -> None:
        source, numeric = slot.source, slot.kind == "numeric"
        wrong = (
            source in self.layout.numeric
            or source in self.layout.strings
            or (source == "risk_score" and (not numeric or slot.boolean))
            or (source == "risk_level" and numeric)
        )
        if wrong:
            raise TypeError(
                f"a rule reads {slot.source!r} as a {'boolean' if slot.boolean else slot.kind} "
                "attribute, which is computed with another type"
            )


class _Scorer:
    """A risk model version ready to score feature rows of the engine's extractor."""

    __slots__ = ("calibration", "columns", "forest", "version")

    def __init__(self, model: RiskModel, schema: Sequence[str]) -> None:
        model.check_schema(schema)
        position = {name: i for i, name in enumerate(schema)}
        self.version = model.version
        self.forest = model.forest
        self.calibration = model.calibration
        columns = [position[n] for n in model.feature_names]
        # The row's columns the forest reads; none when it reads the schema in order.
        self.columns = None if columns == list(range(len(schema))) else columns


class _Assessor:
    """The compiled per-payment pipeline (``_core.Assessor``) for one rule set and one live
    and shadow model: rebuilt (cheaply: it refers to the compiled objects) whenever one of
    them is replaced, so a payment is assessed wholly by one configuration."""

    __slots__ = ("core", "live", "plan", "rule_set", "shadow")

    def __init__(
        self,
        features: _core.FeatureExtractor,
        rule_set: RuleSet,
        layout: _AttributeLayout,
        live: _Scorer | None,
        shadow: _Scorer | None,
    ) -> None:
        self.rule_set, self.live, self.shadow = rule_set, live, shadow
        self.plan = plan = _RulePlan(rule_set, layout)
        self.core = _core.Assessor(
            features,
            rule_set.program.core,
            None if live is None else live.forest._core,
            None if live is None else live.columns,
            None if shadow is None else shadow.forest._core,
            None if shadow is None else shadow.columns,
            plan.numeric_sources,
            plan.string_sources,
            plan.string_inputs,
            plan.numeric_supplied,
            plan.string_supplied,
        )


class _DefaultModel(enum.Enum):
    MODEL = "default"


DEFAULT_MODEL: Final = _DefaultModel.MODEL
"""``Radar(model=DEFAULT_MODEL)`` (the default): the live model version kept in the store, or,
in a store without one, the bundled default model (:func:`radarcore.models.default_model`),
stored and made live."""


def as_risk_model(
    model: RiskModel | Forest | bytes | str | os.PathLike[str],
    schema: Sequence[str],
    calibration: RiskCalibration | None = None,
) -> RiskModel:
    """A :class:`RiskModel` from a model, a bare forest (scored with ``calibration``, default:
    the margin is the log-odds of fraud, on the extractor's ``schema``), or the bytes or path
    of a risk model or forest file. The model must fit ``schema`` (``ModelError``)."""
    if isinstance(model, str | os.PathLike):
        model = Path(model).read_bytes()
    if isinstance(model, bytes | bytearray | memoryview):
        data = bytes(model)
        model = (
            RiskModel.from_bytes(data) if data.startswith(MAGIC[:7]) else Forest.from_bytes(data)
        )
    if isinstance(model, RiskModel):
        if calibration is not None:
            raise ValueError("calibration= applies to a bare Forest; a RiskModel has its own")
    elif isinstance(model, Forest):
        missing = [n for n in model.feature_names if n not in set(schema)]
        if missing:
            raise ModelError(
                f"the model reads features the extractor does not compute: {missing[:5]}"
            )
        calibration = calibration or RiskCalibration(slope=1.0, intercept=0.0)
        digest = hashlib.sha256(model.to_bytes())
        digest.update(json.dumps(calibration.to_dict(), sort_keys=True).encode())
        model = RiskModel(model, calibration, schema, version=f"rcm_{digest.hexdigest()[:16]}")
    else:
        raise TypeError(
            "model must be a RiskModel, a Forest, the bytes or path of a model file, "
            f"DEFAULT_MODEL or None, got {type(model).__name__}"
        )
    model.check_schema(schema)
    return model


_RULES_META = "rules"


def _apply_entry(
    core: _core.FeatureExtractor,
    kind: str,
    created: int,
    payload: Mapping[str, Any],
    packed: _core.PackedEvent,
) -> None:
    """Record one log entry in a velocity state."""
    if kind == "payment":
        core.update(packed, payload["result"])
        for label in payload.get("labels", ()):
            core.record_label(packed, label, created)
    else:
        core.record_label(packed, payload["label"], created)


def _encode_rules(rules: list[Rule]) -> str:
    return json.dumps([{"id": rule.id, "text": rule.text} for rule in rules])


def _decode_rules(stored: str) -> list[Rule]:
    return [Rule.parse(item["text"], id=item["id"]) for item in json.loads(stored)]


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _as_rules(rules: RuleSet | str | Iterable[Rule | str] | None) -> list[Rule]:
    if isinstance(rules, RuleSet):
        return list(rules.rules)
    if rules is None:
        custom: list[Rule] = []
    elif isinstance(rules, str):
        custom = list(RuleSet.parse(rules, lists=_empty_default_lists()).rules)
    else:
        custom = [r if isinstance(r, Rule) else Rule.parse(r) for r in rules]
    return [*custom, *default_rules()]


def _empty_default_lists() -> list[RuleValueList]:
    from radarcore.rules import default_lists

    return default_lists()


class Radar:
    """The Radar engine and its Stripe-shaped services (see the module docstring).

    ``database_url``: ``sqlite:///path`` (default :data:`DEFAULT_DATABASE_URL`, or the
    ``RADARCORE_DATABASE_URL`` environment variable), ``postgresql://...`` or ``memory://``.
    ``model``: by default (:data:`DEFAULT_MODEL`) the live model version kept in the store, or
    in a new store the bundled default model; a :class:`~radarcore.models.RiskModel`, a
    :class:`radarcore.Forest` or the path of a saved one (stored as a version and made live);
    ``None`` for no model (payments are ``not_assessed``; this engine uses no stored version).
    ``calibration`` maps a bare Forest's margin to ``risk_score`` (default: the margin is
    already the log-odds of fraud). ``radar.models`` manages the versions
    (:mod:`radarcore.models.registry`).
    ``rules``: custom rules (text, one per line, or ``Rule``/str items), evaluated together with
    Radar's default rules; a :class:`RuleSet` is taken as the complete rule set. Without
    ``rules``, the rules last saved with ``set_rules(..., save=True)`` on this store are used
    (else the default rules). Rules read the lists kept in the store (``radar.value_lists``).
    ``clock`` gives "now" in Unix seconds.
    """

    def __init__(
        self,
        database_url: str | None = None,
        model: RiskModel | Forest | str | os.PathLike[str] | _DefaultModel | None = DEFAULT_MODEL,
        rules: RuleSet | str | Iterable[Rule | str] | None = None,
        settings: RadarSettings | None = None,
        *,
        calibration: RiskCalibration | None = None,
        clock: Callable[[], int] | None = None,
        store: Store | None = None,
    ) -> None:
        from radarcore import services
        from radarcore.models import registry

        self.settings = settings or RadarSettings()
        self.clock: Callable[[], int] = clock or (lambda: int(time.time()))
        self.counters: Counter[str] = Counter()
        self._sessions: dict[str, RadarSession] = {}  # read by payments; sessions never change
        # PaymentMethods and Customers payments read: id -> (stored document, decoded object)
        self._read_only: dict[str, tuple[bytes | str, StripeObject]] = {}
        self._lock = threading.RLock()
        self._current_unit: services.Unit | None = None
        self._features = FeatureExtractor()
        # The compiled extractor: payments assessed by the core's assessor go back to it packed
        # (the Python wrapper would read and pack the event on every call).
        self._core_features: _core.FeatureExtractor = self._features._core
        self._layout = _AttributeLayout(self._features)
        self._assessor: _Assessor | None = None
        schema = self._features.schema.names
        if model is DEFAULT_MODEL or model is None:
            if calibration is not None:
                raise ValueError("calibration= applies to a bare Forest model")
            chosen = None
        else:
            chosen = as_risk_model(model, schema, calibration)
        # The live and shadow versions, swapped together by refresh_model(); an engine built
        # with model=None follows no stored version.
        self._follows_store = model is not None
        self._live: _Scorer | None = None
        self._shadow: _Scorer | None = None
        self._model_state: str | None = None
        opened = store is None
        if store is None:
            url = database_url or os.environ.get("RADARCORE_DATABASE_URL", DEFAULT_DATABASE_URL)
            store = open_store(url)
        self.store = store
        self._snapshot_seq = 0
        self._applied_seq = 0
        self._generation = store.generation()
        self.event_sink: Callable[[services.Unit], None] | None = None
        self.assessment_observer: Callable[[Assessment, float], None] | None = None
        try:
            self._fingerprint_key = self.settings.fingerprint_key or self._stored_key()
            self._holdout_key = hashlib.sha256(b"holdout" + self._fingerprint_key).digest()
            self._follows_saved_rules = rules is None
            stored_rules = self.store.get_meta(_RULES_META) if rules is None else None
            self._rules = _as_rules(rules) if stored_rules is None else _decode_rules(stored_rules)
            with self._lock:
                services.ensure_default_lists(self)
                self._rule_set = self._compile_rules(self._rules)
                self._restore_velocity()
            if self._follows_store:
                self._install_model(chosen)
        except BaseException:
            if opened:
                self.store.close()
            raise

        self.customers = services.CustomerService(self)
        self.radar_sessions = services.RadarSessionService(self)
        self.payment_methods = services.PaymentMethodService(self)
        self.payment_intents = services.PaymentIntentService(self)
        self.setup_intents = services.SetupIntentService(self)
        self.charges = services.ChargeService(self)
        self.refunds = services.RefundService(self)
        self.disputes = services.DisputeService(self)
        self.reviews = services.ReviewService(self)
        self.value_lists = services.ValueListService(self)
        self.value_list_items = services.ValueListItemService(self)
        self.early_fraud_warnings = services.EarlyFraudWarningService(self)
        self.payment_evaluations = services.PaymentEvaluationService(self)
        self.models = registry.ModelService(self)

    # --- configuration -----------------------------------------------------------------------

    @property
    def rules(self) -> RuleSet:
        """The compiled rule set in force (custom rules, default rules, the stored lists)."""
        return self._rule_set

    @property
    def has_model(self) -> bool:
        """Whether a model scores payments (without one, payments are ``not_assessed``)."""
        return self._live is not None

    @property
    def feature_schema(self) -> list[str]:
        """The feature columns of the engine's extractor (a model must be trained on them)."""
        return list(self._features.schema.names)

    @property
    def model_versions(self) -> tuple[str | None, str | None]:
        """``(live, shadow)``: the model versions this engine scores with right now."""
        with self._lock:
            live, shadow = self._live, self._shadow
        return (
            None if live is None else live.version,
            None if shadow is None else shadow.version,
        )

    def _install_model(self, model: RiskModel | None) -> None:
        """Start on ``model`` (stored and made live), or on the stored live version, or on the
        bundled default model in a store that has none."""
        from radarcore.models import registry

        state = registry.read_state(self.store)
        if model is None and state.live is None:
            model = as_risk_model(default_model(), self._features.schema.names)
        if model is not None and model.version != state.live:
            with self.store.transaction():
                registry.store_model(self.store, model)
                registry.change_state(self.store, live=model.version, shadow=state.shadow)
        self.refresh_model()

    def refresh_model(self) -> bool:
        """Use the live and shadow model versions the store names now, if they changed since
        this engine last looked (another process promoted, shadowed or rolled back a version).

        Costs one read of a small metadata row when nothing changed, so a server calls it
        before each request (or every second). When something changed the new models are
        loaded, then swapped in one step under the assessment lock: each payment is scored
        wholly by the old or wholly by the new version. Returns whether anything changed.
        """
        if not self._follows_store:
            return False
        from radarcore.models import registry

        if self.store.get_meta(registry.STATE_KEY) == self._model_state:
            return False
        with self._lock:
            raw = self.store.get_meta(registry.STATE_KEY)
            if raw == self._model_state:
                return False
            state = registry.ModelState.from_json(raw)
            live, shadow = self._scorer(state.live), self._scorer(state.shadow)
            self._live, self._shadow, self._model_state = live, shadow, raw
        logger.info("model versions in use: live %s, shadow %s", state.live, state.shadow)
        return True

    def _scorer(self, version: str | None) -> _Scorer | None:
        if version is None:
            return None
        for current in (self._live, self._shadow):
            if current is not None and current.version == version:
                return current
        from radarcore.models import registry

        return _Scorer(registry.load_model(self.store, version), self._features.schema.names)

    @property
    def model_version(self) -> str | None:
        """The live model version's id (``rcm_...``), or ``None`` without a model."""
        live = self._live
        return None if live is None else live.version

    def set_rules(
        self, rules: RuleSet | str | Iterable[Rule | str] | None, *, save: bool = False
    ) -> None:
        """Replace the rules; they apply to payments assessed from now on. ``save=True`` also
        stores them: engines opened later on this store without ``rules=``, and the engines
        already following the saved rules on it (other workers), use them."""
        new_rules = _as_rules(rules)
        with self._lock:
            rule_set = self._compile_rules(new_rules)
            if save:
                with self.unit() as unit:
                    self.store.set_meta(_RULES_META, _encode_rules(new_rules))
                    self.config_changed(unit)
            self._rule_set = rule_set
            self._rules = new_rules
            self._follows_saved_rules = save

    @property
    def custom_rules(self) -> list[Rule]:
        """The rules in force other than Radar's default rules, in order."""
        defaults = {rule.id for rule in default_rules()}
        return [rule for rule in self._rules if rule.id not in defaults]

    def reload_lists(self) -> None:
        """Recompile the rules against the lists in the store (after any list change)."""
        with self._lock:
            self._rule_set = self._compile_rules(self._rules)

    def config_changed(self, unit: Any) -> None:
        """Announce, inside a request's transaction, a change other engines on this database
        must pick up (lists, webhook endpoints): the stored generation moves on, and this
        engine reloads its lists once the change is committed."""
        self._generation = self.store.bump_generation()
        if self.reload_lists not in unit.after_commit:
            unit.after_commit.append(self.reload_lists)

    def _catch_up(self) -> None:
        """Apply what other engines committed since this one last looked (called at the start
        of every writing transaction, while it holds the database's write lock)."""
        for entry in self.store.events(self._applied_seq):
            self._apply(entry.kind, entry.created, entry.payload)
            self._applied_seq = entry.seq
        generation = self.store.generation()
        if generation != self._generation:
            self._generation = generation
            self.refresh_model()
            stored = self.store.get_meta(_RULES_META) if self._follows_saved_rules else None
            if stored is not None:
                self._rules = _decode_rules(stored)
            self._rule_set = self._compile_rules(self._rules)

    @property
    def config_generation(self) -> str | None:
        """The configuration generation this engine has loaded (see :meth:`config_changed`)."""
        return self._generation

    def unit(self) -> AbstractContextManager[services.Unit]:
        """A writing request's transaction, as the services open one (catch-up first, events
        to ``event_sink`` before the commit, post-commit actions after it); re-entrant."""
        from radarcore import services

        return services._Service(self)._unit()

    def emit(self, type: str, obj: StripeObject) -> None:
        """Announce a Stripe event (``charge.succeeded``...) of the request being written."""
        unit = self._current_unit
        if unit is not None and self.event_sink is not None:
            unit.events.append((type, obj))

    def _compile_rules(self, rules: list[Rule]) -> RuleSet:
        from radarcore import services

        return RuleSet(rules, lists=services.load_rule_lists(self))

    def _stored_key(self) -> bytes:
        with self.store.transaction():
            stored = self.store.get_meta("fingerprint_key")
            if stored is None:
                stored = secrets.token_hex(32)
                self.store.set_meta("fingerprint_key", stored)
        return bytes.fromhex(stored)

    @property
    def fingerprint_key(self) -> bytes:
        """The key of the card fingerprints."""
        return self._fingerprint_key

    # --- velocity state ----------------------------------------------------------------------

    def _restore_velocity(self) -> None:
        snapshot = self.store.latest_snapshot()
        after = 0
        if snapshot is not None:
            after, state = snapshot
            self._features.restore(state)
        self._snapshot_seq = after
        self._applied_seq = after
        for entry in self.store.events(after):
            self._apply(entry.kind, entry.created, entry.payload)
            self._applied_seq = entry.seq

    def _apply(
        self,
        kind: str,
        created: int,
        payload: Mapping[str, Any],
        packed: _core.PackedEvent | None = None,
    ) -> None:
        """Record a log entry (``packed``: its event as the assessment packed it, else the
        entry's event is packed here)."""
        event = self._core_features.pack(payload["event"]) if packed is None else packed
        _apply_entry(self._core_features, kind, created, payload, event)

    def _after_commit(
        self,
        seq: int,
        kind: str,
        created: int,
        payload: Mapping[str, Any],
        packed: _core.PackedEvent | None = None,
    ) -> None:
        """Apply a committed log entry to the velocity state; snapshot when due."""
        self._apply(kind, created, payload, packed)
        self._applied_seq = seq
        if seq - self._snapshot_seq >= self.settings.snapshot_every:
            self.snapshot(seq)

    def snapshot(self, seq: int | None = None) -> None:
        """Store the velocity state now, labelled with the last log entry it includes (other
        processes may have appended entries this engine has not applied yet)."""
        with self._lock:
            seq = self._applied_seq if seq is None else seq
            self.store.save_snapshot(seq, self._features.snapshot())
            self._snapshot_seq = seq

    def velocity_snapshot(self) -> bytes:
        """The current velocity state as bytes (equal states give equal bytes)."""
        with self._lock:
            return self._features.snapshot()

    def velocity_attributes(self, event: Mapping[str, Any]) -> dict[str, float | bool | str | None]:
        """The rule attributes the next assessment of ``event`` would see (state unchanged)."""
        with self._lock:
            return self._features.attributes_one(event)

    def training_events(self) -> list[dict[str, Any]]:
        """Every assessed payment in log order, with its ``outcome`` and the labels it received
        (``labels``) and ``is_fraud`` (a fraudulent refund, early fraud warning or dispute)."""
        payments: dict[str, dict[str, Any]] = {}
        for entry in self.store.events():
            if entry.kind == "payment":
                row = dict(entry.payload["event"])
                row["outcome"] = entry.payload["result"]
                row["labels"] = list(entry.payload.get("labels", ()))
                payments[entry.payment] = row
            elif entry.payment in payments:
                payments[entry.payment]["labels"].append(entry.payload["label"])
        fraud = {"fraudulent_refund", "early_fraud_warning", "dispute"}
        for row in payments.values():
            row["is_fraud"] = bool(fraud.intersection(row["labels"]))
        return list(payments.values())

    def _replay(
        self, until: str | None = None
    ) -> tuple[list[str], npt.NDArray[np.float64], list[list[str | None]], dict[str, set[str]]]:
        """Replay the event log into a fresh velocity state (exact: labels are replayed too),
        up to and including the payment ``until``. Returns the assessed payments' ids, their
        feature rows and string attributes (one list per string attribute) as the engine saw
        them when it assessed them, and the labels each payment received."""
        labels: dict[str, set[str]] = {}
        ids: list[str] = []
        rows: list[Any] = []
        strings: list[list[str | None]] = [[] for _ in self._layout.strings]
        core = FeatureExtractor()._core
        for entry in self.store.events():
            self.counters["replayed_entries"] += 1
            event = entry.payload["event"]
            packed = core.pack(event)
            if entry.kind == "label":
                labels.setdefault(entry.payment, set()).add(entry.payload["label"])
            else:
                ids.append(entry.payment)
                rows.append(core.extract_one(packed))
                for column, text in zip(strings, core.string_attributes_one(event), strict=True):
                    column.append(text)
                if entry.payment == until:
                    break
            _apply_entry(core, entry.kind, entry.created, entry.payload, packed)
        width = len(self._features.schema.names)
        matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
        return ids, matrix, strings, labels

    def explain(self, payment_id: str, *, top: int = 8) -> list[Contribution]:
        """The ``top`` features that moved this payment's risk score most, largest first (by
        absolute points), from TreeSHAP contributions on the feature row the engine assessed,
        with the model version that scored the payment (the live one when it had none).

        The row is the one the Charge kept when it was assessed (``Charge.insight``), so the
        cost does not depend on the history; a Charge stored before it kept one is explained
        by replaying the event log up to it. Empty without a model; ``KeyError`` when the
        engine never assessed ``payment_id``."""
        charge = self.store.get(payment_id)
        if charge is None:
            raise KeyError(f"no assessed payment {payment_id!r} in the event log")
        insight = charge.insight if isinstance(charge, Charge) else None
        if insight is None:
            model = self._live
            if model is None:
                return []
            ids, matrix, _, _ = self._replay(until=payment_id)
            if not ids or ids[-1] != payment_id:
                raise KeyError(f"no assessed payment {payment_id!r} in the event log")
            row = matrix[-1]
        else:
            model = self._scorer(insight.get("model")) or self._live
            if model is None:
                return []
            row = unpack_row(insight["row"], len(self._features.schema.names))
        x = row if model.columns is None else row[model.columns]
        phi = model.forest.contributions_many(x[np.newaxis, :])[0]
        names = model.forest.feature_names
        order = np.argsort(-np.abs(phi[: len(names)]), kind="stable")[:top]
        return [
            Contribution(
                feature=names[j],
                value=None if math.isnan(x[j]) else float(x[j]),
                points=float(model.calibration.points_per_margin * phi[j]),
            )
            for j in order
        ]

    def history(self) -> dict[str, npt.NDArray[Any]]:
        """Every assessed Charge as columns, oldest first: the rule attributes as each payment
        saw them (the log replayed, so velocity attributes are exact), its stored
        ``risk_score`` (NaN when unscored) and ``risk_level``, and the columns of
        :func:`radarcore.rules.backtest` (``amount``, ``currency``, ``outcome_type``,
        ``is_disputed``, ``has_early_fraud_warning``, ``refunded_as_fraud``, ``is_refunded``)
        plus ``id`` and ``is_fraud`` (any of the three fraud labels)."""
        charges = {
            c.id: c for c in self.store.list("charge", limit=None)[0] if isinstance(c, Charge)
        }
        ids, matrix, strings, labels = self._replay()
        keep = np.array([pid in charges for pid in ids], dtype=bool)
        matrix = matrix[keep]
        out: dict[str, npt.NDArray[Any]] = {}
        for name, (index, boolean) in self._layout.numeric.items():
            column = matrix[:, index]
            out[name] = column == 1.0 if boolean else column.copy()
        for name, texts in zip(self._layout.strings, strings, strict=True):
            out[name] = _objects(texts)[keep]
        ids = [pid for pid, kept in zip(ids, keep, strict=True) if kept]
        stored = [charges[pid] for pid in ids]
        outcomes = [c.outcome for c in stored]
        out["id"] = _objects(ids)
        out["risk_score"] = np.array(
            [np.nan if o is None or o.risk_score is None else o.risk_score for o in outcomes],
            dtype=np.float64,
        )
        out["risk_level"] = _objects([None if o is None else o.risk_level for o in outcomes])
        out["outcome_type"] = _objects([None if o is None else o.type for o in outcomes])
        out["amount"] = np.array([c.amount for c in stored], dtype=np.int64)
        out["currency"] = _objects([c.currency for c in stored])
        got = [labels.get(pid, set()) for pid in ids]
        out["is_disputed"] = np.array(
            [c.disputed or "dispute" in g for c, g in zip(stored, got, strict=True)], dtype=bool
        )
        out["has_early_fraud_warning"] = np.array(
            ["early_fraud_warning" in g for g in got], dtype=bool
        )
        out["refunded_as_fraud"] = np.array(["fraudulent_refund" in g for g in got], dtype=bool)
        out["is_refunded"] = np.array([c.amount_refunded > 0 for c in stored], dtype=bool)
        out["is_fraud"] = (
            out["is_disputed"] | out["has_early_fraud_warning"] | out["refunded_as_fraud"]
        )
        return out

    def backtest(self, rules: RuleSet | str | Iterable[Rule | str] | None = None) -> Backtest:
        """Backtest ``rules`` (as :meth:`set_rules` takes them; ``None``: the rules in force)
        with the stored lists on :meth:`history`."""
        rule_set = self._rule_set if rules is None else self._compile_rules(_as_rules(rules))
        return rule_set.backtest(self.history())

    # --- assessment --------------------------------------------------------------------------

    def _in_holdout(self, payment_id: str) -> bool:
        fraction = self.settings.score_holdout_fraction
        if fraction <= 0.0:
            return False
        digest = hmac.new(self._holdout_key, payment_id.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") < fraction * 2.0**64

    def _test_score(self, test_risk: str | None) -> int | None:
        if self.settings.livemode or test_risk is None:
            return None
        if test_risk in ("highest", "highest_always_blocked"):
            return (self.settings.highest_threshold + 100 + 1) // 2
        if test_risk == "elevated":
            return (self.settings.elevated_threshold + self.settings.highest_threshold) // 2
        return None

    def assess(
        self,
        event: Mapping[str, Any],
        *,
        object: _ObjectKind = "payment_intent",
        test_risk: str | None = None,
        three_d_secure_done: bool = False,
    ) -> Assessment:
        """Assess one payment event (the velocity state is not changed; see the services for
        the whole flow that writes objects and records the payment)."""
        with self._lock:
            self.counters["assessments"] += 1
            pm_type = event.get("payment_method_type") or "card"
            if pm_type not in self.settings.assessed_payment_method_types:
                self.counters["not_assessed"] += 1
                return Assessment(
                    Outcome(
                        type="authorized",
                        network_status="approved_by_network",
                        reason="not_assessed_risk_level",
                        risk_level="not_assessed",
                        seller_message=_SELLER_MESSAGES["not_assessed_type"],
                    ),
                    "authorized",
                )
            began = time.perf_counter()
            try:
                assessment = self._assess(event, object, test_risk, three_d_secure_done)
            except Exception:
                logger.exception("assessing payment %s failed; authorizing it", event.get("id"))
                self.counters["assessment_failures"] += 1
                assessment = Assessment(
                    Outcome(
                        type="authorized",
                        network_status="approved_by_network",
                        reason="unknown_risk_level",
                        risk_level="unknown",
                        seller_message=_SELLER_MESSAGES["unknown"],
                    ),
                    "authorized",
                )
            if self.assessment_observer is not None:
                self.assessment_observer(assessment, time.perf_counter() - began)
            return assessment

    def _assess(
        self,
        event: Mapping[str, Any],
        kind: _ObjectKind,
        test_risk: str | None,
        three_d_secure_done: bool,
    ) -> Assessment:
        settings = self.settings
        assessor = self._assessor
        rule_set, live, shadow = self._rule_set, self._live, self._shadow
        if (
            assessor is None
            or assessor.rule_set is not rule_set
            or assessor.live is not live
            or assessor.shadow is not shadow
        ):
            assessor = self._assessor = _Assessor(
                self._core_features, rule_set, self._layout, live, shadow
            )
        payment, live_margin, shadow_margin = assessor.core.assess(event)
        score: int | None = None
        level: str = "not_assessed"
        scored_by: str | None = None
        shadow_record: dict[str, Any] | None = None
        if settings.assess_risk:
            test_score = self._test_score(test_risk)
            if test_score is not None:
                score = test_score
            elif live is not None:
                assert live_margin is not None
                score = live.calibration.risk_score_one(live_margin)
                scored_by = live.version
            if score is not None:
                level = settings.risk_level(score)
            if shadow is not None:
                shadow_record = self._shadow_score(shadow, shadow_margin)
        holdout = score is not None and self._in_holdout(str(event["id"]))
        reported = score
        if holdout:
            self.counters["score_holdouts"] += 1
            if settings.score_holdout_mode == "perturbed":
                reported = self._perturb(str(event["id"]), score)  # type: ignore[arg-type]
                level = settings.risk_level(reported)
        enforced = not holdout or settings.score_holdout_mode == "perturbed"
        decision = rule_set.decision(
            *assessor.core.decide(
                payment,
                None if reported is None or not enforced else float(reported),
                level if enforced else None,
                event.get("metadata"),
                object_code(kind),
                int(event["created"]),
            )
        )

        if decision.request_three_d_secure and kind != "charge" and not three_d_secure_done:
            assessment = Assessment(
                Outcome(type="authorized", risk_level=level, risk_score=reported),  # type: ignore[arg-type]
                "pending",
                requires_action=True,
                score_holdout=holdout,
            )
        else:
            assessment = self._outcome(decision, level, reported, test_risk, holdout)
            assessment.packed = payment
        assessment.model, assessment.shadow = scored_by, shadow_record
        if live is not None and settings.assess_risk:
            assessment.row_text = payment.packed_row_text()  # pack_row(payment.row), in C++
        return assessment

    def _shadow_score(self, shadow: _Scorer, margin: float | None) -> dict[str, Any] | None:
        """The shadow version's score (a failure is logged and counted, never acted on)."""
        try:
            assert margin is not None  # the assessor scores with every model it has
            score = shadow.calibration.risk_score_one(margin)
            return {"model": shadow.version, "risk_score": score}
        except Exception:
            logger.exception("shadow model %s failed", shadow.version)
            self.counters["shadow_failures"] += 1
            return None

    def _perturb(self, payment_id: str, score: int) -> int:
        digest = hmac.new(self._holdout_key, b"p" + payment_id.encode(), hashlib.sha256).digest()
        spread = self.settings.score_holdout_perturbation
        shift = int.from_bytes(digest[:4], "big") % (2 * spread + 1) - spread
        return min(100, max(0, score + shift))

    def _outcome(
        self, decision: Any, level: str, score: int | None, test_risk: str | None, holdout: bool
    ) -> Assessment:
        rule: Rule | None = decision.rule
        outcome_rule = (
            None
            if rule is None
            else OutcomeRule(
                id=rule.id, action=_RULE_ACTIONS[decision.action], predicate=rule.predicate
            )
        )
        live = self.settings.livemode
        if test_risk == "highest_always_blocked" and not live and decision.action != "block":
            decision_action, outcome_rule, rule = "block", None, None
        else:
            decision_action = decision.action
        risk_level: Any = level
        reason: str | None
        if decision_action == "block":
            if rule is not None and rule.id.startswith("block_if_in_default_"):
                reason, decline, message = "merchant_blacklist", "merchant_blacklist", "blocked"
            elif rule is None or rule.id == _DEFAULT_BLOCK_RULE:
                reason, decline, message = "highest_risk_level", "fraudulent", "highest"
            else:
                reason, decline, message = "rule", "generic_decline", "blocked"
            labels = ["high_risk_block"] if level == "highest" else []
            return Assessment(
                Outcome(
                    type="blocked",
                    network_status="not_sent_to_network",
                    reason=reason,
                    risk_level=risk_level,
                    risk_score=score,
                    rule=outcome_rule,
                    seller_message=_SELLER_MESSAGES[message],
                ),
                "blocked",
                decline_code=decline,
                score_holdout=holdout,
                labels=labels,
            )
        if test_risk == "issuer_declined" and not live:
            return Assessment(
                Outcome(
                    type="issuer_declined",
                    network_status="declined_by_network",
                    reason="generic_decline",
                    risk_level=risk_level,
                    risk_score=score,
                    seller_message=_SELLER_MESSAGES["issuer_declined"],
                ),
                "declined",
                decline_code="generic_decline",
                score_holdout=holdout,
            )
        if decision_action == "review":
            default = rule is not None and rule.id == _DEFAULT_REVIEW_RULE
            return Assessment(
                Outcome(
                    type="manual_review",
                    network_status="approved_by_network",
                    reason="elevated_risk_level" if default else "rule",
                    risk_level=risk_level,
                    risk_score=score,
                    rule=outcome_rule,
                    seller_message=_SELLER_MESSAGES["elevated" if default else "review_rule"],
                ),
                "authorized",
                score_holdout=holdout,
            )
        if decision_action == "allow":
            reason = "rule"
        elif level == "not_assessed":
            reason = "not_assessed_risk_level"
        else:
            reason = None
        if reason != "not_assessed_risk_level":
            message = "authorized"
        else:
            message = "not_assessed" if not self.settings.assess_risk else "no_model"
        return Assessment(
            Outcome(
                type="authorized",
                network_status="approved_by_network",
                reason=reason,
                risk_level=risk_level,
                risk_score=score,
                rule=outcome_rule if decision_action == "allow" else None,
                seller_message=_SELLER_MESSAGES[message],
            ),
            "authorized",
            score_holdout=holdout,
        )

    # --- default list helpers ----------------------------------------------------------------

    @staticmethod
    def default_list_alias(kind: str, verb: Literal["allow", "block"]) -> str:
        """The alias of a default list (``default_card_fingerprint_block_list``)."""
        if kind not in DEFAULT_LIST_KINDS:
            raise ValueError(f"no default list kind {kind!r}")
        return f"default_{kind}_{verb}_list"

    @staticmethod
    def default_list_lifetime(alias: str) -> int | None:
        """Seconds items live on a default list (fingerprint allow lists: 30 days)."""
        if alias.startswith("default_") and alias.endswith("fingerprint_allow_list"):
            return FINGERPRINT_ALLOW_LIFETIME
        return None

    def close(self) -> None:
        """Snapshot the velocity state and close the store."""
        with self._lock:
            if self._applied_seq > self._snapshot_seq:
                self.snapshot()
            self.store.close()

    def __enter__(self) -> Radar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
