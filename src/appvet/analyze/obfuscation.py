"""Packers, protectors and renaming obfuscation: what lowers the confidence of a code review.

A packer or protector ships a stub and decrypts the real dex at run time: what was reviewed is
not what runs, and every code-based claim (capabilities, reachability, flows) may miss the most
part of the app. Renaming obfuscation (ProGuard/R8 ``a.b.c`` names) keeps the code but hides SDK
package names, so SDK attribution by class prefix can under-count: a renamed SDK shows up as
first-party code. Such packages are matched to SDKs by what renaming leaves intact, the hosts the
code talks to (``Sdk.domains`` in the knowledge base); a match is a hint, never an attribution.

Markers of packers are public (file names the packer writes into every protected APK); each row
names the vendor. They are matched on exact native-library and asset file names and on class
prefixes of the stub.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

from appvet.analyze.interface import AppFacts
from appvet.analyze.sdks import dotted
from appvet.kb import KnowledgeBase
from appvet.model import Evidence, SdkHit

PACKERS: tuple[tuple[str, str, str], ...] = (
    # (kind, marker, packer): kind is native (library file name), asset (path prefix) or class (prefix)
    ("native", "libjiagu.so", "Qihoo 360 Jiagu"),
    ("native", "libjiagu_art.so", "Qihoo 360 Jiagu"),
    ("native", "libjiagu_a64.so", "Qihoo 360 Jiagu"),
    ("native", "libjiagu_x86.so", "Qihoo 360 Jiagu"),
    ("asset", "assets/libjiagu", "Qihoo 360 Jiagu"),
    ("class", "com.stub.StubApp", "Qihoo 360 Jiagu"),
    ("native", "libsecexe.so", "Bangcle / SecNeo"),
    ("native", "libsecmain.so", "Bangcle / SecNeo"),
    ("native", "libSecShell.so", "Bangcle / SecNeo"),
    ("asset", "assets/bangcle_classes.jar", "Bangcle / SecNeo"),
    ("class", "com.secneo.apkwrapper.", "Bangcle / SecNeo"),
    ("native", "libshella-", "Tencent Legu"),
    ("native", "libshellx-", "Tencent Legu"),
    ("native", "liblegudb.so", "Tencent Legu"),
    ("class", "com.tencent.StubShell.", "Tencent Legu"),
    ("native", "libexec.so", "Ijiami"),
    ("native", "libexecmain.so", "Ijiami"),
    ("asset", "assets/ijiami.dat", "Ijiami"),
    ("class", "com.shell.SuperApplication", "Ijiami"),
    ("native", "libmobisec.so", "Alibaba mobile security"),
    ("class", "com.ali.mobisecenhance.", "Alibaba mobile security"),
    ("native", "libbaiduprotect.so", "Baidu app protection"),
    ("class", "com.baidu.protect.", "Baidu app protection"),
    ("native", "libnesec.so", "NetEase Yidun"),
    ("class", "com.netease.nis.wrapper.", "NetEase Yidun"),
    ("native", "libkwscmm.so", "Kiwisec"),
    ("native", "libdexprotector.so", "DexProtector"),
    ("native", "libAPKProtect.so", "APKProtect"),
)

SHORT_NAME = re.compile(r"^[a-z]{1,2}\d?$|^[A-Za-z]$")
"""A simple class or package name as renaming tools emit them: ``a``, ``bc``, ``C``, ``a1``."""
MIN_CLASSES = 20
"""Packages smaller than this are not judged: hand-written code has a few short names too."""
OBFUSCATED_SHARE = 0.6
"""Share of short-named classes from which a top-level package counts as renamed."""
ALLATORI_MARKER = "ALLATORIxDEMO"


@dataclass(frozen=True)
class Protection:
    """A packer, or an obfuscated part of the code, with the evidence that shows it."""

    kind: str
    """``packer``, ``renaming``, ``string-obfuscator`` or ``renamed-sdk``."""
    name: str
    """Packer vendor, obfuscated package prefix, or SDK id for ``renamed-sdk``."""
    detail: str
    evidence: tuple[Evidence, ...]


def _packers(facts: AppFacts) -> list[Protection]:
    found: dict[str, list[Evidence]] = defaultdict(list)
    for part in facts.package.parts:
        for name in part.archive.entries:
            base = PurePosixPath(name).name
            for kind, marker, packer in PACKERS:
                if kind == "native" and name.startswith("lib/") and (base == marker or (
                        marker.endswith("-") and base.startswith(marker))):
                    found[packer].append(Evidence("native", f"{part.prefix}{name}", "file name", marker))
                elif kind == "asset" and name.startswith(marker):
                    found[packer].append(Evidence("asset", f"{part.prefix}{name}", "file name", marker))
    for unit in facts.dex:
        for cdef in unit.dex.classes():
            cls = dotted(cdef.descriptor)
            for kind, marker, packer in PACKERS:
                if kind == "class" and (cls == marker or (marker.endswith(".") and cls.startswith(marker))):
                    found[packer].append(Evidence("dex", unit.path, cdef.descriptor, "packer stub class"))
    return [Protection("packer", packer, "code is decrypted at run time; the reviewed dex is a stub",
                       tuple(sorted(set(ev), key=lambda e: (e.file, e.locator))[:10]))
            for packer, ev in sorted(found.items())]


def _top(cls: str) -> str:
    """Package prefix judged for renaming: the first two segments, or the default package."""
    parts = cls.split(".")[:-1]
    return ".".join(parts[:2]) if parts else "(default package)"


def _renaming(facts: AppFacts, kb: KnowledgeBase, sdks: list[SdkHit]) -> list[Protection]:
    totals: Counter[str] = Counter()
    short: Counter[str] = Counter()
    where: dict[str, tuple[str, str]] = {}
    short_classes: dict[str, set[str]] = defaultdict(set)
    for unit in facts.dex:
        for cdef in unit.dex.classes():
            cls = dotted(cdef.descriptor)
            if kb.sdk_for_class(cls) is not None:
                continue  # attributed already; renaming only matters where attribution failed
            top = _top(cls)
            totals[top] += 1
            simple = cls.rsplit(".", 1)[-1].split("$", 1)[0]
            if SHORT_NAME.match(simple):
                short[top] += 1
                short_classes[top].add(cdef.descriptor)
                where.setdefault(top, (unit.path, cdef.descriptor))
    out = []
    renamed = sorted((top for top, n in totals.items() if n >= MIN_CLASSES and short[top] / n >= OBFUSCATED_SHARE),
                     key=lambda top: (-short[top], top))
    if renamed:
        classes = sum(short[top] for top in renamed)
        share = classes / max(1, sum(totals.values()))
        evidence = tuple(Evidence("dex", where[top][0], where[top][1],
                                  f"package {top}: {short[top]}/{totals[top]} short class names")
                         for top in renamed[:10])
        out.append(Protection("renaming", ", ".join(renamed[:5]) + (f" and {len(renamed) - 5} more" if len(renamed) > 5
                                                                    else ""),
                              f"{classes:,} classes ({share:.0%} of those not attributed to a known SDK) have "
                              "1-2 letter names", evidence))
    out.extend(_renamed_sdks(facts, kb, sdks, {c for top in renamed for c in short_classes[top]}))
    return out


def _renamed_sdks(facts: AppFacts, kb: KnowledgeBase, sdks: list[SdkHit], classes: set[str]) -> list[Protection]:
    """Renamed classes that load strings naming an SDK's own domains: probably that SDK."""
    if not classes:
        return []
    found_ids = {s.id for s in sdks}
    domains: dict[str, str] = {}
    for sdk in kb.sdks.values():
        if sdk.id not in found_ids:
            for d in sdk.domains:
                domains.setdefault(d.lower(), sdk.id)
    if not domains:
        return []
    hits: dict[str, list[Evidence]] = defaultdict(list)
    host = re.compile(r"^[a-z][a-z0-9+.-]*://([^/:?#]+)", re.I)
    for unit in facts.dex:
        dex = unit.dex
        code = dex.scan_code()
        methods = dex.method_refs()
        candidates: dict[int, str] = {}
        for idx in set(code.string_ref):
            m = host.match(dex.string(idx))
            if m is None:
                continue
            name = m.group(1).lower()
            labels = name.split(".")
            for k in range(len(labels) - 1):
                sdk = domains.get(".".join(labels[k:]))
                if sdk is not None:
                    candidates[idx] = sdk
                    break
        if not candidates:
            continue
        for caller, sidx in zip(code.string_caller, code.string_ref, strict=True):
            sdk = candidates.get(sidx)
            if sdk is not None and methods[caller][0] in classes and len(hits[sdk]) < 5:
                cls, mname, proto = methods[caller]
                hits[sdk].append(Evidence("dex", unit.path, f"{cls}->{mname}{proto}", dex.string(sidx)))
    return [Protection("renamed-sdk", sdk, f"renamed classes use {kb.sdks[sdk].name}'s own hosts",
                       tuple(sorted(set(ev), key=lambda e: (e.file, e.locator, e.excerpt))))
            for sdk, ev in sorted(hits.items())]


def _string_obfuscators(facts: AppFacts) -> list[Protection]:
    for unit in facts.dex:
        code = unit.dex.scan_code()
        for idx in set(code.string_ref):
            if unit.dex.string(idx) == ALLATORI_MARKER:
                return [Protection("string-obfuscator", "Allatori", "strings are decrypted at run time",
                                   (Evidence("dex", unit.path, "string table", ALLATORI_MARKER),))]
    return []


def find(facts: AppFacts, kb: KnowledgeBase, sdks: list[SdkHit]) -> list[Protection]:
    """Packers, string obfuscators, renamed packages and hints of renamed SDKs, in that order."""
    return _packers(facts) + _string_obfuscators(facts) + _renaming(facts, kb, sdks)
