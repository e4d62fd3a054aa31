"""The review as Markdown, with the sections of the HTML report, for pasting into a ticket.

Text from the app is escaped so that a crafted label or URL cannot open a link, an image, an HTML
tag or break a table; hosts and URLs are wrapped so trackers that autolink do not make them links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from appvet.model import Evidence, Finding, Review
from appvet.report import world
from appvet.report.html import (
    build_graph,
    category_rows,
    endpoint_rows,
    flow_evidence,
    holder_label,
    policy_findings,
    sdk_rows,
    signer_line,
)
from appvet.report.plain import clean
from appvet.report.reasons import reason_line, reasons

_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~&])")
MAX_EVIDENCE = 12


def md(text: object) -> str:
    """Escape one piece of text for a Markdown table cell or paragraph."""
    s = clean(" ".join(str(text if text is not None else "").split()))
    s = _SPECIAL.sub(r"\\\1", s)
    # "://" and "www." are what autolinkers look for; a zero-width space defeats them and is invisible.
    s = s.replace("://", ":\u200b//").replace("www.", "www\u200b.")
    return " ".join(s.split())


def code(text: object) -> str:
    """Inline code: safe for any content, as long as the fence is longer than any backtick run inside."""
    s = clean(" ".join(str(text or "").split())).replace("|", "\u2502")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {s} {fence}" if s else ""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _evidence(items: Sequence[Evidence], indent: str = "  ") -> list[str]:
    out = [f"{indent}- {md(e.kind)}: {code(e.file)} {code(e.locator)}" + (f" — {md(e.excerpt)}" if e.excerpt else "")
           for e in items[:MAX_EVIDENCE]]
    if len(items) > MAX_EVIDENCE:
        out.append(f"{indent}- … {len(items) - MAX_EVIDENCE} more in the JSON report")
    return out


def _header(r: Review) -> list[str]:
    a = r.app
    title = a.label or a.package or a.file_name
    out = [f"# appvet review: {md(title)}", ""]
    if r.verdict:
        out.append(f"**Verdict: {r.verdict.decision.upper()}** (policy {code(r.verdict.policy)})")
        why = reasons(r)
        for level, title in (("fail", "Fail-level findings"), ("review", "Review-level findings")):
            items = [x for x in why if x.level == level]
            if items:
                out += ["", f"{title} ({len(items)}):", ""]
                out += [f"- {md(reason_line(x))}" for x in items]
    else:
        out.append("**No policy applied.**")
    out += [
        "",
        f"- package: {code(a.package or 'unknown')}, version {md(a.version_name or '?')} "
        f"(code {md(a.version_code or '?')}), {'iOS' if a.platform == 'ios' else 'Android'}, min/target "
        f"{'iOS' if a.platform == 'ios' else 'SDK'} {md(a.min_sdk or '?')}/{md(a.target_sdk or '?')}",
        f"- file: {md(a.file_name)}, {a.size} bytes, sha256 {code(a.sha256)}",
        f"- signed by: {md(signer_line(r))}",
    ]
    if a.developer:
        out.append("- developer: " + " → ".join(f"{md(x.name)} ({md(x.country or '?')})" for x in a.developer))
    when = f"{md(r.review_date)} (ownership and ban lists as of this day)" if r.review_date else "date not recorded"
    out.append(f"- reviewed: {when}; versions: "
               + ", ".join(f"{md(k)} {code(v)}" for k, v in sorted(r.versions.items())))
    return out


def _picture(r: Review) -> list[str]:
    g = build_graph(r)
    out = ["", "## Who can take what, and where it is controlled from", ""]
    out += _table(["data category", "code", "owner", "ultimate parent", "country", "confidence"],
                  ([md(c) for c in row] for row in g.rows))
    countries = world.reach(r)
    out += ["", "## Countries data can reach", ""]
    out += _table(["country", "data categories", "why", "seen in traffic"], (
        [f"{md(c.country)} {md(c.name)}", md(", ".join(c.categories)), md("; ".join(c.reasons)),
         "yes" if c.observed else "no"] for c in countries.values()))
    return out


def _categories(r: Review) -> list[str]:
    out = ["", "## Personal data the app can take", ""]
    for row in category_rows(r):
        how = ", ".join(code(h) for h in row["how"])
        out.append(f"- **{md(row['category'])}** — {md(row['holder'])} ({code(row['package'])}), "
                   f"controlled from {md(row['control'])}, *{row['confidence']}*: {how}")
        out += _evidence(row["evidence"])
        if row["witness"]:
            out.append("  - call path: " + " → ".join(code(s) for s in row["witness"]))
    return out


def _sdks(r: Review) -> list[str]:
    out = ["", "## SDKs", ""]
    for row in sdk_rows(r):
        s = row["sdk"]
        chain = " → ".join(f"{md(x.name)} ({md(x.country or '?')})" for x in s.owner_chain) or (
            f"owner unknown: {md(s.owner_unknown)}" if s.owner_unknown else "unknown owner"
        )
        takes = ", ".join(f"{md(c)} ({conf})" for c, conf in row["takes"]) or "nothing found"
        hosts = ", ".join(code(h) for h in row["hosts"]) or "none found"
        out.append(f"- **{md(s.name)}** ({code(s.id)}; {md(', '.join(s.categories))}): {chain}; "
                   f"jurisdictions {md(', '.join(s.jurisdictions) or '?')}; can take: {takes}; endpoints: {hosts}; "
                   f"initialised: {row['initialised']}; {row['code']}")
        for link in s.owner_chain:
            if link.source:
                out.append(f"  - source for {md(link.name)}: {code(link.source)}")
        out += _evidence(s.evidence)
    return out


def _endpoints(r: Review) -> list[str]:
    out = ["", "## Endpoints", ""]
    out += _table(["host", "owner", "country", "code", "found in", "observed"], (
        [code(e["host"]), md(e["owner"] or "—"), md(e["country"] or "—"), md(", ".join(e["holders"])),
         md(", ".join(e["found"])), "observed" if e["observed"] else "not seen"] for e in endpoint_rows(r)))
    return out


def _traffic(r: Review) -> list[str]:
    if r.traffic is None:
        return []
    out = ["", "## Observed traffic", ""]
    for row in flow_evidence(r):
        f = row["flow"]
        out.append(f"- #{f.index} {code((f.method or f.protocol) + ' ' + (f.url or row['dest']))} → "
                   f"{md(row['owner'] or row['dest'])}, server {md(row['server'] or '?')}; "
                   f"SDK {md(', '.join(row['sdks']) or '—')}")
        for h in f.hits:
            out.append(f"  - {md(h.category)} ({md(h.kind)}): {code(h.excerpt)} at {code(h.location)}, "
                       f"decoded {md(' → '.join(h.encoding) or 'as sent')}")
    if r.traffic.unexpected:
        out.append("- contacted but named nowhere in the app: " + ", ".join(code(h) for h in r.traffic.unexpected))
    return out


def _behaviours(r: Review) -> list[str]:
    sdks = {s.id: s for s in r.sdks}
    out = ["", "## Behaviours", ""]
    if not r.behaviours:
        return [*out, "None found."]
    for b in sorted(r.behaviours, key=lambda b: (not b.changes_after_review, b.id, b.holder)):
        after = " — **can change what the app does after this review**" if b.changes_after_review else ""
        out.append(f"- **{md(b.title)}** ({code(b.id)}) by {md(holder_label(b.holder, sdks))}, "
                   f"*{b.confidence}*{after}")
        out += _evidence(b.evidence)
    return out


def _bans(r: Review) -> list[str]:
    out = ["", "## Government ban lists", ""]
    if not r.bans:
        return [*out, "The app is on no ban list of the knowledge base."]
    for b in r.bans:
        revoked = f", since {md(b.status_since)} by {md(b.status_by)}" if b.status_by else ""
        devices = "; government devices only" if b.devices == "government" else ""
        out.append(f"- **{md(b.name)}** ({md(b.jurisdiction)}, {md(b.authority)}, {md(b.instrument)}, {md(b.date)}"
                   f"{devices}): "
                   f"{md(b.status)} on {md(r.review_date)}{revoked}; listed as {md(b.listed_as)} "
                   f"(matched by {md(b.matched_by)})")
    return out


def _findings(title: str, items: Sequence[Finding], reasons: set[str]) -> list[str]:
    out = ["", f"## {title}", ""]
    if not items:
        return [*out, "None."]
    for f in items:
        mark = " **(drove the verdict)**" if f.fingerprint in reasons else ""
        out.append(f"- {code(f.rule)} {f.severity} *{f.confidence}*{mark}: {md(f.message)} ({code(f.fingerprint)})")
        out += _evidence(f.evidence)
    return out


def _waiver_line(w: Any) -> str:
    v = w.waiver
    return (f"- {code(w.finding.rule)} {md(w.finding.message)} — waived: {md(v.reason)} "
            f"(approved by {md(v.approver)}, until {md(v.expires)})")


def render_markdown(review: Review, *, waived: Sequence[Any] = ()) -> str:
    """The review as GitHub-flavoured Markdown; ``waived`` as in :func:`appvet.report.html.render_html`."""
    reasons = set(review.verdict.reasons) if review.verdict else set()
    policy = policy_findings(review)
    fps = {f.fingerprint for f in policy}
    out = _header(review) + _picture(review) + _categories(review) + _sdks(review) + _endpoints(review)
    out += _traffic(review) + _behaviours(review) + _bans(review)
    out += _findings("Policy rules fired", policy, reasons)
    out += ["", "### Waivers applied", ""]
    out += [_waiver_line(w) for w in waived] or ["No waiver is recorded with this review."]
    out += _findings("Other findings", [f for f in review.findings if f.fingerprint not in fps], reasons)
    if review.skips:
        out += ["", "## Parts that could not be read", ""]
        out += [f"- {code(s.locator)}: {md(s.reason)}" for s in review.skips]
    return "\n".join(out) + "\n"
