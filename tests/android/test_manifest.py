"""Manifest model: exact facts from the aapt2-built fixture, its obfuscated twin, crafted cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android.arsc import parse_arsc
from appvet.android.manifest import Manifest, class_name, read_manifest
from appvet.errors import FormatError
from appvet.model import Component, ManifestSummary, Permission
from tests.android.data.axml import writers as w

DATA = Path(__file__).parent / "data" / "axml"


El, Attr = w.El, w.Attr

MANIFEST = (DATA / "AndroidManifest.xml").read_bytes()
OBFUSCATED = (DATA / "obfuscated" / "AndroidManifest.xml").read_bytes()
TABLE = parse_arsc((DATA / "resources.arsc").read_bytes())
SPARSE_TABLE = parse_arsc((DATA / "resources-sparse.arsc").read_bytes())

LONG = (
    "Données de test — 测试数据 — a value longer than one hundred and twenty-seven bytes so that the "
    "UTF-8 length needs two bytes in the pool."
)
COMPONENTS = (
    Component("activity", "org.appvet.fixture.MainActivity", True, ("android.intent.action.MAIN",)),
    Component("activity", "org.appvet.fixture.SettingsActivity", False),
    Component("activity-alias", "org.appvet.fixture.Launcher", True, ("android.intent.action.VIEW",)),
    Component(
        "service",
        "com.igexin.sdk.PushService",
        True,
        ("com.igexin.sdk.action.service.message",),
        permission="android.permission.BIND_JOB_SERVICE",
    ),
    Component(
        "receiver",
        "com.tencent.android.tpush.XGPushReceiver",
        None,
        ("com.tencent.android.xg.vip.action.SDK", "android.intent.action.BOOT_COMPLETED"),
    ),
    Component(
        "provider",
        "androidx.core.content.FileProvider",
        False,
        authorities="org.appvet.fixture.fileprovider;org.appvet.fixture.files",
    ),
)
PERMISSIONS = (
    Permission("android.permission.INTERNET"),
    Permission("android.permission.READ_CONTACTS"),
    Permission("android.permission.READ_EXTERNAL_STORAGE", max_sdk=32),
    Permission("android.permission.ACCESS_FINE_LOCATION", sdk23=True),
    Permission("android.permission.CAMERA", max_sdk=30, sdk23=True),
    Permission("org.appvet.fixture.permission.C2D_MESSAGE"),
)
QUERIES = ("com.tencent.mm", "android.intent.action.SEND", "com.facebook.katana.provider.PlatformProvider")

EXPECTED = Manifest(
    package="org.appvet.fixture",
    version_code="42",
    version_name="1.2.3-fixture",
    min_sdk="Tiramisu",
    target_sdk="34",
    label="Appvet Fixture",
    summary=ManifestSummary(
        permissions=PERMISSIONS,
        permissions_defined=("org.appvet.fixture.permission.C2D_MESSAGE",),
        components=COMPONENTS,
        queries=QUERIES,
        meta_data=(
            ("com.amap.api.v2.apikey", "0123456789abcdef0123456789abcdef"),
            ("UMENG_CHANNEL", "huawei_store"),
            ("com.google.android.gms.version", "12451000"),
            ("org.appvet.fixture.CONFIG", "res/xml/network_security_config.xml"),
            ("org.appvet.fixture.INT", "7"),
            ("org.appvet.fixture.BOOL", "true"),
            ("org.appvet.fixture.LONG", LONG),
        ),
        debuggable=True,
        allow_backup=False,
        uses_cleartext_traffic=True,
        network_security_config="res/xml/network_security_config.xml",
    ),
)


def test_fixture_manifest_with_resources() -> None:
    assert read_manifest(MANIFEST, resources=TABLE) == EXPECTED
    assert read_manifest(MANIFEST, resources=SPARSE_TABLE) == EXPECTED


def test_fixture_manifest_without_resources_keeps_references() -> None:
    manifest = read_manifest(MANIFEST)
    assert manifest.label == "@0x7f040000"
    assert manifest.summary.network_security_config == "@0x7f050000"
    assert dict(manifest.summary.meta_data)["UMENG_CHANNEL"] == "@0x7f040001"
    assert dict(manifest.summary.meta_data)["org.appvet.fixture.CONFIG"] == "@0x7f050000"
    assert manifest.summary.components == COMPONENTS


def test_obfuscated_manifest_reads_the_same() -> None:
    plain = read_manifest(MANIFEST, resources=TABLE)
    tricked = read_manifest(OBFUSCATED, resources=TABLE)
    assert tricked == plain
    assert tricked.element_paths == plain.element_paths


def test_locators_and_excerpts() -> None:
    manifest = read_manifest(MANIFEST, resources=TABLE)
    assert (
        manifest.locate("service", "com.igexin.sdk.PushService")
        == 'manifest/application/service[@android:name="com.igexin.sdk.PushService"]'
    )
    assert (
        manifest.locate("activity", "org.appvet.fixture.MainActivity")
        == 'manifest/application/activity[@android:name=".MainActivity"]'
    )
    assert (
        manifest.locate("uses-permission-sdk-23", "android.permission.CAMERA")
        == 'manifest/uses-permission-sdk-23[@android:name="android.permission.CAMERA"]'
    )
    assert (
        manifest.locate("queries", "com.facebook.katana.provider.PlatformProvider")
        == 'manifest/queries/provider[@android:authorities="com.facebook.katana.provider.PlatformProvider"]'
    )
    assert manifest.locate("meta-data", "UMENG_CHANNEL") == (
        'manifest/application/meta-data[@android:name="UMENG_CHANNEL"]'
    )
    assert manifest.locate("application") == "manifest/application"
    assert manifest.locate("service", "not.There") == "manifest"
    assert manifest.excerpt("service", "com.igexin.sdk.PushService") == (
        '<service android:name="com.igexin.sdk.PushService" android:permission="android.permission.'
        'BIND_JOB_SERVICE" android:exported="true" android:process=":pushservice" />'
    )
    assert manifest.excerpt("service", "com.igexin.sdk.PushService", limit=20) == '<service android:na…'
    assert manifest.excerpt("nothing") == ""


@pytest.mark.parametrize(
    ("package", "name", "expected"),
    [
        ("com.app", ".Main", "com.app.Main"),
        ("com.app", "Main", "com.app.Main"),
        ("com.app", "com.sdk.Push", "com.sdk.Push"),
        ("com.app", ".sub.Main", "com.app.sub.Main"),
        (None, ".Main", ".Main"),
    ],
)
def test_class_name(package: str | None, name: str, expected: str) -> None:
    assert class_name(package, name) == expected


# ---- crafted manifests ---------------------------------------------------------------------


def manifest(*children: El, attrs: list[Attr] | None = None) -> bytes:
    root_attrs = [Attr("package", "com.app", ns=None), *(attrs or [])]
    return w.axml(El("manifest", root_attrs, list(children)))


def test_sdk_codenames_and_target_default() -> None:
    m = read_manifest(manifest(El("uses-sdk", [Attr("minSdkVersion", "Q")])))
    assert (m.min_sdk, m.target_sdk) == ("Q", "Q")
    m = read_manifest(manifest(El("uses-sdk", [Attr("minSdkVersion", 21), Attr("targetSdkVersion", "Tiramisu")])))
    assert (m.min_sdk, m.target_sdk) == ("21", "Tiramisu")
    m = read_manifest(manifest())
    assert (m.min_sdk, m.target_sdk, m.version_code, m.label) == (None, None, None, None)


def test_long_version_code() -> None:
    m = read_manifest(manifest(attrs=[Attr("versionCode", 5), Attr("versionCodeMajor", 2)]))
    assert m.version_code == str((2 << 32) | 5)
    assert read_manifest(manifest(attrs=[Attr("versionCode", -1)])).version_code == "4294967295"
    assert read_manifest(manifest(attrs=[Attr("versionCode", "12")])).version_code == "12"


def test_first_application_only_and_components_need_names() -> None:
    first = El(
        "application",
        [],
        [
            El("service", [Attr("name", "Sync"), Attr("exported", "TRUE")]),
            El("receiver", [Attr("exported", True)]),
            El("provider", [Attr("name", "p.P"), Attr("authorities", "a;b"), Attr("permission", "perm")]),
            El("meta-data", [Attr("name", "k"), Attr("resource", (0x01, 0x7F040000))]),
            El("meta-data", [Attr("value", "nameless")]),
        ],
    )
    second = El("application", [], [El("activity", [Attr("name", ".Ignored")])])
    m = read_manifest(manifest(first, second))
    assert m.summary.components == (
        Component("service", "com.app.Sync", True),
        Component("provider", "p.P", None, permission="perm", authorities="a;b"),
    )
    assert m.summary.meta_data == (("k", "@0x7f040000"),)
    assert read_manifest(manifest(first), resources=TABLE).summary.meta_data == (("k", "Appvet Fixture"),)


def test_permissions_only_at_top_level_and_deduplicated() -> None:
    doc = manifest(
        El("uses-permission", [Attr("name", "A"), Attr("maxSdkVersion", "28")]),
        El("uses-permission", [Attr("name", "A"), Attr("maxSdkVersion", "28")]),
        El("uses-permission-sdk-m", [Attr("name", "B")]),
        El("uses-permission", [Attr("maxSdkVersion", 1)]),
        El("application", [], [El("uses-permission", [Attr("name", "Nested")])]),
    )
    assert read_manifest(doc).summary.permissions == (Permission("A", 28), Permission("B", sdk23=True))


def test_flags_from_bool_resources_and_strings() -> None:
    app = El(
        "application",
        [Attr("debuggable", (0x01, 0x7F020000)), Attr("allowBackup", "false"), Attr("usesCleartextTraffic", 0)],
    )
    m = read_manifest(manifest(app), resources=TABLE)
    assert (m.summary.debuggable, m.summary.allow_backup, m.summary.uses_cleartext_traffic) == (True, False, False)
    unresolved = read_manifest(manifest(app))
    assert unresolved.summary.debuggable is None


def test_queries_split_authorities() -> None:
    queries = El(
        "queries",
        [],
        [
            El("provider", [Attr("authorities", "x.a; x.b")]),
            El("package", [Attr("name", "com.tencent.mm")]),
            El("package", [Attr("name", "com.tencent.mm")]),
        ],
    )
    assert read_manifest(manifest(queries)).summary.queries == ("x.a", "x.b", "com.tencent.mm")


def test_root_must_be_manifest() -> None:
    with pytest.raises(FormatError, match="root element is <resources>") as info:
        read_manifest(w.axml(El("resources")), "AndroidManifest.xml")
    assert info.value.file == "AndroidManifest.xml"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([MANIFEST, OBFUSCATED]), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255))))
def test_mutated_manifests_give_a_model_or_format_error(base: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(base)
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        result = read_manifest(bytes(data), resources=TABLE)
    except FormatError:
        return
    assert isinstance(result, Manifest)
