"""Reader for pcap and pcapng captures: DNS answers, TLS SNI and plaintext HTTP/1.x requests.

File framing (pcap records, pcapng blocks) is read here with every length checked before it is
used: dpkt's own readers trust the lengths in the file (a corrupt 4 GB block length becomes a 4 GB
read) and mishandle a truncated last record. Packet layers (Ethernet, SLL, IP, TCP, UDP, DNS) are
decoded with dpkt. Memory is bounded by ``MAX_STREAM`` bytes per TCP direction and ``MAX_CONNECTIONS``
open connections; the oldest connection is finished early when that many are open.
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import dpkt

from appvet.errors import FormatError
from appvet.traffic.model import CaptureNote, Connection, Request

MAX_PACKET = 256 * 1024
MAX_BLOCK = 16 * 1024 * 1024
MAX_STREAM = 1024 * 1024 + 64 * 1024
"""Client bytes kept per TCP connection: a 1 MiB body plus headers."""
MAX_BODY = 1024 * 1024
MAX_HEADER = 64 * 1024
MAX_CONNECTIONS = 4096
MAX_PENDING_SEGMENTS = 256
MAX_DNS_NAMES = 200_000

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9),
    b"\xa1\xb2\x3c\x4d": (">", 1e9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b"HEAD ", b"OPTIONS ")

# Link-layer types (https://www.tcpdump.org/linktypes.html).
_ETHERNET, _NULL, _RAW, _RAW12, _RAW14, _SLL, _SLL2, _IPV4, _IPV6, _LOOP = 1, 0, 101, 12, 14, 113, 276, 228, 229, 108


@dataclass
class _Stream:
    """Client-to-server bytes of one TCP connection, reassembled in sequence order."""

    client: tuple[str, int]
    server: tuple[str, int]
    time: float
    next_seq: int | None = None
    data: bytearray = field(default_factory=bytearray)
    pending: dict[int, bytes] = field(default_factory=dict)
    full: bool = False

    def add(self, seq: int, payload: bytes) -> None:
        if self.full or not payload:
            return
        if self.next_seq is None:
            self.next_seq = seq
        rel = (seq - self.next_seq) & 0xFFFFFFFF
        if rel >= 0x80000000:  # retransmission of bytes already taken
            overlap = (self.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return
            payload, rel = payload[overlap:], 0
        if rel:
            if len(self.pending) < MAX_PENDING_SEGMENTS:
                self.pending[(self.next_seq + rel) & 0xFFFFFFFF] = payload
            return
        self._append(payload)
        while self.next_seq in self.pending and not self.full:
            self._append(self.pending.pop(self.next_seq))

    def _append(self, payload: bytes) -> None:
        room = MAX_STREAM - len(self.data)
        self.data += payload[:room]
        self.next_seq = ((self.next_seq or 0) + len(payload)) & 0xFFFFFFFF
        if len(payload) >= room:
            self.full = True
            self.pending.clear()


def _records_pcap(
    stream: IO[bytes], head: bytes, name: str, notes: list[CaptureNote]
) -> Iterator[tuple[int, float, bytes]]:
    order, divisor = _PCAP_MAGIC[head[:4]]
    rest = stream.read(20)
    if len(rest) < 20:
        raise FormatError("truncated pcap global header", file=name)
    linktype = struct.unpack(order + "I", rest[16:20])[0] & 0x0FFFFFFF
    n = 0
    while True:
        hdr = stream.read(16)
        if not hdr:
            return
        if len(hdr) < 16:
            notes.append(CaptureNote(name, f"record {n}", "truncated record header at end of file"))
            return
        sec, frac, incl, _orig = struct.unpack(order + "IIII", hdr)
        if incl > MAX_PACKET:
            raise FormatError(f"record {n}: captured length {incl} exceeds {MAX_PACKET}", file=name)
        data = stream.read(incl)
        if len(data) < incl:
            notes.append(
                CaptureNote(name, f"record {n}", f"truncated packet at end of file ({len(data)}/{incl} bytes)")
            )
            return
        yield linktype, sec + frac / divisor, data
        n += 1


def _records_pcapng(
    stream: IO[bytes], head: bytes, name: str, notes: list[CaptureNote]
) -> Iterator[tuple[int, float, bytes]]:
    order = "<"
    interfaces: list[tuple[int, float]] = []
    n = 0
    buf = head
    while True:
        if len(buf) < 8:
            buf += stream.read(8 - len(buf))
        if not buf:
            return
        if len(buf) < 8:
            notes.append(CaptureNote(name, f"block {n}", "truncated block header at end of file"))
            return
        btype_raw = buf[:4]
        if btype_raw == _PCAPNG_SHB:
            if len(buf) < 12:
                buf += stream.read(12 - len(buf))
            bom = buf[8:12]
            if bom == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                raise FormatError(f"block {n}: bad byte-order magic in section header", file=name)
            interfaces = []
        btype, blen = struct.unpack(order + "II", buf[:8])
        if blen < 12 or blen % 4 or blen > MAX_BLOCK:
            raise FormatError(f"block {n}: bad block length {blen}", file=name)
        body = buf[8:] + stream.read(blen - len(buf))
        buf = b""
        if len(body) < blen - 8:
            notes.append(CaptureNote(name, f"block {n}", "truncated block at end of file"))
            return
        if struct.unpack(order + "I", body[-4:])[0] != blen:
            raise FormatError(f"block {n}: trailing length does not match {blen}", file=name)
        body = body[:-4]
        if btype == 1:  # interface description
            if len(body) < 8:
                raise FormatError(f"block {n}: short interface description", file=name)
            interfaces.append((struct.unpack(order + "H", body[:2])[0], _tsresol(body[8:], order)))
        elif btype == 6:  # enhanced packet
            if len(body) < 20:
                raise FormatError(f"block {n}: short enhanced packet block", file=name)
            ifid, hi, lo, cap, _orig = struct.unpack(order + "IIIII", body[:20])
            if ifid >= len(interfaces):
                raise FormatError(f"block {n}: packet names undeclared interface {ifid}", file=name)
            if cap > len(body) - 20:
                raise FormatError(f"block {n}: captured length {cap} exceeds the block", file=name)
            linktype, divisor = interfaces[ifid]
            yield linktype, ((hi << 32) | lo) / divisor, body[20 : 20 + cap]
        elif btype == 3:  # simple packet
            if not interfaces or len(body) < 4:
                raise FormatError(f"block {n}: simple packet without interface", file=name)
            orig = struct.unpack(order + "I", body[:4])[0]
            yield interfaces[0][0], 0.0, body[4 : 4 + min(orig, len(body) - 4)]
        elif btype == 2:  # obsolete packet block
            if len(body) < 20:
                raise FormatError(f"block {n}: short packet block", file=name)
            ifid, _drops, hi, lo, cap, _orig = struct.unpack(order + "HHIIII", body[:20])
            if ifid >= len(interfaces) or cap > len(body) - 20:
                raise FormatError(f"block {n}: bad packet block", file=name)
            linktype, divisor = interfaces[ifid]
            yield linktype, ((hi << 32) | lo) / divisor, body[20 : 20 + cap]
        n += 1


def _tsresol(opts: bytes, order: str) -> float:
    """Timestamp units per second from an interface's ``if_tsresol`` option (default microseconds)."""
    i = 0
    while i + 4 <= len(opts):
        code, length = struct.unpack(order + "HH", opts[i : i + 4])
        if code == 0:
            break
        if code == 9 and length >= 1 and i + 5 <= len(opts):
            v = opts[i + 4]
            return float(2 ** (v & 0x7F)) if v & 0x80 else float(10 ** min(v & 0x7F, 18))
        i += 4 + length + (-length % 4)
    return 1e6


