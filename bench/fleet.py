#!/usr/bin/env python3
"""Fleet throughput: apps per minute with 1, 2 and 4 Dask workers, appvet against an androguard fleet.

Inputs are copies of the synthetic APK (``bench/synth.py --methods 30000``), each with its own zip
comment so every copy has its own SHA-256 and is reviewed (the fleet skips identical bytes). The
copies are cached in bench/out/fleet-inputs/.

- appvet: ``appvet.fleet.run_fleet`` into a fresh SQLite store per run, policy ``default``: the
  whole product path (hashing, store, local cluster start, one review process per app, writes).
- androguard: the same local Dask cluster and ``as_completed`` loop, each task running
  ``bench/compare.py --peer androguard APK`` (AnalyzeAPK plus a walk of everything it built) in the
  androguard interpreter. Nothing is stored: androguard gives no review to store.

Wall time covers everything from the call to the last result, cluster start included.

The speed-up column is each row's apps/min over the 1-worker row of the same tool (the scaling
ratio); on a machine with fewer cores than workers it cannot reach the worker count.

Usage: bench/fleet.py [--apps 20] [--androguard-apps 6] [--methods 30000] [--workers 1,2,4]
                      [--androguard-python PATH] [--json bench/out/fleet.json] [--update-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- fleet:start -->", "<!-- fleet:end -->"
EOCD = b"PK\x05\x06"
TARGET = 1.7


def variants(apk: Path, n: int, folder: Path) -> list[Path]:
    """``n`` copies of ``apk`` that differ only in their zip comment (so in their SHA-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = apk.read_bytes()
    at = data.rfind(EOCD)
    if at < 0:
        raise SystemExit(f"{apk}: no end-of-central-directory record")
    paths = []
    for i in range(n):
        path = folder / f"{apk.stem}-v{i:03d}.apk"
        if not path.exists():
            comment = f"fleet-bench-{i}".encode()
            path.write_bytes(data[: at + 20] + len(comment).to_bytes(2, "little") + comment)
        paths.append(path)
    return paths


def run_appvet(paths: list[Path], workers: int) -> dict[str, Any]:
    from appvet.fleet import FleetOptions, run_fleet

    with tempfile.TemporaryDirectory(prefix="appvet-fleet-bench-") as tmp:
        t0 = time.perf_counter()
        summary = run_fleet(paths, FleetOptions(store=f"sqlite:///{tmp}/fleet.db", workers=workers, policy="default"))
        wall = time.perf_counter() - t0
    failed = sum(summary.failed.values())
    return {"tool": "appvet", "workers": workers, "apps": len(paths), "ok": summary.reviewed, "failed": failed,
            "wall_s": round(wall, 2), "apps_per_min": round(summary.reviewed * 60 / wall, 1)}


def androguard_task(python: str, apk: str, timeout: float) -> bool:
    proc = subprocess.run([python, str(HERE / "compare.py"), "--peer", "androguard", apk],
                          capture_output=True, timeout=timeout, check=False)
    return proc.returncode == 0


def run_androguard(paths: list[Path], workers: int, python: str) -> dict[str, Any]:
    from distributed import as_completed

    from appvet.fleet.engine import dask_client

    t0 = time.perf_counter()
    ok = 0
    with dask_client(None, workers) as client:
        futures = [client.submit(androguard_task, python, str(p), 1800.0, pure=False) for p in paths]
        for fut in as_completed(futures):
            ok += bool(fut.result())
    wall = time.perf_counter() - t0
    return {"tool": "androguard", "workers": workers, "apps": len(paths), "ok": ok, "failed": len(paths) - ok,
            "wall_s": round(wall, 2), "apps_per_min": round(ok * 60 / wall, 1)}


def table(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [START, "", f"Inputs: {meta['input']}. Machine: {meta['cpus']} CPUs. "
             f"Command: `.venv/bin/python bench/fleet.py --apps {meta['apps']} --androguard-apps "
             f"{meta['androguard_apps']} --update-docs`.", "",
             "| fleet | workers | apps | failed | wall s | apps/min | speed-up vs 1 worker |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    base = {r["tool"]: r["apps_per_min"] for r in rows if r["workers"] == 1}
    for r in rows:
        up = r["apps_per_min"] / base[r["tool"]] if base.get(r["tool"]) else 0.0
        lines.append(f"| {r['tool']} | {r['workers']} | {r['apps']} | {r['failed']} | {r['wall_s']} | "
                     f"{r['apps_per_min']} | {up:.2f}x |")
    lines += ["", f"Target: 2 workers at least {TARGET}x the throughput of 1 (appvet): "
              f"**{'met' if meta['appvet_speedup'] >= TARGET else 'NOT met'}** ({meta['appvet_speedup']:.2f}x).", "",
              END]
    return "\n".join(lines)


def update_docs(block: str) -> None:
    text = DOCS.read_text("utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Fleet throughput\n\n" + block + "\n"
    DOCS.write_text(text, "utf-8")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", type=int, default=20)
    ap.add_argument("--androguard-apps", type=int, default=6)
    ap.add_argument("--methods", type=int, default=30_000)
    ap.add_argument("--androguard-python", default="/tmp/benchvenv/bin/python")
    ap.add_argument("--workers", default="1,2,4", help="worker counts to measure, comma-separated (1 first)")
    ap.add_argument("--json", type=Path, default=OUT / "fleet.json")
    ap.add_argument("--update-docs", action="store_true")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(HERE))
    import synth

    apk = synth.build(methods=args.methods).apk
    paths = variants(apk, max(args.apps, args.androguard_apps), OUT / "fleet-inputs")
    counts = [int(w) for w in args.workers.split(",") if w]
    rows = [run_appvet(paths[: args.apps], w) for w in counts]
    if args.androguard_apps and Path(args.androguard_python).exists():
        rows += [run_androguard(paths[: args.androguard_apps], w, args.androguard_python) for w in counts]
    for r in rows:
        print(json.dumps(r), file=sys.stderr)
    speedup = rows[1]["apps_per_min"] / rows[0]["apps_per_min"] if rows[0]["apps_per_min"] else 0.0
    meta = {"input": f"copies of `{apk.name}` ({apk.stat().st_size / 1e6:.1f} MB, {args.methods} methods)",
            "cpus": os.cpu_count(), "apps": args.apps, "androguard_apps": args.androguard_apps,
            "appvet_speedup": round(speedup, 3)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    block = table(rows, meta)
    print(block)
    if args.update_docs:
        update_docs(block)
    return 0 if speedup >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
