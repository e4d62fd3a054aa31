from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BUILT = FIXTURES / "built"
BAD = FIXTURES / "bad"


@pytest.fixture(scope="session")
def kb():  # type: ignore[no-untyped-def]
    from appvet.kb import load_kb

    return load_kb()
