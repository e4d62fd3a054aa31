"""Turn third-party tracker and library lists into appvet knowledge-base rows.

Used by ``scripts/import-kb``. Every function takes parsed source data plus the hand-curated rows
and returns rows and a :class:`Report`; nothing here writes files. Precedence when two sources
claim the same signature: hand-curated > Exodus > LibChecker > LibRadar; the loser drops the
signature and the report says so.

Sources (see ``/NOTICE`` for their licences):

- Exodus Privacy tracker list (ODbL 1.0): shipped unmodified in ``kb/data/exodus/``; appvet's own
  owner mapping lives in ``kb/data/exodus-owners.json``.
- X-Ray company list (Binns et al. 2018, GPL-3.0, as kept by TrackerControl).
- LibChecker-Rules (Apache-2.0): manifest components and native libraries per vendor.
- LibRadar tag rules (Apache-2.0, 2018): package prefixes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

XRAY_URL = (
    "https://github.com/TrackerControl/tracker-control-android/blob/8c119b04/app/src/main/assets/xray-blacklist.json"
)
XRAY_AS_OF = "2022-01-01"
EXODUS_AS_OF = "2026-08-22"
LIBCHECKER_URL = "https://github.com/LibChecker/LibChecker-Rules/tree/3ec8753a"
LIBCHECKER_AS_OF = "2026-11-29"
"""LibChecker-Rules carries no date; this is when the snapshot was taken into appvet."""
LIBRADAR_URL = "https://github.com/pkumza/LibRadar"
LIBRADAR_AS_OF = "2018-01-01"

_DOMAIN = re.compile(r"^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_DOTTED = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+\.?$")
_COMPONENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+$")
_SO = re.compile(r"^[A-Za-z0-9_.+-]+\.so$")
_COUNTRY_FIX = {"uk": "GB"}
"""X-Ray writes the United Kingdom as ``uk``; ISO 3166-1 alpha-2 is ``GB``."""
PLATFORM_PREFIXES = (
    "android.",
    "androidx.",
    "java.",
    "javax.",
    "kotlin.",
    "kotlinx.",
    "dalvik.",
    "org.w3c.",
    "org.xml.",
)
"""Packages of the platform and language runtime: never a third-party SDK."""
CODE_HOSTS = (
    "github.com", "github.io", "gitee.com", "gitlab.com", "bitbucket.org", "sourceforge.net", "code.google.com",
    "mvnrepository.com", "gnu.org", "apache.org", "jcenter.bintray.com", "search.maven.org",
)  # fmt: skip
"""Hosts that publish other people's code: a library's page there says nothing about who owns it."""
DIRECTORY_HOSTS = (*CODE_HOSTS, "appbrain.com", "crunchbase.com", "wikipedia.org", "play.google.com", "npmjs.com")
"""Hosts Exodus sometimes gives as a tracker's website although they only describe it."""

EXODUS_CATEGORIES = {
    "Advertisement": "ads",
    "Analytics": "analytics",
    "Crash reporting": "crash",
    "Identification": "identity",
    "Location": "location",
    "Profiling": "profiling",
}
LIBRADAR_TYPES = {
    "Advertisement": "ads",
    "Mobile Analytics": "analytics",
    "Social Network": "social",
    "Payment": "payments",
    "Map/LBS": "maps",
    "Game Engine": "game",
    "GUI Component": "ui",
    "Development Aid": "development",
    "Development Framework": "development",
    "Utility": "utility",
    "App Market": "update",
    "Digital Identity": "identity",
}
LABEL_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("推送", "push"), ("push", "push"), ("广告", "ads"), ("ads", "ads"), ("ad sdk", "ads"), ("统计", "analytics"),
    ("分析", "analytics"), ("analytics", "analytics"), ("datafinder", "analytics"), ("地图", "maps"), ("map", "maps"),
    ("lbs", "location"), ("定位", "location"), ("location", "location"), ("人脸", "face"), ("face", "face"),
    ("活体", "face"), ("支付", "payments"), ("pay", "payments"), ("登录", "login"), ("login", "login"),
    ("认证", "identity"), ("账号", "login"), ("分享", "social"), ("share", "social"), ("语音", "speech"),
    ("speech", "speech"), ("崩溃", "crash"), ("crash", "crash"), ("bugly", "crash"), ("热修复", "hotfix"),
    ("tinker", "hotfix"), ("浏览", "webview"), ("webview", "webview"), ("直播", "live_streaming"),
    ("音视频", "rtc"), ("rtc", "rtc"), ("im", "messaging"), ("即时通讯", "messaging"), ("小程序", "development"),
    ("加固", "security"), ("安全", "security"), ("风控", "security"), ("设备指纹", "security"), ("oaid", "oaid"),
    ("msa", "oaid"), ("客服", "customer_support"), ("ocr", "ocr"), ("ar", "ar"), ("美颜", "face"),
)  # fmt: skip
"""Keywords (lower-case, matched as whole words for ASCII) of LibChecker labels -> SDK category."""

