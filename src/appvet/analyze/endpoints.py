"""Where the app can send data: URLs, host names and IP literals in code, native libraries and files."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from appvet.analyze import suffixes
from appvet.analyze.interface import AppFacts
from appvet.analyze.sdks import Attribution, dotted
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import Endpoint, Evidence

MAX_EVIDENCE = 8

_URL = re.compile(r"(?i)\b(?:https?|wss?|ftp)://[^\s\"'<>\\^`{|}]+")
_IPV4 = re.compile(r"^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$")

# Hosts that appear in every app as XML namespaces, schema ids and documentation links; data is not sent there.
IGNORED_HOSTS = frozenset({
    "schemas.android.com", "www.w3.org", "w3.org", "xmlpull.org", "www.xmlpull.org", "ns.adobe.com",
    "purl.org", "xml.org", "xml.apache.org", "java.sun.com", "schemas.xmlsoap.org", "schemas.microsoft.com",
    "developer.android.com", "developers.google.com", "www.apache.org", "apache.org", "opensource.org",
    "www.opensource.org", "creativecommons.org", "www.gnu.org", "json-schema.org", "jsonschema.org",
    "www.slf4j.org", "issuetracker.google.com", "goo.gl", "g.co", "bit.ly", "www.example.com", "example.com",
    "localhost", "schema.org", "xmlns.com", "www.ietf.org", "tools.ietf.org", "www.iana.org",
})
# File-name endings that are also top-level domains; a bare "libfoo.so" or "index.js" is not a host.
_FILE_TLDS = frozenset({"so", "zip", "app", "dev", "json", "js", "xml", "png", "jpg", "gif", "txt", "html", "htm",
                        "java", "kt", "class", "dex", "jar", "apk", "mov", "mp", "sh", "py", "md", "properties",
                        "bin", "dat", "db", "log", "tmp", "webp", "mp3", "mp4", "ogg", "wav", "svg", "ttf", "otf",
                        "css", "pb", "proto", "gz", "tar", "yml", "yaml", "conf", "cfg", "ini", "pem", "crt"})


_LABEL = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
_HOSTNAME = re.compile(rf"^(?=.{{4,253}}$)(?:{_LABEL}\.)+[a-z][a-z0-9-]{{0,62}}$")
_HOST_PORT = re.compile(r"^([a-z0-9.-]+):(\d{1,5})$")

# Top-level domains that host names in apps mostly use. A bare dotted name ending in another TLD
# (.android, .build, .icu, .name, .ads, .center, .media ...) is far more often a Java package, class,
# intent action or property name than a host, so such a name counts only when code uses it as a host
# or the KB knows its domain. Every two-letter country code counts too.
COMMON_TLDS = frozenset({
    "com", "net", "org", "info", "biz", "gov", "edu", "mil", "int", "mobi", "asia", "pro", "xyz", "top",
})
# First labels of Java package names. A bare name that starts with one is a package, class, intent
# action or account type ("com.google", "com.google.cast.media"), whatever code does with it.
JAVA_ROOTS = frozenset({"com", "org", "net", "android", "androidx", "java", "javax", "kotlin", "kotlinx",
                        "dalvik", "libcore", "sun", "junit"})

# Classes whose methods take a host name or URL: a string loaded by code that calls one of them is
# used where a host is used (URL and socket classes, WebView, DNS, the common HTTP clients).
# android.net.Uri is left out: it parses content:, market: and intent URIs as often, next to package names.
HOST_API_CLASSES = frozenset({
    "Ljava/net/URL;", "Ljava/net/URI;", "Ljava/net/InetAddress;", "Ljava/net/Inet4Address;",
    "Ljava/net/Inet6Address;", "Ljava/net/InetSocketAddress;", "Ljava/net/Socket;", "Ljavax/net/SocketFactory;",
    "Ljavax/net/ssl/SSLSocketFactory;", "Ljava/net/HttpURLConnection;", "Ljava/net/DatagramSocket;",
    "Landroid/webkit/WebView;", "Landroid/net/DnsResolver;",
    "Landroid/net/Network;", "Lokhttp3/HttpUrl;", "Lokhttp3/HttpUrl$Builder;", "Lokhttp3/HttpUrl$Companion;",
    "Lokhttp3/Request$Builder;", "Lokhttp3/CertificatePinner$Builder;", "Lretrofit2/Retrofit$Builder;",
    "Lcom/android/volley/toolbox/StringRequest;", "Lcom/android/volley/toolbox/JsonObjectRequest;",
    "Lorg/apache/http/HttpHost;", "Lorg/apache/http/client/methods/HttpGet;",
    "Lorg/apache/http/client/methods/HttpPost;", "Ljava/net/Proxy;", "Ljavax/net/ssl/HttpsURLConnection;",
})


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """Public-suffix-aware registrable domain (``a.b.qq.com`` -> ``qq.com``), offline."""
    found = suffixes.registrable(host)
    if found is suffixes.NOT_PLAIN:
        found = _tldextract()(host).top_domain_under_public_suffix
    return found or None  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _tldextract():  # type: ignore[no-untyped-def]
    """tldextract on its bundled list: no network, no cache files. Loaded only for hosts ``suffixes`` leaves."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.split(":", 1)[0].lower().rstrip(".")


