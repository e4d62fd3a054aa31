"""Capture readers on real files, and on mutated or truncated bytes: parse, or FormatError, nothing else."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import struct

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.errors import FormatError, InputError
from appvet.traffic import capture_format, har, mitm, pcap
from appvet.traffic.model import CaptureNote
from tests.conftest import FIXTURES

TRAFFIC = FIXTURES / "traffic"
MITM = (TRAFFIC / "flows.mitm").read_bytes()
HAR = (TRAFFIC / "flows.har").read_bytes()
PCAPNG = (TRAFFIC / "capture.pcapng").read_bytes()
PCAP = (TRAFFIC / "capture.pcap").read_bytes()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(data: bytes) -> list:
    notes: list[CaptureNote] = []
    kind = capture_format(data[:64])
    stream = io.BytesIO(data)
    if kind == "pcap":
        return list(pcap.read(stream, "x", notes))
    if kind == "har":
        return list(har.read(stream, "x"))
    if kind == "mitm":
        return list(mitm.read(stream, "x", notes))
    return []


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


@pytest.mark.parametrize("data", [MITM, HAR, PCAPNG, PCAP], ids=["mitm", "har", "pcapng", "pcap"])
@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 8000))
def test_mutated_captures_parse_or_raise_format_error(data: bytes, edits: list, cut: int | None) -> None:
    with contextlib.suppress(InputError):
        _run(_mutate(data, edits, cut))


def test_tnetstring_values() -> None:
    assert mitm.loads(b"5:hello,") == b"hello"
    assert mitm.loads(b"29:5:hello;2:42#3:1.5^4:true!0:~]") == ["hello", 42, 1.5, True, None]
    assert mitm.loads(b"8:1:a;1:b,}") == {"a": b"b"}
    for bad in (b"", b"5:hi,", b"x:abc,", b"3:abc?", b"2:ab#", b"4:nope!", b"1:x~", b"99999999999999:a,"):
        with pytest.raises(FormatError):
            mitm.loads(bad)


def test_mitm_reader_reads_the_fixture() -> None:
    reqs = list(mitm.read(io.BytesIO(MITM), "flows.mitm"))
    assert [r.host for r in reqs] == ["ulogs.umeng.com", "graph.facebook.com", "api-access.pangolin-sdk-toutiao.com",
                                      "app-measurement.com"]
    assert reqs[0].ip == "106.11.1.10" and reqs[0].port == 443 and reqs[0].time == 1_735_689_600.0
    assert ("content-encoding", "gzip") in reqs[0].headers and reqs[0].body[:2] == b"\x1f\x8b"


def test_mitm_truncated_record_is_an_error() -> None:
    with pytest.raises(FormatError, match="truncated record"):
        list(mitm.read(io.BytesIO(MITM[:-10]), "f"))
    with pytest.raises(FormatError, match="not a mitmproxy flow file"):
        list(mitm.read(io.BytesIO(b"12x:"), "f"))


def test_har_reader() -> None:
    reqs = list(har.read(io.BytesIO(HAR), "flows.har"))
    assert reqs[1].url.startswith("https://graph.facebook.com/network_ads_common?adid=")
    assert reqs[0].ip == "106.11.1.10" and reqs[0].body.startswith(b'{"header"')
    assert all(k.lower() != "content-encoding" for r in reqs for k, _ in r.headers)
    b64 = {"log": {"entries": [{"request": {"method": "POST", "url": "http://a.example/x", "headers": [],
                                            "postData": {"text": "aGVsbG8=", "encoding": "base64"}}}]}}
    assert next(har.read(io.BytesIO(json.dumps(b64).encode()), "b")).body == b"hello"
    for bad in (b"{}", b"[1]", b"{\"log\": {\"entries\": [1]}}", b"{not json"):
        with pytest.raises(FormatError):
            list(har.read(io.BytesIO(bad), "bad"))


def test_pcap_limits() -> None:
    huge = bytearray(PCAPNG)
    struct.pack_into("<I", huge, 4, 0x7FFFFFF0)  # section header length
    with pytest.raises(FormatError, match="bad block length"):
        list(pcap.read(io.BytesIO(bytes(huge)), "h"))
    rec = bytearray(PCAP)
    struct.pack_into("<I", rec, 24 + 8, 10_000_000)  # first record's captured length
    with pytest.raises(FormatError, match="exceeds"):
        list(pcap.read(io.BytesIO(bytes(rec)), "h"))
    with pytest.raises(FormatError, match="unknown magic"):
        list(pcap.read(io.BytesIO(b"GIF89a"), "g"))


@pytest.mark.parametrize("cut", [30, 100, len(PCAP) - 5])
def test_pcap_truncated_last_record_is_a_note(cut: int) -> None:
    notes: list[CaptureNote] = []
    list(pcap.read(io.BytesIO(PCAP[:cut]), "t", notes))
    assert any("truncated" in n.reason for n in notes)


@SETTINGS
@given(st.binary(max_size=600))
def test_sni_and_http_parsers_never_crash(data: bytes) -> None:
    name = pcap.sni(b"\x16\x03\x01" + data)
    assert name is None or isinstance(name, str)
    for method, target, headers, body, _ in pcap.http_requests(b"POST / HTTP/1.1\r\n" + data):
        assert isinstance(method, str) and isinstance(target, str) and isinstance(headers, tuple)
        assert len(body) <= pcap.MAX_BODY


def test_http_request_spanning_chunks() -> None:
    raw = (b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
           b"GET /y HTTP/1.1\r\n\r\n")
    got = list(pcap.http_requests(raw))
    assert [(m, t, b, tr) for m, t, _, b, tr in got] == [("POST", "/x", b"abcde", False), ("GET", "/y", b"", False)]


def _pcap_of(frames: list[bytes]) -> bytes:
    out = io.BytesIO()
    w = dpkt.pcap.Writer(out, snaplen=65535, linktype=101)
    for i, f in enumerate(frames):
        w.writepkt(f, ts=1_700_000_000 + i)
    return out.getvalue()


def _ip(src: str, dst: str, l4: dpkt.Packet, proto: int) -> bytes:
    pkt = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, data=l4)
    pkt.len = len(pkt)
    return bytes(pkt)


def test_dns_answer_names_a_connection_without_sni() -> None:
    q = dpkt.dns.DNS(id=7, qr=dpkt.dns.DNS_R, qd=[dpkt.dns.DNS.Q(name="push.example.cn", type=dpkt.dns.DNS_A)])
    q.an = [dpkt.dns.DNS.RR(name="push.example.cn", type=dpkt.dns.DNS_A, ttl=5, rdata=socket.inet_aton("203.0.113.9"))]
    frames = [
        _ip("10.0.0.3", "10.0.0.2", dpkt.udp.UDP(sport=53, dport=5353, data=bytes(q)), 17),
        _ip("10.0.0.2", "203.0.113.9", dpkt.tcp.TCP(sport=40000, dport=5222, seq=1, flags=dpkt.tcp.TH_SYN), 6),
        _ip("10.0.0.2", "203.0.113.9", dpkt.tcp.TCP(sport=40000, dport=5222, seq=2, flags=dpkt.tcp.TH_ACK,
                                                     data=b"<stream:stream>"), 6),
        _ip("10.0.0.2", "203.0.113.9", dpkt.tcp.TCP(sport=40000, dport=5222, seq=17, flags=dpkt.tcp.TH_FIN), 6),
    ]
    items = list(pcap.read(io.BytesIO(_pcap_of(frames)), "dns.pcap"))
    assert [(i.protocol, i.host, i.ip, i.port) for i in items] == [("tcp", "push.example.cn", "203.0.113.9", 5222)]
