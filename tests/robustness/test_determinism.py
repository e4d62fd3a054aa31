"""The same input and versions give the same bytes of JSON, however slow or busy the machine is.

Stage bounds count work (instructions, methods, stored facts); the clock is only a last-resort
guard. These tests run a flows-heavy fixture with a work bound small enough to cut the search,
once normally, once with a clock that races ahead (as on a machine a hundred times slower), and
once while other processes keep both cores busy: the reports must be identical.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import date

import pytest

from appvet.analyze import flows
from appvet.ingest.interface import Budget, Options
from appvet.model import to_json
from appvet.review import review
from tests.conftest import BUILT

ON = date(2025, 1, 1)
TINY_WORK = 50
"""Small enough that the flow search on reach.apk stops part way (checked below)."""


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.fixture
def tiny_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not raising when absent: on a build without work bounds these tests must fail on the report, not here.
    monkeypatch.setattr(flows, "MAX_WORK", TINY_WORK, raising=False)


def _review_bytes(kb) -> str:  # type: ignore[no-untyped-def]
    # A generous guard: the test is about the work bound deciding, not the guard.
    return to_json(review(BUILT / "reach.apk", kb=kb, on=ON, options=Options(stage_seconds=1e9)))


def test_tiny_work_bound_cuts_the_flow_search_and_says_how_far_it_got(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    full = review(BUILT / "reach.apk", kb=kb, on=ON)
    monkeypatch.setattr(flows, "MAX_WORK", TINY_WORK)
    result = review(BUILT / "reach.apk", kb=kb, on=ON)
    [skip] = [s for s in result.skips if s.stage == "flows" and "stopped after" in s.reason]
    assert f"work bound of {TINY_WORK} instructions" in skip.reason
    assert "methods reading a source searched" in skip.reason
    assert not any("stopped after" in s.reason for s in full.skips)
    assert 0 < len(result.code_flows) < len(full.code_flows)


def test_slow_clock_does_not_change_the_report(kb, tiny_work, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    normal = _review_bytes(kb)
    real = time.monotonic
    calls = [0]

    def racing() -> float:
        # Every look at the clock finds 30 s more gone: a machine that is far slower or starved.
        calls[0] += 1
        return real() + 30.0 * calls[0]

    monkeypatch.setattr(time, "monotonic", racing)
    slow = _review_bytes(kb)
    assert calls[0] > 0
    assert slow == normal


def test_busy_machine_does_not_change_the_report(kb, tiny_work) -> None:  # type: ignore[no-untyped-def]
    quiet = _review_bytes(kb)
    ctx = multiprocessing.get_context("spawn")
    load = [ctx.Process(target=_spin, args=(20.0,)) for _ in range(3)]
    for p in load:
        p.start()
    try:
        busy = [_review_bytes(kb) for _ in range(2)]
    finally:
        for p in load:
            p.terminate()
            p.join()
    assert busy == [quiet, quiet]


def test_time_guard_is_reported_as_a_last_resort(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    real = Budget.start.__func__  # type: ignore[attr-defined]

    def start(cls, name: str, seconds: float, **work) -> Budget:  # type: ignore[no-untyped-def]
        budget = real(cls, name, seconds, **work)
        if name == "flows":
            budget.started -= seconds + 1  # the flows stage finds its guard already passed
        return budget

    monkeypatch.setattr(Budget, "start", classmethod(start))
    result = review(BUILT / "reach.apk", kb=kb, on=ON, options=Options(stage_seconds=5))
    [skip] = [s for s in result.skips if s.stage == "flows" and "stopped after" in s.reason]
    assert "time guard of 5 s, a last-resort bound" in skip.reason
    assert result.code_flows == ()
