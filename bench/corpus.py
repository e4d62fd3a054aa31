#!/usr/bin/env python3
"""appvet beside androguard, exodus-core and APKiD on the real-world corpus (scripts/build-corpus).

Every tool runs on every app in its own child process, one at a time, measured like
bench/compare.py (wall time, CPU time and peak RSS of that one process, read with wait4 through a
tiny launcher). A run that exceeds --timeout is killed and counted as a timeout.

Tools, each as a person would run it:
- appvet: ``appvet review APK --format json -o FILE --quiet`` (the full review, report written).
- androguard-apk: androguard 4 ``APK(path)``, then package, permissions and signer certificates.
- androguard-analyze: androguard 4 ``AnalyzeAPK(path)`` (every dex parsed, xrefs built).
- exodus-core: its ``StaticAnalysis`` with the Exodus tracker list appvet ships (offline), listing
  the trackers whose code signatures match the app's class names.
- apkid: the ``apkid -j`` command (YARA rules over the APK and its dex files).

Outcomes: ``ok``; ``refused`` (appvet exit 2 with its one-line error; a peer's handled error);
``crashed`` (a traceback, appvet exit 3, a signal); ``timeout``. Per-app agreement against
androguard: package, permission names, signer certificate SHA-256; and trackers found by
exodus-core against appvet's SDKs carrying the same Exodus tracker id. With both appvet and
androguard-analyze among the tools, a second table lists the five apps on which appvet took longest
and the five on which it used most memory, AnalyzeAPK beside each.

The peers run through this same file (``--peer NAME APK``), in whichever interpreter has them
(``--androguard-python``, ``--exodus-python``, ``--apkid``), so they need not share appvet's
environment.

Usage: bench/corpus.py [--corpus DIR] [--limit N] [--timeout S] [--tools ...] [--update-docs]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from compare import machine, measure, replace_block  # noqa: E402

MANIFEST = ROOT / "corpus" / "manifest.csv"
DOCS = ROOT / "docs" / "benchmarks.md"
TRACKERS = ROOT / "src" / "appvet" / "kb" / "data" / "exodus" / "trackers.json"
SECTION = "## Real-world corpus against peers"
START, END = "<!-- corpus:start -->", "<!-- corpus:end -->"
WORST_SECTION = "## Real apps: the worst five for both tools"
WORST_START, WORST_END = "<!-- corpus-worst:start -->", "<!-- corpus-worst:end -->"
TOOLS = ("appvet", "androguard-apk", "androguard-analyze", "exodus-core", "apkid")


# --------------------------------------------------------------------------- peers (child side)


def _quiet_loguru() -> None:
    try:
        from loguru import logger
    except ImportError:
        return
    logger.remove()


def peer_androguard_apk(apk: str) -> dict[str, Any]:
    _quiet_loguru()
    from androguard.core.apk import APK

    a = APK(apk)
    certs = a.get_certificates()
    return {
        "package": a.get_package(),
        "permissions": sorted(set(a.get_permissions())),
        "signers": sorted({hashlib.sha256(c.dump()).hexdigest() for c in certs}),
    }


def peer_androguard_analyze(apk: str) -> dict[str, Any]:
    _quiet_loguru()
    from androguard.misc import AnalyzeAPK

    _a, dexes, dx = AnalyzeAPK(apk)
    return {"dex": len(dexes), "classes": sum(1 for _ in dx.get_classes())}


def peer_exodus(apk: str, trackers: str) -> dict[str, Any]:
    """exodus-core's own static analysis, with its signatures given from a file instead of its API."""
    from exodus_core.analysis.static_analysis import StaticAnalysis  # sets up its own log handler first

    _quiet_loguru()

    doc = json.loads(Path(trackers).read_text())
    sigs = [
        _exodus_signature(int(tid), row) for tid, row in doc["trackers"].items()
    ]
    sa = StaticAnalysis(apk)
    sa.signatures = sigs
    sa.compiled_tracker_signature = None
    sa._compile_signatures()
    found = sa.detect_trackers()
    return {"trackers": sorted({int(t.id) for t in found})}