def packets(stream: IO[bytes], name: str, notes: list[CaptureNote]) -> Iterator[tuple[int, float, bytes]]:
    """(link type, time, frame bytes) of every packet, pcap or pcapng by magic number."""
    head = stream.read(4)
    if head in _PCAP_MAGIC:
        yield from _records_pcap(stream, head, name, notes)
    elif head == _PCAPNG_SHB:
        yield from _records_pcapng(stream, head, name, notes)
    else:
        raise FormatError("not a pcap or pcapng file (unknown magic number)", file=name)


def _ip_layer(linktype: int, frame: bytes) -> dpkt.Packet | None:
    if linktype == _ETHERNET:
        eth = dpkt.ethernet.Ethernet(frame)
        return eth.data if isinstance(eth.data, (dpkt.ip.IP, dpkt.ip6.IP6)) else None
    if linktype in (_RAW, _RAW12, _RAW14, _IPV4, _IPV6):
        if not frame:
            return None
        return dpkt.ip.IP(frame) if frame[0] >> 4 == 4 else dpkt.ip6.IP6(frame) if frame[0] >> 4 == 6 else None
    if linktype == _SLL:
        sll = dpkt.sll.SLL(frame)
        return sll.data if isinstance(sll.data, (dpkt.ip.IP, dpkt.ip6.IP6)) else None
    if linktype == _SLL2:
        return _ip_layer(_RAW, frame[20:])
    if linktype in (_NULL, _LOOP):
        return _ip_layer(_RAW, frame[4:])
    return None


