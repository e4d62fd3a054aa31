"""SDK matching: a component listed under the wrong SDK, and duplicate rows of one SDK."""

from __future__ import annotations

from datetime import date

import pytest

from appvet.analyze import sdks
from appvet.model import Evidence, Review, SdkHit
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


def _hit(kb, sdk_id: str, classes: int, descriptor: str) -> SdkHit:  # type: ignore[no-untyped-def]
    return SdkHit(id=sdk_id, name=kb.sdks[sdk_id].name, categories=(), owner_chain=(), jurisdictions=(),
                  class_count=classes, matched_by=("class-prefix",),
                  evidence=(Evidence("dex", "classes.dex", descriptor, "class defined"),),
                  sources=(f"https://example.org/{sdk_id}",))


def test_duplicate_rows_merge_into_the_hand_curated_row(kb) -> None:  # type: ignore[no-untyped-def]
    # Exodus's "Baidu Maps" and the hand-curated "Baidu Map SDK": one owner, one name once normalised.
    assert kb.sdks["exodus.baidu-maps"].owner == kb.sdks["baidu-map"].owner
    found = [_hit(kb, "exodus.baidu-maps", 3, "Lcom/baidu/BaiduMap;"),
             _hit(kb, "weibo-sdk", 1, "Lcom/sina/weibo/sdk/auth/AuthInfo;"),
             _hit(kb, "baidu-map", 2, "Lcom/baidu/mapapi/map/MapView;")]
    hits, aliases = sdks._merge_duplicates(kb, found)
    assert sorted(h.id for h in hits) == ["baidu-map", "weibo-sdk"]
    assert aliases == {"exodus.baidu-maps": "baidu-map"}
    baidu = next(h for h in hits if h.id == "baidu-map")
    assert baidu.class_count == 5
    assert {e.locator for e in baidu.evidence} == {"Lcom/baidu/BaiduMap;", "Lcom/baidu/mapapi/map/MapView;"}
    assert baidu.sources == ("https://example.org/baidu-map", "https://example.org/exodus.baidu-maps")
    # Code matched by the merged row is held by the row kept.
    attribution = sdks.Attribution(kb, {h.id for h in hits}, aliases=aliases)
    assert kb.sdk_for_class("com.baidu.BaiduMap") == "exodus.baidu-maps"
    assert attribution.holder("com.baidu.BaiduMap") == "baidu-map"
