"""The stepped test model the engine tests score payments with."""

from __future__ import annotations

#: The stepped test model: margin by amount_in_usd (<= 100: -3, <= 1000: -1, else 2), so with the
#: identity calibration the risk scores are 61 (normal), 70 (elevated) and 84 (highest).
STEPS = ((100.0, -3.0), (1000.0, -1.0), (None, 2.0))


def stepped_model() -> object:
    from radarcore.forest import Forest
    from radarcore.models._spec import SpecBuilder, TreeSpec

    tree = TreeSpec()
    root = tree.add_split(0, STEPS[0][0])  # type: ignore[arg-type]
    low = tree.add_leaf(STEPS[0][1])
    upper = tree.add_split(0, STEPS[1][0])  # type: ignore[arg-type]
    middle = tree.add_leaf(STEPS[1][1])
    high = tree.add_leaf(STEPS[2][1])
    tree.set_children(root, low, upper)
    tree.set_children(upper, middle, high)
    return Forest.from_spec(SpecBuilder(feature_names=["amount_in_usd"], trees=[tree]))
