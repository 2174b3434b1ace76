"""Model versions in the engine: every version kept in the store, one live, one in shadow.

``radar.models`` (a :class:`ModelService`) is how a team ships a retrained model::

    version = radar.models.create(RiskModel.load("candidate.rcm"))   # stored, not used yet
    radar.models.shadow(version.id)     # scored on every payment beside the live one, not acted on
    radar.models.promote(version.id)    # now the live model (default: the one in shadow)
    radar.models.rollback()             # back to the version live before it
    radar.models.list()                 # every version, newest first, with its status

The store keeps each version's file (:meth:`radarcore.store.Store.save_model`) and, in one
metadata row, the *model state*: the live version, the version in shadow and a generation
counter that every change increments. A change is written in one transaction and then applied
to the engine by :meth:`radarcore.Radar.refresh_model`, which swaps the live and shadow models
in one step under the assessment lock: a payment is scored entirely by the version before or
entirely by the version after, never a mix. Each stored payment records the version that
scored it (``model`` in its event-log entry) and the shadow score (``shadow``).

Several processes may share a store (the HTTP server's workers, each with its own engine): a
change made by one also moves the store's configuration generation
(:meth:`radarcore.store.Store.bump_generation`), so the other engines pick it up at the start
of their next writing transaction, with the same one-row check that catches list changes; an
engine that writes nothing calls ``refresh_model()``, which reads only this row.

Rollback: the store keeps the order in which versions were made live; ``rollback()`` returns to
the version live before the current one (and again to the one before that), ``rollback(id)``
makes any stored version live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from radarcore.errors import InvalidRequestError
from radarcore.models.bundle import RiskModel
from radarcore.store import ModelRecord, Store

if TYPE_CHECKING:
    import os

    from radarcore.forest import Forest
    from radarcore.radar import Radar

__all__ = [
    "STATE_KEY",
    "ModelService",
    "ModelState",
    "ModelVersion",
    "add_version",
    "change_state",
    "load_model",
    "read_state",
    "store_model",
]

STATE_KEY = "model.state"
"""Store metadata key of the model state (live, shadow, generation) as JSON."""
_HISTORY_KEY = "model.history"

ModelStatus = Literal["live", "shadow", "inactive"]


@dataclass(frozen=True)
class ModelState:
    """Which stored versions the engines use: ``live`` scores and decides, ``shadow`` is only
    scored and recorded; ``generation`` increments on every change."""

    live: str | None = None
    shadow: str | None = None
    generation: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {"live": self.live, "shadow": self.shadow, "generation": self.generation},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> ModelState:
        if text is None:
            return cls()
        data = json.loads(text)
        return cls(data["live"], data["shadow"], int(data["generation"]))


@dataclass(frozen=True)
class ModelVersion:
    """A stored model version (``object: "radar.model_version"``)."""

    id: str
    created: int
    status: ModelStatus
    n_trees: int
    features: int
    metadata: dict[str, Any] = field(default_factory=dict)
    object: Literal["radar.model_version"] = "radar.model_version"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "status": self.status,
            "n_trees": self.n_trees,
            "features": self.features,
            "metadata": self.metadata,
        }


def read_state(store: Store) -> ModelState:
    """The model state kept in ``store`` (no version at all in a new store)."""
    return ModelState.from_json(store.get_meta(STATE_KEY))


def store_model(store: Store, model: RiskModel) -> ModelRecord:
    """Keep ``model`` in ``store`` as a version (nothing changes if it is there already)."""
    record = ModelRecord(
        version=model.version,
        created=model.created,
        metadata={
            "n_trees": model.forest.n_trees,
            "features": len(model.feature_names),
            "training": model.metadata,
        },
    )
    store.save_model(record, model.to_bytes())
    return record


def add_version(store: Store, model: RiskModel, *, shadow: bool = False) -> None:
    """Store ``model`` as a version and, with ``shadow``, put it in shadow (one transaction).
    Engines on the store use it once they refresh (:meth:`radarcore.Radar.refresh_model`)."""
    with store.transaction():
        store_model(store, model)
        if shadow:
            state = read_state(store)
            change_state(store, live=state.live, shadow=model.version)


def load_model(store: Store, version: str) -> RiskModel:
    """The stored model version ``version`` (``InvalidRequestError`` when there is none)."""
    data = store.model_data(version)
    if data is None:
        raise InvalidRequestError(
            f"No such model version: '{version}'", param="model", code="resource_missing"
        )
    return RiskModel.from_bytes(data)


def change_state(
    store: Store,
    *,
    live: str | None,
    shadow: str | None,
    pop_history: bool = False,
) -> ModelState:
    """Write a new model state (one transaction; the generation increments, and so does the
    store's configuration generation, which engines check at the start of each writing
    transaction). ``live`` is pushed on the promotion history when it changes, or the history's
    last entry is dropped (``pop_history``, a rollback to the version before)."""
    with store.transaction():
        state = read_state(store)
        history: list[str] = json.loads(store.get_meta(_HISTORY_KEY) or "[]")
        if pop_history:
            history.pop()
        elif live is not None and (not history or history[-1] != live):
            history.append(live)
        new = ModelState(live, shadow, state.generation + 1)
        store.set_meta(_HISTORY_KEY, json.dumps(history))
        store.set_meta(STATE_KEY, new.to_json())
        store.bump_generation()
    return new


class ModelService:
    """``radar.models``: the model versions of an engine (see the module docstring)."""

    def __init__(self, radar: Radar) -> None:
        self._radar = radar
        self._store = radar.store

    def create(
        self, model: RiskModel | Forest | bytes | str | os.PathLike[str], *, shadow: bool = False
    ) -> ModelVersion:
        """Store a model version (a :class:`RiskModel`, or the bytes or path of a model file).
        It must fit the engine's feature schema (``ModelError`` naming the columns). With
        ``shadow=True`` it also goes into shadow."""
        from radarcore.radar import as_risk_model

        risk_model = as_risk_model(model, self._radar.feature_schema)
        add_version(self._store, risk_model, shadow=shadow)
        self._radar.refresh_model()
        return self.retrieve(risk_model.version)

    def retrieve(self, version: str) -> ModelVersion:
        """One stored version."""
        for found in self._versions():
            if found.id == version:
                return found
        raise InvalidRequestError(
            f"No such model version: '{version}'", param="model", code="resource_missing"
        )

    def list(self) -> list[ModelVersion]:
        """Every stored version, newest first."""
        return list(self._versions())

    def shadow(self, version: str | None) -> ModelVersion | None:
        """Score payments with ``version`` beside the live model, recording its score without
        acting on it (``None``: stop shadowing)."""
        if version is not None:
            self._require(version)
        state = read_state(self._store)
        change_state(self._store, live=state.live, shadow=version)
        self._radar.refresh_model()
        return None if version is None else self.retrieve(version)

    def promote(self, version: str | None = None) -> ModelVersion:
        """Make ``version`` (default: the version in shadow) the live model, in every engine on
        this store once it refreshes, and in this one at once. A promoted shadow leaves the
        shadow slot."""
        state = read_state(self._store)
        target = state.shadow if version is None else version
        if target is None:
            raise InvalidRequestError(
                "No model version is in shadow: pass the version to promote.", param="model"
            )
        self._require(target)
        shadow = None if state.shadow == target else state.shadow
        change_state(self._store, live=target, shadow=shadow)
        self._radar.refresh_model()
        return self.retrieve(target)

    def rollback(self, version: str | None = None) -> ModelVersion:
        """Make an earlier version live again: ``version``, or (default) the version that was
        live before the current one."""
        if version is not None:
            return self.promote(version)
        with self._store.transaction():
            history: list[str] = json.loads(self._store.get_meta(_HISTORY_KEY) or "[]")
            if len(history) < 2:
                raise InvalidRequestError(
                    "There is no earlier live model version to roll back to.", param="model"
                )
            state = read_state(self._store)
            change_state(self._store, live=history[-2], shadow=state.shadow, pop_history=True)
        self._radar.refresh_model()
        return self.retrieve(history[-2])

    def _require(self, version: str) -> None:
        if self._store.model_data(version) is None:
            raise InvalidRequestError(
                f"No such model version: '{version}'", param="model", code="resource_missing"
            )

    def _versions(self) -> Iterator[ModelVersion]:
        state = read_state(self._store)
        for record in self._store.models():
            status: ModelStatus = (
                "live"
                if record.version == state.live
                else "shadow"
                if record.version == state.shadow
                else "inactive"
            )
            yield ModelVersion(
                id=record.version,
                created=record.created,
                status=status,
                n_trees=int(record.metadata["n_trees"]),
                features=int(record.metadata["features"]),
                metadata=dict(record.metadata.get("training", {})),
            )
