from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ios_kb(kb):  # type: ignore[no-untyped-def]
    from appvet.kb.ios import load_ios

    return load_ios(kb)
