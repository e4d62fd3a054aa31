#!/usr/bin/env python3
"""appvet on apps of different shapes and sizes, beside androguard's AnalyzeAPK in the same run.

For every shape of ``bench/synth.py`` (distinct URLs, deep chains, fan-out, small classes, huge
methods, many SDKs, obfuscated names, cross-dex calls, native libraries, resource tables, and the
default mix) and every size asked for, and for the ``heavy`` fixture (code shaped to make flow
search expensive), one child process each runs:

- appvet full review: ``review()`` and the JSON report, the per-stage timings it records;
- appvet fast path: the same with the call graph, reachability, behaviours and data flows
  replaced by nothing (what a manifest/SDK/capability/endpoint inventory costs);
- androguard 4.1.4 ``AnalyzeAPK`` plus a walk of its cross-references (``bench/compare.py``), for
  sizes up to ``--androguard-max`` methods.

Wall time and peak RSS come from each child's own rusage (``compare.measure``). With two sizes
where one is twice the other, the table also gives, per stage, the time at the larger size over
the time at the smaller one: linear work gives about 2.

Usage: bench/shapes.py [--shapes NAME ...] [--sizes 20000 40000] [--androguard-max N] [--update-docs]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402
import synth  # noqa: E402

SECTION = "## App shapes"
START, END = "<!-- shapes:start -->", "<!-- shapes:end -->"
HEAVY = compare.ROOT / "tests" / "fixtures" / "built" / "heavy.apk"
FAST_STUBBED = ("reachability", "behaviours", "flows")


# --------------------------------------------------------------------------- child side


def peer(kind: str, apk: str) -> dict[str, Any]:
    import types
    from datetime import date

    from appvet import review as review_module
    from appvet.model import to_json
    from appvet.review import review

    # Stage timings in CPU seconds of this process: on a shared machine wall time mostly measures others.
    review_module.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]
    if kind == "fast":
        from appvet.analyze import behaviours, flows, reachability

        reachability.compute = lambda facts, budget: (None, [])  # type: ignore[assignment]
        behaviours.find = lambda facts, attribution, reach: []  # type: ignore[assignment]
        flows.find = lambda *args, **kw: ([], [])  # type: ignore[assignment]
    started = time.process_time()
    result = review(apk, on=date(2025, 1, 1))
    to_json(result)
    out = dict(result.timings)
    out["total"] = time.process_time() - started
    out["flows_found"] = len(result.code_flows)
    out["skips"] = [s.reason for s in result.skips][:5]
    return out


# --------------------------------------------------------------------------- parent side


def _measure_peer(kind: str, apk: Path, timeout: float) -> dict[str, Any]:
    run = compare.measure([sys.executable, str(Path(__file__).resolve()), "--peer", kind, str(apk)], timeout)
    if run.returncode != 0 or run.timed_out:
        return {"ok": False, "error": (run.stderr.strip().splitlines() or ["timed out"])[-1][:200],
                "wall_s": run.wall_s}
    return {"ok": True, "wall_s": run.wall_s, "cpu_s": run.cpu_s, "peak_rss_mb": run.peak_rss_mb,
            "stages": json.loads(run.stdout.strip().splitlines()[-1])}


def measure_apk(label: str, methods: int, apk: Path, cfg: compare.Config, androguard: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"shape": label, "methods": methods, "apk": apk.name, "mb": apk.stat().st_size / 1e6,
                           "method_refs": compare.method_refs(apk)}
    row["full"] = _measure_peer("full", apk, cfg.timeout)
    row["fast"] = _measure_peer("fast", apk, cfg.timeout)
    if androguard:
        r = compare.run_tool("androguard", apk, cfg)
        row["androguard"] = {"ok": r.ok, "wall_s": r.wall_s, "cpu_s": r.cpu_s, "peak_rss_mb": r.peak_rss_mb,
                         "error": r.error}
    print(json.dumps(row), flush=True)
    return row


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> str:
    if not a or not b or not a.get("ok") or not b.get("ok") or not b.get(key):
        return "-"
    return f"{a[key] / b[key]:.2f}"


def _cell(t: dict[str, Any] | None) -> str:
    if not t:
        return "not run"
    if not t.get("ok"):
        return "failed"
    return f"{t.get('cpu_s', t['wall_s']):.2f} s / {t['peak_rss_mb']:.0f} MB"


def text(rows: Sequence[dict[str, Any]], machine: dict[str, str], command: str) -> str:
    lines = [SECTION, "", START, "",
             f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu')}), {machine.get('memory')}, Python "
             f"{machine.get('python')}; shared with other jobs while measured. Command: `{command}`.", "",
             "Each cell: CPU time (user + system) / peak RSS of one child process, start-up included; CPU time "
             "rather than wall time because the machine was shared (load average 15-32 on 2 CPUs). Speed-up is "
             "androguard's CPU time over appvet's; memory is appvet's peak over androguard's.", "",
             "| shape | methods | dex refs | APK MB | appvet fast path | appvet full review | androguard AnalyzeAPK "
             "| full: speed-up, memory | fast: speed-up, memory |",
             "| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- |"]
    for r in rows:
        ag = r.get("androguard")
        full = f"{_ratio(ag, r['full'], 'cpu_s')}x, {_ratio(r['full'], ag, 'peak_rss_mb')}"
        fast = f"{_ratio(ag, r['fast'], 'cpu_s')}x, {_ratio(r['fast'], ag, 'peak_rss_mb')}"
        size = f"{r['methods']:,}" if r["methods"] else "fixture"
        lines.append(f"| {r['shape']} | {size} | {r['method_refs']:,} | {r['mb']:.1f} | {_cell(r['fast'])} "
                     f"| {_cell(r['full'])} | {_cell(ag)} | {full} | {fast} |")
    lines += ["", "Per-stage CPU time of the full review at the larger size over the smaller (sizes 1:2; "
              "linear work gives about 2.0; stages under 20 ms at both sizes are left out as noise):", ""]
    by_shape: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_shape.setdefault(r["shape"], []).append(r)
    stages = ("formats", "sdks", "fingerprints", "capabilities", "reachability", "behaviours", "flows",
              "endpoints", "findings", "total")
    lines += ["| shape | sizes | " + " | ".join(stages) + " |", "| --- | --- |" + " ---: |" * len(stages)]
    for shape, group in by_shape.items():
        group = sorted(group, key=lambda r: r["methods"])
        for small, big in itertools.pairwise(group):
            if not (small["full"].get("ok") and big["full"].get("ok")):
                continue
            s, b = small["full"]["stages"], big["full"]["stages"]
            cells = []
            for st in stages:
                if st in s and st in b and max(s[st], b[st]) >= 0.02 and s[st] > 0:
                    cells.append(f"{b[st] / s[st]:.2f}")
                else:
                    cells.append("-")
            lines.append(f"| {shape} | {small['methods']:,} → {big['methods']:,} | " + " | ".join(cells) + " |")
    lines += ["", END, ""]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", nargs=2, metavar=("KIND", "APK"), help=argparse.SUPPRESS)
    p.add_argument("--shapes", nargs="+", default=[*synth.SHAPES, "heavy"])
    p.add_argument("--sizes", nargs="+", type=int, default=[20_000, 40_000])
    p.add_argument("--androguard-max", type=int, default=40_000,
                   help="run AnalyzeAPK only on apps up to this many methods (it takes minutes and GBs past it)")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--out", type=Path, default=compare.OUT / "shapes.jsonl")
    p.add_argument("--from-results", type=Path, help="write the table from an earlier --out file")
    p.add_argument("--command", help="the command to name in the table (with --from-results: the one that measured)")
    p.add_argument("--update-docs", action="store_true")
    args = p.parse_args(argv)
    if args.peer:
        print(json.dumps(peer(*args.peer)))
        return 0
    if args.from_results:
        rows = [json.loads(x) for x in args.from_results.read_text().splitlines() if x.strip()]
    else:
        cfg = compare.Config(sys.executable, sys.executable, compare.TRACKERS, args.timeout, 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        with args.out.open("w") as fh:
            for shape in args.shapes:
                # The heavy fixture has one size; its method refs are shown beside it.
                todo = [(HEAVY, 0)] if shape == "heavy" else [(synth.build(n, shape=shape).apk, n) for n in args.sizes]
                for apk, n in todo:
                    row = measure_apk(shape, n, apk, cfg, androguard=n <= args.androguard_max)
                    rows.append(row)
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
    block = text(rows, compare.machine(), args.command or "bench/shapes.py " + " ".join(argv))
    print(block)
    if args.update_docs:
        compare.replace_block(compare.DOCS, block.rstrip("\n"), SECTION, END)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
