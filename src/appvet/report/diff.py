"""What changed between two reviews of an app: SDKs, permissions, capabilities, endpoints, findings, verdict.

Items are matched by id (SDK id, permission name, holder + category, host, finding fingerprint),
never by position, so reordering inside an APK is not a change.
"""

from __future__ import annotations

from typing import Any

from appvet.model import CONFIDENCE_ORDER, Review, SdkHit
from appvet.report.plain import clean


def _app(review: Review) -> dict[str, Any]:
    a = review.app
    return {"package": a.package, "version_code": a.version_code, "version_name": a.version_name,
            "sha256": a.sha256, "file_name": a.file_name}


def _sdk(s: SdkHit) -> dict[str, Any]:
    owner = s.owner_chain[0] if s.owner_chain else None
    top = s.owner_chain[-1] if s.owner_chain else None
    return {"id": s.id, "name": s.name, "owner": owner.name if owner else None,
            "owner_country": owner.country if owner else None, "parent": top.name if top else None,
            "parent_country": top.country if top else None, "jurisdictions": list(s.jurisdictions)}


def _added_removed(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return {"added": [new[k] for k in sorted(new.keys() - old.keys())],
            "removed": [old[k] for k in sorted(old.keys() - new.keys())]}


def diff_reviews(old: Review, new: Review) -> dict[str, Any]:
    """A JSON-able description of the changes from ``old`` to ``new``."""
    perms_old = {p.name: p.name for p in (old.manifest.permissions if old.manifest else ())}
    perms_new = {p.name: p.name for p in (new.manifest.permissions if new.manifest else ())}

    caps_old = {(c.holder, c.category): c for c in old.capabilities}
    caps_new = {(c.holder, c.category): c for c in new.capabilities}

    def cap(c: Any) -> dict[str, Any]:
        return {"holder": c.holder, "category": c.category, "confidence": c.confidence}

    changed = []
    for key in sorted(caps_old.keys() & caps_new.keys()):
        a, b = caps_old[key].confidence, caps_new[key].confidence
        if a != b:
            changed.append({"holder": key[0], "category": key[1], "old": a, "new": b,
                            "direction": "up" if CONFIDENCE_ORDER[b] > CONFIDENCE_ORDER[a] else "down"})
    caps = _added_removed({k: cap(v) for k, v in caps_old.items()}, {k: cap(v) for k, v in caps_new.items()})

    def ep(e: Any) -> dict[str, Any]:
        return {"host": e.host, "owner": e.owner, "owner_country": e.owner_country, "holder": e.holder}

    def finding(f: Any) -> dict[str, Any]:
        return {"fingerprint": f.fingerprint, "rule": f.rule, "severity": f.severity, "title": f.title,
                "sdk": f.sdk, "category": f.category}

    old_v = old.verdict.decision if old.verdict else None
    new_v = new.verdict.decision if new.verdict else None
    return {
        "old": _app(old),
        "new": _app(new),
        "sdks": _added_removed({s.id: _sdk(s) for s in old.sdks}, {s.id: _sdk(s) for s in new.sdks}),
        "permissions": _added_removed(perms_old, perms_new),
        "capabilities": {**caps, "changed": changed},
        "endpoints": _added_removed({e.host: ep(e) for e in old.endpoints}, {e.host: ep(e) for e in new.endpoints}),
        "findings": _added_removed({f.fingerprint: finding(f) for f in old.findings},
                                   {f.fingerprint: finding(f) for f in new.findings}),
        "verdict": {"old": old_v, "new": new_v, "changed": old_v != new_v},
    }


def _where(owner: str | None, country: str | None) -> str:
    return f"{owner or 'owner unknown'}, {country or '?'}"


def render_diff_text(d: dict[str, Any]) -> str:
    """The diff for a person: one line per change, grouped, ``+`` added, ``-`` removed, ``~`` changed."""
    o, n = d["old"], d["new"]
    lines = [f"{o['package'] or o['file_name']} {o['version_name'] or '?'} (code {o['version_code'] or '?'}) -> "
             f"{n['package'] or n['file_name']} {n['version_name'] or '?'} (code {n['version_code'] or '?'})"]

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {item}" for item in items)

    section("SDKs", [f"+ {s['name']} ({_where(s['parent'] or s['owner'], s['parent_country'] or s['owner_country'])})"
                     for s in d["sdks"]["added"]]
            + [f"- {s['name']} ({_where(s['parent'] or s['owner'], s['parent_country'] or s['owner_country'])})"
               for s in d["sdks"]["removed"]])
    section("Permissions", [f"+ {p}" for p in d["permissions"]["added"]]
            + [f"- {p}" for p in d["permissions"]["removed"]])
    caps = d["capabilities"]
    section("Capabilities", [f"+ {c['holder']}: {c['category']} [{c['confidence']}]" for c in caps["added"]]
            + [f"- {c['holder']}: {c['category']} [{c['confidence']}]" for c in caps["removed"]]
            + [f"~ {c['holder']}: {c['category']} {c['old']} -> {c['new']}" for c in caps["changed"]])
    section("Endpoints", [f"+ {e['host']} ({_where(e['owner'], e['owner_country'])})" for e in d["endpoints"]["added"]]
            + [f"- {e['host']} ({_where(e['owner'], e['owner_country'])})" for e in d["endpoints"]["removed"]])
    section("Findings", [f"+ {f['rule']} {f['title']} [{f['fingerprint']}]" for f in d["findings"]["added"]]
            + [f"- {f['rule']} {f['title']} [{f['fingerprint']}]" for f in d["findings"]["removed"]])
    v = d["verdict"]
    if v["changed"]:
        lines.append(f"Verdict: {v['old'] or 'none'} -> {v['new'] or 'none'}")
    if len(lines) == 1:
        lines.append("no changes")
    return "\n".join(clean(line) for line in lines) + "\n"
