#!/usr/bin/env python3
"""Build a large synthetic APK that stands in for a TikTok-sized app in the benchmarks.

Real apps of that size cannot be committed (licences, size), and a benchmark on a toy APK says
nothing about how a tool scales. This script writes smali text for a few hundred thousand lines of
plausible code and assembles it with the same tools an Android repackager uses: Debian's apktool
(smali + aapt), zipalign and apksigner, with a throwaway key made by keytool.

What the code looks like, and why:
- Classes sit under the package layouts of SDKs that big apps embed (Umeng, Pangle, Tencent,
  Facebook, Firebase, Huawei HMS, OkHttp, AndroidX), a first-party ``com.example.big`` tree, and
  ProGuard-style ``a/b/c`` packages, so that SDK attribution has real prefixes to match.
- Methods call each other with invoke-virtual/static/direct/interface (and their /range forms),
  read static and instance fields, build strings and URLs, and hold packed/sparse switches and
  array data: the instruction mix an analyser must decode, not empty stubs.
- A small share of methods call sensitive framework APIs (device identifiers, location,
  installed packages, contacts, clipboard, ...) from inside the SDK that would call them.
- Calls mostly stay near their caller (as in real code), so each dex file keeps well under the
  65,536 method-reference limit; the generator checks that limit before assembling.

Everything is drawn from one seeded ``random.Random``, so the smali (and therefore every dex file)
is the same for the same parameters; only the APK signature differs between builds because each
build signs with a fresh key. Built APKs are cached under bench/out/, keyed by the parameters and
a hash of this file.

Shapes (``--shape``): besides the default mix, apps made mostly of one thing that costs analysers:
distinct URLs, deep call chains, wide fan-out, many small classes, few huge methods, many SDK
packages, obfuscated names, multidex with cross-dex calls, heavy native libraries, big resource
tables (see ``SHAPES``); ``bench/shapes.py`` measures them.

Usage: bench/synth.py [--methods N] [--dex-files K] [--seed S] [--shape NAME] [--force] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out"
DEFAULT_METHODS = 150_000
# A dex file may reference at most 65,536 methods; keep defined methods well below that so the
# references each method makes to framework and neighbouring code still fit.
METHODS_PER_DEX = 32_000
DEX_REF_LIMIT = 65_536
KEY_PASSWORD = "synthetic-bench"
PACKAGE = "com.example.big"


class SynthError(RuntimeError):
    """A tool failed or the generated code would not fit in the requested dex files."""


# --------------------------------------------------------------------------- vocabulary

NOUNS = (
    "Config", "Event", "Request", "Response", "Session", "Device", "Network", "Cache", "Report",
    "Upload", "Feed", "Video", "Player", "Render", "Account", "Token", "Message", "Push", "Ad",
    "Reward", "Splash", "Banner", "Track", "Log", "Crash", "Storage", "Image", "Download",
    "Location", "Setting", "Profile", "Share", "Login", "Channel", "Task", "Worker", "Policy",
    "Metric", "Beacon", "Stream", "Socket", "Header", "Body", "Codec", "Frame", "Filter", "View",
)
ROLES = (
    "Manager", "Helper", "Impl", "Builder", "Handler", "Controller", "Provider", "Service", "Client",
    "Factory", "Adapter", "Listener", "Callback", "Util", "Wrapper", "Holder", "Dispatcher", "Model",
)
VERBS = (
    "get", "set", "load", "send", "build", "parse", "init", "report", "check", "update", "fetch",
    "put", "read", "write", "start", "stop", "handle", "notify", "register", "resolve", "encode",
)
SUBPACKAGES = (
    "core", "api", "internal", "net", "util", "model", "ui", "impl", "config", "data", "log",
    "event", "cache", "http", "common", "base", "widget", "service",
)
WORDS = (
    "user_id", "device_model", "os_version", "app_version", "channel", "timestamp", "session_id",
    "event_name", "ad_slot", "request_id", "network_type", "carrier", "language", "region",
    "install_id", "open_udid", "resolution", "dpi", "battery", "sdk_version", "retry", "success",
    "failed", "timeout", "enabled", "disabled", "unknown", "default", "cache_hit", "upload done",
    "start load", "parse error", "init finished", "empty response", "invalid token",
)


@dataclass(frozen=True)
class Group:
    """One body of code: an embedded SDK, the first-party app or anonymous obfuscated code."""

    name: str
    roots: tuple[str, ...]
    """Package roots in slash form (``com/umeng/analytics``)."""
    weight: float
    """Share of all generated methods."""
    hosts: tuple[str, ...] = ()
    """Base URLs its const-strings use."""
    sensitive: tuple[str, ...] = ()
    """Keys of SENSITIVE snippets this code calls."""
    entry_classes: tuple[tuple[str, str], ...] = ()
    """Well-known classes (descriptor body, framework base or "") generated first."""
    obfuscated: float = 0.5
    """Share of classes with ProGuard-style names."""


GROUPS: tuple[Group, ...] = (
    Group(
        "first-party", ("com/example/big/feed", "com/example/big/video", "com/example/big/account",
                        "com/example/big/live", "com/example/big/share", "com/example/big/im",
                        "com/example/big/net", "com/example/big/ecom"),
        0.18,
        ("https://api.example-big.com/aweme/v1", "https://log.example-big.com/service/2/app_log",
         "https://cdn.example-big-static.com/obj"),
        ("location", "contacts", "contacts_raw", "device_id", "clipboard", "installed", "camera",
         "accounts", "microphone"),
        (("com/example/big/MainActivity", "Landroid/app/Activity;"),
         ("com/example/big/BigApplication", "Landroid/app/Application;")),
        obfuscated=0.3,
    ),
    Group(
        "pangle", ("com/bytedance/sdk/openadsdk/core", "com/bytedance/sdk/openadsdk/api",
                   "com/bytedance/sdk/openadsdk/component", "com/bytedance/sdk/openadsdk/utils",
                   "com/bytedance/sdk/component/adnet", "com/bytedance/sdk/component/net"),
        0.14,
        ("https://api-access.pangolin-sdk-toutiao.com/api/ad/union/sdk", "https://is.snssdk.com/api",
         "https://log-api.pangolin-sdk-toutiao.com/service/2/app_log"),
        ("device_id", "installed", "location", "wifi", "subscriber", "android_id", "running"),
        (("com/bytedance/sdk/openadsdk/TTAdSdk", ""),
         ("com/bytedance/sdk/openadsdk/TTAdConfig", "")),
    ),
    Group(
        "umeng", ("com/umeng/analytics", "com/umeng/commonsdk/statistics", "com/umeng/commonsdk/utils",
                  "com/umeng/message", "com/umeng/socialize"),
        0.06,
        ("https://ulogs.umeng.com/unify_logs", "https://alogus.umeng.com/unify_logs",
         "https://plbslog.umeng.com"),
        ("device_id", "wifi", "installed", "android_id", "mac"),
        (("com/umeng/analytics/MobclickAgent", ""), ("com/umeng/commonsdk/UMConfigure", ""),
         ("com/umeng/message/UmengMessageService", "Landroid/app/Service;")),
    ),
    Group(
        "tencent", ("com/tencent/mm/opensdk", "com/tencent/bugly/crashreport", "com/tencent/smtt/sdk",
                    "com/tencent/tauth", "com/tencent/mmkv", "com/tencent/liteav"),
        0.10,
        ("https://android.bugly.qq.com/rqd/async", "https://api.weixin.qq.com/sns",
         "https://graph.qq.com/oauth2.0", "https://wup.imtt.qq.com"),
        ("device_id", "line1", "location", "running", "android_id"),
        (("com/tencent/mm/opensdk/openapi/WXAPIFactory", ""),
         ("com/tencent/bugly/crashreport/CrashReport", "")),
    ),
    Group(
        "facebook", ("com/facebook/ads/internal", "com/facebook/internal", "com/facebook/login",
                     "com/facebook/share", "com/facebook/appevents", "com/facebook/react/bridge"),
        0.09,
        ("https://graph.facebook.com/v16.0", "https://an.facebook.com/placementid",
         "https://connect.facebook.net/en_US"),
        ("adid", "installed"),
        (("com/facebook/FacebookSdk", ""), ("com/facebook/ads/AudienceNetworkAds", "")),
    ),
    Group(
        "firebase", ("com/google/firebase/analytics", "com/google/firebase/messaging",
                     "com/google/firebase/crashlytics/internal", "com/google/firebase/installations",
                     "com/google/firebase/remoteconfig", "com/google/firebase/components"),
        0.08,
        ("https://firebaseinstallations.googleapis.com/v1/projects", "https://app-measurement.com/a",
         "https://firebase-settings.crashlytics.com/spi/v2", "https://fcm.googleapis.com/fcm/send"),
        ("adid",),
        (("com/google/firebase/analytics/FirebaseAnalytics", ""),
         ("com/google/firebase/messaging/FirebaseMessagingService", "Landroid/app/Service;")),
    ),
    Group(
        "huawei", ("com/huawei/hms/push", "com/huawei/hms/analytics", "com/huawei/hms/location",
                   "com/huawei/hms/ads", "com/huawei/hms/framework/common", "com/huawei/hms/support/api"),
        0.07,
        ("https://metrics1.data.hicloud.com:6447", "https://grs.dbankcloud.com/grs",
         "https://push-drcn.dbankcloud.com"),
        ("location", "device_id", "serial", "wifi"),
        (("com/huawei/hms/push/HmsMessageService", "Landroid/app/Service;"),
         ("com/huawei/hms/analytics/HiAnalytics", "")),
    ),
    Group(
        "androidx", ("androidx/core/app", "androidx/recyclerview/widget", "androidx/fragment/app",
                     "androidx/lifecycle", "androidx/appcompat/widget"),
        0.05, (), (), (), obfuscated=0.0,
    ),
    Group("okhttp", ("okhttp3", "okhttp3/internal/http", "okio"), 0.03,
          ("https://example.invalid",), (), (), obfuscated=0.0),
    Group("obfuscated", ("a", "b", "c", "X"), 0.20,
          ("https://mon.example-big.com/monitor/collect", "https://sdk.example-cdn.net/v3"),
          ("device_id", "android_id", "installed"), (), obfuscated=1.0),
)

# Signatures a generated method may have. The last one needs 6-7 registers, so every call to it
# is an invoke-*/range, as javac/d8 output has for long parameter lists.
SIGNATURES = (
    "()V", "()Ljava/lang/String;", "(I)I", "(Ljava/lang/String;)V", "(Ljava/lang/String;)Z",
    "(Landroid/content/Context;)V", "(Ljava/lang/String;I)Ljava/lang/String;", "(J)V", "()J", "()Z",
    "(Ljava/util/Map;)V", "(Landroid/content/Context;Ljava/lang/String;)Z",
    "(Ljava/lang/String;Ljava/lang/String;IIJ)V",
)

# Smali snippets that reach a personal-data API. ``{ctx}`` becomes an instruction loading a
# Context into v4, ``{n}`` a per-method label counter. They use v1-v7 only.
SENSITIVE: dict[str, str] = {
    "device_id": """{ctx}
    const-string v5, "phone"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/telephony/TelephonyManager;
    invoke-virtual {{v1}}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    move-result-object v2
