"""Stub for radarcore._core, the private compiled module (checked by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def describe_cpu() -> str: ...

# features (issue 3): the feature extractor and its velocity state

_Spec = tuple[str, str, bool, bool, str]
_StringBuffers = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]
_IntBuffers = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8] | None]

def feature_columns() -> list[_Spec]: ...
def string_attribute_columns() -> list[_Spec]: ...
def event_fields() -> dict[str, list[str]]: ...
def amount_currencies() -> list[str]: ...
def parse_user_agent(user_agent: str) -> tuple[str, str, bool]: ...

class FeatureExtractor:
    def __init__(
        self,
        currencies: list[tuple[str, int, float]],
        disposable_domains: list[str],
        anonymous_ips: list[str],
        ttl_seconds: int,
    ) -> None: ...
    def extract_one(
        self,
        strings: list[str | None],
        ints: list[int | None],
        floats: list[float],
        bools: list[int],
    ) -> npt.NDArray[np.float64]: ...
    def update(
        self,
        strings: list[str | None],
        ints: list[int | None],
        floats: list[float],
        bools: list[int],
        outcome: str | None,
    ) -> None: ...
    def record_label(
        self,
        strings: list[str | None],
        ints: list[int | None],
        floats: list[float],
        bools: list[int],
        label: str,
        at: int | None,
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
    ) -> npt.NDArray[np.float64]: ...
    def string_attributes_one(
        self,
        strings: list[str | None],
        ints: list[int | None],
        floats: list[float],
        bools: list[int],
    ) -> list[str | None]: ...
    def string_attributes_many(
        self,
        rows: int,
        strings: list[_StringBuffers | None],
        ints: list[_IntBuffers | None],
        floats: list[npt.NDArray[np.float64] | None],
        bools: list[npt.NDArray[np.int8] | None],
    ) -> list[list[str | None]]: ...
    def snapshot(self) -> bytes: ...
    def restore(self, data: bytes) -> None: ...
    def expire(self, now: int) -> int: ...
    @property
    def entity_count(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def clock(self) -> int: ...