# LibChecker's ``team`` column, normalised to entity ids. Chinese and English spellings of the same
# vendor map to one entity; vendors absent here are resolved by exact name against known entities,
# else their rules are skipped and counted.
LIBCHECKER_VENDORS: dict[str, str] = {
    "Tencent": "tencent", "腾讯互动娱乐": "tencent",
    "Google": "google", "Firebase": "google", "Android": "google", "Chromium": "google",
    "The Chromium Authors": "google", "TensorFlow": "google", "WebRTC": "google", "WebM project": "google",
    "Alibaba": "alibaba", "Aliyun": "alibaba", "高德": "alibaba",
    "Alipay": "ant-group",
    "Facebook": "meta",
    "Baidu": "baidu",
    "ByteDance": "bytedance", "Bytedance": "bytedance", "Volcengine": "bytedance", "Volcengine (火山引擎)": "bytedance",
    "火山引擎": "bytedance", "Douyin": "bytedance",
    "Huawei": "huawei", "HUAWEI": "huawei", "Huawei, MindSpore Community": "huawei", "Chromium, HUAWEI": "huawei",
    "极光": "aurora-mobile", "Aurora 极光": "aurora-mobile",
    "个推": "getui",
    "旷视": "megvii",
    "Umeng": "umeng",
    "Xiaomi": "xiaomi",
    "Netease": "netease",
    "Weibo": "weibo",
    "Microsoft": "microsoft",
    "Unity Technologies": "unity", "Unity": "unity", "Unity 中国": "unity",
    "vivo": "vivo", "OPPO": "oppo", "Meizu": "meizu", "HONOR": "honor",
    "移动安全联盟": "msa",
    "AppLovin": "applovin",
    "ironSource Mobile": "ironsource",
    "Sentry": "sentry",
    "Bugsnag": "bugsnag",
    "神策": "sensors-data",
    "360": "qihoo-360", "Qihoo360": "qihoo-360",
    "iFlyTek": "iflytek", "科大讯飞": "iflytek",
    "AdColony": "adcolony",
    "Adjust": "adjust",
    "Yandex": "yandex",
    "LINE": "ly-corp",
    "MobClub": "mobtech",
    "Kingsoft": "kingsoft",
    "JD": "jd-com",
}  # fmt: skip
LIBCHECKER_LABEL_OWNERS: tuple[tuple[str, str], ...] = (("mPaaS", "ant-group"),)
"""Label prefixes whose owner differs from the LibChecker team: mPaaS is Ant Group's mobile platform, although
its documentation is hosted by Alibaba Cloud and LibChecker files it under Alibaba."""
LIBRADAR_EXCLUDED: dict[str, str] = {
    "microsoft.mappoint.": "tile-system helper classes shipped inside osmdroid (org.osmdroid), not a Microsoft SDK",
    "com.myappengine.": "not a Google namespace; its website (the App Engine console) names a host, not a publisher",
}
"""LibRadar prefixes that name code other than the library the rule claims."""
EXODUS_REJECTED_SIGNATURES: dict[str, str] = {
    "com.prime31.util.IabHelperImpl": "prime31's Google Play in-app billing helper, not IAB Open Measurement",
    "com.prime31.IAB.": "prime31's in-app billing plugin, not IAB Open Measurement",
}
"""Exodus code signatures that match code of another vendor than the tracker's."""
LIBCHECKER_PLATFORM_TEAMS = frozenset({"Google", "Android"})
"""Teams whose ``androidx.``/``android.`` rules are Jetpack or platform code, not SDKs."""


@dataclass
class Report:
    """What an import did, for a person to review: counts and the reasons rows or signatures were dropped."""

    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, line: str) -> None:
        self.lines.append(line)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def render(self, title: str, detail_limit: int = 40) -> str:
        out = [f"== {title}"]
        out += [f"  {k}: {v}" for k, v in sorted(self.counts.items())]
        shown = self.lines[:detail_limit]
        out += [f"  - {line}" for line in shown]
        if len(self.lines) > len(shown):
            out.append(f"  ... {len(self.lines) - len(shown)} more")
        return "\n".join(out)