""",
    "line1": """{ctx}
    const-string v5, "phone"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/telephony/TelephonyManager;
    invoke-virtual {{v1}}, Landroid/telephony/TelephonyManager;->getLine1Number()Ljava/lang/String;
    move-result-object v2
""",
    "subscriber": """{ctx}
    const-string v5, "phone"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/telephony/TelephonyManager;
    invoke-virtual {{v1}}, Landroid/telephony/TelephonyManager;->getSubscriberId()Ljava/lang/String;
    move-result-object v2
""",
    "location": """{ctx}
    const-string v5, "location"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/location/LocationManager;
    const-string v2, "gps"
    invoke-virtual {{v1, v2}}, {last_location}
    move-result-object v3
    if-eqz v3, :loc_none_{n}
    invoke-virtual {{v3}}, Landroid/location/Location;->getLatitude()D
    move-result-wide v4
    invoke-virtual {{v3}}, Landroid/location/Location;->getLongitude()D
    move-result-wide v6
    :loc_none_{n}
""",
    "installed": """{ctx}
    invoke-virtual {{v4}}, Landroid/content/Context;->getPackageManager()Landroid/content/pm/PackageManager;
    move-result-object v1
    const/4 v2, 0x0
    invoke-virtual {{v1, v2}}, Landroid/content/pm/PackageManager;->getInstalledPackages(I)Ljava/util/List;
    move-result-object v3
    invoke-interface {{v3}}, Ljava/util/List;->size()I
    move-result v2
""",
    "contacts": """{ctx}
    invoke-virtual {{v4}}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    sget-object v2, Landroid/provider/ContactsContract$CommonDataKinds$Phone;->CONTENT_URI:Landroid/net/Uri;
    const/4 v3, 0x0
    const/4 v4, 0x0
    const/4 v5, 0x0
    const/4 v6, 0x0
    invoke-virtual/range {{v1 .. v6}}, {query}
    move-result-object v7
""",
    "contacts_raw": """{ctx}
    invoke-virtual {{v4}}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    sget-object v2, Landroid/provider/ContactsContract$Contacts;->CONTENT_URI:Landroid/net/Uri;
    const/4 v3, 0x0
    const/4 v4, 0x0
    const/4 v5, 0x0
    const/4 v6, 0x0
    invoke-virtual/range {{v1 .. v6}}, {query}
    move-result-object v7
