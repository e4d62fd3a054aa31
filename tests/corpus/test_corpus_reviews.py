"""Corpus tier: review every real-world APK restored by scripts/build-corpus.

Deselected by default (``-m "not corpus"`` in the pytest options); run with
``pytest -m corpus tests/corpus`` or ``make test-corpus`` after ``make corpus``. The directory is
$APPVET_CORPUS (default /work/corpus/apks); every file the manifest lists must be there.

Each app is reviewed by the real ``appvet`` command in its own process. An app passes when the
review succeeds (exit 0) or appvet refuses it as bad input (exit 2) with one ``appvet: error:`` line
that names the file; never a traceback, an internal error (exit 3) or a timeout.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MANIFEST = ROOT / "corpus" / "manifest.csv"
CORPUS = Path(os.environ.get("APPVET_CORPUS", "/work/corpus/apks"))
APPVET = str(Path(sys.executable).parent / "appvet")
TIMEOUT = float(os.environ.get("APPVET_CORPUS_TIMEOUT", "300"))


def _rows() -> list[dict[str, str]]:
    with MANIFEST.open(newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()

pytestmark = pytest.mark.corpus


def test_manifest_rows_are_complete_and_unique() -> None:
    assert len(ROWS) >= 150
    assert len({r["file"] for r in ROWS}) == len(ROWS)
    assert len({r["sha256"] for r in ROWS}) == len(ROWS)
    for row in ROWS:
        assert len(row["sha256"]) == 64 and len(row["blob"]) == 40 and len(row["commit"]) == 40
        assert row["repository"].count("/") == 1 and row["path"] and int(row["size"]) > 0 and row["licence"]


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_review_succeeds_or_refuses_cleanly(row: dict[str, str], tmp_path: Path) -> None:
    apk = CORPUS / row["file"]
    assert apk.is_file(), f"{apk} missing: run scripts/build-corpus (make corpus) first"
    out = tmp_path / "review.json"
    proc = subprocess.run(
        [APPVET, "review", str(apk), "--format", "json", "-o", str(out), "--quiet"],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 0:
        report = json.loads(out.read_text())
        assert report["app"]["sha256"] == row["sha256"]
    else:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("appvet: error: ") and row["file"] in lines[0], proc.stderr
        assert not out.exists()
