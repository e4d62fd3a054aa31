"""appvet's Mach-O reader and iOS review against LIEF's parse, on a large synthetic IPA.

The synthetic app is built with the same toolchain as the iOS fixtures (Debian clang and lld):
one Objective-C object file of ``--per-object`` methods (each sending its own selector) is
compiled once, then copied with its class, method and selector names renamed byte-for-byte
(same length, so the object stays valid), and all copies are linked into one arm64 executable.
The default, 20 copies of 10,000, gives 200,000 methods and 200,000 distinct selector
references. The executable and an Info.plist are zipped into ``bench/out/ios/synthetic.ipa``.

Each measurement runs in a fresh interpreter so that peak memory is the tool's own:

- ``lief``: ``lief.MachO.parse`` of the executable (load commands, symbols, fixups, sections;
  the PyPI build of LIEF has no Objective-C metadata);
- ``appvet-headers``: ``parse_macho(..., strings=False)``, the part LIEF's parse also does;
- ``appvet-macho``: ``parse_macho`` as the review runs it: the above plus Objective-C classes,
  methods, selector and class references, strings, CFStrings and the arm64 code scan that ties
  each reference to the method holding it;
- ``appvet-review``: ``appvet review`` of the IPA as a library call (knowledge base preloaded).

Usage: .venv/bin/python bench/ios.py [--repeat 3] [--copies 20] [--per-object 10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import plistlib
import string
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "ios"
SDK_H = ROOT / "tests" / "fixtures" / "ios" / "sdk.h"
LLVM = Path("/usr/lib/llvm-14/bin")

CHILD = r"""
import json, resource, sys, time, zipfile
tool, ipa, exe = sys.argv[1], sys.argv[2], sys.argv[3]
if tool == "lief":
    import lief
elif tool == "appvet-review":
    from datetime import date
    from appvet.kb import load_kb
    from appvet.review import review
    kb = load_kb()
else:
    from appvet.ios.macho import parse_macho
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
w0, c0 = time.perf_counter(), time.process_time()
if tool == "lief":
    b = lief.MachO.parse(exe)
    n = len(b.at(0).symbols)
elif tool == "appvet-review":
    r = review(ipa, kb=kb, on=date(2026, 11, 29))
    n = len(r.endpoints)
else:
    with open(exe, "rb") as fh:
        data = fh.read()
    m = parse_macho(data, exe, strings=(tool == "appvet-macho"))
    n = len(m.objc_selectors) if tool == "appvet-macho" else len(m.imports) + len(m.defined)
w1, c1 = time.perf_counter(), time.process_time()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": w1 - w0, "cpu": c1 - c0, "peak_rss_mb": rss1 / 1024, "base_rss_mb": rss0 / 1024,
                  "items": n}))
"""


def _tool(name: str) -> str:
    path = LLVM / name
    return str(path) if path.exists() else name


def _source(per_object: int) -> str:
    lines = [f'#include "{SDK_H}"']
    per_class = 100
    for c in range(per_object // per_class):
        lines.append(f"@interface SynC{c:04d} : NSObject\n@end\n@implementation SynC{c:04d}")
        for k in range(per_class):
            i = c * per_class + k
            lines.append(f"- (void)method{i:06d} {{ [self selector{i:06d}]; }}")
        lines.append("@end")
    lines.append('NSString *synEndpoint(void) { return @"https://collect.synthetic-bench.example.com/v1"; }')
    return "\n".join(lines) + "\n"


def build(copies: int, per_object: int) -> tuple[Path, Path]:
    """The synthetic IPA and its executable, rebuilt only when the parameters change."""
    OUT.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{copies}:{per_object}:{SDK_H.read_bytes().hex()}".encode()).hexdigest()[:12]
    exe = OUT / f"Synthetic-{key}"
    ipa = OUT / f"synthetic-{key}.ipa"
    if exe.exists() and ipa.exists():
        return ipa, exe
    letters = string.ascii_letters
    if copies > len(letters):
        raise SystemExit(f"at most {len(letters)} copies")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "syn.m"
        src.write_text(_source(per_object))
        obj = Path(tmp) / "syn.o"
        print(f"compiling {per_object:,} methods (once) ...", file=sys.stderr)
        subprocess.run([_tool("clang"), "-target", "arm64-apple-ios14.0", "-fobjc-runtime=ios-14.0", "-O1", "-w",
                        "-c", str(src), "-o", str(obj)], check=True)
        data = obj.read_bytes()
        objs = []
        for k in range(copies):
            x = letters[k].encode()
            # Same-length renames keep every offset of the object file valid.
            copy = (data.replace(b"SynC", b"Sy" + x + b"C").replace(b"selector", b"s" + x + b"lector")
                    .replace(b"method", b"m" + x + b"thod").replace(b"synEndpoint", b"s" + x + b"nEndpoint"))
            path = Path(tmp) / f"syn{k}.o"
            path.write_bytes(copy)
            objs.append(str(path))
        main = Path(tmp) / "main.o"
        (Path(tmp) / "main.c").write_text("int main(void) { return 0; }\n")
        subprocess.run([_tool("clang"), "-target", "arm64-apple-ios14.0", "-c", str(Path(tmp) / "main.c"),
                        "-o", str(main)], check=True)
        subprocess.run([_tool("ld64.lld"), "-arch", "arm64", "-platform_version", "ios", "14.0", "17.2",
                        "-undefined", "dynamic_lookup", "-o", str(exe), str(main), *objs], check=True)
    info = {"CFBundleIdentifier": "com.example.synthetic", "CFBundleExecutable": "Synthetic",
            "CFBundleName": "Synthetic", "CFBundleVersion": "1", "CFBundleShortVersionString": "1.0",
            "MinimumOSVersion": "14.0"}
    with zipfile.ZipFile(ipa, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Payload/Synthetic.app/Info.plist", plistlib.dumps(info))
        zf.write(exe, "Payload/Synthetic.app/Synthetic")
    return ipa, exe


def measure(tool: str, ipa: Path, exe: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", CHILD, tool, str(ipa), str(exe)], capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{tool} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--per-object", type=int, default=10_000)
    parser.add_argument("--tools", default="lief,appvet-headers,appvet-macho,appvet-review")
    parser.add_argument("--json", type=Path, default=OUT / "results.json")
    args = parser.parse_args()
    ipa, exe = build(args.copies, args.per_object)
    tools = args.tools.split(",")
    best: dict[str, dict[str, float]] = {}
    # Interleaved runs: a busy machine slows every tool of a round alike.
    for _ in range(args.repeat):
        for tool in tools:
            r = measure(tool, ipa, exe)
            if tool not in best or r["cpu"] < best[tool]["cpu"]:
                best[tool] = r
    result = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
              "executable_mb": exe.stat().st_size / 1024**2, "ipa_mb": ipa.stat().st_size / 1024**2,
              "methods": args.copies * args.per_object, "repeat": args.repeat, "tools": best}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    base = best.get("lief", {}).get("cpu")
    print(f"executable {result['executable_mb']:.1f} MB, {result['methods']:,} methods; best of {args.repeat}")
    print(f"{'tool':16} {'cpu s':>8} {'wall s':>8} {'peak RSS MB':>12} {'x LIEF cpu':>11} {'items':>9}")
    for tool, r in best.items():
        ratio = f"{r['cpu'] / base:.2f}" if base else "-"
        print(f"{tool:16} {r['cpu']:8.2f} {r['wall']:8.2f} {r['peak_rss_mb']:12.0f} {ratio:>11} {r['items']:9,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
