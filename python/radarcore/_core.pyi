"""Stub for radarcore._core, the private compiled module (checked by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def describe_cpu() -> str: ...

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