""",
    "android_id": """{ctx}
    invoke-virtual {{v4}}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    sget-object v2, Landroid/provider/Settings$Secure;->ANDROID_ID:Ljava/lang/String;
    invoke-static {{v1, v2}}, {secure_get}
    move-result-object v3
""",
    "wifi": """{ctx}
    const-string v5, "wifi"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/net/wifi/WifiManager;
    invoke-virtual {{v1}}, Landroid/net/wifi/WifiManager;->getConnectionInfo()Landroid/net/wifi/WifiInfo;
    move-result-object v2
    invoke-virtual {{v2}}, Landroid/net/wifi/WifiInfo;->getSSID()Ljava/lang/String;
    move-result-object v3
""",
    "mac": """{ctx}
    const-string v5, "wifi"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/net/wifi/WifiManager;
    invoke-virtual {{v1}}, Landroid/net/wifi/WifiManager;->getConnectionInfo()Landroid/net/wifi/WifiInfo;
    move-result-object v2
    invoke-virtual {{v2}}, Landroid/net/wifi/WifiInfo;->getMacAddress()Ljava/lang/String;
    move-result-object v3
""",
    "clipboard": """{ctx}
    const-string v5, "clipboard"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/content/ClipboardManager;
    invoke-virtual {{v1}}, Landroid/content/ClipboardManager;->getPrimaryClip()Landroid/content/ClipData;
    move-result-object v2
""",
    "running": """{ctx}
    const-string v5, "activity"
    invoke-virtual {{v4, v5}}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/app/ActivityManager;
    invoke-virtual {{v1}}, Landroid/app/ActivityManager;->getRunningAppProcesses()Ljava/util/List;
    move-result-object v2
""",
    "camera": """
    invoke-static {{}}, Landroid/hardware/Camera;->open()Landroid/hardware/Camera;
    move-result-object v1
""",
    "microphone": """
    new-instance v1, Landroid/media/MediaRecorder;
    invoke-direct {{v1}}, Landroid/media/MediaRecorder;-><init>()V
    const/4 v2, 0x1
    invoke-virtual {{v1, v2}}, Landroid/media/MediaRecorder;->setAudioSource(I)V
""",
    "accounts": """{ctx}
    invoke-static {{v4}}, {account_manager}
    move-result-object v1
    invoke-virtual {{v1}}, Landroid/accounts/AccountManager;->getAccounts()[Landroid/accounts/Account;
    move-result-object v2
""",
    "serial": """
    invoke-static {{}}, Landroid/os/Build;->getSerial()Ljava/lang/String;
    move-result-object v1
""",
    "adid": """{ctx}
    invoke-static {{v4}}, {adid_info}
    move-result-object v1
    invoke-virtual {{v1}}, Lcom/google/android/gms/ads/identifier/AdvertisingIdClient$Info;->getId()Ljava/lang/String;
    move-result-object v2
""",
}
# Long member references the snippets name by placeholder, to keep the lines short.
REFS = {
    "last_location": "Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)"
                     "Landroid/location/Location;",
    "query": "Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;"
             "[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;",
    "secure_get": "Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;"
                  "Ljava/lang/String;)Ljava/lang/String;",
    "account_manager": "Landroid/accounts/AccountManager;->get(Landroid/content/Context;)"
                       "Landroid/accounts/AccountManager;",
    "adid_info": "Lcom/google/android/gms/ads/identifier/AdvertisingIdClient;->getAdvertisingIdInfo("
                 "Landroid/content/Context;)Lcom/google/android/gms/ads/identifier/AdvertisingIdClient$Info;",
}

# Framework bases a class may extend, with the override it then carries.
BASES: dict[str, tuple[str, str]] = {
    "Landroid/app/Activity;": ("onCreate", "(Landroid/os/Bundle;)V"),
    "Landroid/app/Application;": ("onCreate", "()V"),
    "Landroid/app/Service;": ("onBind", "(Landroid/content/Intent;)Landroid/os/IBinder;"),
    "Ljava/lang/Thread;": ("run", "()V"),
}

# Code only ever stays within this many classes of its caller, except for calls to group hubs.
CALL_WINDOW = 24
SENSITIVE_RATE = 0.006


# --------------------------------------------------------------------------- model


@dataclass
class Method:
    name: str
    sig: str
    kind: str
    """"static", "virtual", "direct" (private) or "abstract" (interface)."""


@dataclass
class ClassSpec:
    descriptor: str
    group: int
    interface: bool = False
    superclass: str = "Ljava/lang/Object;"
    interfaces: list[str] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    has_clinit: bool = False
    is_hub: bool = False


@dataclass
class Plan:
    classes: list[ClassSpec]
    hubs: dict[int, str]
    """Group index -> descriptor of its hub class (holds the shared Context)."""


@dataclass(frozen=True)
class BuildResult:
    apk: Path
    stats: dict[str, object]


@dataclass(frozen=True)
class Shape:
    """What kind of app to generate; ``mixed`` is the default mix described at the top."""

    name: str = "mixed"
    distinct_urls: bool = False
    """Every string constant is its own URL, on one of many hosts (thousands of distinct hosts)."""
    fill: tuple[int, int] = (2, 6)
    """Statements per method body (calls, framework use, fields, strings)."""
    call_share: float = 0.5
    """Share of those statements that call another method of the app."""
    methods_per_class: tuple[int, int] = (3, 13)
    chain: bool = False
    """Each method first calls a method of the next class: call chains as long as a body of code."""
    obfuscated: float | None = None
    """Share of classes with ProGuard-style names, for every body of code (``None``: per group)."""
    sdk_packages: int = 0
    """Extra bodies of code under the class prefixes of that many SDKs from the knowledge base."""
    interleave_dex: bool = False
    """Deal classes to dex files in turn, so most calls cross from one dex file to another."""
    native_libs: int = 0
    """Copy that many of the machine's shared libraries into lib/x86_64/ (real ELF files)."""
    resource_strings: int = 0
    """String resources in res/values (a big resources.arsc)."""


SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape(),
    Shape("urls", distinct_urls=True),
    Shape("deep-chains", chain=True),
    Shape("fan-out", fill=(12, 20), call_share=0.85),
    Shape("small-classes", methods_per_class=(1, 2)),
    Shape("huge-methods", fill=(30, 50), methods_per_class=(1, 3)),
    Shape("many-sdks", sdk_packages=80),
    Shape("obfuscated", obfuscated=1.0),
    Shape("multidex", interleave_dex=True),
    Shape("native", native_libs=16),
    Shape("resources", resource_strings=60_000),
)}
SHAPE = SHAPES["mixed"]
"""The shape being generated; set by ``build``."""
_EXTRA_GROUPS: list[Group] = []


