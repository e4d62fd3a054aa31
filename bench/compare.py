#!/usr/bin/env python3
"""Time appvet's full review side by side with its peers, on the fixture APKs and a large synthetic APK.

Each tool runs in its own child process, one at a time, pinned to one CPU. The parent waits on
that single child with ``os.wait4`` and takes its wall time (``time.perf_counter`` around spawn and
wait), its CPU time and its peak resident set size from the child's own rusage, so start-up and
imports count, as they do for someone running the tool.

Peers:
- appvet: ``python -m appvet.cli review APK --format json -o FILE -q`` (the whole pipeline,
  report written).
- androguard 4: ``AnalyzeAPK(path)`` (parses every dex and builds the cross-reference graph), then
  every class, method and xref is visited so that no lazy work is skipped.
- exodus-style: what the Exodus Privacy scanner does for code signatures: extract each
  ``classes*.dex``, list class descriptors with Debian's ``dexdump``, and match the tracker
  ``code_signature`` regexes against the dotted class names.

The peers run through this same file (``--peer NAME APK``), which needs only the standard library,
so androguard can live in another interpreter (``--androguard-python``).

Usage: bench/compare.py [APK ...] [--methods N] [--no-synth] [--tools ...] [--repeat N] [--update-docs]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
FIXTURES = ROOT / "tests" / "fixtures" / "built"
DOCS = ROOT / "docs" / "benchmarks.md"
TRACKERS = Path("/work/shared/data/exodus-trackers.trackercontrol-8c119b04.json")
SECTION = "## Full review against peers"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
TOOLS = ("appvet", "androguard", "exodus")
LABELS = {"appvet": "appvet review", "androguard": "androguard AnalyzeAPK", "exodus": "exodus-style dexdump"}
DEX_NAME = re.compile(r"classes\d*\.dex")
CLASS_LINE = re.compile(r"^\s*Class descriptor\s*: 'L(.*);'$", re.MULTILINE)

# Targets from the issue, checked on each synthetic APK (or, without one, the APK with most methods).
SPEED_TARGET = 5.0
"""appvet must be at least this many times faster than androguard."""
MEMORY_TARGET = 0.25
"""appvet's peak RSS at most this share of androguard's."""
WALL_TARGET_S = 20.0
"""appvet's wall time on the large APK, on one core."""


# --------------------------------------------------------------------------- peers (child side)


def peer_androguard(apk: str) -> dict[str, Any]:
    """AnalyzeAPK plus a walk of everything it built, so lazily computed parts are paid for too."""
    from loguru import logger  # androguard logs every step through loguru at DEBUG

    logger.remove()
    from androguard.misc import AnalyzeAPK

    _a, dexes, dx = AnalyzeAPK(apk)
    classes = methods = xrefs = 0
    for cls in dx.get_classes():
        classes += 1
        for method in cls.get_methods():
            methods += 1
            xrefs += len(method.get_xref_to())
    return {"dex_files": len(dexes), "classes": classes, "methods": methods, "xrefs": xrefs,
            "strings": sum(1 for _ in dx.get_strings())}


def peer_appvet_stages(apk: str) -> dict[str, Any]:
    """appvet's own per-stage clock (``Review.timings``) plus the JSON rendering, to show where time goes."""
    started = time.perf_counter()
    from appvet.model import to_json
    from appvet.review import review

    imported = time.perf_counter()
    result = review(apk)
    reviewed = time.perf_counter()
    to_json(result)
    return {"import": imported - started, **result.timings, "to_json": time.perf_counter() - reviewed}


