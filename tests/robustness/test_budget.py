"""Budgets: a cut non-essential stage becomes a Skip naming the stage and the limit; an essential one
refuses the input; the memory ceiling turns an oversized allocation into exit 2; --strict."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

import pytest

from appvet import budget
from appvet.errors import LimitExceeded, UsageError
from appvet.ingest.interface import Budget, Options
from appvet.model import Skip
from appvet.review import review
from tests.conftest import BUILT, FIXTURES, ROOT

ON = date(2025, 1, 1)


def _expired_for(stage: str):  # type: ignore[no-untyped-def]
    """A ``Budget.start`` that hands ``stage`` a budget already spent, and every other stage a fresh one."""
    real = Budget.start.__func__  # type: ignore[attr-defined]

    def start(cls, name: str, seconds: float) -> Budget:  # type: ignore[no-untyped-def]
        if name == stage:
            return Budget(name, seconds, time.monotonic() - seconds - 1)
        return real(cls, name, seconds)

    return classmethod(start)


def test_endpoints_past_budget_is_a_skip(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    full = review(BUILT / "multisdk.apk", kb=kb, on=ON)
    assert full.endpoints
    monkeypatch.setattr(Budget, "start", _expired_for("endpoints"))
    cut = review(BUILT / "multisdk.apk", kb=kb, on=ON, options=Options(stage_seconds=7))
    assert cut.endpoints == ()
    skip = next(s for s in cut.skips if s.stage == "endpoints")
    assert "ran past its time guard of 7 s (a last-resort bound" in skip.reason
    assert budget.strict_exit_code(cut) == 3


def test_reachability_past_budget_is_a_skip(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Budget, "start", _expired_for("reachability"))
    cut = review(BUILT / "reach.apk", kb=kb, on=ON, options=Options(stage_seconds=5))
    assert any(s.stage == "reachability" and "time guard of 5 s" in s.reason for s in cut.skips)
    assert all(c.confidence == "present" for c in cut.capabilities)


def test_native_and_assets_past_budget_is_a_skip(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Budget, "start", _expired_for("files"))
    cut = review(BUILT / "plain.apk", kb=kb, on=ON, options=Options(stage_seconds=3))
    assert any(s.stage == "files" and "time guard of 3 s" in s.reason for s in cut.skips)


def test_dex_past_budget_refuses_the_input(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Budget, "start", _expired_for("dex"))
    with pytest.raises(LimitExceeded, match="stage 'dex' ran past its time guard") as info:
        review(BUILT / "plain.apk", kb=kb, on=ON)
    assert info.value.exit_code == 2


def test_cut_stage() -> None:
    skips: list[Skip] = []

    def slow() -> list[int]:
        Budget("endpoints", 0.5, time.monotonic() - 1).check("app.apk")
        return [1]

    assert budget.cut_stage("endpoints", slow, [], skips) == []
    assert skips == [Skip("endpoints", "stage 'endpoints' ran past its time guard of 0.5 s (a last-resort bound: "
                          "this part may differ on a faster machine); endpoints not reported", "endpoints")]
    assert budget.cut_stage("flows", lambda: [2], [], skips) == [2]
    with pytest.raises(ValueError, match="essential"):
        budget.cut_stage("dex", lambda: None, None, skips)


def test_strict_exit_code(kb) -> None:  # type: ignore[no-untyped-def]
    assert budget.strict_exit_code(review(BUILT / "plain.apk", kb=kb, on=ON)) is None
    damaged = review(FIXTURES / "malformed" / "arsc-huge-chunk-size.apk", kb=kb, on=ON)
    assert budget.strict_exit_code(damaged) == 3


@pytest.mark.parametrize(("text", "size"), [("512M", 512 * 1024**2), ("4G", 4 * 1024**3), ("1.5GiB", 1610612736),
                                            ("1000", 1000)])
def test_parse_size(text: str, size: int) -> None:
    assert budget.parse_size(text) == size


def test_bad_limits_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        budget.parse_size("lots")
    with pytest.raises(UsageError, match="below the minimum"):
        budget.set_memory_limit(1024)


_CHILD = """
import sys
from appvet import budget
budget.set_memory_limit(512 * 1024**2)
assert budget.memory_limit() == 512 * 1024**2
try:
    block = bytearray(1024**3)
except MemoryError as exc:
    print(budget.exhausted_message("big.apk", exc))
    sys.exit(2)
sys.exit(0)
"""


def test_memory_limit_turns_an_allocation_into_memory_error() -> None:
    # In a child process: the ceiling cannot be lifted past what the test runner needs afterwards.
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == "big.apk: input exhausted memory limit of 512 MiB"