def _sdk_groups(count: int) -> list[Group]:
    """Bodies of code under the class prefixes the knowledge base knows SDKs by (first ``count`` SDKs)."""
    rows = json.loads((HERE.parent / "src" / "appvet" / "kb" / "data" / "sdks.json").read_text())["rows"]
    out = []
    weight = 0.6 / max(1, count)  # together 60% of the default groups' weight: the app grows by that much
    for row in rows[:count]:
        roots = tuple(p.rstrip(".").replace(".", "/") for p in row.get("class_prefixes", ()) if p.count(".") >= 2)
        if roots:
            out.append(Group(f"sdk-{row['id']}", roots, weight, (f"https://api.{row['id']}.example.com",),
                             obfuscated=0.2))
    return out


def all_groups() -> tuple[Group, ...]:
    return GROUPS + tuple(_EXTRA_GROUPS)
_URL_COUNTER = [0]


# --------------------------------------------------------------------------- planning


def _camel(rng: random.Random) -> str:
    return rng.choice(NOUNS) + rng.choice(NOUNS) + rng.choice(ROLES)


def _short_name(index: int) -> str:
    """ProGuard's naming order: a..z, then aa, ab, ..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = letters[rem] + name
    return name


def _method_name(rng: random.Random, obfuscated: bool, used: set[str], index: int) -> str:
    if obfuscated:
        return _short_name(index)
    for _ in range(8):
        name = rng.choice(VERBS) + rng.choice(NOUNS)
        if name not in used:
            return name
    return f"{rng.choice(VERBS)}{rng.choice(NOUNS)}{index}"


def _class_names(rng: random.Random, group: Group, count: int) -> list[str]:
    names: list[str] = [name for name, _ in group.entry_classes]
    seen = set(names)
    obf_counter: dict[str, int] = {}
    while len(names) < count:
        root = rng.choice(group.roots)
        if rng.random() < (group.obfuscated if SHAPE.obfuscated is None else SHAPE.obfuscated):
            depth = rng.randint(0, 2)
            pkg = root + "".join("/" + _short_name(rng.randrange(8)) for _ in range(depth))
            n = obf_counter.get(pkg, 0)
            obf_counter[pkg] = n + 1
            name = f"{pkg}/{_short_name(n)}"
        else:
            pkg = root + ("/" + rng.choice(SUBPACKAGES) if rng.random() < 0.6 else "")
            name = f"{pkg}/{_camel(rng)}"
            if name in seen:
                name += str(len(names))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def plan(methods: int, seed: int) -> Plan:
    """Decide every class, its hierarchy and its method signatures, before writing any code."""
    rng = random.Random(seed)
    total_weight = sum(g.weight for g in all_groups())
    classes: list[ClassSpec] = []
    hubs: dict[int, str] = {}
    for gi, group in enumerate(all_groups()):
        budget = max(40, round(methods * group.weight / total_weight))
        # About 8 methods a class on average; the names list is cut to what the budget uses.
        names = _class_names(rng, group, budget // 4 + len(group.entry_classes) + 8)
        entry_bases = dict(group.entry_classes)
        group_classes: list[ClassSpec] = []
        used = 0
        for name in names:
            if used >= budget:
                break
            spec = _plan_class(rng, group, gi, name, entry_bases.get(name), group_classes)
            used += len(spec.methods)
            group_classes.append(spec)
        group_classes[0].is_hub = True
        hubs[gi] = group_classes[0].descriptor
        classes.extend(group_classes)
    return Plan(classes, hubs)


def _plan_class(
    rng: random.Random, group: Group, gi: int, name: str, entry_base: str | None,
    earlier: list[ClassSpec],
) -> ClassSpec:
    descriptor = f"L{name};"
    obfuscated = name.rsplit("/", 1)[-1].islower() and len(name.rsplit("/", 1)[-1]) <= 3
    spec = ClassSpec(descriptor, gi)
    used: set[str] = set()
    if entry_base is None and earlier and rng.random() < 0.1:
        spec.interface = True
        for i in range(rng.randint(2, 4)):
            mname = _method_name(rng, obfuscated, used, i)
            used.add(mname)
            spec.methods.append(Method(mname, rng.choice(SIGNATURES[:12]), "abstract"))
        return spec
    if entry_base:
        spec.superclass = entry_base
    else:
        roll = rng.random()
        parents = [c for c in earlier[-CALL_WINDOW:] if not c.interface]
        if roll < 0.25 and parents:
            spec.superclass = rng.choice(parents).descriptor
        elif roll < 0.32:
            spec.superclass = rng.choice(("Landroid/app/Activity;", "Ljava/lang/Thread;"))
    spec.methods.append(Method("<init>", "()V", "direct"))
    if spec.superclass in BASES:
        over_name, over_sig = BASES[spec.superclass]
        spec.methods.append(Method(over_name, over_sig, "virtual"))
        used.add(over_name)
    ifaces = [c for c in earlier[-CALL_WINDOW:] if c.interface]
    if ifaces and rng.random() < 0.3:
        iface = rng.choice(ifaces)
        spec.interfaces.append(iface.descriptor)
        for m in iface.methods:
            if m.name not in used:
                spec.methods.append(Method(m.name, m.sig, "virtual"))
                used.add(m.name)
    elif rng.random() < 0.08 and spec.superclass != "Ljava/lang/Thread;" and "run" not in used:
        spec.interfaces.append("Ljava/lang/Runnable;")
        spec.methods.append(Method("run", "()V", "virtual"))
        used.add("run")
    spec.has_clinit = rng.random() < 0.35
    if spec.has_clinit:
        spec.methods.append(Method("<clinit>", "()V", "static"))
    for i in range(rng.randint(*SHAPE.methods_per_class)):
        mname = _method_name(rng, obfuscated, used, len(used) + i)
        used.add(mname)
        kind = rng.choices(("virtual", "static", "direct"), (0.55, 0.3, 0.15))[0]
        spec.methods.append(Method(mname, rng.choice(SIGNATURES), kind))
    return spec


# --------------------------------------------------------------------------- smali writing


def _params(sig: str) -> list[str]:
    """Parameter type descriptors of a method signature."""
    inner = sig[1 : sig.index(")")]
    return re.findall(r"\[*(?:L[^;]+;|[ZBSCIJFD])", inner)


def _ret(sig: str) -> str:
    return sig[sig.index(")") + 1 :]


def _string(rng: random.Random, group: Group) -> str:
    if SHAPE.distinct_urls:
        n = _URL_COUNTER[0] = _URL_COUNTER[0] + 1
        return f"https://h{n // 4}.{rng.choice(NOUNS).lower()}-{n % 997}.example-{n % 13}.com/v{n % 3}/{n}"
    if group.hosts and rng.random() < 0.15:
        host = rng.choice(group.hosts)
        # A few hundred distinct paths per host: big apps hold thousands of URLs, not one per call.
        return f"{host}/{rng.choice(VERBS)}_{rng.choice(NOUNS[:8]).lower()}"
    return rng.choice(WORDS)


@dataclass
class _Body:
    """One method's instructions and the payloads that follow its last return."""

    lines: list[str] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    label: int = 0

    def next_label(self) -> int:
        self.label += 1
        return self.label


