"""Behaviours that reviewers name as risks in themselves, found in code references.

Two families: reading identifiers or lists that fingerprint a person or device (installed and
running apps, accounts, SIM serial, IMEI, line and voicemail number, Wi-Fi SSID and MAC, build
serial, contacts, calendar, asking again for a permission after the user said no), and code that
lets the app change after review (loading dex or native code at run time, hot-fix and plugin
frameworks, JavaScript bridges, remote configuration). Each is ``reachable`` when a call site lies
on a path from an entry point (the witness shows it), else ``present``.

The catalogue is data: (behaviour id, how it is matched, what). API names follow the Android
reference (developer.android.com/reference); hot-fix framework packages are those their projects
publish (Tinker: github.com/Tencent/tinker, Robust: github.com/Meituan-Dianping/Robust, Sophix:
help.aliyun.com/document_detail/61082.html, VirtualAPK: github.com/didi/VirtualAPK, RePlugin:
github.com/Qihoo360/RePlugin).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from appvet.analyze.interface import AppFacts
from appvet.analyze.reachability import Reach
from appvet.analyze.sdks import Attribution, dotted
from appvet.model import Behaviour, Evidence

MAX_EVIDENCE = 12

TITLES: dict[str, str] = {
    "installed-apps": "Lists the apps installed on the device",
    "running-apps": "Lists the apps or tasks running on the device",
    "accounts": "Lists the accounts on the device",
    "sim-serial": "Reads the SIM serial number (ICCID)",
    "subscriber-id": "Reads the subscriber id (IMSI)",
    "device-id": "Reads the IMEI / MEID",
    "line-number": "Reads the phone number of the SIM",
    "voicemail-number": "Reads the voicemail number",
    "wifi-ssid": "Reads the Wi-Fi network name or access point",
    "mac-address": "Reads a hardware MAC address",
    "build-serial": "Reads the hardware serial number",
    "network-connections": "Reads the device's network connections and neighbours (/proc/net)",
    "contacts": "Reads the contacts",
    "calendar": "Reads the calendar",
    "permission-rerequest": "Asks again for a permission after the user denied it",
    "dynamic-code-loading": "Loads code at run time that was not in the reviewed APK",
    "native-code-loading": "Loads a native library from a file path",
    "hotfix-framework": "Embeds a hot-fix or plugin framework that replaces code after install",
    "javascript-bridge": "Exposes Java objects to JavaScript in a WebView",
    "remote-config": "Fetches configuration that can change app behaviour remotely",
}

CHANGES_AFTER_REVIEW = frozenset({
    "dynamic-code-loading", "native-code-loading", "hotfix-framework", "javascript-bridge", "remote-config",
})

_TM = "Landroid/telephony/TelephonyManager;"
INVOKES: dict[tuple[str, str], str] = {
    ("Landroid/content/pm/PackageManager;", "getInstalledPackages"): "installed-apps",
    ("Landroid/content/pm/PackageManager;", "getInstalledApplications"): "installed-apps",
    ("Landroid/app/ActivityManager;", "getRunningAppProcesses"): "running-apps",
    ("Landroid/app/ActivityManager;", "getRunningTasks"): "running-apps",
    ("Landroid/app/ActivityManager;", "getRecentTasks"): "running-apps",
    ("Landroid/app/ActivityManager;", "getRunningServices"): "running-apps",
    ("Landroid/app/usage/UsageStatsManager;", "queryUsageStats"): "running-apps",
    ("Landroid/accounts/AccountManager;", "getAccounts"): "accounts",
    ("Landroid/accounts/AccountManager;", "getAccountsByType"): "accounts",
    ("Landroid/accounts/AccountManager;", "getAccountsByTypeAndFeatures"): "accounts",
    (_TM, "getSimSerialNumber"): "sim-serial",
    ("Landroid/telephony/SubscriptionInfo;", "getIccId"): "sim-serial",
    (_TM, "getSubscriberId"): "subscriber-id",
    (_TM, "getDeviceId"): "device-id",
    (_TM, "getImei"): "device-id",
    (_TM, "getMeid"): "device-id",
    (_TM, "getLine1Number"): "line-number",
    ("Landroid/telephony/SubscriptionManager;", "getPhoneNumber"): "line-number",
    ("Landroid/telephony/SubscriptionInfo;", "getNumber"): "line-number",
    (_TM, "getVoiceMailNumber"): "voicemail-number",
    ("Landroid/net/wifi/WifiInfo;", "getSSID"): "wifi-ssid",
    ("Landroid/net/wifi/WifiInfo;", "getBSSID"): "wifi-ssid",
    ("Landroid/net/wifi/WifiManager;", "getScanResults"): "wifi-ssid",
    ("Landroid/net/wifi/WifiInfo;", "getMacAddress"): "mac-address",
    ("Ljava/net/NetworkInterface;", "getHardwareAddress"): "mac-address",
    ("Landroid/bluetooth/BluetoothAdapter;", "getAddress"): "mac-address",
    ("Landroid/os/Build;", "getSerial"): "build-serial",
    ("Ldalvik/system/DexClassLoader;", "<init>"): "dynamic-code-loading",
    ("Ldalvik/system/InMemoryDexClassLoader;", "<init>"): "dynamic-code-loading",
    ("Ldalvik/system/PathClassLoader;", "<init>"): "dynamic-code-loading",
    ("Ldalvik/system/DelegateLastClassLoader;", "<init>"): "dynamic-code-loading",
    ("Ldalvik/system/DexFile;", "loadDex"): "dynamic-code-loading",
    ("Ljava/net/URLClassLoader;", "<init>"): "dynamic-code-loading",
    ("Ljava/lang/System;", "load"): "native-code-loading",
    ("Ljava/lang/Runtime;", "load"): "native-code-loading",
    ("Landroid/webkit/WebView;", "addJavascriptInterface"): "javascript-bridge",
    ("Lcom/google/firebase/remoteconfig/FirebaseRemoteConfig;", "fetch"): "remote-config",
    ("Lcom/google/firebase/remoteconfig/FirebaseRemoteConfig;", "fetchAndActivate"): "remote-config",
}
"""(class descriptor, method name) -> behaviour id; any proto matches."""

FIELDS: dict[tuple[str, str], str] = {
    ("Landroid/os/Build;", "SERIAL"): "build-serial",
    ("Landroid/provider/ContactsContract$Contacts;", "CONTENT_URI"): "contacts",
    ("Landroid/provider/ContactsContract$CommonDataKinds$Phone;", "CONTENT_URI"): "contacts",
    ("Landroid/provider/ContactsContract$CommonDataKinds$Email;", "CONTENT_URI"): "contacts",
    ("Landroid/provider/ContactsContract$Data;", "CONTENT_URI"): "contacts",
    ("Landroid/provider/ContactsContract$RawContacts;", "CONTENT_URI"): "contacts",
    ("Landroid/provider/CalendarContract$Events;", "CONTENT_URI"): "calendar",
    ("Landroid/provider/CalendarContract$Calendars;", "CONTENT_URI"): "calendar",
    ("Landroid/provider/CalendarContract$Instances;", "CONTENT_URI"): "calendar",
    ("Landroid/provider/CalendarContract$Attendees;", "CONTENT_URI"): "calendar",
}

STRINGS: tuple[tuple[str, str], ...] = (
    ("/sys/class/net/", "mac-address"),
    ("/proc/net/arp", "mac-address"),
    ("/proc/net/", "network-connections"),
    ("ro.serialno", "build-serial"),
    ("ro.boot.serialno", "build-serial"),
    ("content://com.android.contacts", "contacts"),
    ("content://com.android.calendar", "calendar"),
)
"""(prefix of a const-string, behaviour id): paths and URIs read without the typed API."""

CLASS_PREFIXES: tuple[tuple[str, str], ...] = (
    ("com.tencent.tinker.", "hotfix-framework"),
    ("com.meituan.robust.", "hotfix-framework"),
    ("com.taobao.sophix.", "hotfix-framework"),
    ("com.alipay.euler.andfix.", "hotfix-framework"),
    ("com.didi.virtualapk.", "hotfix-framework"),
    ("com.qihoo360.replugin.", "hotfix-framework"),
    ("com.qihoo360.loader2.", "hotfix-framework"),
    ("com.google.firebase.remoteconfig.", "remote-config"),
    ("com.huawei.agconnect.remoteconfig.", "remote-config"),
)
"""Packages whose classes being defined in the app shows the framework is embedded."""

_REQUEST_PERMISSIONS = "requestPermissions"
_ON_RESULT = "onRequestPermissionsResult"


@dataclass
class _Acc:
    apis: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    best: tuple[int, str, int, str] | None = None
    """(depth, label, gid, last step) of the nearest reached site."""


def merge(*groups: list[Behaviour]) -> list[Behaviour]:
    """One behaviour per (id, holder) from several finders (dex code, native libraries)."""
    acc: dict[tuple[str, str], Behaviour] = {}
    for group in groups:
        for b in group:
            old = acc.get((b.id, b.holder))
            if old is None:
                acc[(b.id, b.holder)] = b
                continue
            reach_first = old if old.witness or not b.witness else b
            acc[(b.id, b.holder)] = Behaviour(
                id=b.id, title=b.title, holder=b.holder,
                holder_package=", ".join(sorted({*old.holder_package.split(", "), *b.holder_package.split(", ")})),
                apis=tuple(sorted({*old.apis, *b.apis})), confidence=reach_first.confidence,
                evidence=tuple(sorted({*old.evidence, *b.evidence}, key=lambda e: (e.file, e.locator, e.excerpt)))
                [:MAX_EVIDENCE],
                witness=reach_first.witness, changes_after_review=b.changes_after_review,
            )
    return sorted(acc.values(), key=lambda b: (b.id, b.holder))


def string_behaviour(text: str) -> str | None:
    """The behaviour a path or URI string shows (``/proc/net/arp`` -> ``mac-address``), if any."""
    return _string_behaviour(text)


def _string_behaviour(text: str) -> str | None:
    for prefix, bid in STRINGS:
        if text.startswith(prefix):
            return bid
    return None


def _sites(unit_index: int, facts: AppFacts) -> Iterable[tuple[int, str, str, str]]:
    """(caller method idx, behaviour id, api label, excerpt) for every matching reference in one dex."""
    dex = facts.dex[unit_index].dex
    refs = dex.scan_code()
    invoke_hits: dict[int, tuple[str, str]] = {}
    rerequest: set[int] = set()
    methods = dex.method_refs()
    for idx in set(refs.invoke_callee):
        cls, name, _proto = methods[idx]
        bid = INVOKES.get((cls, name))
        if bid is not None:
            invoke_hits[idx] = (bid, f"{cls}->{name}")
        elif name == _REQUEST_PERMISSIONS:
            rerequest.add(idx)
    for caller, callee in zip(refs.invoke_caller, refs.invoke_callee, strict=True):
        hit = invoke_hits.get(callee)
        if hit is not None:
            yield caller, hit[0], hit[1], f"calls {hit[1]}"
        elif callee in rerequest and methods[caller][1] == _ON_RESULT:
            label = dex.method_label(callee)
            yield caller, "permission-rerequest", label, f"calls {label} from {_ON_RESULT}"
    field_hits: dict[int, tuple[str, str]] = {}
    fields = dex.field_refs()
    for idx in set(refs.field_ref):
        cls, name, _type = fields[idx]
        bid = FIELDS.get((cls, name))
        if bid is not None:
            field_hits[idx] = (bid, f"{cls}->{name}")
    for caller, target in zip(refs.field_caller, refs.field_ref, strict=True):
        hit = field_hits.get(target)
        if hit is not None:
            yield caller, hit[0], hit[1], f"reads {hit[1]}"
    string_hits: dict[int, tuple[str, str]] = {}
    for idx in set(refs.string_ref):
        text = dex.string(idx)
        bid = _string_behaviour(text)
        if bid is not None:
            string_hits[idx] = (bid, text)
    for caller, target in zip(refs.string_caller, refs.string_ref, strict=True):
        hit = string_hits.get(target)
        if hit is not None:
            yield caller, hit[0], hit[1], f"uses string {hit[1]}"


def find(facts: AppFacts, attribution: Attribution, reach: Reach | None) -> list[Behaviour]:
    """Every behaviour of the catalogue found in code, per holder, with reachability when known."""
    acc: dict[tuple[str, str], _Acc] = {}

    def note(bid: str, class_name: str, api: str, ev: Evidence, gid: int | None, last: str) -> None:
        holder = attribution.holder(class_name)
        a = acc.setdefault((bid, holder), _Acc())
        a.apis.add(api)
        a.packages.add(attribution.holder_package(class_name, holder))
        if len(a.evidence) < MAX_EVIDENCE and ev not in a.evidence:
            a.evidence.append(ev)
        if reach is not None and gid is not None and reach.reached(gid):
            key = (reach.depth[gid], reach.graph.labels[gid], gid, last)
            if a.best is None or key[:2] < a.best[:2]:
                a.best = key

    for i, unit in enumerate(facts.dex):
        dex = unit.dex
        methods = dex.method_refs()
        for caller, bid, api, excerpt in _sites(i, facts):
            cls, name, proto = methods[caller]
            gid = reach.gid(i, caller) if reach is not None else None
            note(bid, dotted(cls), api, Evidence("dex", unit.path, f"{cls}->{name}{proto}", excerpt), gid, excerpt)
        for cdef in dex.classes():
            name = dotted(cdef.descriptor)
            for prefix, bid in CLASS_PREFIXES:
                if name.startswith(prefix):
                    gid = reach.first_reached(cdef.descriptor) if reach is not None else None
                    note(bid, name, prefix.rstrip("."), Evidence("dex", unit.path, cdef.descriptor, "class defined"),
                         gid, "")
                    break

    out = []
    for (bid, holder), a in acc.items():
        witness: tuple[str, ...] = ()
        if reach is not None and a.best is not None:
            witness = reach.witness(a.best[2], a.best[3])
        out.append(Behaviour(
            id=bid, title=TITLES[bid], holder=holder,
            holder_package=", ".join(sorted(a.packages)[:3]) + (" …" if len(a.packages) > 3 else ""),
            apis=tuple(sorted(a.apis)), confidence="reachable" if witness else "present",
            evidence=tuple(sorted(a.evidence, key=lambda e: (e.file, e.locator, e.excerpt))),
            witness=witness, changes_after_review=bid in CHANGES_AFTER_REVIEW,
        ))
    out.sort(key=lambda b: (b.id, b.holder))
    return out