def load_signatures(path: Path) -> list[tuple[str, re.Pattern[str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(t["name"], re.compile(t["code_signature"]))
            for t in data["trackers"].values() if t.get("code_signature")]


def peer_exodus(apk: str, trackers: str) -> dict[str, Any]:
    """Class listing with dexdump and tracker matching, as the Exodus scanner does it."""
    signatures = load_signatures(Path(trackers))
    classes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-exodus-") as tmp, zipfile.ZipFile(apk) as archive:
        names = [n for n in archive.namelist() if DEX_NAME.fullmatch(n)]
        for name in names:
            target = Path(tmp) / name
            target.write_bytes(archive.read(name))
            listing = subprocess.run(["dexdump", str(target)], capture_output=True, check=True).stdout
            text = listing.decode("utf-8", errors="replace")
            classes.extend(c.replace("/", ".") for c in CLASS_LINE.findall(text))
    found = sorted({name for name, rx in signatures if any(rx.search(c) for c in classes)})
    return {"dex_files": len(names), "classes": len(classes), "signatures": len(signatures),
            "trackers": len(found), "tracker_names": found}


# --------------------------------------------------------------------------- measuring (parent side)


@dataclass(frozen=True)
class Run:
    """One child process: how it ended and what it cost."""

    returncode: int | None
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False


# Linux carries a process's peak RSS across fork and exec: a child spawned straight from this
# process reports at least this process's own high-water mark (measured: a 200 MB parent made
# /bin/true "use" 215 MB). So each run goes through this tiny launcher, started with -S -I so it
# holds a few MB, which spawns the tool, waits for that one child and writes its rusage.
LAUNCHER = """
import os, sys, time
result, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(result, "w") as fh:
    fh.write(repr((status, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)))
"""


def measure(cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` alone and read its own rusage with wait4 (RUSAGE_CHILDREN would mix children).

    CPU pinning is inherited from this process (see ``main``).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        result = Path(tmp) / "rusage"
        started = time.perf_counter()
        launcher = [sys.executable, "-S", "-I", "-c", LAUNCHER, str(result), *cmd]
        proc = subprocess.Popen(launcher, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                process_group=0)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        outer_wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
        if proc.returncode != 0 or not result.exists():
            # Killed on timeout, or the launcher itself failed: no rusage of the tool to report.
            return Run(None, outer_wall, 0.0, 0.0, stdout, stderr or f"launcher exited {proc.returncode}",
                       timed_out=timed_out.is_set())
        status, wall, cpu, maxrss_kib = ast.literal_eval(result.read_text())
        return Run(
            returncode=os.waitstatus_to_exitcode(status),
            wall_s=wall,
            cpu_s=cpu,
            peak_rss_mb=maxrss_kib / 1024,  # Linux reports KiB
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out.is_set(),
        )


def rss_floor() -> float:
    """Peak RSS the method reports for /bin/true: what every figure includes before the tool's own."""
    return measure(["true"], 30.0).peak_rss_mb


@dataclass
class Result:
    apk: str
    apk_bytes: int
    method_refs: int
    tool: str
    ok: bool
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    runs: int = 0


def method_refs(apk: Path) -> int:
    """Sum of method_ids_size over the APK's dex headers (the count ``dexdump -f`` prints)."""
    total = 0
    try:
        with zipfile.ZipFile(apk) as archive:
            for name in archive.namelist():
                if DEX_NAME.fullmatch(name):
                    with archive.open(name) as fh:
                        header = fh.read(0x70)
                    if len(header) == 0x70 and header[:4] == b"dex\n":
                        total += int.from_bytes(header[0x58:0x5C], "little")
    except (OSError, zipfile.BadZipFile):
        return 0
    return total


def _short_error(run: Run) -> str:
    if run.timed_out:
        return f"timed out after {run.wall_s:.0f} s"
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    tail = lines[-1] if lines else "no output"
    return f"exit {run.returncode}: {tail[:300]}"


def _has_module(python: str, module: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
    return probe.returncode == 0


@dataclass(frozen=True)
class Config:
    appvet_python: str
    androguard_python: str
    trackers: Path
    timeout: float
    repeat: int


def tool_command(tool: str, apk: Path, cfg: Config, report: Path) -> list[str]:
    me = str(Path(__file__).resolve())
    if tool == "appvet":
        return [cfg.appvet_python, "-m", "appvet.cli", "review", str(apk), "--format", "json",
                "-o", str(report), "-q"]
    if tool == "androguard":
        return [cfg.androguard_python, me, "--peer", "androguard", str(apk)]
    return [sys.executable, me, "--peer", "exodus", str(apk), "--trackers", str(cfg.trackers)]


def _appvet_detail(report: Path) -> dict[str, Any]:
    """Counts from the written report, so a run that silently found nothing is visible."""
    data = json.loads(report.read_text(encoding="utf-8"))
    return {k: len(data[k]) for k in ("sdks", "capabilities", "endpoints", "findings", "skips")
            if isinstance(data.get(k), list)}


def run_tool(tool: str, apk: Path, cfg: Config) -> Result:
    """Best (lowest wall time) of ``cfg.repeat`` runs; any failed run makes the result a failure."""
    result = Result(apk=apk.name, apk_bytes=apk.stat().st_size, method_refs=method_refs(apk), tool=tool, ok=False)
    best: Run | None = None
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        report = Path(tmp) / "review.json"
        for _ in range(cfg.repeat):
            report.unlink(missing_ok=True)
            run = measure(tool_command(tool, apk, cfg, report), cfg.timeout)
            result.runs += 1
            # appvet exits 1 when a policy fails: the review itself is complete.
            done = run.returncode == 0 or (tool == "appvet" and run.returncode == 1 and report.exists())
            if not done or run.timed_out:
                result.error = _short_error(run)
                result.wall_s = run.wall_s
                result.peak_rss_mb = run.peak_rss_mb or None
                return result
            if best is None or run.wall_s < best.wall_s:
                best = run
        assert best is not None
        try:
            result.detail = (_appvet_detail(report) if tool == "appvet"
                             else json.loads(best.stdout.strip().splitlines()[-1]))
        except (OSError, ValueError, IndexError) as exc:
            result.error = f"ran, but its output could not be read: {exc}"
            return result
    result.ok = True
    result.wall_s, result.cpu_s, result.peak_rss_mb = best.wall_s, best.cpu_s, best.peak_rss_mb
    return result


def unavailable(tool: str, apk: Path, reason: str) -> Result:
    return Result(apk=apk.name, apk_bytes=apk.stat().st_size, method_refs=method_refs(apk), tool=tool, ok=False,
                  error=reason)


def check_tools(tools: Sequence[str], cfg: Config) -> dict[str, str]:
    """Reasons a tool cannot run at all, so each APK records one clear failure for it."""
    missing: dict[str, str] = {}
    if "appvet" in tools and not _has_module(cfg.appvet_python, "appvet"):
        missing["appvet"] = f"appvet is not importable by {cfg.appvet_python}"
    if "androguard" in tools and not _has_module(cfg.androguard_python, "androguard"):
        missing["androguard"] = (f"androguard is not importable by {cfg.androguard_python} "
                                 "(pip install -e '.[bench]', or pass --androguard-python)")
    if "exodus" in tools:
        if shutil.which("dexdump") is None:
            missing["exodus"] = "dexdump not found (Debian: apt-get install dexdump)"
        elif not cfg.trackers.is_file():
            missing["exodus"] = f"tracker list {cfg.trackers} not found (--trackers)"
    return missing


# --------------------------------------------------------------------------- reporting


def _versions(cfg: Config, tools: Sequence[str]) -> dict[str, str]:
    def ask(python: str, code: str) -> str:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
        return proc.stdout.strip() or "unavailable"

    versions: dict[str, str] = {}
    if "appvet" in tools:
        versions["appvet"] = ask(cfg.appvet_python, "import appvet; print(appvet.__version__)")
    if "androguard" in tools:
        versions["androguard"] = ask(cfg.androguard_python,
                                     "import importlib.metadata as m; print(m.version('androguard'))")
    if "exodus" in tools:
        proc = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "dexdump"], capture_output=True,
                              text=True, check=False)
        versions["dexdump"] = proc.stdout.strip() or "unknown"
        versions["exodus signatures"] = f"{cfg.trackers.name} ({len(load_signatures(cfg.trackers))} code signatures)" \
            if cfg.trackers.is_file() else "missing"
    return versions


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    return {"nproc": str(os.cpu_count()), "cpu": model, "memory": mem,
            "python": platform.python_version(), "os": platform.platform()}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def ratios(results: Sequence[Result]) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(apk, tool) -> (wall / appvet's wall, peak RSS / appvet's peak RSS)."""
    base = {r.apk: r for r in results if r.tool == "appvet" and r.ok}
    out: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for r in results:
        ref = base.get(r.apk)
        if ref is None or not r.ok or not ref.wall_s or not ref.peak_rss_mb:
            out[(r.apk, r.tool)] = (None, None)
        else:
            out[(r.apk, r.tool)] = (r.wall_s / ref.wall_s, (r.peak_rss_mb or 0) / ref.peak_rss_mb)
    return out


def _found(r: Result) -> str:
    d = r.detail
    if not r.ok:
        return f"failed: {r.error}"
    if r.tool == "appvet":
        return ", ".join(f"{d[k]} {k}" for k in ("sdks", "capabilities", "endpoints", "findings") if k in d)
    if r.tool == "androguard":
        return f"{d['classes']} classes, {d['methods']} methods, {d['xrefs']} xrefs"
    return f"{d['classes']} classes, {d['trackers']} trackers"


def table(results: Sequence[Result]) -> str:
    ratio = ratios(results)
    rows = ["| APK | size MB | method refs | tool | wall s | CPU s | peak RSS MB | wall × appvet | RSS × appvet "
            "| found |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        wall_x, rss_x = ratio[(r.apk, r.tool)]
        found = _found(r).replace("|", "/")
        rows.append(f"| {r.apk} | {r.apk_bytes / 1e6:.2f} | {r.method_refs} | {LABELS.get(r.tool, r.tool)} "
                    f"| {_fmt(r.wall_s)} "
                    f"| {_fmt(r.cpu_s)} | {_fmt(r.peak_rss_mb, 0)} | {_fmt(wall_x, 1)} | {_fmt(rss_x, 2)} | {found} |")
    return "\n".join(rows)


def targets(results: Sequence[Result], pinned: bool, judged: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The issue's targets, judged on the ``judged`` APKs (default: the one with the most method refs)."""
    if not results:
        return []
    names = list(judged) or [max(results, key=lambda r: r.method_refs).apk]
    return [row for name in names for row in _targets_for(results, name, pinned)]


def _targets_for(results: Sequence[Result], big: str, pinned: bool) -> list[dict[str, Any]]:
    by_tool = {r.tool: r for r in results if r.apk == big}
    appvet, androguard = by_tool.get("appvet"), by_tool.get("androguard")
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: str, met: bool | None) -> None:
        out.append({"apk": big, "target": name, "value": value, "goal": goal,
                    "status": "not measured" if met is None else ("met" if met else "missed")})

    both = bool(appvet and appvet.ok and androguard and androguard.ok)
    speed = androguard.wall_s / appvet.wall_s if both else None  # type: ignore[union-attr,operator]
    memory = appvet.peak_rss_mb / androguard.peak_rss_mb if both else None  # type: ignore[union-attr,operator]
    add("speed: androguard wall / appvet wall", speed, f">= {SPEED_TARGET:g}",
        None if speed is None else speed >= SPEED_TARGET)
    add("memory: appvet peak RSS / androguard peak RSS", memory, f"<= {MEMORY_TARGET:g}",
        None if memory is None else memory <= MEMORY_TARGET)
    wall = appvet.wall_s if appvet and appvet.ok else None
    add("appvet wall s" + (" (one core)" if pinned else " (not pinned)"), wall, f"< {WALL_TARGET_S:g}",
        None if wall is None else wall < WALL_TARGET_S)
    return out


def targets_text(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for t in rows:
        value = "—" if t["value"] is None else f"{t['value']:.2f}"
        lines.append(f"- {t['target']} on {t['apk']}: {value} (goal {t['goal']}): **{t['status']}**")
    return "\n".join(lines)


def stage_times(apks: Sequence[Path], cfg: Config) -> dict[str, dict[str, float]]:
    """One untimed-by-us library run per APK; appvet's own stage clock says where its time goes."""
    out: dict[str, dict[str, float]] = {}
    me = str(Path(__file__).resolve())
    for apk in apks:
        run = measure([cfg.appvet_python, me, "--peer", "appvet-stages", str(apk)], cfg.timeout)
        if run.returncode == 0:
            with contextlib.suppress(ValueError, IndexError):
                out[apk.name] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def stages_text(stages: dict[str, dict[str, float]]) -> str:
    if not stages:
        return ""
    names = list(dict.fromkeys(k for row in stages.values() for k in row))
    lines = ["", "appvet time per stage, seconds (library call, one run; `import` is the module import):", "",
             "| APK | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for apk, row in stages.items():
        lines.append(f"| {apk} | " + " | ".join(_fmt(row.get(n)) for n in names) + " |")
    return "\n".join(lines)


def docs_block(report: dict[str, Any]) -> str:
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    synth_line = "".join(
        f"\nSynthetic APK `{synth['apk']}`: {synth['defined_methods']} defined methods, {synth['classes']} classes, "
        f"{synth['dex_files']} dex files, {synth['sensitive_call_sites']} sensitive-API call sites; built by "
        f"`bench/synth.py` in {synth['build_s']} s.\n"
        for synth in report.get("synth") or ())
    return "\n".join([
        START,
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, {m['os']}; "
        f"each tool pinned to CPU {report['cpu']}, best of {report['repeat']} run(s)  " if report["cpu"] is not None
        else f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, {m['os']}; "
             f"not pinned, best of {report['repeat']} run(s)  ",
        f"Versions: {versions}  ",
        f"Peak RSS is the child's own `ru_maxrss` read by a small launcher; it includes a floor of "
        f"{report['rss_floor_mb']} MB (what the same method reports for `/bin/true`).",
        synth_line,
        table([Result(**r) for r in report["results"]]),
        "",
        "Targets:",
        "",
        targets_text(report["targets"]),
        stages_text(report.get("stages") or {}),
        END,
    ])


SECTION_INTRO = """
`bench/compare.py` runs each tool in its own process, one at a time, pinned to one CPU, and reads
the child's wall time, CPU time and peak RSS (`os.wait4` rusage, taken by a small launcher so that
the benchmark's own memory does not leak into the figures). Start-up and imports are included.
What each peer does:

- **appvet**: `appvet review APK --format json -o FILE -q`, the full pipeline (ingest, manifest,
  dex tables and invoke sites, signing, SDK attribution, capabilities, endpoints, findings) and
  the JSON report.
- **androguard** 4: `AnalyzeAPK(path)` (parses every dex, builds the cross-reference graph), then
  a walk over every class, method and xref so that no lazy work is skipped.
- **exodus-style**: the Exodus Privacy scanner's code-signature check: extract `classes*.dex`,
  list class descriptors with Debian's `dexdump`, match the tracker `code_signature` regexes.
  It answers a much smaller question (which tracker class prefixes exist) and is shown as a floor.

The large APK is synthetic (`bench/synth.py`, seeded): SDK package layouts (Umeng, Pangle,
Tencent, Facebook, Firebase, Huawei HMS, OkHttp, AndroidX), obfuscated packages and a first-party
tree, with virtual/static/direct/interface calls (and /range), switches, array payloads, string
and URL constants and calls to sensitive framework APIs. Rerun with `make bench`; see
`bench/README.md`.
"""


def replace_block(path: Path, block: str, begin: str, end: str, heading: str = "") -> None:
    """Put ``block`` in place of the text from ``begin`` through ``end``; append ``heading`` and it when absent.

    Every benchmark keeps its table in docs/benchmarks.md between its own markers, so a rerun
    rewrites only its part.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + heading + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def update_docs(path: Path, block: str) -> None:
    """Replace the marked block; add the section (or the file) when it is not there yet."""
    replace_block(path, block, START, END, f"{SECTION}\n{SECTION_INTRO}\n")


# --------------------------------------------------------------------------- main


def default_apks(args: argparse.Namespace) -> tuple[list[Path], list[dict[str, Any]]]:
    """The committed fixtures plus one synthetic APK per ``--methods`` size (built or taken from the cache)."""
    apks = sorted(FIXTURES.glob("*.apk"))
    synth_info: list[dict[str, Any]] = []
    if not args.no_synth:
        sys.path.insert(0, str(HERE))
        import synth  # bench/synth.py; stdlib only

        for methods in args.methods:
            built = synth.build(methods=methods, seed=args.seed)
            apks.append(built.apk)
            synth_info.append({"apk": built.apk.name, **{k: built.stats[k] for k in (
                "defined_methods", "classes", "dex_files", "sensitive_call_sites", "build_s")}})
    return apks, synth_info


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size")
    return sizes


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apks", nargs="*", type=Path,
                        help="APKs to measure (default: tests/fixtures/built/*.apk plus the synthetic APK)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--no-synth", action="store_true", help="leave out the synthetic APK")
    parser.add_argument("--methods", type=_sizes, default=[150_000],
                        help="methods in the synthetic APK; a comma-separated list builds one APK per size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic APK")
    parser.add_argument("--appvet-python", default=None,
                        help="interpreter with appvet installed (default: this one, else .venv/bin/python)")
    parser.add_argument("--androguard-python", default=sys.executable,
                        help="interpreter with androguard installed (default: this one)")
    parser.add_argument("--trackers", type=Path, default=TRACKERS, help="Exodus tracker list (JSON)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and APK; the fastest is kept")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin each run to")
    parser.add_argument("--no-pin", action="store_true", help="do not pin runs to one CPU")
    parser.add_argument("--json", type=Path, default=OUT / "results.json", help="where to write the results")
    parser.add_argument("--update-docs", action="store_true",
                        help=f"rewrite the table between the markers in {DOCS.relative_to(ROOT)}")
    parser.add_argument("--stages", action="store_true",
                        help="also record appvet's time per pipeline stage on the synthetic APKs")
    parser.add_argument("--peer", choices=("androguard", "exodus", "appvet-stages"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _shown(path: str) -> str:
    """An interpreter path as a reader would type it: relative when it sits in the project."""
    with contextlib.suppress(ValueError):
        return str(Path(path).relative_to(ROOT))
    return path


def peer_main(args: argparse.Namespace) -> int:
    apk = str(args.apks[0])
    if args.peer == "androguard":
        detail = peer_androguard(apk)
    elif args.peer == "appvet-stages":
        detail = peer_appvet_stages(apk)
    else:
        detail = peer_exodus(apk, str(args.trackers))
    print(json.dumps(detail))  # key order kept: the stage timings are in pipeline order
    return 0


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.peer:
        return peer_main(args)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        print(f"compare: unknown tools: {', '.join(unknown)}", file=sys.stderr)
        return 2
    appvet_python = args.appvet_python
    if appvet_python is None:
        venv = ROOT / ".venv" / "bin" / "python"
        appvet_python = sys.executable if importlib.util.find_spec("appvet") or not venv.exists() else str(venv)
    cpu = None if args.no_pin else args.cpu
    if cpu is not None:
        # Children inherit the affinity: every run, and dexdump under the Exodus-style peer, gets one core.
        os.sched_setaffinity(0, {cpu})
    cfg = Config(appvet_python, args.androguard_python, args.trackers, args.timeout, max(1, args.repeat))
    synth_info: list[dict[str, Any]] = []
    if args.apks:
        apks = list(args.apks)
        absent = [str(a) for a in apks if not a.is_file()]
        if absent:
            print(f"compare: no such file: {', '.join(absent)}", file=sys.stderr)
            return 2
    else:
        apks, synth_info = default_apks(args)
    missing = check_tools(tools, cfg)
    results: list[Result] = []
    for apk in apks:
        for tool in tools:
            result = unavailable(tool, apk, missing[tool]) if tool in missing else run_tool(tool, apk, cfg)
            status = f"{result.wall_s:.2f} s, {result.peak_rss_mb:.0f} MB" if result.ok else f"FAILED ({result.error})"
            print(f"compare: {apk.name} {tool}: {status}", file=sys.stderr)
            results.append(result)
    command = shlex.join([_shown(sys.executable), "bench/compare.py", *argv])
    report = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "cpu": cpu,
        "repeat": cfg.repeat,
        "versions": _versions(cfg, tools),
        "rss_floor_mb": round(rss_floor(), 1),
        "synth": synth_info,
        "results": [asdict(r) for r in results],
        "targets": targets(results, pinned=cpu is not None, judged=[s["apk"] for s in synth_info]),
        "stages": stage_times([a for a in apks if a.name in {s["apk"] for s in synth_info}] or apks, cfg)
        if args.stages and "appvet" not in missing else {},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(table(results))
    print()
    print(targets_text(report["targets"]))
    print(stages_text(report["stages"]))
    if args.update_docs:
        update_docs(DOCS, docs_block(report))
        print(f"compare: updated {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