def slug(text: str) -> str:
    """ASCII id fragment; non-Latin names get a short stable hash so ids stay unique and reproducible."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = re.sub(r"[^a-z0-9]+", "-", norm).strip("-")
    if len(out) < 2:
        out = (out + "-" if out else "") + hashlib.sha1(text.encode()).hexdigest()[:8]
    return out[:60]


def norm_name(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", text.casefold())


def source(url: str, as_of: str) -> dict[str, str]:
    return {"url": url, "as_of": as_of}


def exodus_source(tracker_id: int) -> dict[str, str]:
    return source(f"https://reports.exodus-privacy.eu.org/en/trackers/{tracker_id}/", EXODUS_AS_OF)


def clean_domain(value: str) -> str | None:
    dom = value.strip().lower().rstrip(".")
    return dom if _DOMAIN.match(dom) else None


_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go"})


def website_domain(url: str) -> str | None:
    """Registrable domain of a vendor's website URL; ``None`` for code hosts and directories.

    Without a public-suffix list, a two-letter country TLD under a common second level
    (``co.uk``, ``com.cn``) keeps three labels and everything else keeps two.
    """
    host = url.strip().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower().rstrip(".")
    labels = [x for x in host.split(".") if x]
    if len(labels) < 2:
        return None
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    dom = clean_domain(".".join(labels[-keep:]))
    if dom is None or any(dom == h or dom.endswith("." + h) for h in DIRECTORY_HOSTS):
        return None
    return dom


GENERIC_NATIVE_LIBS = frozenset({
    "libfb.so", "libfbjni.so", "libmain.so", "libc++_shared.so", "libnative-lib.so", "libapp.so", "libgame.so",
    "libcore.so", "libutils.so", "libjni.so", "libnative.so", "libtest.so", "libcrypto.so", "libssl.so", "libz.so",
    "libsqlite.so", "libsqlite3.so", "libcurl.so", "libpng.so", "libjpeg.so", "libffmpeg.so", "libavcodec.so",
    "libavformat.so", "libavutil.so", "libswscale.so", "libswresample.so", "libopenal.so", "libSDL2.so",
    "libmono.so", "libgnustl_shared.so", "libstlport_shared.so",
})  # fmt: skip
"""Native library names that many unrelated projects ship (build defaults, common open-source runtimes): a
file of this name says nothing about which SDK is present. ``libfb.so``/``libfbjni.so`` are fbjni (React Native,
PyTorch, Flipper), ``libmain.so`` is SDL's and NativeActivity samples' default, ``libc++_shared.so`` is the NDK's."""


def generic_prefix(prefix: str) -> bool:
    """A package prefix too short to name one vendor's code: ``com.``, ``com.dv.``, ``io.a.``.

    A class name (last segment capitalised) is specific enough; a package of two segments is generic when
    its second segment has at most three characters.
    """
    parts = prefix.rstrip(".").split(".")
    if not prefix.endswith(".") and parts[-1][:1].isupper() and len(parts) >= 2:
        return False
    return len(parts) < 2 or (len(parts) == 2 and len(parts[1]) <= 3)


def is_weak_prefix(prefix: str) -> bool:
    """Two-segment prefixes with a short second segment (``com.dv.``, ``com.mob.``) match unrelated code."""
    parts = prefix.rstrip(".").split(".")
    return len(parts) < 2 or (len(parts) == 2 and len(parts[1]) <= 4)


# -- curated data as the importers see it --------------------------------------------------------


@dataclass
class Curated:
    """Indexes over hand-curated entities and SDKs, which every importer must respect."""

    entities: dict[str, dict[str, Any]]
    sdks: dict[str, dict[str, Any]]
    names: dict[str, str] = field(default_factory=dict)
    """Normalised entity name or alias -> entity id."""
    domains: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    strong_prefixes: dict[str, str] = field(default_factory=dict)
    libs: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    sdk_domains: dict[str, str] = field(default_factory=dict)
    by_exodus: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, entities: Iterable[dict[str, Any]], sdks: Iterable[dict[str, Any]]) -> Curated:
        cur = cls({e["id"]: e for e in entities}, {s["id"]: s for s in sdks})
        for ent in cur.entities.values():
            for name in (ent["name"], *ent.get("aliases", ())):
                cur.names.setdefault(norm_name(name), ent["id"])
            for dom in ent.get("domains", ()):
                cur.domains[dom] = ent["id"]
        for sdk in cur.sdks.values():
            for p in (*sdk.get("class_prefixes", ()), *sdk.get("weak_prefixes", ())):
                cur.prefixes[p] = sdk["id"]
            for p in sdk.get("class_prefixes", ()):
                cur.strong_prefixes[p] = sdk["id"]
            for lib in sdk.get("native_libs", ()):
                cur.libs[lib] = sdk["id"]
            for comp in sdk.get("components", ()):
                cur.components[comp] = sdk["id"]
            for key in sdk.get("meta_data", ()):
                cur.meta[key] = sdk["id"]
            for dom in sdk.get("domains", ()):
                cur.sdk_domains[dom] = sdk["id"]
            if sdk.get("exodus_id"):
                cur.by_exodus[int(sdk["exodus_id"])] = sdk["id"]
        return cur