def _addr(ip: dpkt.Packet, raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if isinstance(ip, dpkt.ip6.IP6) else socket.AF_INET, raw)


def sni(data: bytes) -> str | None:
    """Server name of a TLS ClientHello at the start of a client stream, else ``None``."""
    hs = bytearray()
    i = 0
    while i + 5 <= len(data) and data[i] == 0x16 and len(hs) < 65536:
        rlen = int.from_bytes(data[i + 3 : i + 5], "big")
        hs += data[i + 5 : i + 5 + rlen]
        i += 5 + rlen
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            break
    if len(hs) < 4 or hs[0] != 1:
        return None
    end = min(len(hs), 4 + int.from_bytes(hs[1:4], "big"))
    p = 4 + 2 + 32
    if p >= end:
        return None
    p += 1 + hs[p]
    if p + 2 > end:
        return None
    p += 2 + int.from_bytes(hs[p : p + 2], "big")
    if p + 1 > end:
        return None
    p += 1 + hs[p]
    if p + 2 > end:
        return None
    ext_end = min(end, p + 2 + int.from_bytes(hs[p : p + 2], "big"))
    p += 2
    while p + 4 <= ext_end:
        etype = int.from_bytes(hs[p : p + 2], "big")
        elen = int.from_bytes(hs[p + 2 : p + 4], "big")
        p += 4
        if etype == 0 and p + 5 <= ext_end and hs[p + 2] == 0:
            nlen = int.from_bytes(hs[p + 3 : p + 5], "big")
            raw = bytes(hs[p + 5 : p + 5 + nlen])
            if len(raw) == nlen and nlen:
                try:
                    return raw.decode("ascii").lower().rstrip(".")
                except UnicodeDecodeError:
                    return None
        p += elen
    return None


