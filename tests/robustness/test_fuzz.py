"""The fuzz suite in CI: every kept crash input is replayed, and every harness runs a few seconds.

``APPVET_FUZZ_SECONDS`` sets the time per harness (default 2 s, twelve harnesses); longer runs
are ``make fuzz`` (see fuzz/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz import run_all
from fuzz.harnesses import HARNESSES

REGRESSIONS = sorted(p for p in run_all.REGRESSIONS.glob("*/*") if p.is_file())
SECONDS = float(os.environ.get("APPVET_FUZZ_SECONDS", "2"))


def test_every_harness_has_seeds() -> None:
    for name in HARNESSES:
        assert any((run_all.CORPUS / name).iterdir()), name


def test_regressions_are_kept() -> None:
    # Crashes found so far (fixed): zip/bundle EOCD at the very end, dex code_off past 32 bits.
    assert {p.parent.name for p in REGRESSIONS} >= {"zip", "bundle", "dex"}


@pytest.mark.parametrize("path", REGRESSIONS, ids=[f"{p.parent.name}/{p.name[:10]}" for p in REGRESSIONS])
def test_regression_input_no_longer_crashes(path: Path) -> None:
    assert run_all.run_one(HARNESSES[path.parent.name], path.read_bytes(), timeout=10) is None


def test_crash_is_caught_and_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes) -> None:
        if len(data) > 3:
            raise IndexError("reader bug")

    monkeypatch.setitem(HARNESSES, "dex", broken)
    result = run_all.fuzz_python("dex", 0.2, 0, 5.0, tmp_path)
    assert result.crashes and result.crashes[0][0].startswith("IndexError")
    assert result.crashes[0][1].read_bytes()


def test_hang_is_a_crash() -> None:
    def spin(_data: bytes) -> None:
        while True:
            pass

    assert isinstance(run_all.run_one(spin, b"", timeout=0.2), run_all.InputTimeout)


def test_bounded_run_of_every_harness(tmp_path: Path) -> None:
    results = run_all.run(list(HARNESSES), SECONDS, out=tmp_path, say=lambda _m: None)
    crashes = [(r.harness, sig, str(p)) for r in results for sig, p in r.crashes]
    assert crashes == []
    assert all(r.runs > 100 for r in results), [(r.harness, r.runs) for r in results]