def covering_prefix(prefix: str, table: Mapping[str, str]) -> str | None:
    """The key of ``table`` that is ``prefix`` itself or a package containing it, if any."""
    if prefix in table:
        return prefix
    cut = prefix.rstrip(".")
    while "." in cut:
        cut = cut.rsplit(".", 1)[0]
        if cut + "." in table:
            return cut + "."
    return None


def walk_domain(host: str, table: Mapping[str, str]) -> str | None:
    name = host.lower().rstrip(".")
    while "." in name:
        if name in table:
            return table[name]
        name = name.split(".", 1)[1]
    return None


# -- X-Ray -----------------------------------------------------------------------------------------


def import_xray(companies: Sequence[dict[str, Any]], curated: Curated) -> tuple[list[dict[str, Any]], Report]:
    """X-Ray companies -> entity rows. Companies matching a curated entity by name/alias are not emitted."""
    report = Report()
    merged: dict[str, dict[str, Any]] = {}
    for comp in companies:
        name = str(comp.get("owner_name") or "").strip()
        if not name:
            report.count("skipped: no name")
            continue
        key = norm_name(name)
        if key in merged:
            report.add(f"{name!r} listed twice; domains merged")
            merged[key]["doms"] = [*merged[key]["doms"], *comp.get("doms", [])]
            continue
        merged[key] = {**comp, "owner_name": name, "doms": list(comp.get("doms") or [])}

    def resolve(parent_name: str | None) -> str | None:
        if not parent_name:
            return None
        key = norm_name(parent_name)
        if key in curated.names:
            return curated.names[key]
        return slug(parent_name)

    ids: dict[str, str] = {}
    for key, comp in merged.items():
        if key in curated.names:
            report.count("matched curated entity")
            continue
        ident = slug(comp["owner_name"])
        if ident in curated.entities:
            ident = f"{ident}-xray"
        ids[key] = ident

    rows: list[dict[str, Any]] = []
    emitted = set(ids.values())
    seen_domains = dict(curated.domains)
    for key, comp in merged.items():
        if key not in ids:
            continue
        raw_country = str(comp.get("country") or "").strip().lower()
        country = _COUNTRY_FIX.get(raw_country, raw_country.upper()) or None
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            report.add(f"{comp['owner_name']!r}: country {raw_country!r} dropped")
            country = None
        parent = resolve(comp.get("parent"))
        root = resolve(comp.get("root_parent"))
        if parent is not None and parent not in emitted and parent not in curated.entities:
            report.add(f"{comp['owner_name']!r}: parent {comp.get('parent')!r} is not listed; link dropped")
            report.count("parent links dropped")
            parent = None
        domains = []
        for raw in comp["doms"]:
            dom = clean_domain(str(raw))
            if dom is None:
                report.count("domains dropped: not a domain name")
                continue
            if dom in seen_domains:
                report.count("domains dropped: already attributed")
                if seen_domains[dom] != ids[key]:
                    report.add(f"domain {dom} of {comp['owner_name']!r} kept on {seen_domains[dom]}")
                continue
            seen_domains[dom] = ids[key]
            domains.append(dom)
        row: dict[str, Any] = {
            "id": ids[key],
            "name": comp["owner_name"],
            "country_hq": country,
            "country_inc": None,
            "parent": parent if parent != ids[key] else None,
        }
        if domains:
            row["domains"] = sorted(set(domains))
        if root and root != parent and root != ids[key]:
            row["note"] = f"X-Ray root parent: {comp.get('root_parent')}"
        row["sources"] = [source(XRAY_URL, XRAY_AS_OF)]
        rows.append(row)
    report.count("entities emitted", len(rows))
    rows.sort(key=lambda r: r["id"])
    return rows, report


# -- Exodus ----------------------------------------------------------------------------------------


def exodus_code_signature(sig: str) -> tuple[str | None, str]:
    """One ``|``-separated Exodus code signature -> (class prefix or None, reason).

    Exodus matches its signatures as regular expressions searched anywhere in a class name. A plain
    dotted name is read as a package (``com.facebook.ads`` -> ``com.facebook.ads.``) unless its last
    segment is capitalised, which names a class. Anything else (a leading dot, regex syntax, a
    hyphen) cannot be expressed as a prefix and is dropped.
    """
    sig = sig.strip().replace("\\.", ".")
    if not sig:
        return None, "empty"
    if not _DOTTED.match(sig):
        return None, "not a plain dotted name"
    if sig.endswith("."):
        return sig, "package"
    last = sig.rsplit(".", 1)[1]
    if last[:1].isupper():
        return sig, "class"
    return sig + ".", "package"


