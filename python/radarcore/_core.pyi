"""Stub for radarcore._core, the private compiled module (checked by tests/test_stub.py)."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

def describe_cpu() -> str: ...
def hardware_threads() -> int: ...

# pybind11 gives its classes their own metaclass; stubtest wants the stub to say so.
class _Pybind11Type(type): ...

class Forest(metaclass=_Pybind11Type):
    def __init__(
        self,
        *,
        n_features: int,
        feature_names: list[str],
        objective: int,
        split_rule: int,
        n_groups: int,
        sigmoid_scale: float,
        base_score: npt.NDArray[np.float64],
        tree_offsets: npt.NDArray[np.int64],
        tree_group: npt.NDArray[np.int32],
        left_child: npt.NDArray[np.int32],
        right_child: npt.NDArray[np.int32],
        split_feature: npt.NDArray[np.int32],
        threshold: npt.NDArray[np.float64],
        default_left: npt.NDArray[np.uint8],
        missing_type: npt.NDArray[np.uint8],
        is_categorical: npt.NDArray[np.uint8],
        leaf_value: npt.NDArray[np.float64],
        cover: npt.NDArray[np.float64],
        leaf_id: npt.NDArray[np.int32],
        cat_offsets: npt.NDArray[np.int64],
        cat_words: npt.NDArray[np.uint32],
    ) -> None: ...
    @staticmethod
    def from_bytes(data: bytes) -> Forest: ...
    def to_bytes(self) -> bytes: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_groups(self) -> int: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def feature_names(self) -> list[str]: ...
    @property
    def objective(self) -> int: ...
    @property
    def split_rule(self) -> int: ...
    @property
    def sigmoid_scale(self) -> float: ...
    @property
    def base_score(self) -> list[float]: ...
    def predict(
        self, x: npt.NDArray[np.float32] | npt.NDArray[np.float64], raw: bool, n_threads: int
    ) -> npt.NDArray[np.float64]: ...
    def score_one(self, row: object, raw: bool = False) -> float | npt.NDArray[np.float64]: ...
    def contributions(
        self, x: npt.NDArray[np.float32] | npt.NDArray[np.float64], n_threads: int
    ) -> npt.NDArray[np.float64]: ...
    def leaves(
        self, x: npt.NDArray[np.float32] | npt.NDArray[np.float64], n_threads: int
    ) -> npt.NDArray[np.int32]: ...

class RuleProgram:
    def __init__(
        self,
        numeric_slots: int,
        string_slots: int,
        leaves: list[tuple[int, int, int, int, float, int]],
        rules: list[tuple[int, bool, list[tuple[int, int]]]],
        strings: list[str],
        string_sets: list[list[tuple[str, int]]],
        number_sets: list[list[float]],
    ) -> None: ...
    @property
    def numeric_slots(self) -> int: ...
    @property
    def string_slots(self) -> int: ...
    @property
    def rule_count(self) -> int: ...
    def evaluate_one(
        self,
        numeric: npt.NDArray[np.float64],
        strings: list[str | None],
        object: int,
        at: int,
    ) -> tuple[int, int, bool, int]: ...
    def evaluate_many(
        self,
        rows: int,
        numeric: list[npt.NDArray[np.float64]],
        codes: list[npt.NDArray[np.int32]],
        offsets: list[npt.NDArray[np.int64]],
        data: list[npt.NDArray[np.uint8]],
        object: int,
        at: int,
        with_matches: bool,
    ) -> tuple[
        npt.NDArray[np.int8],
        npt.NDArray[np.int32],
        npt.NDArray[np.bool_],
        npt.NDArray[np.int32],
        npt.NDArray[np.bool_] | None,
    ]: ...

# features (issue 3): the feature extractor and its velocity state

_Spec = tuple[str, str, bool, bool, str]
_StringBuffers = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]
_IntBuffers = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8] | None]

def feature_columns() -> list[_Spec]: ...
def string_attribute_columns() -> list[_Spec]: ...
def event_fields() -> dict[str, list[str]]: ...
def amount_currencies() -> list[str]: ...
def pack_row(row: npt.ArrayLike) -> str: ...
def unpack_row(packed: bytes, width: int) -> npt.NDArray[np.float64]: ...
def parse_user_agent(user_agent: str) -> tuple[str, str, bool]: ...

class PackedEvent:
    # Made by FeatureExtractor.pack and Assessor.assess only (the constructor raises).
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...

class FeatureExtractor:
    def __init__(
        self,
        currencies: list[tuple[str, int, float]],
        disposable_domains: list[str],
        anonymous_ips: list[str],
        ttl_seconds: int,
    ) -> None: ...
    def pack(self, event: Mapping[str, Any]) -> PackedEvent: ...
    def extract_one(self, event: Mapping[str, Any] | PackedEvent) -> npt.NDArray[np.float64]: ...
    def update(self, event: Mapping[str, Any] | PackedEvent, outcome: str | None) -> None: ...
    def record_label(
        self, event: Mapping[str, Any] | PackedEvent, label: str, at: int | None
    ) -> None: ...
    def extract_many(
        self,
        rows: int,
        strings: list[_StringBuffers | None],
        ints: list[_IntBuffers | None],
        floats: list[npt.NDArray[np.float64] | None],
        bools: list[npt.NDArray[np.int8] | None],
        order: npt.NDArray[np.int64] | None,
        update: bool,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]: ...
    def string_attributes_one(self, event: Mapping[str, Any]) -> list[str | None]: ...
    @staticmethod
    def string_attributes_many(
        rows: int,
        strings: list[_StringBuffers | None],
        ints: list[_IntBuffers | None],
        floats: list[npt.NDArray[np.float64] | None],
        bools: list[npt.NDArray[np.int8] | None],
        indices: list[int],
    ) -> list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.uint8]]]: ...
    def snapshot(self) -> bytes: ...
    def restore(self, data: bytes) -> None: ...
    def expire(self, now: int) -> int: ...
    @property
    def entity_count(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def clock(self) -> int: ...

# pipeline (issue 5): one payment through features, models and rules

class AssessedPayment(PackedEvent):
    @property
    def row(self) -> npt.NDArray[np.float64]: ...
    def packed_row_text(self) -> str: ...

class Assessor:
    def __init__(
        self,
        extractor: FeatureExtractor,
        program: RuleProgram,
        live: Forest | None,
        live_columns: list[int] | None,
        shadow: Forest | None,
        shadow_columns: list[int] | None,
        numeric_sources: list[tuple[int, int]],
        string_sources: list[tuple[int, int]],
        string_inputs: list[tuple[int, bool]],
        supplied_numeric: list[tuple[int, float]],
        supplied_strings: list[tuple[int, str, bool]],
    ) -> None: ...
    def assess(
        self, event: Mapping[str, Any]
    ) -> tuple[AssessedPayment, float | None, float | None]: ...
    def decide(
        self,
        payment: AssessedPayment,
        risk_score: float | None,
        risk_level: str | None,
        metadata: Mapping[str, str] | None,
        object: int,
        at: int,
    ) -> tuple[int, int, bool, int]: ...

# memory (the memory store's document regions)

class PrefaultedRegion(Buffer, metaclass=_Pybind11Type):  # the buffer protocol, in C++
    def __init__(self, size: int, prepare_next: bool = True) -> None: ...
    @property
    def size(self) -> int: ...
    @property
    def prefaulted(self) -> bool: ...
