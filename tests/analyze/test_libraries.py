"""Open-source libraries hold their own code: their capabilities are not the app's, nor a vendor SDK's."""

from __future__ import annotations

from datetime import date

import pytest

from appvet.analyze.sdks import resolve_class
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.model import Entity, Library, Sdk
from appvet.model import FIRST_PARTY, Review, Source
from appvet.review import review
from tests.conftest import BUILT

ON = date(2026, 11, 29)


@pytest.fixture(scope="module")
def libs(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "libraries.apk", kb=kb, on=ON)


def test_androidx_location_call_is_held_by_androidx_not_first_party(libs: Review) -> None:
    by = {(c.category, c.holder): c for c in libs.capabilities}
    cap = by[("precise_location", "androidx")]
    assert cap.holder_kind == "library"
    assert any(e.locator.startswith("Landroidx/core/location/LocationManagerCompat;->") for e in cap.evidence)
    first = by[("precise_location", FIRST_PARTY)]
    assert all(e.locator.startswith("Lorg/example/libs/") for e in first.evidence)
    androidx = next(lib for lib in libs.libraries if lib.id == "androidx")
    assert [o.entity for o in androidx.owner_chain][:2] == ["android-open-source-project", "google"]


def test_capability_without_its_permission_is_present_not_reachable(libs: Review) -> None:
    for cap in libs.capabilities:
        if cap.category in ("precise_location", "coarse_location"):
            assert cap.confidence == "present", cap
            assert "ACCESS_FINE_LOCATION" in cap.note
    imei = [c for c in libs.capabilities if c.category == "device_identifiers"]
    assert imei and all(c.confidence == "present" and "READ_PHONE_STATE" in c.note for c in imei)
    camera = next(c for c in libs.capabilities if c.category == "camera" and c.holder == FIRST_PARTY)
    assert camera.confidence == "reachable" and camera.note == ""


def test_class_osmdroid_ships_under_microsofts_name_is_osmdroids(libs: Review) -> None:
    assert not [s for s in libs.sdks if "mappoint" in s.id or "microsoft" in s.id]
    osmdroid = next(lib for lib in libs.libraries if lib.id == "osmdroid")
    assert any(e.locator == "Lmicrosoft/mappoint/TileSystem;" for e in osmdroid.evidence)


def test_bundled_bspatch_is_a_library_not_a_vendor_sdk(libs: Review) -> None:
    assert not [s for s in libs.sdks if "bspatch" in s.id]
    bspatch = next(lib for lib in libs.libraries if lib.id == "bspatch")
    assert bspatch.matched_by == ("native-lib",)


def test_every_finding_names_its_holder(libs: Review) -> None:
    assert libs.findings
    for f in libs.findings:
        assert f.holder_kind in ("first-party", "sdk", "library", "app"), f
        assert (f.holder is None) == (f.holder_kind == "app"), f
    imei = next(f for f in libs.findings if f.rule == "AV202" and f.holder == "androidx")
    assert imei.holder_kind == "library" and imei.sdk is None
    assert "open-source library" in imei.message
    assert not [f for f in libs.findings if f.rule == "AV101"]


def _kb(sdk_prefixes: tuple[str, ...], lib_prefixes: tuple[str, ...], ships: tuple[str, ...] = ()) -> KnowledgeBase:
    src = (Source("https://example.org/", "2026-01-01"),)
    return KnowledgeBase(
        version="t", categories={}, apis=(),
        entities={"e": Entity(id="e", name="E", country_hq=None, country_inc=None, parent=None, sources=src)},
        sdks={"vendor": Sdk("vendor", "Vendor SDK", "e", ("ads",), sdk_prefixes, (), (), (), (), src)},
        libraries={"oss": Library("oss", "OSS", "e", "MIT", lib_prefixes, (), ships, src)},
    )


def test_longer_prefix_wins_between_sdk_and_library() -> None:
    kb = _kb(("com.example.lib.vendorpart.",), ("com.example.lib.",))
    assert resolve_class(kb, "com.example.lib.vendorpart.Ad", set()) == "vendor"
    assert resolve_class(kb, "com.example.lib.Util", set()) == "oss"
    kb = _kb(("com.example.",), ("com.example.lib.",))
    assert resolve_class(kb, "com.example.lib.Util", set()) == "oss"
    assert resolve_class(kb, "com.example.Other", set()) == "vendor"


def test_shipped_code_follows_the_library_only_when_it_is_present() -> None:
    kb = _kb(("microsoft.mappoint.",), ("org.osmdroid.",), ships=("microsoft.mappoint.",))
    assert resolve_class(kb, "microsoft.mappoint.TileSystem", {"oss"}) == "oss"
    assert resolve_class(kb, "microsoft.mappoint.TileSystem", set()) == "vendor"


def test_sdk_namespace_inside_the_apps_own_package_is_first_party() -> None:
    kb = _kb(("com.google.android.gms.ads.",), ("org.osmdroid.",))
    name = "com.google.android.gms.ads.settings.AdsSettingsActivity"
    # In an app that uses the SDK, the class is the SDK's ...
    assert resolve_class(kb, name, set(), "com.example.app") == "vendor"
    # ... in the app that owns the namespace (microG's com.google.android.gms), it is the app's own.
    assert resolve_class(kb, name, set(), "com.google.android.gms") is None
    # A sibling package that merely shares a prefix of the name is not inside the app.
    assert resolve_class(kb, name, set(), "com.google.android.gm") == "vendor"


def test_app_code_under_a_vendors_broad_prefix_is_first_party() -> None:
    kb = _kb(("com.umeng.",), ("org.osmdroid.",))
    assert resolve_class(kb, "com.umeng.demo.MainActivity", set(), "com.umeng.demo") is None
    assert resolve_class(kb, "com.umeng.analytics.Agent", set(), "com.umeng.demo") == "vendor"
