"""Findings: one checkable statement each, with a rule id documented in docs/rules/<id>.md."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from appvet.analyze.interface import AppFacts
from appvet.analyze.obfuscation import Protection
from appvet.model import (
    FIRST_PARTY,
    Behaviour,
    Capability,
    CodeFlow,
    Confidence,
    Evidence,
    Finding,
    SdkHit,
    Severity,
    fingerprint,
)

# Categories named in the 2020 national-security reviews of TikTok and WeChat, and those Android
# itself classes as "dangerous" with the most direct harm; a default that policies can override.
HIGH_SENSITIVITY = frozenset({
    "face_biometrics", "precise_location", "contacts_social_graph", "phone_number", "sms", "call_log",
    "microphone", "camera",
})

RULES: dict[str, str] = {
    "AV101": "Third-party SDK can obtain personal data",
    "AV102": "Application is debuggable",
    "AV103": "Application data can be backed up",
    "AV104": "Cleartext network traffic allowed",
    "AV105": "Archive uses tricks that break analysers",
    "AV106": "Signature file Android ignores or refuses",
    "AV107": "Signed with the public Android debug key",
    "AV110": "Archive entry names climb out of the folder they are unpacked to",
    "AV111": "Archive records the same entry name twice",
    "AV112": "Archive entry names differ only by letter case",
    "AV113": "Local file headers disagree with the central directory",
    "AV201": "Behaviour can change after review",
    "AV202": "Code shows a behaviour reviewers flag",
    "AV203": "Personal data can flow to where it leaves the device",
    "AV204": "Code is packed or encrypted: the review cannot see all of it",
    "AV205": "Code is renamed: SDK attribution may be incomplete",
    "AV206": "Renamed SDK attributed by fingerprint: lower confidence",
}

# Behaviours that identify a person or device across apps and resets, or read a whole
# category of other people's data; the rest of AV202 is informational context.
_MEDIUM_BEHAVIOURS = frozenset({
    "installed-apps", "running-apps", "accounts", "sim-serial", "subscriber-id", "device-id", "line-number",
    "mac-address", "build-serial", "contacts", "calendar", "permission-rerequest",
})


def _finding(rule: str, severity: Severity, message: str, evidence: tuple[Evidence, ...], *, key: str,
             category: str | None = None, sdk: str | None = None, entity: str | None = None,
             confidence: Confidence = "present", holder: str | None = None, holder_kind: str = "app") -> Finding:
    if sdk is not None and holder is None:
        holder, holder_kind = sdk, "sdk"
    return Finding(
        rule=rule, severity=severity, title=RULES[rule], message=message, confidence=confidence,
        evidence=evidence, category=category, sdk=sdk, entity=entity, fingerprint=fingerprint(rule, key),
        holder=holder, holder_kind=holder_kind,
    )


class Holders:
    """Names and kinds of the holders of code: SDKs, open-source libraries, first party."""

    def __init__(self, sdks: Sequence[SdkHit], libraries: Sequence[SdkHit] = ()) -> None:
        self.sdks = {s.id: s for s in sdks}
        self.libraries = {lib.id: lib for lib in libraries}

    def kind(self, holder: str) -> str:
        if holder == FIRST_PARTY:
            return FIRST_PARTY
        return "library" if holder in self.libraries and holder not in self.sdks else "sdk"

    def describe(self, holder: str) -> str:
        if holder == FIRST_PARTY:
            return "first-party code"
        if self.kind(holder) == "library":
            lib = self.libraries[holder]
            owner = lib.owner_chain[0].name if lib.owner_chain else "owner unknown"
            return f"open-source library {lib.name} ({owner})"
        hit = self.sdks.get(holder)
        return hit.name if hit else holder


def sdk_data_access(caps: list[Capability], sdks: list[SdkHit]) -> list[Finding]:
    by_id = {s.id: s for s in sdks}
    out = []
    for cap in caps:
        sdk = by_id.get(cap.holder)
        if sdk is None or cap.holder == FIRST_PARTY:
            continue
        owner = sdk.owner_chain[0] if sdk.owner_chain else None
        top = sdk.owner_chain[-1] if sdk.owner_chain else None
        control = ", ".join(sdk.jurisdictions) or "unknown"
        msg = (f"{sdk.name} ({cap.holder_package}) references {', '.join(cap.apis[:3])}"
               f"{' …' if len(cap.apis) > 3 else ''} giving it {cap.category}; owned by "
               f"{owner.name if owner else 'an unknown entity'}"
               f"{f', ultimately {top.name}' if top and owner and top.entity != owner.entity else ''}"
               f" (jurisdictions of control: {control}).")
        severity: Severity = "medium" if cap.category in HIGH_SENSITIVITY else "low"
        if cap.note:
            # The code is there but Android gives it nothing without a permission the app lacks.
            msg += f" Downgraded: {cap.note}."
            severity = "info"
        out.append(_finding("AV101", severity, msg, cap.evidence, key=f"{cap.holder}|{cap.category}",
                            category=cap.category, sdk=cap.holder, entity=top.entity if top else None,
                            confidence=cap.confidence))
    return out


def manifest_flags(facts: AppFacts) -> list[Finding]:
    m = facts.manifest
    if m is None:
        return []
    s = m.summary
    path = f"{facts.package.parts[0].prefix}AndroidManifest.xml"
    out = []
    if s.debuggable:
        out.append(_finding("AV102", "high", "android:debuggable is true: any user with adb can run code as the app.",
                            (Evidence("manifest", path, "application/@android:debuggable", "true"),), key="debuggable"))
    if s.allow_backup:
        out.append(_finding("AV103", "low", "android:allowBackup is true: app data can be copied off the device.",
                            (Evidence("manifest", path, "application/@android:allowBackup", "true"),), key="backup"))
    if s.uses_cleartext_traffic:
        out.append(_finding("AV104", "medium",
                            "android:usesCleartextTraffic is true: data may leave the device unencrypted.",
                            (Evidence("manifest", path, "application/@android:usesCleartextTraffic", "true"),),
                            key="cleartext"))
    return out


def archive_tricks(facts: AppFacts) -> list[Finding]:
    if not facts.oddities:
        return []
    ev = tuple(Evidence("archive", o.partition(": ")[0], "zip central directory", o.partition(": ")[2] or o)
               for o in sorted(facts.oddities)[:20])
    msg = f"{len(facts.oddities)} zip irregularities that Android ignores but analysers trip on."
    return [_finding("AV105", "low", msg, ev, key="archive-tricks")]


def signature_findings(facts: AppFacts) -> list[Finding]:
    """AV106 for stray, failing or stripped signatures; AV107 for the public debug key."""
    out = []
    prefix = facts.package.parts[0].prefix
    for p in facts.signature_problems:
        cert = p.certificate
        evidence = [Evidence("certificate", f"{prefix}{p.file}", f"signature scheme {p.scheme}", p.detail)]
        if cert is not None:
            evidence.append(Evidence("certificate", f"{prefix}{p.file}", f"certificate sha256 {cert.sha256}",
                                     cert.subject))
        who = f" (certificate {cert.subject})" if cert is not None else ""
        if p.kind == "debug-key":
            out.append(_finding("AV107", "high", f"The APK is signed with the Android debug key{who}: its private "
                                "key is public, so anyone can sign an update Android accepts as the same developer's.",
                                tuple(evidence), key=f"debug-key|{cert.sha256 if cert else ''}"))
            continue
        if p.kind == "stray-signature-file":
            message = (f"{p.file} is a v1 signature block with no .SF file{who}. Android ignores it; it is not a "
                       "signer of this app and does not name its developer.")
            severity: Severity = "medium"
        elif p.refused and facts.certificates:
            # Only the devices relying on this scheme refuse it (v1 below API 24); newer ones verify another.
            message = (f"{p.detail}{who}. Android versions that rely on the {p.scheme} signature refuse to install "
                       "the APK; the signer reported is the one newer versions verify.")
            severity = "high"
        elif p.refused:
            message = f"{p.detail}{who}. Android refuses to install the APK; no signer of it is reported."
            severity = "high"
        else:
            message = f"{p.detail}{who}. This signer is not reported."
            severity = "medium" if p.kind != "unverifiable" else "low"
        out.append(_finding("AV106", severity, message, tuple(evidence),
                            key=f"{p.kind}|{p.scheme}|{p.file}|{cert.sha256 if cert else ''}"))
    return out


_TRICK_RULES: dict[str, tuple[str, str]] = {
    "escape": ("AV110", "entry names with '..' or an absolute path"),
    "duplicate": ("AV111", "entry names recorded twice"),
    "case": ("AV112", "sets of entry names equal but for letter case"),
    "local-header": ("AV113", "entries whose local header disagrees with the central directory"),
}
# Entries Android itself reads: a trick on one of these changes what gets installed or run.
_CORE = re.compile(r"(^|!)(AndroidManifest\.xml|classes\d*\.dex|resources\.arsc|META-INF/.*)$", re.IGNORECASE)


def zip_tricks(facts: AppFacts) -> list[Finding]:
    """AV110-AV113: one finding per kind of name or header trick, each entry as evidence."""
    by_kind: dict[str, list] = {}
    for trick in facts.zip_tricks:
        by_kind.setdefault(trick.kind, []).append(trick)
    out = []
    for kind, tricks in sorted(by_kind.items()):
        rule, what = _TRICK_RULES[kind]
        core = any(_CORE.search(t.entry) for t in tricks)
        severity: Severity = "high" if core and kind in ("duplicate", "local-header") else \
            "medium" if core or kind in ("escape", "duplicate", "local-header") else "low"
        ev = tuple(Evidence("archive", t.entry, "zip central directory", t.detail)
                   for t in sorted(tricks, key=lambda t: t.entry)[:20])
        msg = (f"{len(tricks)} {what}; appvet reviewed what Android reads (the central directory, entries "
               "by exact name), but other tools may see different files.")
        out.append(_finding(rule, severity, msg, ev, key=f"zip-{kind}"))
    return out


def behaviour_findings(behaviours: list[Behaviour], sdks: list[SdkHit],
                       libraries: Sequence[SdkHit] = ()) -> list[Finding]:
    """AV201 for code that can change after review, AV202 for the other named behaviours."""
    holders = Holders(sdks, libraries)
    out = []
    for b in behaviours:
        rule = "AV201" if b.changes_after_review else "AV202"
        who = holders.describe(b.holder)
        kind = holders.kind(b.holder)
        apis = ", ".join(b.apis[:3]) + (" …" if len(b.apis) > 3 else "")
        how = "on a path from an entry point" if b.confidence == "reachable" else "present in code, no path found"
        severity: Severity = "medium" if rule == "AV201" or b.id in _MEDIUM_BEHAVIOURS else "low"
        out.append(Finding(
            rule=rule, severity=severity, title=RULES[rule], message=f"{b.title}: {who} ({b.holder_package}) "
            f"uses {apis}; {how}.", confidence=b.confidence, evidence=b.evidence,
            sdk=b.holder if kind == "sdk" else None, fingerprint=fingerprint(rule, f"{b.id}|{b.holder}"),
            holder=b.holder, holder_kind=kind,
        ))
    return out


def flow_findings(flows: list[CodeFlow] | tuple[CodeFlow, ...], sdks: list[SdkHit],
                  libraries: Sequence[SdkHit] = ()) -> list[Finding]:
    """AV203: one finding per flow; high when the value goes to the network or SMS from SDK code."""
    known = Holders(sdks, libraries)
    out = []
    for f in flows:
        holders = list(dict.fromkeys(step.holder for step in f.steps))
        third = [h for h in holders if known.kind(h) == "sdk"]
        who = " -> ".join(known.describe(h) for h in holders)
        # The SDK moving the value answers for it; else the library, else the app's own code.
        owner = third[0] if third else next((h for h in holders if known.kind(h) == "library"), FIRST_PARTY)
        severity: Severity = "high" if third and f.sink_kind in ("network", "sms") else "medium"
        if f.sink_kind == "log":
            severity = "low"
        out.append(Finding(
            rule="AV203", severity=severity, title=RULES["AV203"],
            message=f"{f.category} from {f.source} reaches {f.sink} ({f.sink_kind}) in {len(f.steps)} methods of "
            f"{who}.", confidence=f.confidence,
            evidence=f.evidence,
            category=f.category, sdk=third[0] if third else None,
            fingerprint=fingerprint("AV203", f.category, f.source, f.sink, f.steps[0].holder, f.steps[-1].holder),
            holder=owner, holder_kind=known.kind(owner),
        ))
    return out


def protection_findings(protections: list[Protection] | tuple[Protection, ...]) -> list[Finding]:
    """AV204 for packers and string encryption, AV205 for renamed packages and renamed-SDK hints, AV206 for
    renamed SDK code attributed by fingerprint."""
    out = []
    for p in protections:
        if p.kind in ("packer", "string-obfuscator"):
            out.append(_finding("AV204", "high", f"{p.name}: {p.detail}. Capabilities, reachability and flows "
                                "describe the visible code only.", p.evidence, key=f"{p.kind}|{p.name}"))
        elif p.kind == "fingerprinted-sdk":
            out.append(_finding("AV206", "info", f"SDK {p.name}: {p.detail}. Its name was removed from this code, "
                                "so the attribution rests on that evidence alone and is less certain than a "
                                "package-name match; capabilities found there are counted as the SDK's.",
                                p.evidence, key=f"fingerprinted-sdk|{p.name}", sdk=p.name))
        elif p.kind == "renaming":
            out.append(_finding("AV205", "info", f"Renamed packages {p.name}: {p.detail}. Code there counts as "
                                "first party but may belong to SDKs, so SDK capabilities may be under-counted.",
                                p.evidence, key="renaming"))
        else:
            out.append(_finding("AV205", "medium", f"Renamed code looks like SDK {p.name}: {p.detail}. A hint, not "
                                "an attribution.", p.evidence, key=f"renamed-sdk|{p.name}", sdk=p.name))
    return out


def derive(facts: AppFacts, caps: list[Capability], sdks: list[SdkHit],
           behaviours: list[Behaviour] | tuple[Behaviour, ...] = (),
           flows: list[CodeFlow] | tuple[CodeFlow, ...] = (),
           protections: list[Protection] | tuple[Protection, ...] = (),
           libraries: Sequence[SdkHit] = ()) -> list[Finding]:
    found = (sdk_data_access(caps, sdks) + manifest_flags(facts) + archive_tricks(facts) + zip_tricks(facts)
             + signature_findings(facts) + behaviour_findings(list(behaviours), sdks, libraries)
             + flow_findings(flows, sdks, libraries)
             + protection_findings(protections))
    return unique_fingerprints(found)


def unique_fingerprints(found: Sequence[Finding]) -> list[Finding]:
    """Findings sorted by (rule, fingerprint), each fingerprint used once.

    A fingerprint is built from the facts that identify a finding (rule, holder, category, ...).
    When two different findings still share one (two flows of one category between the same
    holders by different paths, say), each is re-keyed with its own evidence, which is the same on
    every run, so fingerprints stay stable. Exact duplicates are reported once.
    """
    groups: dict[str, list[Finding]] = {}
    for f in found:
        groups.setdefault(f.fingerprint, []).append(f)
    out: list[Finding] = []
    for fp, members in groups.items():
        distinct = list({_identity(f): f for f in members}.values())
        if len(distinct) == 1:
            out.append(distinct[0])
            continue
        for f in distinct:
            parts = [fp, f.message, *(f"{e.kind}|{e.file}|{e.locator}|{e.excerpt}" for e in f.evidence)]
            out.append(dataclasses.replace(f, fingerprint=fingerprint(*parts)))
    out.sort(key=lambda f: (f.rule, f.fingerprint))
    return out


def _identity(f: Finding) -> tuple[object, ...]:
    return (f.rule, f.message, f.evidence, f.category, f.holder)
