"""What is bounded without a server: review size, YAML, device profiles, the job queue, the worker's answer."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.bounds import ReviewLimits, cap_review
from appvet.errors import AppvetError
from appvet.model import Component, ManifestSummary, from_dict, to_json
from appvet.policy import PolicyError, parse_waivers
from appvet.safeyaml import YamlRefused, load, nesting
from appvet.serve import jobs as jobs_mod
from appvet.serve.guard import client_address, parse_networks
from appvet.traffic import load_profile

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def a_review():  # type: ignore[no-untyped-def]
    path = next(p for p in sorted(GOLDEN.glob("*.json")) if "manifest" in json.loads(p.read_text()))
    return from_dict(json.loads(path.read_text()))


def test_review_within_bounds_is_unchanged() -> None:
    r = a_review()
    assert cap_review(r) is r


def test_components_sharing_a_long_name_are_cut_and_said() -> None:
    r = a_review()
    comp = Component(kind="activity", name="com.example." + "A" * 50_000, exported=False, permission=None)
    manifest = r.manifest or ManifestSummary((), (), (), (), (), None, None, None, None)
    big = dataclasses.replace(r, manifest=dataclasses.replace(manifest, components=(comp,) * 20_000))
    capped = cap_review(big)
    # Each name is cut to 2,048 characters; the review's 12 M characters of text run out first.
    assert 1_000 <= len(capped.manifest.components) < 20_000  # type: ignore[union-attr]
    assert all(len(c.name) <= 2_048 for c in capped.manifest.components)  # type: ignore[union-attr]
    notes = [s for s in capped.skips if s.stage == "bounds"]
    assert any(s.locator == "manifest.components" and "of 20000 entries" in s.reason for s in notes)
    assert any("shortened" in s.reason for s in notes)
    assert len(to_json(capped)) < 16 * 1024 * 1024


def test_total_text_bound_stops_lists_growing() -> None:
    r = a_review()
    comp = Component(kind="activity", name="x" * 1000, exported=False, permission=None)
    manifest = r.manifest or ManifestSummary((), (), (), (), (), None, None, None, None)
    big = dataclasses.replace(r, manifest=dataclasses.replace(manifest, components=(comp,) * 4_000))
    capped = cap_review(big, ReviewLimits(total_text=100_000))
    assert len(capped.manifest.components) < 200  # type: ignore[union-attr]


def test_nesting_bound_refuses_deep_flow_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(YamlRefused, match="nested"):
        load(("[" * 24_000 + "]" * 24_000).encode(), 1024 * 1024)
    assert time.monotonic() - t0 < 1


def test_deep_waivers_are_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="nested"):
        parse_waivers(("waivers: " + "[" * 20_000 + "]" * 20_000).encode(), "w.yaml")


def test_an_impossible_date_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(YamlRefused, match="not valid YAML: day is out of range"):
        load(b"expires: 2020-02-30\n", 1024)
    with pytest.raises(PolicyError, match="day is out of range"):
        parse_waivers(b"waivers:\n- rule: AV001\n  expires: 2020-02-30\n", "w.yaml")
    p = tmp_path / "dated.yaml"
    p.write_text("imei: ['350000000000000']\nseen: 2020-02-30\n")
    with pytest.raises(AppvetError, match="day is out of range"):
        load_profile(p)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.one_of(st.integers(), st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text("abc", min_size=1, max_size=3), inner, max_size=3)),
                    max_leaves=30))
def test_nesting_is_never_below_the_real_depth(doc: object) -> None:
    import yaml

    def depth(x: object) -> int:
        if isinstance(x, list):
            return 1 + max((depth(v) for v in x), default=0)
        if isinstance(x, dict):
            return 1 + max((depth(v) for v in x.values()), default=0)
        return 0

    for flow in (True, False):
        text = yaml.safe_dump(doc, default_flow_style=flow).encode()
        assert nesting(text) >= depth(doc) or depth(doc) <= 1


def test_profile_alias_bomb_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    p.write_text("\n".join(lines) + "\n")
    assert p.stat().st_size < 500
    with pytest.raises(AppvetError, match="aliases"):
        load_profile(p)


def test_profile_too_deep_or_too_big_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("imei: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(AppvetError, match="nested"):
        load_profile(deep)
    big = tmp_path / "big.yaml"
    big.write_text("packages:\n" + "  - com.example.x\n" * 80_000)
    with pytest.raises(AppvetError, match="larger than"):
        load_profile(big)


def test_forwarded_for_counts_only_from_trusted_proxies() -> None:
    trusted = parse_networks(("10.0.0.0/8",))
    assert client_address("127.0.0.1", "1.2.3.4", trusted) == "127.0.0.1"
    assert client_address("10.1.1.1", "1.2.3.4, 10.2.2.2", trusted) == "1.2.3.4"
    assert client_address("10.1.1.1", "5.6.7.8, 1.2.3.4", trusted) == "1.2.3.4"
    assert client_address("10.1.1.1", "not-an-ip", trusted) == "10.1.1.1"


def test_queue_takes_teams_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    gate = threading.Event()

    def fake(request: dict, seconds: float, on_progress=None) -> dict:  # type: ignore[no-untyped-def]
        gate.wait(5)
        order.append(request["id"])
        return {"status": "ok"}

    monkeypatch.setattr(jobs_mod, "run_worker", fake)
    ex = jobs_mod.LocalExecutor(jobs_mod.JobLimits(workers=1))
    finished = threading.Semaphore(0)
    try:
        for i in range(6):
            ex.start(f"a{i}", {"id": f"a{i}"}, lambda s: None, lambda r: finished.release(), team=1)
        ex.start("b0", {"id": "b0"}, lambda s: None, lambda r: finished.release(), team=2)
        ex.start("b1", {"id": "b1"}, lambda s: None, lambda r: finished.release(), team=2)
        gate.set()
        for _ in range(8):
            assert finished.acquire(timeout=10)
    finally:
        ex.shutdown()
    # a0 was taken before b0 arrived; after it the teams alternate.
    assert order[:5] == ["a0", "a1", "b0", "a2", "b1"] or order[:4] == ["a0", "b0", "a1", "b1"]
    assert order.index("b1") < order.index("a5")


def test_worker_answer_is_read_up_to_a_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(jobs_mod, "MAX_RESULT", 16)
    p = tmp_path / "blob"
    p.write_bytes(b"\x00" * 100)
    result = jobs_mod.run_worker({"app": str(p), "on": "2026-01-01", "out": str(tmp_path)}, 60)
    assert result["status"] == "error" and "larger than 16 bytes" in result["message"]


def test_review_command_caps_its_memory_by_default(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = """
import resource, sys
import appvet.review
from typer.testing import CliRunner
from appvet.cli import app

def fake(*args, **kwargs):
    print("cap", resource.getrlimit(resource.RLIMIT_AS)[0])
    raise SystemExit(0)

appvet.review.review = fake
result = CliRunner().invoke(app, ["review", sys.argv[1], "-q"])
print(result.output)
"""
    apk = Path(__file__).resolve().parents[1] / "fixtures" / "built" / "plain.apk"
    p = subprocess.run([sys.executable, "-c", script, str(apk)], capture_output=True, text=True, timeout=120)
    assert "cap 4294967296" in p.stdout, p.stdout + p.stderr
