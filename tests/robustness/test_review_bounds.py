"""Every review, of an APK or of an iOS app, leaves ``review()`` within the size bounds of ``appvet.bounds``."""

from __future__ import annotations

from datetime import date

import pytest

from appvet import bounds
from appvet.review import review
from tests.conftest import BUILT

ON = date(2025, 1, 1)


@pytest.mark.parametrize("app", ["multisdk.apk", "ios/demoshop.ipa"])
def test_review_is_cut_to_the_size_bounds(kb, monkeypatch: pytest.MonkeyPatch, app: str) -> None:  # type: ignore[no-untyped-def]
    full = review(BUILT / app, kb=kb, on=ON)
    assert len(full.findings) > 2
    assert not any(s.stage == "bounds" for s in full.skips)
    monkeypatch.setattr(bounds, "ReviewLimits", _small)
    cut = review(BUILT / app, kb=kb, on=ON)
    assert len(cut.findings) == 2
    assert cut.findings == full.findings[:2]
    assert any(s.stage == "bounds" and s.locator == "findings" and f"kept 2 of {len(full.findings)}" in s.reason
               for s in cut.skips)


_LIMITS = bounds.ReviewLimits


def _small() -> bounds.ReviewLimits:
    return _LIMITS(items=2, nested_items=500)
