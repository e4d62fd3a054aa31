#!/usr/bin/env python3
"""appvet's full review beside androguard's AnalyzeAPK on every APK of a folder of real apps.

Both tools run in their own child process, one at a time, measured as in ``bench/compare.py``
(wall time, peak RSS of the child alone). The table written to docs/benchmarks.md lists the five
apps on which appvet took longest and the five on which it used most memory, androguard beside
each, and how many apps appvet reviewed slower or with more memory than AnalyzeAPK.

Usage: bench/corpus_worst.py [--corpus DIR] [--tools appvet androguard] [--out FILE] [--update-docs]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402

SECTION = "## Real apps: the worst five for both tools"
START, END = "<!-- corpus-worst:start -->", "<!-- corpus-worst:end -->"
DEFAULT_CORPUS = Path("/work/corpus/apks")


def run(apks: Sequence[Path], tools: Sequence[str], cfg: compare.Config, out: Path) -> list[dict[str, Any]]:
    rows = []
    with out.open("w") as fh:
        for apk in apks:
            row: dict[str, Any] = {"apk": apk.name, "bytes": apk.stat().st_size}
            for tool in tools:
                r = compare.run_tool(tool, apk, cfg)
                row[tool] = {"ok": r.ok, "wall_s": r.wall_s, "cpu_s": r.cpu_s, "peak_rss_mb": r.peak_rss_mb,
                         "error": r.error}
            rows.append(row)
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(json.dumps(row), flush=True)
    return rows


def _cell(t: dict[str, Any] | None) -> str:
    if not t:
        return "-"
    if not t.get("ok"):
        return f"failed ({(t.get('error') or '')[:40]})"
    return f"{t.get('cpu_s', t['wall_s']):.2f} s, {t['peak_rss_mb']:.0f} MB"


def text(rows: Sequence[dict[str, Any]], machine: dict[str, str], command: str, corpus_size: int | None = None) -> str:
    both = [r for r in rows if r.get("appvet", {}).get("ok") and r.get("androguard", {}).get("ok")]
    lines = [SECTION, "", START, "",
             f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu')}), {machine.get('memory')}, Python "
             f"{machine.get('python')}. Command: `{command}`. "
             + (f"The {len(rows)} largest of the corpus's {corpus_size} APKs (largest first; the run was cut "
                "there). " if corpus_size and corpus_size > len(rows) else f"{len(rows)} APKs. ")
             + "Times are CPU time (user + system) "
             "of each child process, start-up included: the machine was shared (load average 15-32 on 2 CPUs), "
             "so wall times mostly measured the other jobs.", ""]
    slower = [r["apk"] for r in both if r["appvet"]["cpu_s"] > r["androguard"]["cpu_s"]]
    bigger = [r["apk"] for r in both if r["appvet"]["peak_rss_mb"] > r["androguard"]["peak_rss_mb"]]
    failed = {t: sum(1 for r in rows if t in r and not r[t]["ok"]) for t in ("appvet", "androguard")}
    why = "; ".join(f"{r['apk']}: {t} {r[t].get('error') or 'failed'}"[:160] for r in rows
                    for t in ("appvet", "androguard") if t in r and not r[t]["ok"])
    lines += [f"Reviewed by both: {len(both)}. appvet slower than AnalyzeAPK on {len(slower)} "
              f"({', '.join(slower) or 'none'}); more memory on {len(bigger)} ({', '.join(bigger) or 'none'}). "
              f"Failed or refused: appvet {failed['appvet']}, androguard {failed['androguard']}"
              + (f" ({why})." if why else "."), ""]
    for title, key in (("longest appvet reviews (CPU time)", "cpu_s"), ("largest appvet peak memory", "peak_rss_mb")):
        top = sorted((r for r in rows if r.get("appvet", {}).get("ok")), key=lambda r: -r["appvet"][key])[:5]
        lines += [f"Five {title}:", "", "| APK | size | appvet review | androguard AnalyzeAPK |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {r['apk']} | {r['bytes'] / 1e6:.2f} MB | {_cell(r.get('appvet'))} | "
                  f"{_cell(r.get('androguard'))} |" for r in top]
        lines.append("")
    top_ag = sorted((r for r in rows if r.get("androguard", {}).get("ok")),
                    key=lambda r: -r["androguard"]["cpu_s"])[:5]
    lines += ["Five longest androguard analyses:", "", "| APK | size | appvet review | androguard AnalyzeAPK |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {r['apk']} | {r['bytes'] / 1e6:.2f} MB | {_cell(r.get('appvet'))} | {_cell(r.get('androguard'))} |"
              for r in top_ag]
    lines += ["", END, ""]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--tools", nargs="+", default=["appvet", "androguard"])
    p.add_argument("--out", type=Path, default=compare.OUT / "corpus-worst.jsonl")
    p.add_argument("--from-results", type=Path, help="write the docs table from an earlier --out file")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--command", help="the command to name in the table (with --from-results: the one that measured)")
    p.add_argument("--corpus-size", type=int, help="APKs in the corpus, when the results cover only some")
    p.add_argument("--update-docs", action="store_true")
    args = p.parse_args(argv)
    if args.from_results:
        rows = [json.loads(line) for line in args.from_results.read_text().splitlines() if line.strip()]
    else:
        apks = sorted(args.corpus.glob("*.apk"), key=lambda a: -a.stat().st_size)
        if not apks:
            print(f"corpus: no APKs in {args.corpus}", file=sys.stderr)
            return 2
        args.out.parent.mkdir(parents=True, exist_ok=True)
        cfg = compare.Config(sys.executable, sys.executable, compare.TRACKERS, args.timeout, 1)
        rows = run(apks, args.tools, cfg, args.out)
    block = text(rows, compare.machine(), args.command or "bench/corpus_worst.py --update-docs", args.corpus_size)
    print(block)
    if args.update_docs:
        compare.replace_block(compare.DOCS, block.rstrip("\n"), SECTION, END)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
