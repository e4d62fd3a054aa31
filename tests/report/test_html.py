"""The HTML report of real fixture reviews: complete, self-contained, and safe with a hostile APK."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from appvet.model import Endpoint, Evidence, Review
from appvet.policy import WaivedFinding, Waiver, apply, evaluate, load_policy
from appvet.report.html import build_graph, csp, render_html
from appvet.review import review

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "tests" / "fixtures" / "built"
TRAFFIC = ROOT / "tests" / "fixtures" / "traffic"
DAY = date(2026, 1, 1)
HOSTILE = "<script>alert('x')</script><img src=https://evil.example/p.png>"


@cache
def sample() -> Review:
    """multisdk.apk with its capture, under the us-foreign-adversary policy: the sample report."""
    from appvet.kb import load_kb

    kb = load_kb()
    base = review(BUILT / "multisdk.apk", kb=kb, on=DAY, traffic=[TRAFFIC / "flows.har"],
                  device=TRAFFIC / "device.yaml")
    return apply(base, evaluate(base, load_policy("us-foreign-adversary"), kb, DAY))


@cache
def plain() -> Review:
    from appvet.kb import load_kb

    return review(BUILT / "plain.apk", kb=load_kb(), on=DAY)


def hostile() -> Review:
    """The sample with attacker-chosen text in every place an APK controls."""
    r = sample()
    app = dataclasses.replace(r.app, label=HOSTILE, package="com.evil<b>x</b>", version_name='1"onload="x')
    ev = Evidence("dex", "classes.dex", "Lcom/evil/A;->b()V", excerpt="</details><script>alert(2)</script>")
    endpoint = Endpoint(value="https://evil.example/<script>", host="evil.example", kind="url",
                        domain="evil.example", owner=None, owner_country=None, holder="first-party", evidence=(ev,))
    sdk = dataclasses.replace(r.sdks[0], name="<svg onload=alert(3)>")
    return dataclasses.replace(r, app=app, endpoints=(*r.endpoints, endpoint), sdks=(sdk, *r.sdks[1:]))


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background"}


def test_sample_has_every_section_finding_sdk_and_endpoint() -> None:
    r = sample()
    html = render_html(r)
    page = parse(html)
    text = " ".join(page.text)
    assert r.verdict is not None and r.verdict.decision == "fail"
    for f in r.findings:
        assert f'id="f-{f.fingerprint}"' in html
    for s in r.sdks:
        assert f'data-sdk="{s.id}"' in html and s.name in text
    for e in r.endpoints:
        assert e.host in text
    for link in (x for s in r.sdks for x in s.owner_chain if x.source):
        assert link.source in text  # each ownership link with its source
    for c in r.capabilities:
        assert c.category in text
    assert r.traffic is not None
    assert html.count('<tr class="flow">') == len(r.traffic.flows)
    for section in ("picture", "data", "sdks", "endpoints", "traffic", "behaviours", "bans", "policy", "waivers",
                    "findings"):
        assert f'id="{section}"' in html
    assert r.app.sha256 in text and "Beijing Demo Technology Co Ltd" in text
    assert all(v in text for v in r.versions.values())
    # every verdict reason is one sentence with a link to its evidence
    for fp in r.verdict.reasons:
        assert f'href="#f-{fp}"' in html
    n = len(r.verdict.reasons)
    assert n > 1 and f"{n} findings drove the decision" in text


def test_evidence_is_one_click_away_in_details() -> None:
    r = sample()
    html = render_html(r)
    locator = r.capabilities[-1].evidence[0].locator
    block = html[html.index("<details>", html.index('id="t-data"')):]
    assert str(escape(locator)) in block
    assert "json:$.header.imei" in html  # request evidence names its JSON path


def test_page_loads_nothing_from_the_network() -> None:
    html = render_html(sample())
    page = parse(html)
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name in URL_ATTRS and value is not None:
                assert value.startswith("#"), (tag, name, value)
        assert tag not in {"img", "link", "iframe", "object", "embed", "base", "form"}, tag
        assert not (tag == "a" and "href" in attrs and not (attrs["href"] or "").startswith("#"))
        assert "url(" not in (attrs.get("style") or "")
    assert "@import" not in html and "url(" not in html
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    policy = metas[0]["content"] or ""
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert len(page.scripts) == 1 and csp(page.scripts[0]) == policy


def test_hostile_text_is_escaped_everywhere() -> None:
    html = render_html(hostile())
    page = parse(html)
    text = " ".join(page.text)
    assert HOSTILE in text  # shown to the reader as text ...
    assert "<svg onload=alert(3)>" in text
    assert "</details><script>alert(2)</script>" in text
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]  # ... and never as markup
    assert not any(t == "img" for t, _ in page.tags)
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)
    assert sum(1 for t, _ in page.tags if t == "svg") == sum(1 for t, _ in parse(render_html(sample())).tags
                                                              if t == "svg")


def test_diagram_nodes_edges_and_table_equivalent() -> None:
    r = sample()
    g = build_graph(r)
    cats = {c.category for c in r.capabilities}
    assert {n.label for n in g.nodes.values() if n.column == 0} == cats
    assert {n.label for n in g.nodes.values() if n.column == 1} >= {s.name for s in r.sdks}
    assert {n.label for n in g.nodes.values() if n.column == 4} == {"CN China", "US United States of America"}
    styles = {e.confidence for e in g.edges.values()}
    assert {"present", "reachable", "observed"} <= styles
    # Pangle -> Bytedance Pte (SG) -> ByteDance Ltd (CN): the verdict's path is marked
    assert g.nodes["h:pangle"].flagged and g.nodes["e:bytedance"].flagged
    assert not g.nodes["h:firebase-analytics"].flagged
    html = render_html(r)
    assert html.count('<g class="node') == len(g.nodes)
    assert html.count('class="edge ') == len(g.edges)
    assert html.count('stroke-dasharray="6 4"') >= 1
    assert html.count("<tr><td>", html.index('id="t-paths"'), html.index("</table>", html.index('id="t-paths"'))) \
        == len(g.rows)


def test_map_shades_the_countries_data_can_reach() -> None:
    html = render_html(sample())
    shaded = set(re.findall(r'<path class="reached" data-country="(\w+)"', html))
    dots = set(re.findall(r'<circle class="reached dot" data-country="(\w+)"', html))
    assert shaded == {"CN", "US"} and dots == {"KY", "SG"}
    assert '<title id="map-t">' in html and '<desc id="map-d">' in html
    assert html.count('<tr class="country"') == 4


def test_plain_review_without_policy_or_traffic() -> None:
    r = plain()
    html = render_html(r)
    assert "no policy" in html and 'id="traffic"' not in html
    assert "No rule of the policy fired." not in html and "No policy was applied." in html
    parse(html)


def test_waivers_are_listed_when_given() -> None:
    r = sample()
    waiver = Waiver(reason="accepted <risk>", approver="sec team", expires=date(2027, 1, 1), rule="AV104")
    waived = [WaivedFinding(r.findings[0], waiver)]
    html = render_html(r, waived=waived)
    assert '<tr class="waiver">' in html and "accepted &lt;risk&gt;" in html
    assert "No waiver is recorded" in render_html(r)


@pytest.mark.parametrize("name", ["bundle.apks", "multidex.apk", "reach.apk", "packed.apk"])
def test_other_fixtures_render(name: str) -> None:
    from appvet.kb import load_kb

    r = review(BUILT / name, kb=load_kb(), on=DAY)
    html = render_html(r)
    page = parse(html)
    assert r.app.sha256 in " ".join(page.text)
    assert html.count('<tr class="sdk"') == len(r.sdks)


def _luminance(colour: str) -> float:
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_map_legend_colours_meet_wcag_aa() -> None:
    from appvet.report.world import SHADES

    for fill, ink in SHADES:
        hi, lo = sorted((_luminance(fill), _luminance(ink)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, (fill, ink)


def test_why_separates_fail_level_from_review_level() -> None:
    from appvet.report.html import render_html
    from appvet.report.reasons import reasons

    r = sample()
    why = reasons(r)
    assert {x.level for x in why} == {"fail", "review"}
    page = render_html(r)
    fail_at, review_at = page.index('class="why-fail"'), page.index('class="why-review"')
    assert fail_at < review_at
    fail_part, review_part = page[fail_at:review_at], page[review_at:page.index("</div>", review_at)]
    for x in why:
        assert x.fingerprint in (fail_part if x.level == "fail" else review_part)
        assert x.fingerprint not in (review_part if x.level == "fail" else fail_part)
    assert "Fail-level findings" in fail_part and "Review-level findings" in review_part
