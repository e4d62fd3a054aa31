"""CSV export of the fleet tables: a header on every file, and no live control characters or formulas."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from appvet.fleet import report


def test_every_csv_has_its_header_even_without_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {name: [] for name in report.COLUMNS}
    rows["apps"] = [{"sha256": "ab" * 32, "app": "=HYPERLINK(\"http://evil\")", "package": "com.x",
                     "version_name": "1", "label": "\x1b]0;owned\x07\x1b[2J", "size": 10, "decision": "none",
                     "policy": "", "kb": "1", "review_date": "2026-01-01"}]
    monkeypatch.setattr(report, "tables", lambda engine: rows)
    written = report.export(None, "csv", tmp_path)  # type: ignore[arg-type]
    assert {p.stem for p in written} == set(report.COLUMNS)
    for path in written:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert tuple(header) == report.COLUMNS[path.stem], path.name
    text = (tmp_path / "apps.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text
    row = next(csv.DictReader((tmp_path / "apps.csv").open(encoding="utf-8")))
    assert row["label"] == "\\x1b]0;owned\\x07\\x1b[2J"
    assert row["app"].startswith("'=")
    assert row["size"] == "10"


def test_unwritable_export_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appvet.errors import UsageError

    monkeypatch.setattr(report, "tables", lambda engine: {"apps": []})
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with pytest.raises(UsageError, match="into a folder"):
        report.export(None, "csv", afile)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="does not exist"):
        report.export(None, "json", tmp_path / "none" / "x.json")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="is a directory"):
        report.export(None, "json", tmp_path)  # type: ignore[arg-type]


def test_json_export_never_overwrites_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appvet.errors import UsageError

    monkeypatch.setattr(report, "tables", lambda engine: {"apps": []})
    store = tmp_path / "fleet.db"
    store.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(UsageError, match="is the input"):
        report.export(None, "json", store, (store,))  # type: ignore[arg-type]
    assert store.read_bytes() == b"SQLite format 3\x00"