def _exodus_signature(tid: int, row: dict[str, Any]) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(
        id=tid,
        name=row["name"],
        code_signature=row.get("code_signature", ""),
        network_signature=row.get("network_signature", ""),
        website=row.get("website", ""),
        description=row.get("description", ""),
    )


PEERS = {
    "androguard-apk": peer_androguard_apk,
    "androguard-analyze": peer_androguard_analyze,
}


def peer_main(name: str, apk: str, trackers: str) -> int:
    result = peer_exodus(apk, trackers) if name == "exodus-core" else PEERS[name](apk)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


# --------------------------------------------------------------------------- parent side


@dataclass
class Config:
    appvet: str
    androguard_python: str
    exodus_python: str
    apkid: str
    timeout: float
    trackers: Path


@dataclass
class Outcome:
    tool: str
    app: str
    status: str  # ok | refused | crashed | timeout | unavailable
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _appvet_data(report: dict[str, Any], exodus_ids: dict[str, int]) -> dict[str, Any]:
    app = report.get("app", {})
    manifest = report.get("manifest", {})
    sdks = [s["id"] for s in report.get("sdks", [])]
    return {
        "package": app.get("package"),
        "permissions": sorted({p["name"] for p in manifest.get("permissions", [])}),
        "signers": sorted({s["sha256"] for s in app.get("signers", [])}),
        "sdks": sdks,
        "trackers": sorted({exodus_ids[s] for s in sdks if s in exodus_ids}),
        "skips": len(report.get("skips", [])),
    }


def run_one(tool: str, apk: Path, cfg: Config, exodus_ids: dict[str, int]) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="corpus-bench-") as tmp:
        report = Path(tmp) / "review.json"
        if tool == "appvet":
            cmd = [cfg.appvet, "review", str(apk), "--format", "json", "-o", str(report), "--quiet"]
        elif tool == "apkid":
            cmd = [cfg.apkid, "-j", "-t", str(int(cfg.timeout)), str(apk)]
        else:
            python = cfg.exodus_python if tool == "exodus-core" else cfg.androguard_python
            cmd = [python, str(Path(__file__).resolve()), "--peer", tool, str(apk), "--trackers", str(cfg.trackers)]
        run = measure(cmd, cfg.timeout)
        out = Outcome(tool, apk.name, "ok", run.wall_s, run.cpu_s, run.peak_rss_mb)
        if run.timed_out:
            out.status, out.wall_s, out.cpu_s, out.peak_rss_mb = "timeout", None, None, None
            return out
        traceback = "Traceback (most recent call last)" in run.stderr
        if tool == "appvet":
            if run.returncode in (0, 1) and not traceback:
                out.data = _appvet_data(json.loads(report.read_text()), exodus_ids)
            elif run.returncode == 2 and not traceback:
                out.status, out.message = "refused", _last_line(run.stderr)
            else:
                out.status, out.message = "crashed", f"exit {run.returncode}: {_last_line(run.stderr)}"
            return out
        if run.returncode != 0 or traceback:
            out.status, out.message = "crashed", f"exit {run.returncode}: {_last_line(run.stderr)}"
            return out
        try:
            out.data = json.loads(run.stdout) if tool != "apkid" else _apkid_data(json.loads(run.stdout))
        except (ValueError, KeyError) as exc:
            out.status, out.message = "crashed", f"unreadable output: {exc}"
        return out


def _apkid_data(doc: dict[str, Any]) -> dict[str, Any]:
    matches: dict[str, list[str]] = {}
    for f in doc.get("files", []):
        for kind, names in f.get("matches", {}).items():
            matches.setdefault(kind, []).extend(names)
    return {"matches": {k: sorted(set(v)) for k, v in matches.items()}}


def exodus_id_map() -> dict[str, int]:
    from appvet.kb import load_kb

    kb = load_kb()
    return {sdk.id: int(sdk.exodus_id) for sdk in kb.sdks.values() if sdk.exodus_id}