class Writer:
    """Turns a Plan into smali text, one class at a time."""

    def __init__(self, plan_: Plan, seed: int) -> None:
        self.plan = plan_
        self.rng = random.Random(seed ^ 0x5EED)
        self.index_of = {c.descriptor: i for i, c in enumerate(plan_.classes)}
        self.sensitive_sites = 0
        self.url_strings = 0

    # ---- instruction helpers

    def _args(self, body: _Body, group: Group, params: list[str], first: int) -> int:
        """Load call arguments into v{first}.. and return the next free register."""
        reg = first
        for p in params:
            if p == "J":
                body.lines.append(f"    const-wide/16 v{reg}, 0x{self.rng.randrange(1, 5000):x}")
                reg += 2
            elif p in ("I", "Z"):
                body.lines.append(f"    const/16 v{reg}, 0x{self.rng.randrange(0, 300):x}")
                reg += 1
            elif p == "Ljava/lang/String;":
                text = _string(self.rng, group)
                self.url_strings += text.startswith("https://")
                body.lines.append(f'    const-string v{reg}, "{text}"')
                reg += 1
            else:
                body.lines.append(f"    const/4 v{reg}, 0x0")
                reg += 1
        return reg

    def _move_result(self, body: _Body, sig: str) -> None:
        ret = _ret(sig)
        if ret == "V" or self.rng.random() < 0.3:
            return
        if ret in ("J", "D"):
            body.lines.append("    move-result-wide v8")
        elif ret[0] in "L[":
            body.lines.append("    move-result-object v0")
        else:
            body.lines.append("    move-result v0")

    def _call(self, body: _Body, cls: ClassSpec, static_ctx: bool, group: Group, chained: bool = False) -> None:
        """A call to a method of a nearby class in the same body of code (``chained``: the next class)."""
        classes = self.plan.classes
        me = self.index_of[cls.descriptor]
        for attempt in range(6):
            if chained and attempt == 0 and me + 1 < len(classes):
                target_cls = classes[me + 1]
            elif self.rng.random() < 0.05:
                target_cls = classes[self.index_of[self.plan.hubs[cls.group]]]
            else:
                lo, hi = max(0, me - CALL_WINDOW), min(len(classes) - 1, me + CALL_WINDOW)
                target_cls = classes[self.rng.randint(lo, hi)]
            if target_cls.group != cls.group:
                continue
            candidates = [m for m in target_cls.methods if not m.name.startswith("<")]
            if target_cls is not cls:
                candidates = [m for m in candidates if m.kind != "direct"]
            if static_ctx:
                candidates = [m for m in candidates if m.kind != "direct"]
            if candidates:
                break
        else:
            return
        target = self.rng.choice(candidates)
        params = _params(target.sig)
        ref = f"{target_cls.descriptor}->{target.name}{target.sig}"
        if target.kind == "static":
            op, first = "invoke-static", 1
        else:
            first = 2
            if target.kind == "abstract":
                op = "invoke-interface"
                body.lines.append(f"    sget-object v1, {cls.descriptor}->sDelegate:Ljava/lang/Object;")
                body.lines.append(f"    check-cast v1, {target_cls.descriptor}")
            elif target.kind == "direct":
                op = "invoke-direct"
                body.lines.append("    move-object v1, p0")
            else:
                op = "invoke-virtual"
                if target_cls is cls and not static_ctx:
                    body.lines.append("    move-object v1, p0")
                else:
                    body.lines.append(
                        f"    sget-object v1, {target_cls.descriptor}->INSTANCE:{target_cls.descriptor}")
        end = self._args(body, group, params, first)
        regs = end - 1
        if regs == 0:
            body.lines.append(f"    {op} {{}}, {ref}")
        elif regs > 5 or self.rng.random() < 0.15:
            body.lines.append(f"    {op}/range {{v1 .. v{regs}}}, {ref}")
        else:
            body.lines.append(f"    {op} {{{', '.join(f'v{r}' for r in range(1, end))}}}, {ref}")
        self._move_result(body, target.sig)

    def _framework(self, body: _Body, group: Group) -> None:
        choice = self.rng.randrange(8)
        text = _string(self.rng, group)
        self.url_strings += text.startswith("https://")
        lines = body.lines
        if choice == 0:
            lines += [
                "    new-instance v2, Ljava/lang/StringBuilder;",
                "    invoke-direct {v2}, Ljava/lang/StringBuilder;-><init>()V",
                f'    const-string v3, "{text}"',
                "    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)"
                "Ljava/lang/StringBuilder;",
                "    invoke-virtual {v2}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;",
                "    move-result-object v3",
            ]
        elif choice == 1:
            lines += [
                f'    const-string v2, "{group.name}"',
                f'    const-string v3, "{text}"',
                "    invoke-static {v2, v3}, Landroid/util/Log;->d(Ljava/lang/String;Ljava/lang/String;)I",
            ]
        elif choice == 2:
            lines += [
                "    new-instance v2, Ljava/util/HashMap;",
                "    invoke-direct {v2}, Ljava/util/HashMap;-><init>()V",
                f'    const-string v3, "{self.rng.choice(WORDS)}"',
                f'    const-string v4, "{text}"',
                "    invoke-interface {v2, v3, v4}, Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)"
                "Ljava/lang/Object;",
            ]
        elif choice == 3:
            lines += [
                "    new-instance v2, Lorg/json/JSONObject;",
                "    invoke-direct {v2}, Lorg/json/JSONObject;-><init>()V",
                f'    const-string v3, "{self.rng.choice(WORDS)}"',
                f'    const-string v4, "{text}"',
                "    invoke-virtual {v2, v3, v4}, Lorg/json/JSONObject;->put(Ljava/lang/String;Ljava/lang/Object;)"
                "Lorg/json/JSONObject;",
            ]
        elif choice == 4 and group.hosts:
            n = body.next_label()
            host = self.rng.choice(group.hosts)
            self.url_strings += 1
            lines += [
                f"    :try_start_{n}",
                "    new-instance v2, Ljava/net/URL;",
                f'    const-string v3, "{host}/{self.rng.choice(VERBS)}"',
                "    invoke-direct {v2, v3}, Ljava/net/URL;-><init>(Ljava/lang/String;)V",
                "    invoke-virtual {v2}, Ljava/net/URL;->openConnection()Ljava/net/URLConnection;",
                "    move-result-object v3",
                "    check-cast v3, Ljava/net/HttpURLConnection;",
                f"    :try_end_{n}",
                f"    .catch Ljava/io/IOException; {{:try_start_{n} .. :try_end_{n}}} :catch_{n}",
                f"    goto :goto_{n}",
                f"    :catch_{n}",
                "    move-exception v5",
                f"    :goto_{n}",
            ]
        elif choice == 5:
            lines += [
                "    invoke-static {}, Ljava/lang/System;->currentTimeMillis()J",
                "    move-result-wide v2",
            ]
        elif choice == 6:
            lines += [
                f'    const-string v2, "{text}"',
                "    invoke-static {v2}, Landroid/text/TextUtils;->isEmpty(Ljava/lang/CharSequence;)Z",
                "    move-result v3",
            ]
        else:
            lines += [
                "    new-instance v2, Ljava/util/ArrayList;",
                "    invoke-direct {v2}, Ljava/util/ArrayList;-><init>()V",
                f'    const-string v3, "{text}"',
                "    invoke-interface {v2, v3}, Ljava/util/List;->add(Ljava/lang/Object;)Z",
                "    invoke-interface {v2}, Ljava/util/List;->size()I",
                "    move-result v4",
            ]

    def _switch(self, body: _Body, cls: ClassSpec, static_ctx: bool, int_param: str | None) -> None:
        n = body.next_label()
        if int_param:
            body.lines.append(f"    move/from16 v0, {int_param}")
        elif not static_ctx:
            body.lines.append(f"    iget v0, p0, {cls.descriptor}->mState:I")
        else:
            body.lines.append(f"    sget v0, {cls.descriptor}->sMode:I")
        cases = self.rng.randint(3, 9)
        packed = self.rng.random() < 0.6
        kind = "pswitch" if packed else "sswitch"
        body.lines.append(f"    {'packed' if packed else 'sparse'}-switch v0, :{kind}_data_{n}")
        body.lines.append(f"    goto :{kind}_end_{n}")
        keys = sorted(self.rng.sample(range(1, 5000), cases))
        for c in range(cases):
            body.lines.append(f"    :{kind}_{n}_{c}")
            body.lines.append(f'    const-string v2, "{self.rng.choice(WORDS)}"')
            body.lines.append(f"    goto :{kind}_end_{n}")
        body.lines.append(f"    :{kind}_end_{n}")
        if packed:
            start = self.rng.randrange(0, 4)
            table = [f"    :pswitch_data_{n}", f"    .packed-switch 0x{start:x}"]
            table += [f"        :pswitch_{n}_{c}" for c in range(cases)]
            table.append("    .end packed-switch")
        else:
            table = [f"    :sswitch_data_{n}", "    .sparse-switch"]
            table += [f"        0x{k:x} -> :sswitch_{n}_{c}" for c, k in enumerate(keys)]
            table.append("    .end sparse-switch")
        body.payloads.append("\n".join(table))

    def _array(self, body: _Body) -> None:
        n = body.next_label()
        count = self.rng.randint(4, 24)
        wide = self.rng.random() < 0.5
        body.lines.append(f"    const/16 v2, 0x{count:x}")
        body.lines.append(f"    new-array v2, v2, {'[I' if wide else '[B'}")
        body.lines.append(f"    fill-array-data v2, :array_{n}")
        if wide:
            values = [f"        0x{self.rng.randrange(0, 1 << 30):x}" for _ in range(count)]
            table = [f"    :array_{n}", "    .array-data 4", *values, "    .end array-data"]
        else:
            values = [f"        0x{self.rng.randrange(0, 128):x}t" for _ in range(count)]
            table = [f"    :array_{n}", "    .array-data 1", *values, "    .end array-data"]
        body.payloads.append("\n".join(table))

    def _sensitive(self, body: _Body, group: Group, gi: int) -> None:
        key = self.rng.choice(group.sensitive)
        ctx = f"    sget-object v4, {self.plan.hubs[gi]}->sContext:Landroid/content/Context;"
        snippet = SENSITIVE[key].format(ctx=ctx, n=body.next_label(), **REFS)
        body.lines.append(snippet.strip("\n"))
        self.sensitive_sites += 1

    def _return(self, body: _Body, sig: str) -> None:
        ret = _ret(sig)
        if ret == "V":
            body.lines.append("    return-void")
        elif ret in ("J", "D"):
            body.lines.append("    const-wide/16 v0, 0x0")
            body.lines.append("    return-wide v0")
        elif ret[0] in "L[":
            if ret == "Ljava/lang/String;":
                body.lines.append(f'    const-string v0, "{self.rng.choice(WORDS)}"')
            else:
                body.lines.append("    const/4 v0, 0x0")
            body.lines.append("    return-object v0")
        else:
            body.lines.append("    const/4 v0, 0x1")
            body.lines.append("    return v0")

    # ---- methods and classes

    def _method(self, cls: ClassSpec, m: Method) -> str:
        if m.kind == "abstract":
            return f".method public abstract {m.name}{m.sig}\n.end method\n"
        group = all_groups()[cls.group]
        static = m.kind == "static"
        access = {"static": "public static", "virtual": "public", "direct": "private"}[m.kind]
        if m.name == "<init>":
            access = "public constructor"
        elif m.name == "<clinit>":
            access = "static constructor"
        body = _Body()
        if m.name == "<init>":
            body.lines.append(f"    invoke-direct {{p0}}, {cls.superclass}-><init>()V")
            body.lines.append("    const/4 v0, 0x0")
            body.lines.append(f"    iput v0, p0, {cls.descriptor}->mState:I")
        elif m.name == "<clinit>":
            body.lines.append(f"    new-instance v0, {cls.descriptor}")
            body.lines.append(f"    invoke-direct {{v0}}, {cls.descriptor}-><init>()V")
            body.lines.append(f"    sput-object v0, {cls.descriptor}->INSTANCE:{cls.descriptor}")
        elif cls.superclass in BASES and BASES[cls.superclass] == (m.name, m.sig) and m.name == "onCreate":
            regs = ", ".join(["p0"] + [f"p{i + 1}" for i in range(len(_params(m.sig)))])
            body.lines.append(f"    invoke-super {{{regs}}}, {cls.superclass}->{m.name}{m.sig}")
        params = _params(m.sig)
        int_param = None
        reg = 0 if static else 1
        for p in params:
            if p == "I" and int_param is None:
                int_param = f"p{reg}"
            reg += 2 if p in ("J", "D") else 1
        if m.name != "<init>":
            self._fill(body, cls, group, static, int_param)
        self._return(body, m.sig)
        text = [f".method {access} {m.name}{m.sig}", "    .locals 10", "", *body.lines]
        if body.payloads:
            text += ["", *body.payloads]
        text.append(".end method\n")
        return "\n".join(text)

    def _fill(self, body: _Body, cls: ClassSpec, group: Group, static: bool, int_param: str | None) -> None:
        if SHAPE.chain:
            self._call(body, cls, static, group, chained=True)
        for _ in range(self.rng.randint(*SHAPE.fill)):
            roll = self.rng.random()
            if roll < SHAPE.call_share:
                self._call(body, cls, static, group)
            elif roll < SHAPE.call_share + (1 - SHAPE.call_share) / 2:
                self._framework(body, group)
            elif roll < 0.85:
                if static:
                    body.lines.append(f"    sget v3, {cls.descriptor}->sMode:I")
                else:
                    body.lines.append(f"    iget-object v3, p0, {cls.descriptor}->mName:Ljava/lang/String;")
                    body.lines.append(f"    iget v4, p0, {cls.descriptor}->mState:I")
            else:
                body.lines.append(f'    const-string v6, "{_string(self.rng, group)}"')
                if not static:
                    body.lines.append(f"    iput-object v6, p0, {cls.descriptor}->mName:Ljava/lang/String;")
        extra = self.rng.random()
        if extra < 0.08:
            self._switch(body, cls, static, int_param)
        elif extra < 0.13:
            self._array(body)
        if group.sensitive and self.rng.random() < SENSITIVE_RATE * 1.6:
            self._sensitive(body, group, cls.group)

    def class_text(self, cls: ClassSpec) -> str:
        flags = "public interface abstract" if cls.interface else "public"
        out = [f".class {flags} {cls.descriptor}", f".super {cls.superclass}"]
        short = cls.descriptor[1:-1].rsplit("/", 1)[-1]
        out.append(f'.source "{short}.java"')
        out += [f".implements {i}" for i in cls.interfaces]
        out.append("")
        if not cls.interface:
            out.append(f".field public static INSTANCE:{cls.descriptor}")
            out.append(".field public static sDelegate:Ljava/lang/Object;")
            out.append(".field public static sMode:I")
            if cls.is_hub:
                out.append(".field public static sContext:Landroid/content/Context;")
            out.append(".field private mState:I")
            out.append(".field private mName:Ljava/lang/String;")
            out.append("")
        out += [self._method(cls, m) for m in cls.methods]
        return "\n".join(out)


