"""Compiled lookups: class prefixes, hosts, sensitive APIs, permissions."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from appvet.kb import DataCategoryInfo, Entity, KnowledgeBase, Sdk, SensitiveApi, load_kb
from appvet.model import Source

SRC = (Source("https://example.org/", "2026-01-01"),)


def _sdk(ident: str, prefixes: tuple[str, ...] = (), weak: tuple[str, ...] = (), **kw: tuple[str, ...]) -> Sdk:
    return Sdk(
        id=ident,
        name=ident,
        owner="owner",
        categories=("ads",),
        class_prefixes=prefixes,
        native_libs=kw.get("libs", ()),
        meta_data=kw.get("meta", ()),
        components=kw.get("comps", ()),
        domains=kw.get("domains", ()),
        sources=SRC,
        weak_prefixes=weak,
    )


def _kb(*sdks: Sdk) -> KnowledgeBase:
    owner = Entity("owner", "Owner", "US", None, None, SRC, domains=("owner.example",))
    return KnowledgeBase(
        version="2026-01-01+00000000",
        entities={"owner": owner},
        sdks={s.id: s for s in sdks},
        categories={"sms": DataCategoryInfo("sms", "SMS", "messages", ("android.permission.READ_SMS",))},
        apis=[SensitiveApi("string", "content://sms", "sms", SRC)],
    )


def test_longest_prefix_wins() -> None:
    kb = _kb(
        _sdk("outer", ("com.a.",)),
        _sdk("inner", ("com.a.b.",)),
        _sdk("one-class", ("com.a.b.Special",)),
    )
    assert kb.sdk_for_class("com.a.b.C") == "inner"
    assert kb.sdk_for_class("com.a.b.deep.er.C") == "inner"
    assert kb.sdk_for_class("com.a.x.C") == "outer"
    assert kb.sdk_for_class("com.a.C") == "outer"
    assert kb.sdk_for_class("com.a.b.Special") == "one-class"
    assert kb.sdk_for_class("com.a.b.Special$Inner$1") == "one-class"
    assert kb.sdk_for_class("com.a.b.Specialist") == "inner"
    # A prefix is a whole package: com.ab is not inside com.a.
    assert kb.sdk_for_class("com.ab.C") is None
    assert kb.sdk_for_class("Toplevel") is None
    assert kb.sdk_for_class("") is None


def test_memo_does_not_change_answers() -> None:
    kb = _kb(_sdk("outer", ("com.a.",)), _sdk("inner", ("com.a.b.",)))
    for _ in range(3):
        assert kb.sdk_for_class("com.a.b.C") == "inner"
        assert kb.sdk_for_class("com.a.C") == "outer"


def test_weak_prefixes_are_separate() -> None:
    kb = _kb(_sdk("vendor", ("com.vendor.ads.",), weak=("com.vendor.",)))
    assert kb.sdk_for_class("com.vendor.util.X") is None
    assert kb.weak_sdk_for_class("com.vendor.util.X") == "vendor"
    assert kb.sdk_for_class("com.vendor.ads.X") == "vendor"


def test_later_sdk_wins_a_shared_signature() -> None:
    kb = _kb(_sdk("imported", ("com.dup.",), libs=("libdup.so",)), _sdk("curated", ("com.dup.",), libs=("libdup.so",)))
    assert kb.sdk_for_class("com.dup.X") == "curated"
    assert kb.sdk_for_native_lib("lib/arm64-v8a/libdup.so") == "curated"


def test_other_signature_kinds() -> None:
    kb = _kb(_sdk("s", libs=("libs.so",), meta=("S_KEY",), comps=("com.s.PushService",), domains=("s-cdn.example",)))
    assert kb.sdk_for_native_lib("libs.so") == "s"
    assert kb.sdk_for_native_lib("libother.so") is None
    assert kb.sdk_for_meta_data("S_KEY") == "s"
    assert kb.sdk_for_component("com.s.PushService") == "s"
    assert kb.sdk_for_component("com.s.Other") is None
    assert kb.sdk_for_host("x.s-cdn.example") == "s"
    assert kb.entity_for_host("x.s-cdn.example") == "owner"


def test_entity_for_host_walks_parent_domains() -> None:
    kb = load_kb()
    assert kb.entity_for_host("a.b.umeng.com") == "umeng"
    assert kb.entity_for_host("umeng.com") == "umeng"
    assert kb.entity_for_host("A.B.UMENG.COM.") == "umeng"
    assert kb.entity_for_host("graph.facebook.com") == "meta"
    assert kb.entity_for_host("umeng.com.evil.example") is None
    assert kb.entity_for_host("com") is None
    assert kb.entity_for_host("") is None
    # The exact host beats its parent domain.
    assert kb.entity_for_host("api.pangleglobal.com") == "bytedance-sg"


def test_packaged_class_signatures() -> None:
    kb = load_kb()
    assert kb.sdk_for_class("com.umeng.analytics.MobclickAgent") == "umeng-analytics"
    assert kb.sdk_for_class("com.umeng.message.PushAgent") == "umeng-push"
    assert kb.sdk_for_class("com.bytedance.sdk.openadsdk.TTAdSdk") == "pangle"
    assert kb.sdk_for_class("com.tencent.mm.opensdk.openapi.WXAPIFactory") == "wechat-opensdk"
    assert kb.sdk_for_class("com.igexin.sdk.PushManager") == "getui"
    assert kb.sdk_for_class("com.google.firebase.analytics.FirebaseAnalytics") == "firebase-analytics"
    assert kb.sdk_for_class("com.facebook.react.ReactActivity") is None
    assert kb.weak_sdk_for_class("com.facebook.react.ReactActivity") == "facebook-core"
    assert kb.sdk_for_native_lib("libmsaoaidsec.so") == "msa-oaid"
    assert kb.sdk_for_meta_data("UMENG_APPKEY") == "umeng-analytics"
    assert kb.sdk_for_meta_data("JPUSH_APPKEY") == "jpush"
    assert kb.sdk_for_meta_data("com.huawei.hms.client.appid") == "huawei-hms-core"
    assert kb.sdk_for_component("com.igexin.sdk.PushService") == "getui"


def test_method_and_field_catalogue() -> None:
    kb = load_kb()
    tm = "Landroid/telephony/TelephonyManager;"
    assert kb.method_categories(tm, "getLine1Number") == ("phone_number",)
    assert kb.method_categories(tm, "getImei") == ("device_identifiers",)
    assert kb.method_categories(tm, "getSubscriberId") == ("sim_identifiers",)
    assert kb.method_categories(tm, "getPhoneType") == ()
    assert set(
        kb.method_categories("Lcom/google/android/gms/location/FusedLocationProviderClient;", "getLastLocation")
    ) == {
        "precise_location",
        "coarse_location",
    }
    assert kb.method_categories("Landroid/content/ClipboardManager;", "getPrimaryClip") == ("clipboard",)
    assert kb.method_categories("Landroid/content/pm/PackageManager;", "getInstalledPackages") == ("installed_apps",)
    assert kb.method_categories("Lcom/google/mlkit/vision/face/FaceDetection;", "getClient") == ("face_biometrics",)
    assert kb.field_categories("Landroid/provider/ContactsContract$Contacts;", "CONTENT_URI") == (
        "contacts_social_graph",
    )
    assert kb.field_categories("Landroid/provider/CallLog$Calls;", "CONTENT_URI") == ("call_log",)
    assert kb.field_categories("Landroid/provider/ContactsContract$Contacts;", "DISPLAY_NAME") == ()


def test_string_prefixes_respect_uri_boundaries() -> None:
    kb = load_kb()
    assert kb.string_categories("content://com.android.contacts/data/phones") == ("contacts_social_graph",)
    assert kb.string_categories("content://contacts") == ("contacts_social_graph",)
    assert kb.string_categories("content://sms/inbox") == ("sms",)
    assert kb.string_categories("content://call_log/calls") == ("call_log",)
    assert kb.string_categories("content://smsx") == ()
    assert kb.string_categories("hello") == ()


def test_permissions() -> None:
    kb = load_kb()
    assert kb.permission_categories("android.permission.ACCESS_FINE_LOCATION") == ("precise_location",)
    assert kb.permission_categories("ACCESS_COARSE_LOCATION") == ("coarse_location",)
    assert "phone_number" in kb.permission_categories("android.permission.READ_PHONE_NUMBERS")
    assert kb.permission_categories("android.permission.QUERY_ALL_PACKAGES") == ("installed_apps",)
    assert kb.permission_categories("android.permission.INTERNET") == ()


def test_class_lookup_is_fast() -> None:
    kb = load_kb()
    names = [f"com.example.pkg{i % 500}.sub{i % 7}.Class{i}" for i in range(100_000)]
    names += [f"com.umeng.analytics.pkg{i % 50}.C{i}" for i in range(20_000)]
    start = time.perf_counter()
    hits = sum(1 for n in names if kb.sdk_for_class(n))
    elapsed = time.perf_counter() - start
    assert hits == 20_000
    assert elapsed < 1.0, elapsed


@given(st.text(max_size=200))
def test_lookups_never_raise(text: str) -> None:
    kb = _kb(_sdk("outer", ("com.a.",), domains=("a.example",)))
    kb.sdk_for_class(text)
    kb.weak_sdk_for_class(text)
    kb.entity_for_host(text)
    kb.sdk_for_host(text)
    kb.string_categories(text)
    kb.permission_categories(text)
    kb.sdk_for_native_lib(text)
