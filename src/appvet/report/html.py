"""The HTML report: one self-contained file (inline CSS, JS and SVG) that loads nothing from the network.

Everything that comes from the app is hostile text: it reaches the page only through Jinja's
autoescaping or ``markupsafe.escape`` in the SVG builders. The Content-Security-Policy forbids every
fetch, and the one script is pinned by its hash, so an injected ``<script>`` could not run even if
escaping failed.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from appvet.model import CONFIDENCE_ORDER, FIRST_PARTY, Capability, Evidence, Finding, Review, SdkHit
from appvet.report import reasons, world
from appvet.report.plain import code_found

MANIFEST = "manifest"
COLUMNS = ("Data category", "Code that can take it", "Owner", "Ultimate parent", "Country")
CONF_LABEL = {
    "present": "present in code",
    "reachable": "reachable from an entry point",
    "observed": "observed in traffic",
}


# --------------------------------------------------------------------------------------------- labels


def holder_label(holder: str | None, sdks: dict[str, SdkHit]) -> str:
    if holder is None:
        return "not in code"
    if holder == FIRST_PARTY:
        return "first-party code"
    if holder == MANIFEST:
        return "app (permission only)"
    sdk = sdks.get(holder)
    return sdk.name if sdk else holder


def signer_line(review: Review) -> str:
    certs = review.app.signers
    if not certs:
        return "no signer certificate found"
    return "; ".join(f"{c.organisation or c.subject} ({c.country or 'country unknown'})" for c in certs)


def policy_findings(review: Review) -> list[Finding]:
    """Findings a policy produced: they carry the policy rule as the last link of their evidence chain."""
    return [f for f in review.findings if any(e.kind == "policy" for e in f.evidence)]


def verdict_reasons(review: Review) -> list[Finding]:
    if review.verdict is None:
        return []
    by_fp = {f.fingerprint: f for f in review.findings}
    return [by_fp[fp] for fp in review.verdict.reasons if fp in by_fp]


def max_conf(values: Iterable[str]) -> str:
    items = list(values)
    return max(items, key=lambda v: CONFIDENCE_ORDER.get(v, 0)) if items else "none"


def sorted_caps(caps: Sequence[Capability]) -> list[Capability]:
    return sorted(caps, key=lambda c: (c.category, -CONFIDENCE_ORDER[c.confidence], c.holder))


# ------------------------------------------------------------------------------------------ the graph


@dataclass
class Node:
    key: str
    column: int
    label: str
    detail: str
    flagged: bool = False
    y: float = 0.0


@dataclass
class Edge:
    source: str
    target: str
    confidence: str
    """present, reachable, observed, or ``none`` for an SDK with no data capability."""
    flagged: bool = False


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    """The table equivalent: one row per path category -> code -> owner -> parent -> country."""

    def node(self, key: str, column: int, label: str, detail: str = "") -> Node:
        if key not in self.nodes:
            self.nodes[key] = Node(key, column, label, detail or label)
        return self.nodes[key]

    def edge(self, source: str, target: str, confidence: str, flagged: bool) -> None:
        old = self.edges.get((source, target))
        if old is None:
            self.edges[(source, target)] = Edge(source, target, confidence, flagged)
            return
        old.confidence = max_conf([old.confidence, confidence])
        old.flagged = old.flagged or flagged


def _chain_of(holder: str, review: Review, sdks: dict[str, SdkHit]) -> list[tuple[str, str, str | None]]:
    """(entity key, name, country) from the direct owner to the ultimate parent of a holder of code."""
    sdk = sdks.get(holder)
    if sdk is not None:
        return [(f"e:{x.entity}", x.name, x.country) for x in sdk.owner_chain]
    if review.app.developer:
        return [(f"e:{x.entity}", x.name, x.country) for x in review.app.developer]
    certs = [c for c in review.app.signers if c.organisation or c.subject]
    if certs:
        c = certs[0]
        return [(f"signer:{c.organisation or c.subject}", f"{c.organisation or c.subject} (signer)", c.country)]
    return []


def _flags(review: Review) -> tuple[set[tuple[str, str]], set[str]]:
    """(holder, category) pairs and holders named by the findings that drove the verdict."""
    pairs: set[tuple[str, str]] = set()
    holders: set[str] = set()
    for f in verdict_reasons(review):
        if f.sdk and f.category:
            pairs.add((f.sdk, f.category))
        elif f.category:
            pairs.add((FIRST_PARTY, f.category))
        if f.sdk:
            holders.add(f.sdk)
    return pairs, holders


def build_graph(review: Review) -> Graph:
    """Data category -> code -> owner -> ultimate parent -> country, with the confidence of each link."""
    sdks = {s.id: s for s in review.sdks}
    pairs, flagged_holders = _flags(review)
    g = Graph()
    by_holder: dict[str, list[Capability]] = defaultdict(list)
    for c in review.capabilities:
        by_holder[c.holder].append(c)
    holders = list(by_holder) + [s.id for s in review.sdks if s.id not in by_holder]
    last_links = {chain[-1][0] for h in holders if (chain := _chain_of(h, review, sdks))}
    for holder in holders:
        caps = by_holder.get(holder, [])
        hkey = f"h:{holder}"
        sdk = sdks.get(holder)
        detail = (f"{sdk.name} ({holder})" if sdk else holder_label(holder, sdks))
        hnode = g.node(hkey, 1, holder_label(holder, sdks), detail)
        hot = holder in flagged_holders
        for c in caps:
            cflag = (holder, c.category) in pairs or (holder == MANIFEST and (FIRST_PARTY, c.category) in pairs)
            hot = hot or cflag
            g.node(f"c:{c.category}", 0, c.category).flagged |= cflag
            g.edge(f"c:{c.category}", hkey, c.confidence, cflag)
        hnode.flagged |= hot
        conf = max_conf(c.confidence for c in caps)
        chain = _chain_of(holder, review, sdks)
        if not chain:
            chain = [("unknown", "unknown owner", None)]
        first, last = chain[0], chain[-1]
        col = 3 if first[0] in last_links else 2
        g.node(first[0], col, first[1], f"{first[1]} ({first[2] or '?'})").flagged |= hot
        g.edge(hkey, first[0], conf, hot)
        if last[0] != first[0]:
            g.node(last[0], 3, last[1], f"{last[1]} ({last[2] or '?'})").flagged |= hot
            g.edge(first[0], last[0], conf, hot)
        country = last[2] or "?"
        label = f"{country} {world.country_name(country)}" if last[2] else "country unknown"
        g.node(f"k:{country}", 4, label).flagged |= hot
        g.edge(last[0], f"k:{country}", conf, hot)
        for c in caps or [None]:
            g.rows.append((c.category if c else "—", hnode.label, first[1] if last is not first else "—", last[1],
                           label, c.confidence if c else "no data capability"))
    g.rows.sort()
    return g


ROW_H = 30.0
NODE_H = 22.0
COL_X = (4.0, 214.0, 470.0, 726.0, 1002.0)
NODE_W = (170.0, 220.0, 220.0, 240.0, 194.0)
WIDTH = 1200.0
TOP = 34.0
STYLE = {
    "present": ("1.6", "6 4"),
    "reachable": ("2.4", ""),
    "observed": ("5", ""),
    "none": ("1.2", "2 4"),
}


def _order(g: Graph) -> dict[int, list[Node]]:
    """Order nodes in each column by the mean position of their neighbours (a few sweeps), to cut crossings."""
    cols: dict[int, list[Node]] = defaultdict(list)
    for n in g.nodes.values():
        cols[n.column].append(n)
    for col in cols.values():
        col.sort(key=lambda n: (not n.flagged, n.label.lower()))
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for e in g.edges.values():
        preds[e.target].append(e.source)
        succs[e.source].append(e.target)

    def place() -> dict[str, float]:
        pos = {}
        for col in cols.values():
            for i, n in enumerate(col):
                pos[n.key] = i / max(len(col) - 1, 1)
        return pos

    for _ in range(4):
        for c in range(1, 5):
            pos = place()
            cols[c].sort(key=lambda n: (_mean([pos[k] for k in preds[n.key]], pos[n.key]), n.label.lower()))
        for c in range(3, -1, -1):
            pos = place()
            cols[c].sort(key=lambda n: (_mean([pos[k] for k in succs[n.key]], pos[n.key]), n.label.lower()))
    return cols


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow_svg(g: Graph) -> Markup:
    """The layered diagram as inline SVG; every label is escaped, every node and edge has a <title>."""
    cols = _order(g)
    tallest = max((len(c) for c in cols.values()), default=1)
    height = TOP + tallest * ROW_H + 10
    for nodes in cols.values():
        offset = TOP + (tallest - len(nodes)) * ROW_H / 2
        for i, n in enumerate(nodes):
            n.y = offset + i * ROW_H
    out = [
        f'<svg class="flow" viewBox="0 0 {WIDTH:g} {height:g}" role="img" aria-labelledby="flow-t flow-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="flow-t">Who can take which personal data, and where they are controlled from</title>',
        f'<desc id="flow-d">{len(g.nodes)} nodes and {len(g.edges)} links; the table below the diagram lists '
        'every path. Dashed lines: present in code; solid: reachable from an entry point; thick: observed in '
        'traffic. Red marks the findings that drove the verdict.</desc>',
    ]
    for i, name in enumerate(COLUMNS):
        out.append(f'<text class="colhead" x="{COL_X[i]:g}" y="16">{escape(name)}</text>')
    edges = sorted(g.edges.values(), key=lambda e: (e.flagged, CONFIDENCE_ORDER.get(e.confidence, -1)))
    for e in edges:
        a, b = g.nodes[e.source], g.nodes[e.target]
        x1 = COL_X[a.column] + NODE_W[a.column]
        x2 = COL_X[b.column]
        y1, y2 = a.y + NODE_H / 2, b.y + NODE_H / 2
        mid = (x1 + x2) / 2
        width, dash = STYLE.get(e.confidence, STYLE["none"])
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        cls = f"edge {escape(e.confidence)}" + (" hot" if e.flagged else "")
        out.append(
            f'<path class="{cls}" d="M{x1:g} {y1:g}C{mid:g} {y1:g} {mid:g} {y2:g} {x2:g} {y2:g}" fill="none" '
            f'stroke-width="{width}"{dash_attr}><title>{escape(a.label)} → {escape(b.label)}: '
            f'{escape(CONF_LABEL.get(e.confidence, "no data capability"))}</title></path>'
        )
    for n in g.nodes.values():
        w = NODE_W[n.column]
        cls = "node hot" if n.flagged else "node"
        out.append(
            f'<g class="{cls}" data-column="{n.column}"><title>{escape(n.detail)}</title>'
            f'<rect x="{COL_X[n.column]:g}" y="{n.y:g}" width="{w:g}" height="{NODE_H:g}" rx="4"/>'
            f'<text x="{COL_X[n.column] + 7:g}" y="{n.y + 15:g}">{escape(_clip(n.label, int(w / 6.9)))}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


# ----------------------------------------------------------------------------------------- sections


def endpoint_rows(review: Review) -> list[dict[str, Any]]:
    sdks = {s.id: s for s in review.sdks}
    observed = set(review.traffic.observed_endpoints) if review.traffic else set()
    by_host: dict[str, list] = defaultdict(list)
    for e in review.endpoints:
        by_host[e.host].append(e)
    rows = []
    for host, eps in sorted(by_host.items()):
        first = eps[0]
        seen = host in observed or any(e.confidence == "observed" for e in eps)
        rows.append({
            "host": host,
            "values": sorted({e.value for e in eps}),
            "owner": first.owner or "",
            "country": first.owner_country or "",
            "holders": sorted({holder_label(e.holder, sdks) for e in eps}),
            "found": sorted({ev.kind for e in eps for ev in e.evidence}),
            "observed": seen,
            "evidence": [ev for e in eps for ev in e.evidence],
        })
    return rows


def category_rows(review: Review) -> list[dict[str, Any]]:
    sdks = {s.id: s for s in review.sdks}
    rows = []
    for c in sorted_caps(review.capabilities):
        sdk = sdks.get(c.holder)
        rows.append({
            "category": c.category,
            "holder": holder_label(c.holder, sdks),
            "package": c.holder_package,
            "control": ", ".join(sdk.jurisdictions) if sdk else _developer_countries(review),
            "confidence": c.confidence,
            "how": [*c.apis, *c.permissions],
            "evidence": c.evidence,
            "witness": c.witness,
        })
    return rows


def _developer_countries(review: Review) -> str:
    countries = sorted({x.country for x in review.app.developer if x.country}
                       | {c.country for c in review.app.signers if c.country})
    return "developer (" + ", ".join(countries) + ")" if countries else "developer"


def sdk_rows(review: Review) -> list[dict[str, Any]]:
    by_sdk: dict[str, list[Capability]] = defaultdict(list)
    for c in review.capabilities:
        by_sdk[c.holder].append(c)
    hosts: dict[str, set[str]] = defaultdict(set)
    for e in review.endpoints:
        if e.holder:
            hosts[e.holder].add(e.host)
    rows = []
    for s in review.sdks:
        caps = by_sdk.get(s.id, [])
        rows.append({
            "sdk": s,
            "takes": sorted({(c.category, c.confidence) for c in caps}),
            "hosts": sorted(hosts.get(s.id, set())),
            "initialised": {True: "yes", False: "no", None: "unknown"}[s.initialised],
            "code": code_found(s),
        })
    return rows


def flow_evidence(review: Review) -> list[dict[str, Any]]:
    if review.traffic is None:
        return []
    sdks = {s.id: s for s in review.sdks}
    rows = []
    for f in review.traffic.flows:
        d = f.destination
        rows.append({
            "flow": f,
            "dest": d.host or d.ip or "?",
            "owner": f"{d.entity} ({d.owner_country or '?'})" if d.entity else "",
            "server": (d.hosting_country or d.ip_country or "") + (f" [{d.operator}]" if d.operator else ""),
            "sdks": [holder_label(x, sdks) for x in f.sdks],
            "categories": sorted({h.category for h in f.hits}),
        })
    return rows


def evidence_text(e: Evidence) -> str:
    """One line per piece of evidence, for the plain-text and Markdown renderings."""
    tail = f" — {e.excerpt}" if e.excerpt else ""
    return f"[{e.kind}] {e.file} {e.locator}{tail}"


# ------------------------------------------------------------------------------------------- render


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("appvet.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(CONF_LABEL=CONF_LABEL, COLUMNS=COLUMNS, evidence_text=evidence_text)
    return env


@cache
def _asset(name: str) -> str:
    return resources.files("appvet.report").joinpath(f"templates/{name}").read_text(encoding="utf-8")


def csp(script: str) -> str:
    """No fetch of any kind; inline styles; only the report's own script, pinned by its hash."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def render_html(review: Review, *, waived: Sequence[Any] = ()) -> str:
    """The review as one self-contained HTML page.

    ``waived`` takes the policy stage's ``WaivedFinding`` objects (finding + waiver) when the caller
    has them: a ``Review`` records the findings that stand, not the ones a waiver removed.
    """
    sdks = {s.id: s for s in review.sdks}
    script = _asset("report.js")
    graph = build_graph(review)
    countries = world.reach(review)
    policy = policy_findings(review)
    policy_fps = {f.fingerprint for f in policy}
    context = {
        "r": review,
        "app": review.app,
        "title": review.app.label or review.app.package or review.app.file_name,
        "signer": signer_line(review),
        "why": reasons.reasons(review),
        "policy_findings": policy,
        "other_findings": [f for f in review.findings if f.fingerprint not in policy_fps],
        "graph": graph,
        "flow_svg": flow_svg(graph),
        "countries": countries,
        "world_svg": world.world_svg(countries),
        "legend": world.legend(countries),
        "categories": category_rows(review),
        "sdks": sdk_rows(review),
        "endpoints": endpoint_rows(review),
        "flows": flow_evidence(review),
        "behaviours": sorted(review.behaviours, key=lambda b: (not b.changes_after_review, b.id, b.holder)),
        "holder": lambda h: holder_label(h, sdks),
        "waived": list(waived),
        "css": Markup(_asset("report.css")),
        "script": Markup(script),
        "csp": csp(script),
    }
    return _environment().get_template("report.html.j2").render(**context)