def exodus_network_signature(sig: str) -> str | None:
    """``\\.chartboost\\.com`` / ``.*\\.jiguang\\.cn`` / ``appsflyer\\.com`` -> domain; other regexes -> None."""
    sig = sig.strip()
    for lead in (".*\\.", "\\.", ".*", "."):
        if sig.startswith(lead):
            sig = sig[len(lead) :]
            break
    sig = sig.replace("\\.", ".").replace("\\-", "-")
    if re.search(r"[\\\[\]()*+?{}|^$]", sig):
        return None
    return clean_domain(sig)


def same_group(a: str, b: str, parents: Mapping[str, str | None]) -> bool:
    """Whether one entity is the other or one of its (transitive) parents."""

    def chain(x: str) -> list[str]:
        out: list[str] = []
        cur: str | None = x
        while cur is not None and cur not in out:
            out.append(cur)
            cur = parents.get(cur)
        return out

    return a in chain(b) or b in chain(a)


def import_exodus(
    trackers: Mapping[str, dict[str, Any]],
    owners: Mapping[int, str | None],
    curated: Curated,
    host_owner: Mapping[str, str] | None = None,
    parents: Mapping[str, str | None] | None = None,
    unknown: Mapping[int, str] | None = None,
) -> tuple[list[dict[str, Any]], Report]:
    """Exodus trackers -> SDK rows owned per ``exodus-owners``; trackers a curated SDK covers are skipped.

    ``unknown`` maps tracker ids whose owner no source establishes to the reason: those trackers become
    rows with ``owner: null`` and ``owner_unknown``, so the code is still recognised and reported as
    of unknown control. A tracker with neither an owner nor a reason is skipped.

    A tracker domain that a known entity outside the owner's group owns (Exodus lists some
    third-party hosts a tracker talks to) is dropped rather than attributed to the tracker.
    """
    host_owner = host_owner or {}
    parents = parents or {}
    report = Report()
    rows: list[dict[str, Any]] = []
    used_ids: set[str] = set(curated.sdks)
    for key in sorted(trackers, key=lambda k: int(k)):
        tr = trackers[key]
        tid = int(tr["id"])
        name = str(tr.get("name") or f"tracker {tid}")
        prefixes: list[str] = []
        for raw in str(tr.get("code_signature") or "").split("|"):
            if not raw.strip():
                continue
            if raw.strip() in EXODUS_REJECTED_SIGNATURES:
                report.count("code signatures dropped: matches another vendor's code")
                report.add(f"{tid} {name}: {raw.strip()} dropped ({EXODUS_REJECTED_SIGNATURES[raw.strip()]})")
                continue
            prefix, why = exodus_code_signature(raw)
            if prefix is None:
                report.count(f"code signatures dropped: {why}")
                report.add(f"{tid} {name}: code signature {raw!r} dropped ({why})")
                continue
            report.count("code signatures converted")
            prefixes.append(prefix)
        domains: list[str] = []
        for raw in str(tr.get("network_signature") or "").split("|"):
            if not raw.strip():
                continue
            dom = exodus_network_signature(raw)
            if dom is None:
                report.count("network signatures dropped: regex")
                continue
            domains.append(dom)
        if tid in curated.by_exodus:
            cur = curated.sdks[curated.by_exodus[tid]]
            own = (*cur.get("class_prefixes", ()), *cur.get("weak_prefixes", ()))
            missing = [p for p in prefixes if not any(p == o or (o.endswith(".") and p.startswith(o)) for o in own)]
            report.count("trackers covered by a curated SDK")
            if missing:
                report.add(f"{tid} {name}: curated {cur['id']} lacks {', '.join(missing)}")
            continue
        owner = owners.get(tid)
        reason = (unknown or {}).get(tid)
        if owner is None and not reason:
            report.count("trackers skipped: no owner")
            report.add(f"{tid} {name}: no owner in exodus-owners")
            continue
        strong, weak = [], []
        for p in dict.fromkeys(prefixes):
            cover = covering_prefix(p, curated.strong_prefixes)
            if cover is not None or p in curated.prefixes:
                # Curated rows win over a whole package, not only over the identical prefix.
                report.count("prefixes dropped: inside a curated SDK's package")
                report.add(f"{tid} {name}: {p} is covered by curated {curated.prefixes[cover or p]}")
                continue
            (weak if is_weak_prefix(p) else strong).append(p)
        strong = [p for p in strong if covering_prefix(p, {q: q for q in strong if q != p}) is None]
        doms = []
        for dom in dict.fromkeys(domains):
            holder = walk_domain(dom, host_owner)
            if dom in curated.sdk_domains:
                report.count("domains dropped: claimed by curated SDK")
            elif holder is not None and (owner is None or not same_group(holder, owner, parents)):
                report.count("domains dropped: owned by an unrelated entity")
                report.add(f"{tid} {name}: domain {dom} belongs to {holder}, not {owner}")
            else:
                doms.append(dom)
        site = website_domain(str(tr.get("website") or ""))
        if site is not None and site not in doms and site not in curated.sdk_domains:
            holder = walk_domain(site, host_owner)
            if holder is None or (owner is not None and same_group(holder, owner, parents)):
                doms.append(site)
                report.count("website domains added")
            else:
                report.count("website domains dropped: owned by an unrelated entity")
        if not (strong or weak or doms):
            report.count("trackers skipped: no usable signature")
            continue
        ident = f"exodus.{slug(name)}"
        if ident in used_ids:
            ident = f"{ident}-{tid}"
        used_ids.add(ident)
        cats = sorted({EXODUS_CATEGORIES[c] for c in tr.get("categories") or () if c in EXODUS_CATEGORIES})
        row: dict[str, Any] = {"id": ident, "name": name, "owner": owner}
        if owner is None:
            row["owner_unknown"] = reason
            report.count("sdks with owner not established")
        row["categories"] = cats
        if strong:
            row["class_prefixes"] = strong
        if weak:
            row["weak_prefixes"] = weak
            report.count("prefixes marked weak", len(weak))
        if doms:
            row["domains"] = doms
        row["exodus_id"] = tid
        row["sources"] = [exodus_source(tid)]
        rows.append(row)
    report.count("sdks emitted", len(rows))
    return rows, report


