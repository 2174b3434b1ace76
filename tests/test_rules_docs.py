"""The docstring examples of the rules modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "radarcore.rules.catalogue",
    "radarcore.rules.lists",
    "radarcore.rules.parser",
    "radarcore.rules.ruleset",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0