def _is_global_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_global
    except ValueError:
        return False


@dataclass(frozen=True)
class Candidate:
    value: str
    host: str
    kind: str
    """``url``, ``host`` or ``ip``."""
    bare: bool
    """Not from a URL and without a port: it needs more than its shape to count as a host."""
    tld: str = ""


@lru_cache(maxsize=262144)
def shapes(s: str) -> tuple[Candidate, ...]:
    """What in one string is shaped like an endpoint. Depends only on the string, so it is cached:
    the same string occurs in many dex files, libraries and resources."""
    out: list[Candidate] = []
    if "://" in s:
        for m in _URL.finditer(s):
            url = m.group(0).rstrip(".,;:)]'\"")
            host = _host_of(url)
            if not host or host in IGNORED_HOSTS:
                continue
            if _IPV4.match(host):
                if _is_global_ip(host):
                    out.append(Candidate(url, host, "ip", bare=False))
            elif _HOSTNAME.match(host) and registrable_domain(host):
                out.append(Candidate(url, host, "url", bare=False))
        return tuple(out)
    t = s.strip()
    if len(t) > 260 or " " in t or not t:
        return ()
    port = _HOST_PORT.match(t.lower())
    name = port.group(1) if port and 0 < int(port.group(2)) < 65536 else t
    if _IPV4.match(name):
        return (Candidate(name, name, "ip", bare=port is None),) if _is_global_ip(name) else ()
    if name != name.lower():
        return ()  # Java class names (android.os.Build, libcore.icu.ICU); hosts in code are lower case
    if not _HOSTNAME.match(name) or name in IGNORED_HOSTS:
        return ()
    tld = name.rsplit(".", 1)[-1]
    if not registrable_domain(name):
        return ()
    return (Candidate(name, name, "host", bare=port is None, tld=tld),)


class HostRules:
    """Decides whether a host-shaped string is a host, given the app it comes from.

    A name counts when it comes from a URL; when it carries a port; when code that loads it calls a
    URL, socket, WebView or DNS API (it is used where a host is used); or when it is a dotted name in
    a common TLD (or a domain the KB knows) that is not one of the app's own package or class names.
    Bare IPv4 literals count only in the first three cases: "5.2.4.1" is far more often a version.
    """

    def __init__(self, kb: KnowledgeBase, own_names: set[str] | Callable[[], set[str]]) -> None:
        self.kb = kb
        self._own = own_names
        self._known: dict[str, bool] = {}

    @property
    def own_names(self) -> set[str]:
        """Computed on first use: most strings are decided before the app's class names are needed."""
        if callable(self._own):
            self._own = self._own()
        return self._own

    def keep(self, c: Candidate, host_use: bool) -> bool:
        if not c.bare:
            return True
        if c.kind == "host" and c.host.split(".", 1)[0] in JAVA_ROOTS:
            return False
        if host_use:
            return True
        if c.kind == "ip":
            return False
        if c.tld in _FILE_TLDS:
            return False
        known = self._known.get(c.host)
        if known is None:
            known = self._known[c.host] = self.kb.entity_for_host(c.host) is not None
        if not known and not (c.host.count(".") >= 2 and (c.tld in COMMON_TLDS or len(c.tld) == 2)):
            return False
        return c.host not in self.own_names


def own_names(facts: AppFacts) -> set[str]:
    """Lower-case dotted names of every class the app defines, and of each of their packages."""
    packages: set[str] = set()
    names: set[str] = set()
    for unit in facts.dex:
        for cls in unit.dex.classes():  # read once by earlier passes; shared
            desc = cls.descriptor
            if not (desc.startswith("L") and desc.endswith(";")):
                continue
            inner = desc[1:-1]
            names.add(inner.lower().replace("/", ".").replace("$", "."))
            cut = inner.rfind("/")
            if cut > 0:
                packages.add(inner[:cut])
    for package in packages:  # far fewer than classes: expand the prefixes of each once
        parts = package.lower().split("/")
        for n in range(2, len(parts) + 1):
            names.add(".".join(parts[:n]))
    return names


