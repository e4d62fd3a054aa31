"""Throughput of traffic analysis on one core: detection (requests/second) and pcap reading (MB/s, peak memory).

    .venv/bin/python bench/traffic.py [--seconds 3] [--pcap-mb 200]

Detection runs the fixture requests (tests/fixtures/traffic: four decrypted HTTPS requests carrying
every encoding, three plaintext ones) with the fixture device profile, round robin, for a fixed
time. Reading builds a synthetic pcapng of the requested size in a temporary file, by repeating the
fixture capture's packets on fresh TCP ports, and streams it through the reader.
"""

from __future__ import annotations

import argparse
import io
import platform
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from appvet.traffic import Request, load_profile, pcap, read  # noqa: E402
from appvet.traffic.detect import Detector  # noqa: E402

TRAFFIC = ROOT / "tests" / "fixtures" / "traffic"


def fixture_requests() -> list[Request]:
    reqs: list[Request] = []
    for name in ("flows.mitm", "capture.pcapng"):
        reqs += [r for r in read(TRAFFIC / name) if isinstance(r, Request)]
    return reqs


def bench_detect(seconds: float) -> dict[str, float]:
    det = Detector(load_profile(TRAFFIC / "device.yaml"))
    reqs = fixture_requests()
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for r in reqs:
            det.detect(r)
        n += len(reqs)
    elapsed = time.perf_counter() - start
    nopro = Detector(None)
    m = 0
    start2 = time.perf_counter()
    while time.perf_counter() - start2 < seconds:
        for r in reqs:
            nopro.detect(r)
        m += len(reqs)
    return {"requests": n, "rps_profile": n / elapsed, "rps_no_profile": m / (time.perf_counter() - start2)}


def synthetic_pcapng(path: Path, megabytes: int) -> int:
    """Repeat the fixture's frames, shifting TCP/UDP client ports so every copy is a new connection."""
    notes: list = []
    frames = list(pcap.packets(io.BytesIO((TRAFFIC / "capture.pcapng").read_bytes()), "f", notes))
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
    total = 0
    copy = 0
    with path.open("wb") as f:
        f.write(shb + idb)
        while total < megabytes * 1024 * 1024:
            for _, t, frame in frames:
                buf = bytearray(frame)
                # Ethernet(14) + IPv4 header; bump the device-side port (sport for device->server, dport back).
                ihl = (buf[14] & 0x0F) * 4
                off = 14 + ihl
                src_is_device = buf[14 + 12 : 14 + 16] == bytes([10, 0, 2, 15])
                port_off = off if src_is_device else off + 2
                port = struct.unpack_from(">H", buf, port_off)[0]
                struct.pack_into(">H", buf, port_off, (port + copy) % 60000 + 1024)
                pad = -len(buf) % 4
                ts = int((t + copy) * 1e6)
                head = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(buf), len(buf))
                body = head + bytes(buf) + b"\0" * pad
                blen = 12 + len(body)
                block = struct.pack("<II", 6, blen) + body + struct.pack("<I", blen)
                f.write(block)
                total += len(block)
            copy += 1
    return total


def bench_read(megabytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pcapng"
        size = synthetic_pcapng(path, megabytes)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        n = sum(1 for _ in read(path))
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mb": size / 1e6, "items": n, "mb_per_s": size / 1e6 / elapsed, "seconds": elapsed,
            "peak_rss_growth_mb": (after - before) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--pcap-mb", type=int, default=200)
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.processor() or platform.machine()}")
    d = bench_detect(args.seconds)
    print(f"detection with profile: {d['rps_profile']:,.0f} requests/s; without profile: {d['rps_no_profile']:,.0f}")
    r = bench_read(args.pcap_mb)
    print(f"pcapng read: {r['mb']:.0f} MB, {r['items']:,} requests/connections in {r['seconds']:.1f} s "
          f"= {r['mb_per_s']:.1f} MB/s; peak RSS growth {r['peak_rss_growth_mb']:.0f} MB")


if __name__ == "__main__":
    main()