# -- LibChecker ------------------------------------------------------------------------------------


def label_categories(label: str) -> list[str]:
    low = label.casefold()
    cats = []
    for word, cat in LABEL_CATEGORIES:
        hit = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low) if word.isascii() else word in low
        if hit and cat not in cats:
            cats.append(cat)
    return sorted(cats)


def parse_libchecker(text: str) -> list[dict[str, str]]:
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def import_libchecker(
    rules: Sequence[dict[str, str]],
    curated: Curated,
    entity_ids: Mapping[str, str],
    taken: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], Report]:
    """LibChecker rules -> one SDK row per (vendor, label); ``entity_ids`` maps extra vendor names (X-Ray) to ids.

    ``taken`` holds signatures already emitted by higher-precedence importers and is updated.
    """
    report = Report()
    taken = taken if taken is not None else {}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in rules:
        team, label, kind, name = (
            rule.get("team", ""),
            rule.get("label", ""),
            rule.get("kind", ""),
            rule.get("name", ""),
        )
        owner = next((o for p, o in LIBCHECKER_LABEL_OWNERS if label.startswith(p)), None)
        owner = (
            owner
            or LIBCHECKER_VENDORS.get(team)
            or entity_ids.get(norm_name(team))
            or curated.names.get(norm_name(team))
        )
        if owner is None:
            report.count("rules skipped: vendor without an entity")
            continue
        if team in LIBCHECKER_PLATFORM_TEAMS and name.startswith(PLATFORM_PREFIXES):
            report.count("rules skipped: platform / Jetpack")
            continue
        if kind == "native-libs":
            if not _SO.match(name):
                report.count("rules skipped: pattern rule, not a file name")
                continue
            if name in GENERIC_NATIVE_LIBS:
                report.count("rules skipped: generic library name")
                report.add(f"{name} ({team}/{label}): generic library name, not a signature")
                continue
            field_name, claimed = "native_libs", curated.libs
        elif kind in ("activities-libs", "services-libs", "receivers-libs", "providers-libs"):
            if not _COMPONENT.match(name):
                report.count("rules skipped: pattern rule, not a class name")
                continue
            field_name, claimed = "components", curated.components
        else:
            report.count(f"rules skipped: kind {kind}")
            continue
        if name in claimed:
            report.count("rules dropped: claimed by curated SDK")
            continue
        if name in taken:
            report.count("rules dropped: claimed by a higher-precedence import")
            report.add(f"{name} ({team}/{label}) already in {taken[name]}")
            continue
        group = groups.setdefault(
            (owner, label),
            {"team": team, "label": label, "owner": owner, "urls": [], "native_libs": [], "components": []},
        )
        group[field_name].append(name)
        url = rule.get("url", "").strip()
        if url.startswith(("http://", "https://")) and url not in group["urls"]:
            group["urls"].append(url)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for (owner, label), group in sorted(groups.items()):
        ident = f"libchecker.{owner}.{slug(label)}"
        if ident in used:
            ident += "-" + hashlib.sha1(label.encode()).hexdigest()[:6]
        used.add(ident)
        row: dict[str, Any] = {
            "id": ident,
            "name": label or group["team"],
            "owner": owner,
            "categories": label_categories(label),
        }
        for field_name in ("native_libs", "components"):
            if group[field_name]:
                row[field_name] = sorted(set(group[field_name]))
                for value in row[field_name]:
                    taken[value] = ident
        row["note"] = f"LibChecker vendor: {group['team']}"
        row["sources"] = [source(LIBCHECKER_URL, LIBCHECKER_AS_OF)] + [
            source(u, LIBCHECKER_AS_OF) for u in group["urls"][:2]
        ]
        rows.append(row)
    report.count("sdks emitted", len(rows))
    return rows, report


