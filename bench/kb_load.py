#!/usr/bin/env python3
"""Time of loading the knowledge base (cold and cached) and of ``sdk_for_class`` lookups.

    .venv/bin/python bench/kb_load.py [--runs N]

Each load is measured in a fresh interpreter, so import caches and the in-process memo do not
hide the cost a user sees; the lookup benchmark resolves the class names of a synthetic
100k-class app (SDK packages mixed with first-party ones).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import time, json, sys
t0 = time.perf_counter()
from appvet.kb import load_kb
t1 = time.perf_counter()
kb = load_kb()
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "load_ms": (t2 - t1) * 1000}))
"""


def _child(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _lookups(n_classes: int) -> tuple[float, int]:
    sys.path.insert(0, str(ROOT / "src"))
    from appvet.kb import load_kb

    kb = load_kb()
    prefixes = [p for s in kb.sdks.values() for p in s.class_prefixes if p.endswith(".")]
    names = []
    for i in range(n_classes):
        if i % 3 == 0:
            names.append(f"{prefixes[i % len(prefixes)]}internal.C{i}")
        else:
            names.append(f"com.example.app.feature{i % 400}.C{i}")
    t0 = time.perf_counter()
    hits = sum(1 for name in names if kb.sdk_for_class(name) is not None)
    return (time.perf_counter() - t0) * 1000, hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        base = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "APPVET_CACHE_DIR": cache}
        cold = [_child({**base, "APPVET_KB_CACHE": "0"}) for _ in range(args.runs)]
        _child(base)  # fill the cache
        warm = [_child(base) for _ in range(args.runs)]
    lookup_ms, hits = _lookups(120_000)

    def stat(rows: list[dict[str, float]], key: str) -> str:
        vals = sorted(r[key] for r in rows)
        return f"median {statistics.median(vals):.1f} ms (min {vals[0]:.1f}, max {vals[-1]:.1f})"

    print(f"import appvet.kb:        {stat(cold + warm, 'import_ms')}")
    print(f"load_kb(), no cache:     {stat(cold, 'load_ms')}")
    print(f"load_kb(), cache hit:    {stat(warm, 'load_ms')}")
    print(f"sdk_for_class x120,000:  {lookup_ms:.1f} ms ({hits} SDK hits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
