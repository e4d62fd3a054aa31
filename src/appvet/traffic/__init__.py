"""Traffic: what actually left the device, to whom, and in which country.

read(path)            -> requests and connections of a HAR, mitmproxy or pcap/pcapng capture
analyze(paths, kb)    -> Flow per request/connection, with recipient and personal data found
join(review, flows)   -> TrafficReport tying flows to the app's SDKs and static endpoints
observed(report)      -> (category, holder) pairs and endpoint hosts now ``observed``
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from appvet.errors import FormatError, InputError
from appvet.kb import KnowledgeBase
from appvet.traffic import har, mitm, pcap
from appvet.traffic.destinations import GeoIp, destination
from appvet.traffic.detect import Detector
from appvet.traffic.join import apply, join, observed
from appvet.traffic.model import (
    CaptureNote,
    Connection,
    Destination,
    Flow,
    Hit,
    Observation,
    Request,
    TrafficReport,
)
from appvet.traffic.profile import Profile
from appvet.traffic.profile import load as load_profile

__all__ = [
    "CaptureNote",
    "Connection",
    "Destination",
    "Detector",
    "Flow",
    "GeoIp",
    "Hit",
    "Observation",
    "Profile",
    "Request",
    "TrafficReport",
    "analyze",
    "apply",
    "capture_format",
    "join",
    "load_profile",
    "observed",
    "read",
]

REDACTED = "REDACTED"


def capture_format(head: bytes) -> str:
    """``pcap``, ``har`` or ``mitm`` from the first bytes of a file."""
    if head[:4] in (
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
        b"\x0a\x0d\x0d\x0a",
    ):
        return "pcap"
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if s[:1] == b"{":
        return "har"
    if s[:1].isdigit():
        return "mitm"
    return "unknown"


def read(path: str | Path, notes: list[CaptureNote] | None = None) -> Iterator[Request | Connection]:
    """Requests and connections of one capture, streamed."""
    p = Path(path)
    notes = notes if notes is not None else []
    try:
        stream = p.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open capture: {exc.strerror}", file=p.name) from None
    with stream:
        kind = capture_format(stream.read(64))
        stream.seek(0)
        if kind == "pcap":
            yield from pcap.read(stream, p.name, notes)
        elif kind == "har":
            yield from har.read(stream, p.name)
        elif kind == "mitm":
            yield from mitm.read(stream, p.name, notes)
        else:
            raise FormatError("not a HAR, mitmproxy or pcap/pcapng capture", file=p.name)


_PAIR_KEYS = frozenset({"lat", "latitude", "lon", "lng", "long", "longitude"})
MIN_VALUE = 4
"""Shorter detected values are not searched for in a URL by their text: they would match too much."""


def _carries(text: str, values: Iterable[str]) -> bool:
    low = unquote_plus(text).lower()
    return any(v in low for v in values)


def redacted_url(url: str, hits: Iterable[Hit], values: Iterable[str] = ()) -> str:
    """The URL with every query value, path segment and fragment that carried a hit replaced.

    ``hits`` name where values were found (``query:adid``, a lat/lon pair under ``query``, ``path``);
    ``values`` are the detected values themselves, so that a value is also removed wherever else in
    the URL it appears (another parameter, a path segment, the fragment, the user part).
    """
    hits = list(hits)
    needles = {v.lower() for v in values if len(v) >= MIN_VALUE}
    if not hits and not needles:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    names = {h.location.split("/", 1)[0][len("query:") :] for h in hits if h.location.startswith("query:")}
    pair = any(h.location.split("/", 1)[0] == "query" for h in hits)

    def hidden(k: str, v: str) -> bool:
        return k in names or (pair and k.lower() in _PAIR_KEYS) or _carries(v, needles) or _carries(k, needles)

    query = urlencode([(k, REDACTED if hidden(k, v) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="/,:")
    if any(h.location.startswith("path") for h in hits):
        path = "/" + REDACTED
    else:
        path = "/".join(REDACTED if _carries(seg, needles) else seg for seg in parts.path.split("/"))
    fragment = REDACTED if parts.fragment and _carries(parts.fragment, needles) else parts.fragment
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]  # credentials in a URL are never shown
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def analyze(
    paths: Iterable[str | Path],
    kb: KnowledgeBase,
    profile: Profile | None = None,
    *,
    geoip: GeoIp | None = None,
    show_values: bool = False,
    notes: list[CaptureNote] | None = None,
) -> Iterator[Flow]:
    """A Flow for each request or connection of each capture, in capture order."""
    detector = Detector(profile, show_values=show_values)
    # A profile value is personal wherever it shows up in a URL, even where detection does not look
    # (the user part, the fragment).
    profile_values = tuple(detector.plain)
    cache: dict[tuple[str | None, str | None], Destination] = {}
    for path in paths:
        for item in read(path, notes):
            key = (item.host, item.ip)
            dest = cache.get(key)
            if dest is None:
                dest = cache[key] = destination(item.host, item.ip, kb, geoip)
            if isinstance(item, Request):
                hits = detector.detect(item)
                url = (item.url if show_values
                       else redacted_url(item.url, hits, (*detector.last_values, *profile_values)))
                proto = "https" if item.url.startswith("https:") else "http"
                yield Flow(item.index, item.source, proto, item.method, url, item.port, item.time, dest, hits)
            else:
                yield Flow(item.index, item.source, item.protocol, None, None, item.port, item.time, dest)