# -- LibRadar --------------------------------------------------------------------------------------


def import_libradar(
    rules: Sequence[dict[str, str]],
    curated: Curated,
    host_owner: Mapping[str, str],
    taken_prefixes: Mapping[str, str],
) -> tuple[list[dict[str, Any]], Report]:
    """LibRadar package rules -> SDK rows. The owner is the entity owning the library's website, if known."""
    report = Report()
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for rule in rules:
        pkg, lib, typ, site = (
            rule.get(k, "").strip() for k in ("Package Name", "Library Name", "Type", "Official Website")
        )
        if lib in ("", "no"):
            report.count("rules skipped: placeholder")
            continue
        if not pkg.startswith("L") or not re.fullmatch(r"L[A-Za-z0-9_$]+(/[A-Za-z0-9_$]+)*", pkg):
            report.count("rules skipped: malformed package")
            continue
        prefix = pkg[1:].replace("/", ".") + "."
        if prefix in LIBRADAR_EXCLUDED:
            report.count("rules skipped: excluded")
            report.add(f"{prefix} {lib}: {LIBRADAR_EXCLUDED[prefix]}")
            continue
        if prefix.startswith(PLATFORM_PREFIXES):
            report.count("rules skipped: platform package")
            continue
        if (
            prefix in curated.prefixes
            or covering_prefix(prefix, curated.strong_prefixes)
            or covering_prefix(prefix, taken_prefixes)
        ):
            report.count("rules dropped: prefix inside a higher-precedence source's package")
            continue
        url = site if "://" in site else (f"http://{site}" if site else "")
        host = (urlsplit(url).hostname or "") if url else ""
        if not host or any(host == h or host.endswith("." + h) for h in CODE_HOSTS):
            report.count("rules skipped: no owner (no website, or a code-hosting site)")
            continue
        owner = walk_domain(host, host_owner)
        if owner is None:
            report.count("rules skipped: website owner unknown")
            report.add(f"{prefix} {lib}: no entity owns {host}")
            continue
        ident = f"libradar.{slug(prefix.rstrip('.'))}"
        if ident in used:
            continue
        used.add(ident)
        row: dict[str, Any] = {
            "id": ident,
            "name": lib,
            "owner": owner,
            "categories": [LIBRADAR_TYPES[typ]] if typ in LIBRADAR_TYPES else [],
        }
        if is_weak_prefix(prefix):
            # A LibRadar row has nothing but its prefix: a weak prefix alone can never report the SDK.
            report.count("rules skipped: prefix too generic to stand alone")
            continue
        row["class_prefixes"] = [prefix]
        row["sources"] = [source(LIBRADAR_URL, LIBRADAR_AS_OF), source(url, LIBRADAR_AS_OF)]
        rows.append(row)
    report.count("sdks emitted", len(rows))
    return rows, report


# -- Exodus owner proposals -------------------------------------------------------------------------


def description_section(text: str, heading: str) -> str | None:
    match = re.search(rf"##+\s*{re.escape(heading)}\s*\r?\n(.*?)(?=\r?\n##|\Z)", text or "", re.S | re.I)
    return " ".join(match.group(1).split()) if match else None