def agreement(by_tool: dict[str, Outcome], tracker_names: dict[int, str]) -> dict[str, Any]:
    """Compare appvet's answers with the peers' on one app; only where both finished."""
    mine = by_tool.get("appvet")
    if mine is None or mine.status != "ok":
        return {}
    found: dict[str, Any] = {}
    ag = by_tool.get("androguard-apk")
    if ag is not None and ag.status == "ok":
        for key in ("package", "permissions", "signers"):
            a, b = mine.data.get(key), ag.data.get(key)
            if a == b:
                found[key] = True
            else:
                diff: dict[str, Any] = {"appvet": a, "androguard": b}
                if isinstance(a, list) and isinstance(b, list):
                    diff = {"only_appvet": sorted(set(a) - set(b)), "only_androguard": sorted(set(b) - set(a))}
                found[key] = diff
    ex = by_tool.get("exodus-core")
    if ex is not None and ex.status == "ok":
        a, b = set(mine.data["trackers"]), set(ex.data["trackers"])
        found["trackers"] = True if a == b else {
            "only_appvet": [f"{t} {tracker_names.get(t, '?')}" for t in sorted(a - b)],
            "only_exodus": [f"{t} {tracker_names.get(t, '?')}" for t in sorted(b - a)],
        }
    return found


