"""A small app's full review is mostly process start-up: appvet beside exodus-core and APKiD, same run.

Each tool reviews each APK ``--repeat`` times, interleaved (appvet, exodus-core, APKiD, appvet, ...) so that
the load of a shared machine falls on all of them alike; every run is its own process measured by
``compare.measure`` (wall time, CPU time and peak RSS of that process alone). Also measured: the bare
interpreter and ``import appvet.cli``, the floor under every appvet figure.

appvet is measured twice: ``review APK --format json -o FILE -q`` (what the corpus benchmark runs) and
``review APK`` with the default terminal summary written to a pipe. Its sources are byte-compiled first, as
an installed package is, so that a run does not pay for compiling appvet's own modules.

    .venv/bin/python bench/startup.py --exodus-python /work/corpus/peers/exodus/bin/python \\
        --apkid /work/corpus/peers/apkid/bin/apkid --update-docs
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from compare import machine, measure, replace_block  # noqa: E402

from corpus import TRACKERS  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- startup:start -->", "<!-- startup:end -->"
DEFAULT_APKS = ("android-malware__towelroot.apk", "android-malware__SmsWorker.apk",
                "android-malware__MoliCity_signed.apk", "android-malware__com.laughtter.apk",
                "android-malware__Alsalah.apk")


def commands(tool: str, apk: Path, args: argparse.Namespace, out: Path) -> list[str]:
    if tool == "appvet json -o -q":
        return [args.appvet, "review", str(apk), "--format", "json", "-o", str(out), "-q"]
    if tool == "appvet text":
        return [args.appvet, "review", str(apk)]
    if tool == "exodus-core":
        return [args.exodus_python, str(HERE / "corpus.py"), "--peer", "exodus-core", str(apk),
                "--trackers", str(args.trackers)]
    if tool == "apkid":
        return [args.apkid, "-j", "-t", "120", str(apk)]
    if tool == "python -c pass":
        return [args.python, "-c", "pass"]
    if tool == "import appvet.cli":
        return [args.python, "-c", "import appvet.cli"]
    raise ValueError(tool)


def run(args: argparse.Namespace) -> dict[str, Any]:
    compileall.compile_dir(str(ROOT / "src" / "appvet"), quiet=1)
    tools = ["appvet json -o -q", "appvet text", "exodus-core", "apkid"]
    floors = ["python -c pass", "import appvet.cli"]
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in [*tools, *floors]}
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        out = Path(tmp) / "review.json"
        for _ in range(args.repeat):
            for tool in floors:
                r = measure(commands(tool, Path(), args, out), 60.0)
                runs[tool].append({"app": "", "ok": r.returncode == 0, "wall_s": r.wall_s, "cpu_s": r.cpu_s,
                                   "rss_mb": r.peak_rss_mb})
            for apk in args.apks:
                for tool in tools:
                    r = measure(commands(tool, apk, args, out), args.timeout)
                    ok = r.returncode in ((0, 1) if tool.startswith("appvet") else (0,))
                    ok = ok and "Traceback" not in r.stderr
                    runs[tool].append({"app": apk.name, "ok": ok, "wall_s": r.wall_s, "cpu_s": r.cpu_s,
                                       "rss_mb": r.peak_rss_mb, "error": "" if ok else r.stderr[-300:]})
                    print(f"{apk.name} {tool}: {'ok' if ok else 'FAILED'} {r.wall_s:.2f}s "
                          f"cpu {r.cpu_s:.2f}s {r.peak_rss_mb:.0f}MB", file=sys.stderr, flush=True)
    summary = {tool: _summary(rs) for tool, rs in runs.items()}
    return {"machine": machine(), "apps": [a.name for a in args.apks], "repeat": args.repeat,
            "summary": summary, "runs": runs}


def _summary(rs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rs if r["ok"]]
    row: dict[str, Any] = {"runs": len(rs), "ok": len(ok)}
    for key in ("wall_s", "cpu_s", "rss_mb"):
        values = sorted(r[key] for r in ok)
        row[f"{key}_median"] = statistics.median(values) if values else None
        row[f"{key}_p90"] = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))] if values else None
    return row


def table(summary: dict[str, dict[str, Any]]) -> str:
    def f(v: float | None, d: int = 2) -> str:
        return "—" if v is None else f"{v:.{d}f}"

    lines = ["| run | runs | ok | wall median s | wall p90 s | CPU median s | CPU p90 s | peak RSS median MB "
             "| RSS p90 MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for tool, r in summary.items():
        lines.append(f"| {tool} | {r['runs']} | {r['ok']} | {f(r['wall_s_median'])} | {f(r['wall_s_p90'])} "
                     f"| {f(r['cpu_s_median'])} | {f(r['cpu_s_p90'])} | {f(r['rss_mb_median'], 0)} "
                     f"| {f(r['rss_mb_p90'], 0)} |")
    return "\n".join(lines)


def update_docs(result: dict[str, Any]) -> None:
    m = result["machine"]
    block = "\n".join([
        START,
        f"bench/startup.py on {m['cpu']} ({m['nproc']} cores, shared), Python {m['python']}: "
        f"{len(result['apps'])} small corpus APKs x {result['repeat']} runs per tool, interleaved.",
        "",
        table(result["summary"]),
        END,
    ])
    replace_block(DOCS, block, START, END)


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("apks", nargs="*", type=Path)
    p.add_argument("--corpus", type=Path, default=Path("/work/corpus/apks"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--python", default=sys.executable, help="interpreter with appvet installed")
    p.add_argument("--appvet", default=str(Path(sys.executable).with_name("appvet")))
    p.add_argument("--exodus-python", default="/work/corpus/peers/exodus/bin/python")
    p.add_argument("--apkid", default="/work/corpus/peers/apkid/bin/apkid")
    p.add_argument("--trackers", type=Path, default=TRACKERS)
    p.add_argument("--json", type=Path, default=HERE / "out" / "startup.json")
    p.add_argument("--update-docs", action="store_true")
    args = p.parse_args(argv)
    args.apks = args.apks or [args.corpus / name for name in DEFAULT_APKS]
    missing = [a for a in args.apks if not a.is_file()]
    if missing:
        print(f"startup.py: no such APK: {missing[0]} (run scripts/build-corpus)", file=sys.stderr)
        return 2
    result = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(table(result["summary"]))
    if args.update_docs:
        update_docs(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