def host_callers(dex, refs) -> set[int]:  # type: ignore[no-untyped-def]
    """method_idx of every method that calls a URL, socket, WebView or DNS API."""
    apis = {i for i, (cls, _name, _proto) in enumerate(dex.method_refs()) if cls in HOST_API_CLASSES}
    if not apis:
        return set()
    return {caller for caller, callee in zip(refs.invoke_caller, refs.invoke_callee, strict=True) if callee in apis}


def candidates(s: str, kb: KnowledgeBase, own: set[str] | None = None,
               host_use: bool = False) -> list[tuple[str, str, str]]:
    """(value, host, kind) for each endpoint in one string, judged without the context of the app."""
    rules = HostRules(kb, own or set())
    return [(c.value, c.host, c.kind) for c in shapes(s) if rules.keep(c, host_use)]


class Found:
    """Endpoints gathered from one app: per (value, kind) its host, the holders of the code using it,
    and the first ``MAX_EVIDENCE`` distinct pieces of evidence."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[str, set[str], list[Evidence]]] = {}

    def add(self, value: str, host: str, kind: str, ev: Evidence, holder: str | None) -> None:
        _host, holders, evidence = self._rows.setdefault((value, kind), (host, set(), []))
        if holder:
            holders.add(holder)
        if len(evidence) < MAX_EVIDENCE and ev not in evidence:
            evidence.append(ev)

    def endpoints(self, kb: KnowledgeBase) -> list[Endpoint]:
        """One ``Endpoint`` per (value, kind) with its domain and owner, sorted by host and value."""
        out = []
        for (value, kind), (host, holders, evidence) in self._rows.items():
            domain = None if kind == "ip" else registrable_domain(host)
            owner = kb.entity_for_host(host) if kind != "ip" else None
            out.append(Endpoint(
                value=value, host=host, kind=kind,  # type: ignore[arg-type]
                domain=domain, owner=owner, owner_country=kb.entities[owner].country_hq if owner else None,
                holder=", ".join(sorted(holders)) if holders else None,
                evidence=tuple(sorted(evidence, key=lambda e: (e.kind, e.file, e.locator, e.excerpt))),
            ))
        out.sort(key=lambda e: (e.host, e.value))
        return out


def find(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution, budget: Budget) -> list[Endpoint]:
    found = Found()
    add = found.add
    rules = HostRules(kb, lambda: own_names(facts))

    for unit in facts.dex:
        budget.check(facts.package.file_name)
        dex = unit.dex
        refs = dex.scan_code()
        referenced: dict[int, list[int]] = defaultdict(list)
        for caller, sidx in zip(refs.string_caller, refs.string_ref, strict=True):
            referenced[sidx].append(caller)
        users: set[int] | None = None  # computed on the first bare name that needs it
        for sidx in range(dex.string_count):
            s = dex.string(sidx)
            if "." not in s:
                continue
            cands = shapes(s)
            if not cands:
                continue
            callers = referenced.get(sidx, [])
            host_use = False
            if callers and any(c.bare for c in cands):
                if users is None:
                    users = host_callers(dex, refs)
                host_use = any(c in users for c in callers)
            for c in cands:
                if not rules.keep(c, host_use):
                    continue
                if not callers:
                    add(c.value, c.host, c.kind, Evidence("dex", unit.path, f"string_ids[{sidx}]", c.value), None)
                for caller in sorted(set(callers))[:MAX_EVIDENCE]:
                    cls, mname, proto = dex.method_ref(caller)
                    holder = attribution.holder(dotted(cls))
                    add(c.value, c.host, c.kind, Evidence("dex", unit.path, f"{cls}->{mname}{proto}", c.value),
                        holder)
    for lib in facts.native:
        for s in lib.strings:
            for c in shapes(s):
                if rules.keep(c, False):
                    add(c.value, c.host, c.kind, Evidence("native", lib.path, lib.name, c.value), None)
    for text in facts.texts:
        for s in text.strings:
            for c in shapes(s):
                if rules.keep(c, False):
                    add(c.value, c.host, c.kind, Evidence(text.kind, text.path, text.path, c.value), None)

    return found.endpoints(kb)