def summarise(outcomes: Sequence[Outcome], tools: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for tool in tools:
        mine = [o for o in outcomes if o.tool == tool]
        done = [o for o in mine if o.status in ("ok", "refused")]
        walls = sorted(o.wall_s for o in done if o.wall_s is not None)
        cpus = sorted(o.cpu_s for o in done if o.cpu_s is not None)
        rss = sorted(o.peak_rss_mb for o in done if o.peak_rss_mb is not None)
        counts = {s: sum(1 for o in mine if o.status == s) for s in ("ok", "refused", "crashed", "timeout")}
        rows[tool] = {**counts, "apps": len(mine), **_stats("wall_s", walls), **_stats("cpu_s", cpus),
                      **_stats("rss_mb", rss)}
    return rows


def _stats(name: str, values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {f"{name}_median": None, f"{name}_p90": None, f"{name}_max": None}
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return {f"{name}_median": statistics.median(values), f"{name}_p90": p90, f"{name}_max": values[-1]}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(summary: dict[str, dict[str, Any]]) -> str:
    head = ("| tool | apps | ok | refused | crashed | timeout | wall median s | wall p90 s | wall max s "
            "| CPU median s | CPU p90 s | peak RSS median MB | RSS p90 MB | RSS max MB |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for tool, r in summary.items():
        lines.append(
            f"| {tool} | {r['apps']} | {r['ok']} | {r['refused']} | {r['crashed']} | {r['timeout']} "
            f"| {_fmt(r['wall_s_median'])} | {_fmt(r['wall_s_p90'])} | {_fmt(r['wall_s_max'])} "
            f"| {_fmt(r['cpu_s_median'])} | {_fmt(r['cpu_s_p90'])} "
            f"| {_fmt(r['rss_mb_median'], 0)} | {_fmt(r['rss_mb_p90'], 0)} | {_fmt(r['rss_mb_max'], 0)} |"
        )
    return "\n".join(lines)


def agreement_counts(agree: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for key in ("package", "permissions", "signers", "trackers"):
        compared = [a[key] for a in agree.values() if key in a]
        counts[key] = (sum(1 for v in compared if v is True), len(compared))
    return counts


def docs_block(result: dict[str, Any]) -> str:
    counts = result["agreement_counts"]
    lines = [
        START,
        f"Run {result['date']} on {result['machine']['cpu']} ({result['machine']['nproc']} cores, shared), "
        f"Python {result['machine']['python']}; {result['measured']} of the {result['apps']} APKs of "
        f"corpus/manifest.csv, one process per "
        f"tool and app, timeout {result['timeout']:.0f} s. Times of refused runs count; timeouts do not.",
        "",
        table(result["summary"]),
        "",
        "Agreement with the peers, apps where both finished:",
        "",
        "| answer | compared with | same | apps compared |",
        "|---|---|---:|---:|",
    ]
    peer = {"package": "androguard APK", "permissions": "androguard APK", "signers": "androguard APK",
            "trackers": "exodus-core"}
    for key, (same, total) in counts.items():
        lines.append(f"| {key} | {peer[key]} | {same} | {total} |")
    lines.append(END)
    return "\n".join(lines)


def _worst_cell(o: Outcome | None) -> str:
    if o is None:
        return "-"
    if o.status != "ok":
        return f"{o.status} ({o.message[:40]})"
    return f"{o.cpu_s:.2f} s, {o.peak_rss_mb:.0f} MB"


def worst_block(outcomes: Sequence[Outcome], sizes: dict[str, int], result: dict[str, Any]) -> str:
    """The apps on which appvet took longest or used most memory, AnalyzeAPK beside each."""
    by_app: dict[str, dict[str, Outcome]] = {}
    for o in outcomes:
        by_app.setdefault(o.app, {})[o.tool] = o
    rows = [r for r in by_app.values() if "appvet" in r and "androguard-analyze" in r]
    both = [r for r in rows if r["appvet"].status == "ok" and r["androguard-analyze"].status == "ok"]
    slower = [r["appvet"].app for r in both if r["appvet"].cpu_s > r["androguard-analyze"].cpu_s]  # type: ignore[operator]
    bigger = [r["appvet"].app for r in both
              if r["appvet"].peak_rss_mb > r["androguard-analyze"].peak_rss_mb]  # type: ignore[operator]
    failed = [o for r in rows for o in r.values() if o.status != "ok"]
    why = "; ".join(f"{o.app}: {o.tool} {o.status} {o.message}"[:160] for o in failed)
    m = result["machine"]
    lines = [WORST_SECTION, "", WORST_START, "",
             f"Run {result['date']} on {m['cpu']} ({m['nproc']} cores, shared), Python {m['python']}: "
             f"`bench/corpus.py`, its appvet and androguard-analyze runs on {len(rows)} of the {result['apps']} "
             "APKs of corpus/manifest.csv. Times are CPU time (user + system) of each child process, start-up "
             "included; on a shared machine wall time mostly measures the other jobs.", "",
             f"Reviewed by both: {len(both)}. appvet slower than AnalyzeAPK on {len(slower)} "
             f"({', '.join(slower) or 'none'}); more memory on {len(bigger)} ({', '.join(bigger) or 'none'}). "
             f"Not ok: appvet {sum(1 for o in failed if o.tool == 'appvet')}, androguard "
             f"{sum(1 for o in failed if o.tool != 'appvet')}" + (f" ({why})." if why else "."), ""]
    head = ["| APK | size | appvet review | androguard AnalyzeAPK |", "| --- | --- | --- | --- |"]
    for title, tool, key in (("longest appvet reviews (CPU time)", "appvet", "cpu_s"),
                             ("largest appvet peak memory", "appvet", "peak_rss_mb"),
                             ("longest androguard analyses", "androguard-analyze", "cpu_s")):
        top = sorted((r for r in rows if r[tool].status == "ok"), key=lambda r: -getattr(r[tool], key))[:5]
        lines += [f"Five {title}:", "", *head]
        lines += [f"| {r['appvet'].app} | {sizes.get(r['appvet'].app, 0) / 1e6:.2f} MB "
                  f"| {_worst_cell(r['appvet'])} | {_worst_cell(r['androguard-analyze'])} |" for r in top]
        lines.append("")
    return "\n".join([*lines, WORST_END])


def _read_jsonl(path: Path) -> dict[str, dict[str, Outcome]]:
    done: dict[str, dict[str, Outcome]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                doc = json.loads(line)
                done[doc["app"]] = {r["tool"]: Outcome(**r) for r in doc["runs"]}
    return done


def _which(name: str, fallback: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else fallback


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=Path(os.environ.get("APPVET_CORPUS", "/work/corpus/apks")))
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--limit", type=int, default=0, help="only the first N apps of the manifest")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--appvet", default=_which("appvet", "appvet"))
    p.add_argument("--androguard-python", default=sys.executable)
    p.add_argument("--exodus-python", default=sys.executable)
    p.add_argument("--apkid", default=_which("apkid", "apkid"))
    p.add_argument("--trackers", type=Path, default=TRACKERS)
    p.add_argument("--json", type=Path, default=HERE / "out" / "corpus.json")
    p.add_argument("--jsonl", type=Path, default=HERE / "out" / "corpus-runs.jsonl",
                   help="every app's outcomes, appended as each app finishes")
    p.add_argument("--resume", action="store_true", help="keep the apps already in --jsonl and run the rest")
    p.add_argument("--also", type=Path, action="append", default=[],
                   help="outcomes of another run (its --jsonl) to count as done; repeatable")
    p.add_argument("--shard", default="", help="K/N: run only the manifest rows K, K+N, K+2N, ... (from 0)")
    p.add_argument("--sample", type=int, default=1, help="only manifest rows whose index is a multiple of N "
                   "(apps already measured in --also files are kept)")
    p.add_argument("--summarise-only", action="store_true", help="run nothing; summarise --jsonl and --also")
    p.add_argument("--update-docs", action="store_true")
    p.add_argument("--peer", help=argparse.SUPPRESS)
    p.add_argument("apk", nargs="?", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.peer:
        return peer_main(args.peer, args.apk, str(args.trackers))
    with args.manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if args.limit:
        rows = rows[: args.limit]
    missing = [r["file"] for r in rows if not (args.corpus / r["file"]).is_file()]
    if missing:
        print(f"corpus.py: {len(missing)} files missing from {args.corpus} (first: {missing[0]}); "
              "run scripts/build-corpus", file=sys.stderr)
        return 2
    tools = [t for t in args.tools.split(",") if t]
    cfg = Config(args.appvet, args.androguard_python, args.exodus_python, args.apkid, args.timeout, args.trackers)
    exodus_ids = exodus_id_map()
    tracker_names = {int(k): v["name"] for k, v in json.loads(args.trackers.read_text())["trackers"].items()}
    outcomes: list[Outcome] = []
    agree: dict[str, dict[str, Any]] = {}
    done: dict[str, dict[str, Outcome]] = {}
    for path in [*args.also, *([args.jsonl] if args.resume or args.summarise_only else [])]:
        done.update(_read_jsonl(path))
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    if not (args.resume or args.summarise_only):
        args.jsonl.write_text("")
    mine = set(range(len(rows)))
    if args.shard:
        k, n_shards = (int(x) for x in args.shard.split("/"))
        mine = set(range(k, len(rows), n_shards))
    mine = {i for i in mine if i % args.sample == 0}
    for n, row in enumerate(rows, 1):
        apk = args.corpus / row["file"]
        if row["file"] in done:
            by_tool = done[row["file"]]
        elif args.summarise_only or (n - 1) not in mine:
            continue
        else:
            by_tool = {tool: run_one(tool, apk, cfg, exodus_ids) for tool in tools}
            with args.jsonl.open("a") as fh:
                fh.write(json.dumps({"app": row["file"], "runs": [asdict(o) for o in by_tool.values()]}) + "\n")
        outcomes.extend(by_tool.values())
        agree[row["file"]] = agreement(by_tool, tracker_names)
        line = " ".join(f"{t}={o.status}:{_fmt(o.wall_s, 1)}s" for t, o in by_tool.items())
        print(f"[{n}/{len(rows)}] {row['file']} {line}", file=sys.stderr, flush=True)
    summary = summarise(outcomes, tools)
    result = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "apps": len(rows),
        "measured": len(agree),
        "timeout": args.timeout,
        "summary": summary,
        "agreement_counts": agreement_counts(agree),
        "agreement": agree,
        "outcomes": [asdict(o) for o in outcomes],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(table(summary))
    for key, (same, total) in result["agreement_counts"].items():
        print(f"{key}: same on {same} of {total}")
    worst = ""
    if {"appvet", "androguard-analyze"} <= set(tools):
        worst = worst_block(outcomes, {r["file"]: int(r["size"]) for r in rows}, result)
        print(worst)
    if args.update_docs:
        replace_block(DOCS, docs_block(result), START, END, f"{SECTION}\n\n")
        if worst:
            replace_block(DOCS, worst, WORST_SECTION, WORST_END)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
