"""Where the app can send data: URLs, host names and IP literals in code, native libraries and files."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from functools import lru_cache

import tldextract

from appvet.analyze.interface import AppFacts
from appvet.analyze.sdks import Attribution, dotted
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import Endpoint, Evidence

MAX_EVIDENCE = 8

_URL = re.compile(r"(?i)\b(?:https?|wss?|ftp)://[^\s\"'<>\\^`{|}]+")
_HOST = re.compile(r"(?i)^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){2,}[a-z]{2,24}$")
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

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """Public-suffix-aware registrable domain (``a.b.qq.com`` -> ``qq.com``), offline."""
    r = _extract(host)
    return r.top_domain_under_public_suffix or None


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


def candidates(s: str, kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(value, host, kind) for each endpoint in one string."""
    out: list[tuple[str, str, str]] = []
    if "://" in s:
        for m in _URL.finditer(s):
            url = m.group(0).rstrip(".,;:)]'\"")
            host = _host_of(url)
            if not host or host in IGNORED_HOSTS or "%" in host or "$" in host:
                continue
            if _IPV4.match(host):
                if _is_global_ip(host):
                    out.append((url, host, "ip"))
            elif "." in host and registrable_domain(host):
                out.append((url, host, "url"))
        return out
    t = s.strip().lower()
    if len(t) > 253 or " " in t:
        return out
    if _IPV4.match(t):
        if _is_global_ip(t):
            out.append((t, t, "ip"))
        return out
    if _HOST.match(t) and t not in IGNORED_HOSTS:
        last = t.rsplit(".", 1)[-1]
        if last in _FILE_TLDS:
            return out
        domain = registrable_domain(t)
        # Bare names need more than a plausible shape: Java packages look like hosts too.
        if domain and (t.count(".") >= 2 or kb.entity_for_host(t)):
            out.append((t, t, "host"))
    return out


def find(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution, budget: Budget) -> list[Endpoint]:
    found: dict[tuple[str, str], list] = {}  # (value, kind) -> [host, holders, evidence]
    holders_seen: dict[tuple[str, str], set[str]] = defaultdict(set)

    def add(value: str, host: str, kind: str, ev: Evidence, holder: str | None) -> None:
        key = (value, kind)
        row = found.setdefault(key, [host, []])
        if holder:
            holders_seen[key].add(holder)
        if len(row[1]) < MAX_EVIDENCE and ev not in row[1]:
            row[1].append(ev)

    for unit in facts.dex:
        budget.check(facts.package.file_name)
        dex = unit.dex
        refs = dex.scan_code()
        referenced: dict[int, list[int]] = defaultdict(list)
        for caller, sidx in zip(refs.string_caller, refs.string_ref, strict=True):
            referenced[sidx].append(caller)
        for sidx in range(dex.string_count):
            s = dex.string(sidx)
            if "." not in s:
                continue
            cands = candidates(s, kb)
            if not cands:
                continue
            callers = referenced.get(sidx, [])
            for value, host, kind in cands:
                if not callers:
                    add(value, host, kind, Evidence("dex", unit.path, f"string_ids[{sidx}]", value), None)
                for caller in sorted(set(callers))[:MAX_EVIDENCE]:
                    cls, mname, proto = dex.method_ref(caller)
                    holder = attribution.holder(dotted(cls))
                    add(value, host, kind, Evidence("dex", unit.path, f"{cls}->{mname}{proto}", value), holder)
    for lib in facts.native:
        for s in lib.strings:
            for value, host, kind in candidates(s, kb):
                add(value, host, kind, Evidence("native", lib.path, lib.name, value), None)
    for text in facts.texts:
        for s in text.strings:
            for value, host, kind in candidates(s, kb):
                add(value, host, kind, Evidence(text.kind, text.path, text.path, value), None)

    endpoints = []
    for (value, kind), (host, evidence) in found.items():
        domain = None if kind == "ip" else registrable_domain(host)
        owner = kb.entity_for_host(host) if kind != "ip" else None
        country = kb.entities[owner].country_hq if owner else None
        holders = sorted(holders_seen.get((value, kind), ()))
        endpoints.append(
            Endpoint(
                value=value,
                host=host,
                kind=kind,  # type: ignore[arg-type]
                domain=domain,
                owner=owner,
                owner_country=country,
                holder=", ".join(holders) if holders else None,
                evidence=tuple(sorted(evidence, key=lambda e: (e.kind, e.file, e.locator, e.excerpt))),
            )
        )
    endpoints.sort(key=lambda e: (e.host, e.value))
    return endpoints