# --------------------------------------------------------------------------- dex layout


_METHOD_REF = re.compile(r"(L[^;\s{}]+;->[^\s(:]+\([^)\s]*\)\S+)")
_FIELD_REF = re.compile(r"(L[^;\s{}]+;->[^\s(:]+:\S+)")


def split_dex(classes: list[ClassSpec], dex_files: int) -> list[list[ClassSpec]]:
    """Fill dex files in class order with about the same number of defined methods each."""
    if SHAPE.interleave_dex and dex_files > 1:
        dealt: list[list[ClassSpec]] = [[] for _ in range(dex_files)]
        for i, cls in enumerate(classes):
            dealt[i % dex_files].append(cls)
        return dealt
    total = sum(len(c.methods) for c in classes)
    per = math.ceil(total / dex_files)
    out: list[list[ClassSpec]] = [[]]
    count = 0
    for cls in classes:
        if count >= per and len(out) < dex_files:
            out.append([])
            count = 0
        out[-1].append(cls)
        count += len(cls.methods)
    return out


def ref_counts(texts: Sequence[str], classes: Sequence[ClassSpec]) -> tuple[int, int]:
    """Method and field references the assembled dex will hold (defined plus referenced)."""
    methods = {f"{c.descriptor}->{m.name}{m.sig}" for c in classes for m in c.methods}
    fields: set[str] = set()
    for text in texts:
        methods.update(_METHOD_REF.findall(text))
        fields.update(_FIELD_REF.findall(text))
    return len(methods), len(fields)


