"""The terminal summary: data categories x who can take them x where they are controlled from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from appvet.model import FIRST_PARTY, Review, SdkHit
from appvet.report.plain import clean_lines, code_found
from appvet.report.reasons import reason_line, reasons

if TYPE_CHECKING:  # the traffic package pulls in capture parsers a review without -t never needs
    from appvet.traffic.model import Flow

MAX_ENDPOINT_ROWS = 40
MAX_FLOW_LINES = 10
MAX_SKIP_LINES = 8


def _t(value: object, style: str = "") -> Text:
    """A cell or line of app-supplied text: control characters made visible, never read as markup."""
    return Text(clean_lines(value), style=style)


def add_row(table: Table, *cells: object) -> None:
    """A table row of app-supplied text (also the fleet summary's): each cell cleaned, never read as markup."""
    table.add_row(*(_t(c) for c in cells))


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _chain(sdk: SdkHit) -> str:
    chain = " → ".join(f"{link.name} ({link.country or '?'})" for link in sdk.owner_chain)
    if chain:
        return chain
    return f"owner unknown: {sdk.owner_unknown}" if sdk.owner_unknown else "unknown owner"


def _holder_label(holder: str, sdks: dict[str, SdkHit]) -> str:
    if holder == FIRST_PARTY:
        return "first-party code"
    if holder == "manifest":
        return "app (permission only)"
    sdk = sdks.get(holder)
    return sdk.name if sdk else holder


class _CleanText:
    """Builds a Text from pieces of app-supplied text, each cleaned before it is added."""

    def __init__(self) -> None:
        self.text = Text()

    def append(self, piece: str, style: str = "") -> None:
        self.text.append(clean_lines(piece), style=style or None)


def _header(review: Review) -> Text:
    a = review.app
    t = _CleanText()
    t.append(f"{a.label or a.package or a.file_name}", style="bold")
    t.append(f"  {a.package or '?'} {a.version_name or ''} (code {a.version_code or '?'})\n")
    os_name = "iOS" if a.platform == "ios" else "Android"
    t.append(f"{os_name}  sha256 {a.sha256}  min/target {'iOS' if a.platform == 'ios' else 'SDK'} "
             f"{a.min_sdk or '?'}/{a.target_sdk or '?'}\n")
    if a.splits:
        t.append(f"bundle of {len(a.splits)} APKs: {', '.join(a.splits)}\n")
    for c in a.signers:
        t.append(f"signed by {c.organisation or c.subject} (country {c.country or '?'}) [{'+'.join(c.schemes)}, "
                 "verified]\n")
    if not a.signers:
        t.append("no signature that Android would accept\n", style="yellow")
    as_of = f" as of {review.review_date}" if review.review_date else ""
    if a.developer:
        t.append("developer" + as_of + ": " + " → ".join(f"{x.name} ({x.country or '?'})" for x in a.developer)
                 + "\n")
    if review.review_date:
        t.append(f"ownership and ban lists as of {review.review_date}\n", style="dim")
    for b in review.bans:
        style = "bold red" if b.in_force else "yellow"
        revoked = f", since {b.status_since} by {b.status_by}" if b.status_by else ""
        devices = ", government devices" if b.devices == "government" else ""
        t.append(f"on ban list: {b.name} [{b.status} on {review.review_date}{revoked}{devices}] "
                 f"(matched by {b.matched_by})\n", style=style)
    return t.text


def _sdk_table(review: Review) -> Table:
    as_of = f" as of {review.review_date}" if review.review_date else ""
    table = Table(title=f"SDKs ({len(review.sdks)})", show_lines=False, expand=False)
    table.add_column("SDK")
    table.add_column("categories")
    table.add_column(f"owner chain (HQ country){as_of}")
    table.add_column("control")
    table.add_column("code found", justify="right")
    for s in review.sdks:
        add_row(table, s.name, ", ".join(s.categories), _chain(s), ", ".join(s.jurisdictions), code_found(s))
    return table


def _data_table(review: Review) -> Table:
    sdks = {s.id: s for s in review.sdks}
    countries = sorted({c.country for c in review.app.signers if c.country})
    developer = f"developer (signer {', '.join(countries)})" if countries else "developer"
    by_cat: dict[str, list] = defaultdict(list)
    for c in review.capabilities:
        by_cat[c.category].append(c)
    table = Table(title="Personal data the app can take", show_lines=True)
    table.add_column("data category", style="bold")
    table.add_column("who can take it")
    table.add_column("controlled from")
    table.add_column("how (API / permission)")
    table.add_column("confidence")
    for cat in sorted(by_cat):
        caps = by_cat[cat]
        who = "\n".join(_holder_label(c.holder, sdks) for c in caps)
        where = "\n".join(", ".join(sdks[c.holder].jurisdictions) if c.holder in sdks else developer for c in caps)
        how = "\n".join(
            (c.apis[0].split(";->")[-1] + (f" +{len(c.apis) - 1}" if len(c.apis) > 1 else "")) if c.apis
            else ", ".join(p.rsplit(".", 1)[-1] for p in c.permissions)
            for c in caps
        )
        add_row(table, cat, who, where, how, "\n".join(c.confidence for c in caps))
    return table


def _endpoint_table(review: Review) -> Table:
    hosts: dict[str, list] = defaultdict(list)
    for e in review.endpoints:
        hosts[e.host].append(e)
    table = Table(title=f"Endpoints ({plural(len(hosts), 'host')})")
    table.add_column("host")
    table.add_column("owner")
    table.add_column("country")
    table.add_column("found in")
    rows = sorted(hosts.items(), key=lambda kv: (kv[1][0].owner is None, kv[0]))
    for host, eps in rows[:MAX_ENDPOINT_ROWS]:
        e = eps[0]
        where = sorted({ev.kind for x in eps for ev in x.evidence})
        holders = sorted({x.holder for x in eps if x.holder})
        add_row(table, host, e.owner or "", e.owner_country or "", ", ".join(holders or where))
    if len(rows) > MAX_ENDPOINT_ROWS:
        table.caption = f"{plural(len(rows) - MAX_ENDPOINT_ROWS, 'more host')} in the JSON report"
    return table


def _behaviour_table(review: Review) -> Table:
    sdks = {s.id: s for s in review.sdks}
    table = Table(title=f"Behaviours ({len(review.behaviours)})")
    table.add_column("behaviour")
    table.add_column("who")
    table.add_column("confidence")
    for b in sorted(review.behaviours, key=lambda b: (not b.changes_after_review, b.id, b.holder)):
        title = ("can change after review: " if b.changes_after_review else "") + b.title
        add_row(table, title, _holder_label(b.holder, sdks), b.confidence)
    return table


def flows_table(flows: Sequence[Flow], limit: int = 60) -> Table:
    """Observed requests: recipient, its owner and countries, and the personal data found in each."""
    table = Table(title=f"Observed traffic ({plural(len(flows), 'request or connection', 'requests and connections')})")
    table.add_column("#", justify="right")
    table.add_column("destination")
    table.add_column("owner (country)")
    table.add_column("IP country")
    table.add_column("personal data found (where, encoding)")
    table.add_column("SDK")
    for f in list(flows)[:limit]:
        d = f.destination
        owner = f"{d.entity} ({d.owner_country or '?'})" if d.entity else ""
        ipc = (d.ip_country or "") + (f" [{d.operator}]" if d.operator else "")
        hits = "\n".join(f"{h.category}: {h.excerpt} ({h.location}; {'+'.join(h.encoding)})" for h in f.hits)
        add_row(table, str(f.index), d.host or d.ip or "?", owner, ipc, hits, ", ".join(f.sdks))
    if len(flows) > limit:
        table.caption = f"{len(flows) - limit} more in the JSON report"
    return table


def render(review: Review) -> Group:
    parts: list = [_header(review), _sdk_table(review), _data_table(review), _endpoint_table(review)]
    if review.behaviours:
        parts.append(_behaviour_table(review))
    for f in review.code_flows[:MAX_FLOW_LINES]:
        holders = " → ".join(dict.fromkeys(step.holder for step in f.steps))
        parts.append(_t(f"data flow ({f.confidence}): {f.category} → {f.sink.rsplit('/', 1)[-1]} ({f.sink_kind}) "
                          f"via {holders}"))
    if len(review.code_flows) > MAX_FLOW_LINES:
        parts.append(Text(f"{plural(len(review.code_flows) - MAX_FLOW_LINES, 'more data flow')} in the JSON report"))
    if review.traffic is not None:
        parts.append(flows_table(review.traffic.flows))
        if review.traffic.unexpected:
            parts.append(_t("seen in traffic but not found in the app: " + ", ".join(review.traffic.unexpected)))
    if review.findings:
        counts: dict[str, int] = defaultdict(int)
        for f in review.findings:
            counts[f.severity] += 1
        parts.append(Text("findings: " + ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items()))))
    if review.skips:
        parts.extend(_skip_lines(review))
    if review.verdict:
        why = reasons(review)
        parts.append(Text(f"verdict: {review.verdict.decision} ({review.verdict.policy})", style="bold"))
        if why:
            counts = ", ".join(plural(sum(1 for x in why if x.level == lv), f"{lv}-level finding")
                               for lv in ("fail", "review") if any(x.level == lv for x in why))
            parts.append(_t(f"decided by {counts}; to accept one, waive its fingerprint:"))
            parts.extend(_t("  " + reason_line(x), "red" if x.level == "fail" else "yellow") for x in why)
        else:
            parts.append(_t("no policy rule asked for a fail or a review"))
    return Group(*parts)


def _skip_lines(review: Review) -> list[Text]:
    """What could not be read and what stopped at a bound, by stage, with the reason of each."""
    by_stage: dict[str, list] = defaultdict(list)
    for sk in review.skips:
        by_stage[sk.stage or "reading"].append(sk)
    n = len(review.skips)
    head = (f"{plural(n, 'part')} of the review {'was' if n == 1 else 'were'} not read or stopped at a bound "
            f"({', '.join(f'{stage}: {len(items)}' for stage, items in sorted(by_stage.items()))}):")
    lines = [_t(head, "yellow")]
    shown = [sk for _, items in sorted(by_stage.items()) for sk in items][:MAX_SKIP_LINES]
    lines += [_t(f"  {sk.locator}: {sk.reason}", "yellow") for sk in shown]
    if n > len(shown):
        lines.append(_t(f"  {n - len(shown)} more under 'skips' in the JSON report", "yellow"))
    return lines


def print_summary(review: Review, console: Console) -> None:
    console.print(render(review))
