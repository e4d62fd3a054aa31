"""An SDK whose owner the knowledge base cannot establish carries the reason into the review."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from rich.console import Console

from appvet.kb import load_kb
from appvet.report.html import render_html
from appvet.report.markdown import render_markdown
from appvet.report.terminal import render
from appvet.review import review
from tests.conftest import BUILT, ROOT

ON = date(2026, 11, 29)
REASON = "No filing or register names who controls this code."


def _overlay(tmp_path: Path) -> Path:
    rows = json.loads((ROOT / "src/appvet/kb/data/sdks.json").read_text())["rows"]
    row = next(r for r in rows if r["id"] == "megvii-face")
    row = {**row, "owner": None, "owner_unknown": REASON}
    (tmp_path / "sdks.json").write_text(json.dumps({"kind": "sdks", "rows": [row]}))
    return tmp_path


def test_unknown_owner_reason_reaches_every_report(tmp_path: Path) -> None:
    kb = load_kb([_overlay(tmp_path)], use_cache=False)
    r = review(BUILT / "multisdk.apk", kb=kb, on=ON)
    hits = {s.id: s for s in r.sdks}
    face = hits["megvii-face"]
    assert face.owner_chain == () and face.jurisdictions == ()
    assert face.owner_unknown == REASON
    assert all(s.owner_unknown is None for s in r.sdks if s.id != "megvii-face")
    shown = f"owner unknown: {REASON}"
    assert shown in render_markdown(r)
    assert shown in render_html(r)
    console = Console(record=True, width=400)
    console.print(render(r))
    assert shown in console.export_text()


def test_known_owner_has_no_reason(kb) -> None:  # type: ignore[no-untyped-def]
    r = review(BUILT / "multisdk.apk", kb=kb, on=ON)
    assert r.sdks and all(s.owner_chain and s.owner_unknown is None for s in r.sdks)
