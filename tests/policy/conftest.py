"""Shared fixtures: real fixture reviews and a knowledge base carrying the lists the policies name."""

from __future__ import annotations

import pytest

from appvet.kb import load_kb
from appvet.model import Review
from appvet.review import review
from tests.policy.lists import BUILT, ListsKb, lists_kb


@pytest.fixture(scope="session")
def kb() -> ListsKb:
    return lists_kb()


@pytest.fixture(scope="session")
def reviews() -> dict[str, Review]:
    kb = load_kb()
    return {name: review(BUILT / f"{name}.apk", kb=kb) for name in ("plain", "multisdk", "multidex", "diff-v1",
                                                                     "diff-v2")}