def propose_exodus_owners(
    trackers: Mapping[str, dict[str, Any]],
    curated: Curated,
    host_owner: Mapping[str, str],
    name_owner: Mapping[str, str],
) -> list[dict[str, Any]]:
    """First-pass owner for every tracker, with the basis of the guess, for a person to review.

    Order of evidence: a curated SDK naming the tracker; the tracker's domains or website owned by a
    known entity; the tracker or its "Ownership" paragraph naming a known entity.
    """
    rows = []
    for key in sorted(trackers, key=lambda k: int(k)):
        tr = trackers[key]
        tid, name = int(tr["id"]), str(tr.get("name") or "")
        row: dict[str, Any] = {"exodus_id": tid, "name": name, "owner": None, "basis": "unknown"}
        srcs = [exodus_source(tid)]
        if tid in curated.by_exodus:
            row.update(
                owner=curated.sdks[curated.by_exodus[tid]]["owner"], basis="curated-sdk", sdk=curated.by_exodus[tid]
            )
        else:
            site = urlsplit(str(tr.get("website") or "")).hostname or ""
            directory = any(site == h or site.endswith("." + h) for h in DIRECTORY_HOSTS)
            found = walk_domain(site, host_owner) if site and not directory else None
            if found is None:
                # The website is the best witness; otherwise the owner of most of the tracker's domains.
                sigs = str(tr.get("network_signature") or "").split("|")
                votes = Counter(
                    o for o in (walk_domain(d, host_owner) for d in map(exodus_network_signature, sigs) if d) if o
                )
                found = votes.most_common(1)[0][0] if votes else None
            if found:
                row.update(owner=found, basis="xray-domain")
                srcs.append(source(XRAY_URL, XRAY_AS_OF))
            else:
                for candidate in (name, re.sub(r"\(.*?\)", "", name), name.split()[0] if name.split() else ""):
                    hit = name_owner.get(norm_name(candidate))
                    if hit:
                        row.update(owner=hit, basis="xray-name")
                        srcs.append(source(XRAY_URL, XRAY_AS_OF))
                        break
                else:
                    own = description_section(str(tr.get("description") or ""), "Ownership")
                    if own:
                        for ent_name, ent_id in sorted(name_owner.items(), key=lambda kv: -len(kv[0])):
                            if len(ent_name) >= 4 and ent_name in norm_name(own[:200]):
                                row.update(owner=ent_id, basis="exodus-description")
                                break
        row["sources"] = srcs
        rows.append(row)
    return rows


# -- one SDK once ------------------------------------------------------------------------------------

LIBCHECKER_SAME_AS: dict[str, str] = {
    "libchecker.google.firebase": "google-play-services",
    "libchecker.google.google-play-service": "google-play-services",
}
"""LibChecker groups that describe the shared Play services / Firebase runtime rather than a product SDK."""


def sdk_name_key(name: str) -> str:
    """Name of an SDK reduced to what tells SDKs apart: ``Umeng Push SDK (Android)`` -> ``umengpush``."""
    text = re.sub(r"\(.*?\)", "", name.casefold())
    text = re.sub(r"\b(sdk|android|library|lib)\b", "", text)
    return norm_name(text)


def _inside(value: str, prefixes: Iterable[str]) -> bool:
    return any(value == p or (p.endswith(".") and value.startswith(p)) for p in prefixes)


def assign_same_as(
    ranked: Sequence[Sequence[dict[str, Any]]], parents: Mapping[str, str | None], report: Report
) -> None:
    """Mark rows of lower-precedence imports that describe an SDK a higher-precedence row already has.

    ``ranked`` lists row groups from the highest precedence (hand-curated) down. A lower row gets
    ``same_as: <id>`` when a higher row with an owner of the same group has the same name key, or when
    every component and class prefix of the lower row lies inside one higher row's strong prefixes. The
    loader then folds its signatures and sources into that row, so the knowledge base reports one SDK once.
    """
    higher: list[dict[str, Any]] = []
    for group in ranked:
        for row in group:
            if row.get("same_as"):
                continue
            target = LIBCHECKER_SAME_AS.get(row["id"]) or _same_sdk(row, higher, parents)
            if target is not None and target != row["id"]:
                row["same_as"] = target
                report.count("rows folded into the same SDK of a higher-precedence source")
                report.add(f"{row['id']} is the same SDK as {target}")
        higher.extend(r for r in group if not r.get("same_as"))


def _same_sdk(row: dict[str, Any], higher: Sequence[dict[str, Any]], parents: Mapping[str, str | None]) -> str | None:
    owner = row.get("owner")
    if owner is None:
        return None
    key = sdk_name_key(row["name"])
    code = [*row.get("components", ()), *row.get("class_prefixes", ()), *row.get("weak_prefixes", ())]
    for other in higher:
        other_owner = other.get("owner")
        if other_owner is None or not same_group(owner, other_owner, parents):
            continue
        if key and key == sdk_name_key(other["name"]):
            return str(other["id"])
        strong = other.get("class_prefixes", ())
        if code and strong and all(_inside(c, strong) for c in code):
            return str(other["id"])
    return None