def _chunked(data: bytes, start: int, limit: int) -> tuple[bytes, int, bool]:
    """Decode a chunked body; returns (body, offset after it, complete)."""
    out = bytearray()
    p = start
    while True:
        eol = data.find(b"\r\n", p, p + 64)
        if eol < 0:
            return bytes(out), len(data), False
        try:
            size = int(data[p:eol].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return bytes(out), len(data), False
        p = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", p - 2)
            return bytes(out), (end + 4 if end >= 0 else len(data)), True
        out += data[p : p + min(size, max(0, limit - len(out)))]
        p += size + 2
        if p > len(data):
            return bytes(out), len(data), False


def http_requests(data: bytes) -> Iterator[tuple[str, str, tuple[tuple[str, str], ...], bytes, bool]]:
    """(method, target, headers, body, truncated) of each HTTP/1.x request at the start of a client stream."""
    p = 0
    while p < len(data) and data.startswith(_HTTP_METHODS, p):
        end = data.find(b"\r\n\r\n", p, p + MAX_HEADER)
        if end < 0:
            return
        lines = data[p:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return
        headers = []
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                headers.append((k.strip(), v.strip()))
        low = {k.lower(): v for k, v in headers}
        p = end + 4
        truncated = False
        if "chunked" in low.get("transfer-encoding", "").lower():
            body, p, complete = _chunked(data, p, MAX_BODY)
            truncated = not complete
        else:
            try:
                length = max(0, int(low.get("content-length", "0") or 0))
            except ValueError:
                length = 0
            body = data[p : p + min(length, MAX_BODY)]
            truncated = length > len(body)
            p += length
        yield parts[0], parts[1], tuple(headers), body, truncated


class _Reader:
    def __init__(self, name: str, notes: list[CaptureNote]) -> None:
        self.name = name
        self.notes = notes
        self.streams: OrderedDict[tuple[str, int, str, int], _Stream] = OrderedDict()
        self.names: dict[str, str] = {}
        self.index = 0
        self.undecodable = 0

    def dns(self, payload: bytes) -> None:
        try:
            msg = dpkt.dns.DNS(payload)
        except (dpkt.UnpackError, struct.error, IndexError, ValueError, UnicodeDecodeError):
            self.undecodable += 1
            return
        if msg.qr != dpkt.dns.DNS_R:
            return
        qname = msg.qd[0].name.lower().rstrip(".") if msg.qd else None
        for rr in msg.an:
            if len(self.names) >= MAX_DNS_NAMES:
                return
            if rr.type == dpkt.dns.DNS_A and len(rr.rdata) == 4:
                self.names.setdefault(socket.inet_ntop(socket.AF_INET, rr.rdata), qname or rr.name.lower())
            elif rr.type == dpkt.dns.DNS_AAAA and len(rr.rdata) == 16:
                self.names.setdefault(socket.inet_ntop(socket.AF_INET6, rr.rdata), qname or rr.name.lower())

    def finish(self, stream: _Stream) -> Iterator[Request | Connection]:
        data = bytes(stream.data)
        ip, port = stream.server
        dns_name = self.names.get(ip)
        if data.startswith(_HTTP_METHODS):
            for method, target, headers, body, truncated in http_requests(data):
                host = next((v for k, v in headers if k.lower() == "host"), "") or dns_name or ip
                host = host.split(":")[0].lower().rstrip(".") if not host.startswith("[") else host
                url = (
                    target if target.startswith("http") else f"http://{host}{'' if port == 80 else f':{port}'}{target}"
                )
                yield Request(self.index, self.name, method, url, host, ip, port, stream.time, headers, body, truncated)
                self.index += 1
            return
        name = sni(data) if data[:1] == b"\x16" else None
        yield Connection(self.index, self.name, name or dns_name, ip, port, stream.time, "tls" if name else "tcp")
        self.index += 1

    def tcp(self, ip: dpkt.Packet, tcp: dpkt.tcp.TCP, time: float) -> Iterator[Request | Connection]:
        src, dst = _addr(ip, ip.src), _addr(ip, ip.dst)
        key = (src, tcp.sport, dst, tcp.dport)
        rkey = (dst, tcp.dport, src, tcp.sport)
        if rkey in self.streams:  # server to client: only its FIN/RST matters
            if tcp.flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST):
                yield from self.finish(self.streams.pop(rkey))
            return
        st = self.streams.get(key)
        if st is None:
            syn_only = tcp.flags & dpkt.tcp.TH_SYN and not tcp.flags & dpkt.tcp.TH_ACK
            if not syn_only and not tcp.data:
                return
            if not syn_only and tcp.sport < tcp.dport:  # capture began mid-connection: server-side bytes
                return
            if len(self.streams) >= MAX_CONNECTIONS:
                _, oldest = self.streams.popitem(last=False)
                yield from self.finish(oldest)
            st = _Stream((src, tcp.sport), (dst, tcp.dport), time)
            if syn_only:
                st.next_seq = (tcp.seq + 1) & 0xFFFFFFFF
            self.streams[key] = st
        st.add(tcp.seq, bytes(tcp.data))
        if tcp.flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST):
            yield from self.finish(self.streams.pop(key))

    def packet(self, linktype: int, time: float, frame: bytes) -> Iterator[Request | Connection]:
        try:
            ip = _ip_layer(linktype, frame)
            if ip is None:
                return
            l4 = ip.data
            if isinstance(l4, dpkt.udp.UDP):
                if l4.sport == 53 or l4.sport == 5353:
                    self.dns(bytes(l4.data))
                return
            if not isinstance(l4, dpkt.tcp.TCP):
                return
        except (dpkt.UnpackError, struct.error, IndexError, ValueError):
            self.undecodable += 1
            return
        if l4.sport == 53:
            self.dns(bytes(l4.data)[2:])
            return
        yield from self.tcp(ip, l4, time)

    def end(self) -> Iterator[Request | Connection]:
        while self.streams:
            _, st = self.streams.popitem(last=False)
            yield from self.finish(st)
        if self.undecodable:
            self.notes.append(CaptureNote(self.name, "packets", f"{self.undecodable} packets could not be decoded"))


def read(stream: IO[bytes], name: str, notes: list[CaptureNote] | None = None) -> Iterator[Request | Connection]:
    """Requests and connections of a capture, in the order their connections ended."""
    notes = notes if notes is not None else []
    reader = _Reader(name, notes)
    for linktype, time, frame in packets(stream, name, notes):
        yield from reader.packet(linktype, time, frame)
    yield from reader.end()
