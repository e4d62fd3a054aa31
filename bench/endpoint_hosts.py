"""Host names reported by appvet on a sample of real APKs, for measuring endpoint precision.

    python bench/endpoint_hosts.py CORPUS_DIR [--sample N] [--seed S] [--compare OLD_ENDPOINTS_PY] > hosts.json

Writes, per APK, the reported endpoints (value, host, kind). With ``--compare``, the same reviews
are also run with another version of ``appvet/analyze/endpoints.py`` (a file path), so both
versions are measured on the same inputs in the same run. Precision is then counted by labelling
each distinct host (docs/benchmarks.md says how).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from pathlib import Path

from appvet.analyze import endpoints
from appvet.errors import AppvetError
from appvet.kb import load_kb
from appvet.review import review


def _load(path: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("endpoints_compare", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["endpoints_compare"] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--compare")
    args = ap.parse_args()
    files = sorted(p for p in args.corpus.glob("*.apk") if p.is_file())
    random.Random(args.seed).shuffle(files)
    kb = load_kb()
    current = endpoints.find
    other = _load(args.compare).find if args.compare else None
    out: dict[str, object] = {}
    for path in files[: args.sample]:
        row: dict[str, object] = {}
        for name, fn in (("new", current), ("old", other)):
            if fn is None:
                continue
            endpoints.find = fn
            t0 = time.perf_counter()
            try:
                r = review(path, kb=kb)
            except AppvetError as exc:
                row[name] = {"error": exc.diagnostics()}
                continue
            finally:
                endpoints.find = current
            row[name] = {"seconds": round(time.perf_counter() - t0, 3),
                         "endpoints": sorted({(e.host, e.kind) for e in r.endpoints})}
        out[path.name] = row
        print(path.name, file=sys.stderr)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
