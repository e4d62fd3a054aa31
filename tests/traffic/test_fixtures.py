"""The traffic fixtures against expected.json: every planted value, no decoy, right recipient."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from appvet.model import to_dict
from appvet.traffic import Flow, analyze, join, load_profile, observed
from tests.conftest import BUILT, FIXTURES

TRAFFIC = FIXTURES / "traffic"
EXPECTED = json.loads((TRAFFIC / "expected.json").read_text())


@pytest.fixture(scope="module")
def profile():  # type: ignore[no-untyped-def]
    return load_profile(TRAFFIC / "device.yaml")


def flows_of(name: str, kb, profile, **kw) -> list[Flow]:  # type: ignore[no-untyped-def]
    return list(analyze([TRAFFIC / name], kb, profile, **kw))


def _planted(hits: list[dict], har: bool, content_encoding: str | None) -> Counter:
    out: Counter = Counter()
    for h in hits:
        enc = list(h["encoding"])
        if har and content_encoding and h["location"].startswith("body"):
            assert enc[0] == content_encoding
            enc = enc[1:]
        out[(h["category"], h["kind"], h["location"], tuple(enc))] += h.get("count", 1)
    return out


def _profile_hits(flow: Flow) -> Counter:
    return Counter((h.category, h.kind, h.location, h.encoding) for h in flow.hits if h.matched == "profile")


def _check_decoys(flow: Flow, decoys: list[dict]) -> None:
    for d in decoys:
        at = [h for h in flow.hits if h.location == d["location"]]
        assert not [h for h in at if h.matched == "profile"], d
        if d["never"]:
            assert not at, d


@pytest.mark.parametrize("name", ["flows.mitm", "flows.har"])
def test_https_flows_every_value_found_no_decoy(name: str, kb, profile) -> None:  # type: ignore[no-untyped-def]
    flows = flows_of(name, kb, profile)
    assert [(f.method, f.destination.host) for f in flows] == [(r["method"], r["host"]) for r in EXPECTED["http"]]
    for flow, plan in zip(flows, EXPECTED["http"], strict=True):
        assert flow.protocol == "https"
        assert _profile_hits(flow) == _planted(plan["hits"], name.endswith(".har"), plan["content_encoding"])
        _check_decoys(flow, plan["decoys"])


@pytest.mark.parametrize("name", ["capture.pcapng", "capture.pcap"])
def test_pcap_connections_and_requests(name: str, kb, profile) -> None:  # type: ignore[no-untyped-def]
    flows = flows_of(name, kb, profile)
    conns = [(f.protocol, f.destination.host, f.destination.ip, f.port) for f in flows if f.method is None]
    plan = EXPECTED["pcap"]
    assert conns == [(c["protocol"], c["host"], c["ip"], c["port"]) for c in plan["connections"]]
    requests = [f for f in flows if f.method is not None]
    assert [(f.method, f.destination.host) for f in requests] == [(r["method"], r["host"]) for r in plan["requests"]]
    for flow, want in zip(requests, plan["requests"], strict=True):
        assert _profile_hits(flow) == _planted(want["hits"], False, None)
        _check_decoys(flow, want["decoys"])
    # The request split over out-of-order segments was reassembled; the body was read in full.
    assert requests[0].url == plan["requests"][0]["url"]


def test_truncated_pcapng_is_a_note_not_an_error(kb, profile) -> None:  # type: ignore[no-untyped-def]
    notes: list = []
    flows = list(analyze([TRAFFIC / "truncated.pcapng"], kb, profile, notes=notes))
    assert flows  # everything before the cut is still read
    assert [n.reason for n in notes] == [EXPECTED["pcap"]["truncated"]["note"]]


@pytest.mark.parametrize("name", ["flows.mitm", "capture.pcapng"])
def test_destinations(name: str, kb, profile) -> None:  # type: ignore[no-untyped-def]
    for flow in flows_of(name, kb, profile):
        d = flow.destination
        want = EXPECTED["destinations"][d.host]
        got = {"ip": d.ip, "entity": d.entity, "owner_chain": list(d.owner_chain), "owner_country": d.owner_country,
               "ip_country": d.ip_country, "operator": d.operator}
        assert got == want, d.host
        assert (d.country_note is not None) == (want["operator"] is not None)


def test_values_redacted_by_default_and_shown_on_request(kb, profile) -> None:  # type: ignore[no-untyped-def]
    imei = "490154203237518"
    hidden = json.dumps(to_dict(flows_of("flows.mitm", kb, profile)))
    assert imei not in hidden and "38400000-8cf0-11bd-b23e-10b96e40000d" not in hidden
    assert "li.lei@example.net" not in hidden and "39.9087" not in hidden
    shown = json.dumps(to_dict(flows_of("flows.mitm", kb, profile, show_values=True)))
    assert imei in shown and "39.9087" in shown


def test_without_profile_only_patterns(kb) -> None:  # type: ignore[no-untyped-def]
    flows = flows_of("flows.mitm", kb, None)
    hits = [h for f in flows for h in f.hits]
    assert hits and all(h.matched == "pattern" for h in hits)
    kinds = {(h.kind, h.location) for h in hits}
    assert ("imei", "body/json:$.header.imei") in kinds  # Luhn-valid
    assert not any(h.location == "body/json:$.header.ts" for h in hits)  # Luhn-invalid decoy
    assert ("email", "body/pb:1.1") in kinds
    assert ("advertising_id", "query:adid") in kinds
    assert ("package_list", "body/form:apps") in kinds
    assert not any(h.location in ("body/json:$.header.request_id", "body/pb:8") for h in hits)


@pytest.fixture(scope="module")
def multisdk_review():  # type: ignore[no-untyped-def]
    from appvet.review import review

    return review(str(BUILT / "multisdk.apk"))


def test_join_with_the_app(kb, profile, multisdk_review) -> None:  # type: ignore[no-untyped-def]
    flows = flows_of("flows.mitm", kb, profile) + flows_of("capture.pcapng", kb, profile)
    report = join(multisdk_review, flows, kb)
    want = EXPECTED["join_multisdk"]
    for flow in report.flows:
        assert list(flow.sdks) == want["flow_sdks"][flow.destination.host], flow.destination.host
    assert list(report.unexpected) == want["unexpected"]
    assert list(report.observed_endpoints) == want["observed_endpoints"]
    assert list(report.unseen_endpoints) == want["unseen_endpoints"]
    pairs, hosts = observed(report)
    for category, holder in want["observations_include"]:
        assert (category, holder) in pairs
    assert hosts == frozenset(want["observed_endpoints"])
    assert all(o.flows for o in report.observations)
    json.dumps(to_dict(report))


def test_fixture_files_are_what_the_generator_writes() -> None:
    # The generator is the only writer: the mitm file starts with a tnetstring record, the pcapng with an SHB.
    assert (TRAFFIC / "flows.mitm").read_bytes()[:1].isdigit()
    assert (TRAFFIC / "capture.pcapng").read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert json.loads((TRAFFIC / "flows.har").read_text())["log"]["creator"]["name"] == "mitmproxy"
    assert Path(TRAFFIC / "make_captures.py").exists()
