"""Source -> sink flows in code (AV203), checked against the reach fixture's sources, both ways."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.analyze import flows
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, FIXTURES

EXPECTED = json.loads((FIXTURES / "expected" / "reach.json").read_text())


@pytest.fixture(scope="module")
def reach_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "reach.apk", kb=kb)


def _descriptor(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


def test_expected_flows_are_found_with_every_step(reach_review: Review) -> None:
    assert len(reach_review.code_flows) == len(EXPECTED["code_flows"])
    for want in EXPECTED["code_flows"]:
        [got] = [f for f in reach_review.code_flows if f.source == want["source"] and f.sink == want["sink"]]
        assert got.category == want["category"]
        assert got.sink_kind == want["sink_kind"]
        assert got.confidence == ("reachable" if want["reachable"] else "present")
        assert len(got.steps) == len(want["steps"])
        for step, (cls, method, holder, role) in zip(got.steps, want["steps"], strict=True):
            assert step.method.startswith(f"{_descriptor(cls)}->{method}("), (step, cls, method)
            assert (step.holder, step.role) == (holder, role)


def test_look_alikes_are_not_flows(reach_review: Review) -> None:
    for item in EXPECTED["not_code_flows"]:
        prefix = f"{_descriptor(item['class'])}->{item['method']}("
        assert not any(s.method.startswith(prefix) for f in reach_review.code_flows for s in f.steps), item


def test_flows_become_av203_findings(reach_review: Review) -> None:
    av203 = {f.message.split(" ")[0]: f for f in reach_review.findings if f.rule == "AV203"}
    assert set(av203) == {"phone_number", "sim_identifiers"}
    assert av203["sim_identifiers"].severity == "high"  # an SDK sends it to the network
    assert av203["sim_identifiers"].sdk == "umeng-analytics"
    assert av203["phone_number"].severity == "medium"  # first-party code only
    assert av203["phone_number"].evidence[0].locator == "Lorg/example/reach/Worker;->run()V"


def test_apps_without_flows(kb) -> None:  # type: ignore[no-untyped-def]
    for name in ("plain.apk", "multidex.apk"):
        assert review(BUILT / name, kb=kb).code_flows == ()


def _insn(*units: int) -> bytes:
    return struct.pack(f"<{len(units)}H", *units)


def test_decoder_reads_invoke_registers_and_move_result() -> None:
    # invoke-static {v3, v4}, method@7 ; move-result-object v5 ; invoke-virtual/range {v10..v12}, method@9
    code = _insn(0x2071, 7, 0x43) + _insn(0x050C) + _insn(0x0374, 9, 10)
    got = list(flows._decode(code, 0, len(code) // 2))
    assert got == [
        (flows._INV, 7, 1, 0, (3, 4)),
        (flows._MR, 5, 0, 0, ()),
        (flows._INV, 9, 0, 0, (10, 11, 12)),
    ]


def test_decoder_skips_payloads_and_stops_at_unused_opcodes() -> None:
    # packed-switch payload of 1 target (6 units), then move-object v1, v2, then unused opcode 0x3e
    payload = _insn(0x0100, 1, 0, 0, 0, 0)
    code = payload + _insn(0x2107) + _insn(0x003E) + _insn(0x050C)
    got = list(flows._decode(code, 0, len(code) // 2))
    assert got == [(flows._MOVE, 1, 2, 0, ())]


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_decoder_never_reads_past_the_code(data: bytes) -> None:
    data = data[: len(data) & ~1]
    for insn in flows._decode(data, 0, len(data) // 2):
        assert len(insn) == 5