# --------------------------------------------------------------------------- apk assembly

MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="{package}">
    <uses-permission android:name="android.permission.INTERNET"/>
    <uses-permission android:name="android.permission.ACCESS_NETWORK_STATE"/>
    <uses-permission android:name="android.permission.ACCESS_WIFI_STATE"/>
    <uses-permission android:name="android.permission.READ_PHONE_STATE"/>
    <uses-permission android:name="android.permission.ACCESS_FINE_LOCATION"/>
    <uses-permission android:name="android.permission.ACCESS_COARSE_LOCATION"/>
    <uses-permission android:name="android.permission.READ_CONTACTS"/>
    <uses-permission android:name="android.permission.CAMERA"/>
    <uses-permission android:name="android.permission.RECORD_AUDIO"/>
    <uses-permission android:name="android.permission.GET_ACCOUNTS"/>
    <uses-permission android:name="android.permission.QUERY_ALL_PACKAGES"/>
    <application android:name="{package}.BigApplication" android:label="@string/app_name" android:allowBackup="false">
        <activity android:name="{package}.MainActivity" android:exported="true">
            <intent-filter>
                <action android:name="android.intent.action.MAIN"/>
                <category android:name="android.intent.category.LAUNCHER"/>
            </intent-filter>
        </activity>
        <service android:name="com.umeng.message.UmengMessageService" android:exported="false"/>
        <service android:name="com.google.firebase.messaging.FirebaseMessagingService" android:exported="false"/>
        <service android:name="com.huawei.hms.push.HmsMessageService" android:exported="false"/>
        <meta-data android:name="UMENG_APPKEY" android:value="5f1b2c3d4e5f6a7b8c9d0e1f"/>
        <meta-data android:name="com.facebook.sdk.ApplicationId" android:value="1234567890123456"/>
    </application>
</manifest>
"""

APKTOOL_YML = """version: 2.7.0
apkFileName: synth.apk
isFrameworkApk: false
usesFramework:
  ids:
  - 1
sdkInfo:
  minSdkVersion: '21'
  targetSdkVersion: '33'
packageInfo:
  forcedPackageId: '127'
versionInfo:
  versionCode: '300100'
  versionName: '30.1.0'
doNotCompress:
- resources.arsc
"""

STRINGS_XML = """<?xml version="1.0" encoding="utf-8"?>
<resources>
    <string name="app_name">Big Synthetic</string>
