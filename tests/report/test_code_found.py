"""An SDK known only from manifest entries is shown as such in every human-facing report."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from appvet.model import SdkHit
from appvet.report.html import render_html
from appvet.report.markdown import render_markdown
from appvet.report.plain import code_found
from appvet.report.terminal import render
from tests.report.test_html import sample

MANIFEST_ONLY = "manifest only: no code of it found"


def _manifest_only(sdk: SdkHit) -> SdkHit:
    return replace(sdk, class_count=0, matched_by=("component", "meta-data"))


def test_code_found_words() -> None:
    sdk = sample().sdks[0]
    assert code_found(_manifest_only(sdk)) == MANIFEST_ONLY
    assert code_found(replace(sdk, class_count=1, matched_by=("class-prefix",))) == "1 class"
    assert code_found(replace(sdk, class_count=0, matched_by=("native-lib",))) == "0 classes"
    assert code_found(replace(sdk, class_count=12, matched_by=("class-prefix", "component"))) == "12 classes"


def test_every_report_says_manifest_only() -> None:
    r = sample()
    r = replace(r, sdks=(_manifest_only(r.sdks[0]), *r.sdks[1:]))
    console = Console(width=400, record=True)
    console.print(render(r))
    assert MANIFEST_ONLY in console.export_text()
    assert MANIFEST_ONLY in render_markdown(r)
    assert MANIFEST_ONLY in render_html(r)
    # the unchanged review never claims it
    plain_review = sample()
    assert MANIFEST_ONLY not in render_markdown(plain_review) or any(
        code_found(s) == MANIFEST_ONLY for s in plain_review.sdks)


def test_country_of_incorporation_is_not_a_destination() -> None:
    from appvet.model import OwnerLink
    from appvet.report.world import reach

    r = sample()
    sdk = r.sdks[0]
    chain = (OwnerLink("x-sub", "X Sub", "CN"), OwnerLink("x-hold", "X Holdings", "CN"))
    held = replace(sdk, owner_chain=chain, jurisdictions=("CN", "KY"))
    countries = reach(replace(r, sdks=(held, *r.sdks[1:])))
    assert countries["KY"].categories == ()
    assert any("country of incorporation" in why for why in countries["KY"].reasons)
    assert any(f"controls {sdk.name}" in why for why in countries["CN"].reasons)
