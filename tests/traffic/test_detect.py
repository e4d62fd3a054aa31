"""Decoders and detectors: a value hidden under any stack of encodings is found with that stack."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from urllib.parse import quote

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.errors import FormatError
from appvet.traffic.decode import protobuf_fields, request_parts
from appvet.traffic.detect import Detector, luhn, redact
from appvet.traffic.model import Request
from appvet.traffic.profile import build

IMEI = "490154203237518"
PROFILE = build({"imei": IMEI, "phone_number": "+86 138 0013 8000", "wifi_mac": "02:1a:11:f0:c3:9e",
                 "location": {"lat": 39.908722, "lon": 116.397499}})
DETECTOR = Detector(PROFILE)

TEXT_STEPS = {
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "url": lambda s: quote(s, safe=""),
    "json": lambda s: json.dumps({"v": s}),
}


def request(body: bytes = b"", url: str = "https://a.example/p", headers: tuple = ()) -> Request:
    return Request(0, "t", "POST", url, "a.example", None, 443, None, headers, body)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(TEXT_STEPS)), min_size=0, max_size=4),
       st.sampled_from(["", "gzip", "deflate"]))
def test_any_encoding_stack_is_peeled(steps: list[str], outer: str) -> None:
    text = json.dumps({"imei": IMEI})
    for step in steps:
        text = TEXT_STEPS[step](text)
    body = text.encode()
    body = gzip.compress(body) if outer == "gzip" else zlib.compress(body) if outer == "deflate" else body
    hits = [h for h in DETECTOR.detect(request(body)) if h.kind == "imei" and h.matched == "profile"]
    assert hits, (steps, outer)
    chain = hits[0].encoding
    # Every text step shows up in the chain, innermost last (a url step over plain JSON may be skipped).
    expected = [outer] if outer else []
    for step in reversed(steps):
        expected.append(step)
    expected.append("json")
    # base64url text without "-" or "_" is also standard base64, and is named so.
    def norm(seq: list[str] | tuple[str, ...]) -> list[str]:
        return [c.replace("base64url", "base64") for c in seq if c != "url"]

    assert norm(chain) == norm(expected)


@pytest.mark.parametrize(("form", "encoding"), [
    (IMEI, ()),
    (hashlib.md5(IMEI.encode()).hexdigest(), ("md5",)),
    (hashlib.sha1(IMEI.encode()).hexdigest().upper(), ("sha1",)),
    (hashlib.sha256(IMEI.encode()).hexdigest(), ("sha256",)),
    ("8613800138000", ("e164-digits",)),
    ("13800138000", ("national",)),
    (hashlib.sha256(b"+8613800138000").hexdigest(), ("e164", "sha256")),
    ("021A11F0C39E", ("no-separators", "upper")),
    ("02-1a-11-f0-c3-9e", ("dashes", "lower")),
])
def test_normalisations_and_digests(form: str, encoding: tuple) -> None:
    hits = [h for h in DETECTOR.detect(request(url=f"https://a.example/p?x={form}")) if h.matched == "profile"]
    assert [(h.location, h.encoding) for h in hits] == [("query:x", encoding)]


def test_brotli_content_encoding_and_headers_and_cookies() -> None:
    body = brotli.compress(b"a=1&imei=" + IMEI.encode())
    hits = DETECTOR.detect(request(body, headers=(("Content-Encoding", "br"), ("Cookie", f"sid=1; d={IMEI}"),
                                                  ("X-Id", IMEI))))
    got = {(h.location, h.encoding) for h in hits if h.kind == "imei"}
    assert got == {("body/form:imei", ("br", "form")), ("cookie:d", ()), ("header:x-id", ())}


def test_protobuf_nesting() -> None:
    inner = b"\x0a" + bytes([len(IMEI)]) + IMEI.encode()
    msg = b"\x08\x96\x01" + b"\x12" + bytes([len(inner)]) + inner
    assert protobuf_fields(msg) == [(1, 0, 150), (2, 2, inner)]
    hits = DETECTOR.detect(request(msg))
    assert [(h.location, h.encoding) for h in hits if h.kind == "imei"] == [("body/pb:2.1", ("protobuf",))]


def test_location_precision_and_profile() -> None:
    def cats(url: str) -> set:
        return {(h.category, h.matched) for h in DETECTOR.detect(request(url=url)) if h.kind == "location"}

    assert cats("https://a.example/?lat=39.9087&lng=116.3975") == {("precise_location", "profile")}
    assert cats("https://a.example/?lat=39.91&lon=116.40") == {("coarse_location", "profile")}
    assert cats("https://a.example/?lat=31.2304&lon=121.4737") == {("precise_location", "pattern")}
    assert cats("https://a.example/?ll=39.90872,116.39750") == {("precise_location", "profile")}
    assert cats("https://a.example/?v=1.2,3.4") == set()


def test_patterns_without_profile() -> None:
    d = Detector(None)
    body = json.dumps({"imei": "490154203237519", "id": "490154203237518", "mac": "02:00:00:00:00:00",
                       "bssid": "AA:BB:CC:DD:EE:01", "mail": "x.y@example.org",
                       "gaid": "38400000-8cf0-11bd-b23e-10b96e40000d",
                       "request": "5f0c2a8e-3b7d-4e91-a6c4-0d2e8f1b9a73", "mobile": "+8613800138000",
                       "apps": ["com.tencent.mm", "com.sina.weibo", "org.mozilla.firefox"], "hosts": "a.b.com"})
    got = {(h.kind, h.location) for h in d.detect(request(body.encode()))}
    assert got == {
        ("imei", "body/json:$.id"), ("wifi_mac", "body/json:$.bssid"), ("email", "body/json:$.mail"),
        ("advertising_id", "body/json:$.gaid"), ("phone_number", "body/json:$.mobile"),
        ("package_list", "body/json:$.apps"),
    }


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.text(max_size=80))
def test_random_requests_never_crash(body: bytes, query: str) -> None:
    DETECTOR.detect(request(body, url="https://a.example/p?" + quote(query, safe="=&"),
                            headers=(("Content-Encoding", "gzip"), ("X", query))))
    list(request_parts(request(body)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_protobuf_parser_total(data: bytes) -> None:
    fields = protobuf_fields(data)
    assert fields is None or all(1 <= n < 1 << 29 for n, _, _ in fields)


def test_redaction_and_luhn() -> None:
    assert redact(IMEI) == "49…18" and redact(IMEI, show=True) == IMEI and redact("abc") == "***"
    assert luhn(IMEI) and not luhn("490154203237519")


def test_profile_errors() -> None:
    with pytest.raises(FormatError, match="unknown device profile keys"):
        build({"imei": IMEI, "shoe_size": 42})
    with pytest.raises(FormatError, match="location"):
        build({"location": {"lat": "north"}})
    with pytest.raises(FormatError, match="at least"):
        build({"imei": "12"})
    with pytest.raises(FormatError):
        build(["not", "a", "mapping"])  # type: ignore[arg-type]
