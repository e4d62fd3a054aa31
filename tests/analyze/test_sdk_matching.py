"""SDK matching: a component listed under the wrong SDK, and duplicate rows of one SDK."""

from __future__ import annotations

from datetime import date

import pytest

from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT

ON = date(2026, 11, 29)


@pytest.fixture(scope="module")
def matched(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "sdkmatch.apk", kb=kb, on=ON)


def test_component_under_another_sdks_package_is_that_sdks(matched: Review, kb) -> None:  # type: ignore[no-untyped-def]
    # Umeng Update's service was once listed among Umeng Push's components; whichever row lists it, the
    # code under Umeng Update's package decides.
    assert kb.sdk_for_component("com.umeng.update.net.DownloadingService") in {"umeng-push", "umeng-update"}
    ids = [s.id for s in matched.sdks]
    assert "umeng-push" not in ids
    update = next(s for s in matched.sdks if s.id == kb.sdk_for_class("com.umeng.update.net.DownloadingService"))
    assert set(update.matched_by) == {"class-prefix", "component"}


def test_rows_of_one_sdk_from_different_imports_are_one_hit(matched: Review) -> None:
    weibo = [s for s in matched.sdks if "weibo" in s.id]
    assert [s.id for s in weibo] == ["weibo-sdk"]  # the hand-curated row wins over LibRadar's
    assert weibo[0].class_count == 2
    assert {e.locator for e in weibo[0].evidence} >= {"Lcom/sina/weibo/sdk/auth/AuthInfo;",
                                                       "Lcom/sina/weibo/WeiboAppManager;"}


def test_merged_row_holds_the_code_of_both(matched: Review) -> None:
    holders = {c.holder for c in matched.capabilities}
    assert "libradar.com-sina-weibo" not in holders