</resources>
"""


def run(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SynthError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def write_tree(tree: Path, methods: int, dex_files: int, seed: int) -> dict[str, object]:
    """Write the apktool source tree; return what was generated."""
    the_plan = plan(methods, seed)
    writer = Writer(the_plan, seed)
    dexes = split_dex(the_plan.classes, dex_files)
    per_dex = []
    for i, dex_classes in enumerate(dexes):
        folder = tree / ("smali" if i == 0 else f"smali_classes{i + 1}")
        texts = []
        for cls in dex_classes:
            text = writer.class_text(cls)
            texts.append(text)
            path = folder / f"{cls.descriptor[1:-1]}.smali"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        method_refs, field_refs = ref_counts(texts, dex_classes)
        if method_refs >= DEX_REF_LIMIT or field_refs >= DEX_REF_LIMIT:
            raise SynthError(f"dex {i + 1} would hold {method_refs} method / {field_refs} field references "
                             f"(limit {DEX_REF_LIMIT}); use more --dex-files")
        per_dex.append({
            "classes": len(dex_classes),
            "defined_methods": sum(len(c.methods) for c in dex_classes),
            "method_refs": method_refs,
            "field_refs": field_refs,
        })
    (tree / "AndroidManifest.xml").write_text(MANIFEST.format(package=PACKAGE))
    (tree / "apktool.yml").write_text(APKTOOL_YML)
    (tree / "res" / "values").mkdir(parents=True)
    strings = STRINGS_XML
    if SHAPE.resource_strings:
        extra = "".join(f'    <string name="s{i}">{WORDS[i % len(WORDS)]} {i}</string>\n'
                        for i in range(SHAPE.resource_strings))
        strings = strings.replace("</resources>", extra + "</resources>")
    (tree / "res" / "values" / "strings.xml").write_text(strings)
    if SHAPE.native_libs:
        libs = sorted(p for p in Path("/usr/lib/x86_64-linux-gnu").glob("lib*.so.*")
                      if p.is_file() and not p.is_symlink() and 200_000 < p.stat().st_size < 8_000_000)
        (tree / "lib" / "x86_64").mkdir(parents=True)
        for lib in libs[: SHAPE.native_libs]:
            shutil.copyfile(lib, tree / "lib" / "x86_64" / f"{lib.name.split('.so')[0]}.so")
    return {
        "classes": len(the_plan.classes),
        "defined_methods": sum(len(c.methods) for c in the_plan.classes),
        "dex": per_dex,
        "sensitive_call_sites": writer.sensitive_sites,
        "url_strings": writer.url_strings,
        "groups": {g.name: sum(len(c.methods) for c in the_plan.classes if c.group == gi)
                   for gi, g in enumerate(all_groups())},
    }


def assemble(tree: Path, out: Path, work: Path) -> dict[str, float]:
    """apktool b, zipalign and apksigner with a fresh keystore; returns the time of each step."""
    times: dict[str, float] = {}
    raw = work / "raw.apk"
    env = dict(os.environ, HOME=str(work / "home"))
    started = time.perf_counter()
    run(["apktool", "b", "-f", tree, "-o", raw], env=env)
    times["apktool_s"] = time.perf_counter() - started
    started = time.perf_counter()
    aligned = work / "aligned.apk"
    run(["zipalign", "-f", "-p", "4", raw, aligned])
    store = work / "bench.p12"
    run(["keytool", "-genkeypair", "-keystore", store, "-storetype", "PKCS12", "-storepass", KEY_PASSWORD,
         "-keypass", KEY_PASSWORD, "-alias", "bench", "-keyalg", "RSA", "-keysize", "2048",
         "-validity", "3650", "-dname", "CN=Big Synthetic, O=Example Big, C=US"])
    signed = work / "signed.apk"
    run(["apksigner", "sign", "--ks", store, "--ks-key-alias", "bench", "--ks-pass", f"pass:{KEY_PASSWORD}",
         "--key-pass", f"pass:{KEY_PASSWORD}", "--v4-signing-enabled", "false", "--in", aligned, "--out", signed])
    times["align_sign_s"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(signed), out)
    return times


def default_dex_files(methods: int) -> int:
    return max(1, math.ceil(methods / METHODS_PER_DEX))


def cache_path(out_dir: Path, methods: int, dex_files: int, seed: int, shape: str = "mixed") -> Path:
    """The cache key holds the parameters and this file's hash, so a generator change rebuilds."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:10]
    kind = "" if shape == "mixed" else f"-{shape}"
    return out_dir / f"synth{kind}-m{methods}-d{dex_files}-s{seed}-{digest}.apk"


def build(
    methods: int = DEFAULT_METHODS, dex_files: int | None = None, seed: int = 1,
    out_dir: Path = DEFAULT_OUT, force: bool = False, log: bool = True, shape: str = "mixed",
) -> BuildResult:
    """Return the cached synthetic APK for these parameters, building it first if needed."""
    global SHAPE
    if methods < 100:
        raise SynthError("--methods must be at least 100")
    if shape not in SHAPES:
        raise SynthError(f"no shape {shape!r} (one of {', '.join(SHAPES)})")
    SHAPE = SHAPES[shape]
    _URL_COUNTER[0] = 0
    _EXTRA_GROUPS[:] = _sdk_groups(SHAPE.sdk_packages) if SHAPE.sdk_packages else []
    dex_files = dex_files or default_dex_files(methods)
    if SHAPE.interleave_dex:
        dex_files = max(dex_files, 2 * default_dex_files(methods))
    apk = cache_path(out_dir, methods, dex_files, seed, shape)
    stats_path = apk.with_suffix(".json")
    if apk.exists() and stats_path.exists() and not force:
        stats = json.loads(stats_path.read_text())
        if log:
            print(f"synth: cached {apk} ({apk.stat().st_size / 1e6:.1f} MB, {stats['defined_methods']} methods)",
                  file=sys.stderr)
        return BuildResult(apk, stats)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="appvet-synth-") as tmp:
        work = Path(tmp)
        tree = work / "src"
        stats: dict[str, object] = {"methods_requested": methods, "dex_files": dex_files, "seed": seed,
                                    "shape": shape}
        stats.update(write_tree(tree, methods, dex_files, seed))
        stats["generate_s"] = round(time.perf_counter() - started, 2)
        stats.update({k: round(v, 2) for k, v in assemble(tree, apk, work).items()})
    stats["build_s"] = round(time.perf_counter() - started, 2)
    stats["apk_bytes"] = apk.stat().st_size
    stats_path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    if log:
        print(f"synth: built {apk} in {stats['build_s']} s (generate {stats['generate_s']} s, apktool "
              f"{stats['apktool_s']} s, align+sign {stats['align_sign_s']} s): {stats['defined_methods']} methods, "
              f"{stats['classes']} classes, {dex_files} dex files, {apk.stat().st_size / 1e6:.1f} MB",
              file=sys.stderr)
    return BuildResult(apk, stats)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", type=int, default=DEFAULT_METHODS, help="defined methods to generate")
    parser.add_argument("--dex-files", type=int, default=None,
                        help=f"dex files to spread them over (default: one per {METHODS_PER_DEX} methods)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="mixed", help="kind of app (default: mixed)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache folder (default bench/out)")
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached APK exists")
    args = parser.parse_args(argv)
    missing = [t for t in ("apktool", "zipalign", "apksigner", "keytool") if shutil.which(t) is None]
    if missing:
        print(f"synth: missing tools: {', '.join(missing)} (Debian: apt-get install apktool zipalign apksigner "
              "default-jdk-headless)", file=sys.stderr)
        return 2
    try:
        result = build(args.methods, args.dex_files, args.seed, args.out, args.force, shape=args.shape)
    except SynthError as error:
        print(f"synth: {error}", file=sys.stderr)
        return 1
    print(result.apk)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
