"""The Markdown report: the sections of the HTML one, and no live markup from the app."""

from __future__ import annotations

import re
from datetime import date

from appvet.policy import WaivedFinding, Waiver
from appvet.report.markdown import code, md, render_markdown
from tests.report.test_html import HOSTILE, hostile, plain, sample


def test_sections_and_every_finding_sdk_endpoint() -> None:
    r = sample()
    text = render_markdown(r)
    for heading in ("# appvet review:", "## Who can take what", "## Countries data can reach",
                    "## Personal data the app can take", "## SDKs", "## Endpoints", "## Observed traffic",
                    "## Behaviours", "## Government ban lists", "## Policy rules fired", "### Waivers applied",
                    "## Other findings"):
        assert heading in text
    assert "**Verdict: FAIL**" in text
    for f in r.findings:
        assert f.fingerprint in text
    for s in r.sdks:
        assert md(s.name) in text
    for e in r.endpoints:
        assert code(e.host) in text
    assert "json:$.header.imei" in text
    # table rows keep their column count
    for line in text.splitlines():
        if line.startswith("| CN China"):
            assert line.count(" | ") == 3


def test_hostile_text_cannot_become_markup_or_links() -> None:
    text = render_markdown(hostile())
    assert HOSTILE not in text
    assert not re.search(r"(?<!\\)<(script|img|svg)", re.sub(r"`[^`]*`", "", text))
    assert "https://evil" not in re.sub(r"`[^`]*`", "", text)


def test_escapes() -> None:
    assert md("[x](https://a.b)") == "\\[x\\](https:\u200b//a.b)"
    assert md("a|b\nc") == "a\\|b c"
    assert code("a`b") == "`` a`b ``"
    assert code("x|y") == "` x\u2502y `"


def test_plain_review_and_waivers() -> None:
    text = render_markdown(plain())
    assert "**No policy applied.**" in text and "## Observed traffic" not in text
    r = sample()
    waived = [WaivedFinding(r.findings[0], Waiver(reason="ok", approver="me", expires=date(2027, 1, 1)))]
    assert "waived: ok (approved by me, until 2027-01-01)" in render_markdown(r, waived=waived)
