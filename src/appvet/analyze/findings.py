"""Findings: one checkable statement each, with a rule id documented in docs/rules/<id>.md."""

from __future__ import annotations

from appvet.analyze.interface import AppFacts
from appvet.model import FIRST_PARTY, Capability, Evidence, Finding, SdkHit, Severity, fingerprint

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
}


def _finding(rule: str, severity: Severity, message: str, evidence: tuple[Evidence, ...], *, key: str,
             category: str | None = None, sdk: str | None = None, entity: str | None = None) -> Finding:
    return Finding(
        rule=rule, severity=severity, title=RULES[rule], message=message, confidence="present",
        evidence=evidence, category=category, sdk=sdk, entity=entity, fingerprint=fingerprint(rule, key),
    )


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
        out.append(_finding("AV101", severity, msg, cap.evidence, key=f"{cap.holder}|{cap.category}",
                            category=cap.category, sdk=cap.holder, entity=top.entity if top else None))
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


def derive(facts: AppFacts, caps: list[Capability], sdks: list[SdkHit]) -> list[Finding]:
    found = sdk_data_access(caps, sdks) + manifest_flags(facts) + archive_tricks(facts)
    found.sort(key=lambda f: (f.rule, f.fingerprint))
    return found
