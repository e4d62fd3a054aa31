"""Run every fuzz harness for a bounded time; exit 1 if any input crashed a reader.

    python fuzz/run_all.py --seconds 60                 # pure-Python mutation engine
    python fuzz/run_all.py --seconds 600 --engine atheris   # coverage-guided, needs atheris
    python fuzz/run_all.py --seconds 600 --engine auto      # atheris if installed, else Python

The Python engine mutates the seeds of ``fuzz/corpus/<harness>/`` and the kept crash inputs of
``fuzz/regressions/<harness>/`` (bit flips, interesting integers at 1/2/4/8-byte widths, block
deletes, duplicates and splices, truncation) and feeds them to the harness functions of
``fuzz/harnesses.py``. It is not coverage-guided, but needs nothing beyond the standard library,
so CI runs it on every test run. A crash (any exception other than appvet's ``InputError``, or
one input running past ``--timeout`` seconds) is written to ``fuzz/crashes/<harness>/<sha1>``;
once fixed, move the file to ``fuzz/regressions/<harness>/`` where a test replays it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import math
import random
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from fuzz.harnesses import HARNESSES, Harness  # noqa: E402

CORPUS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"
CRASHES = HERE / "crashes"
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                0xFFFFFFFFFFFFFFFF, 0x10000, 65536 * 4)


class InputTimeout(Exception):
    """One input ran longer than the per-input bound: a hang or a super-linear path."""


@dataclass
class Result:
    harness: str
    runs: int = 0
    seconds: float = 0.0
    crashes: list[tuple[str, Path]] = field(default_factory=list)
    """(one-line signature, saved input) per distinct crash."""


def inputs_of(name: str) -> list[bytes]:
    """Seeds and kept regressions of one harness, in a stable order."""
    found = []
    for folder in (CORPUS / name, REGRESSIONS / name):
        if folder.is_dir():
            found += [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    return found or [b""]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """Apply 1-4 random edits; sizes stay near the seed's so the reader still recognises the format."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(buf)
        if op == 0 and n:
            pos = rng.randrange(n)
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2 and n:
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            pos = rng.randrange(max(1, n - width + 1))
            buf[pos : pos + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif op == 3 and n:
            lo = rng.randrange(n)
            del buf[lo : lo + rng.randint(1, 64)]
        elif op == 4 and n:
            lo = rng.randrange(n)
            chunk = buf[lo : lo + rng.randint(1, 64)]
            at = rng.randrange(n + 1)
            buf[at:at] = chunk * rng.randint(1, 4)
        elif op == 5 and n:
            del buf[rng.randrange(n) :]
        elif op == 6:
            other = rng.choice(pool)
            if other:
                lo = rng.randrange(len(other))
                at = rng.randrange(n + 1)
                buf[at : at + rng.randint(0, 32)] = other[lo : lo + rng.randint(1, 256)]
        else:
            at = rng.randrange(n + 1)
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def _signature(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb) if "appvet" in f.filename), "?")
    return f"{type(exc).__name__} at {where}: {str(exc)[:120]}"


def _on_alarm(_signum: int, _frame: object) -> None:
    raise InputTimeout("input ran past the per-input time bound")


def run_one(harness: Harness, data: bytes, timeout: float) -> BaseException | None:
    """Run one input; return the crash, or ``None`` when the harness returned."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        harness(data)
    except (Exception, RecursionError, MemoryError) as exc:  # everything a reader must not raise
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return None


def fuzz_python(name: str, seconds: float, seed: int, timeout: float, out: Path) -> Result:
    harness = HARNESSES[name]
    pool = inputs_of(name)
    rng = random.Random(f"{seed}:{name}")
    result = Result(name)
    seen: set[str] = set()

    def candidates() -> Iterator[bytes]:
        yield from pool  # seeds and regressions as they are, first
        while True:
            yield mutate(rng.choice(pool), rng, pool)

    start = time.monotonic()
    for data in candidates():
        if result.runs >= len(pool) and time.monotonic() - start >= seconds:
            break
        result.runs += 1
        exc = run_one(harness, data, timeout)
        if exc is None:
            continue
        sig = _signature(exc)
        if sig in seen:
            continue
        seen.add(sig)
        path = out / name / hashlib.sha1(data).hexdigest()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        result.crashes.append((sig, path))
    result.seconds = time.monotonic() - start
    return result


def fuzz_atheris(name: str, seconds: float, timeout: float, out: Path) -> Result:
    """Run the coverage-guided target in a child process (libFuzzer owns the process).

    libFuzzer reads ``-max_total_time=0`` as "no limit", so the time is rounded up to whole seconds.
    """
    crash_dir = out / name
    crash_dir.mkdir(parents=True, exist_ok=True)
    work = out / ".corpus" / name
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "atheris_target.py"), name, str(work), str(CORPUS / name),
           f"-max_total_time={max(1, math.ceil(seconds))}",
           f"-timeout={max(1, math.ceil(timeout))}", f"-artifact_prefix={crash_dir}/",
           "-rss_limit_mb=4096", "-print_final_stats=1"]
    if (REGRESSIONS / name).is_dir():
        cmd.append(str(REGRESSIONS / name))
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    result = Result(name, seconds=time.monotonic() - start)
    for line in proc.stderr.splitlines():
        if "stat::number_of_executed_units" in line:
            result.runs = int(line.rsplit(":", 1)[1])
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if "Error" in ln or "Exception" in ln][-1:]
        for artifact in sorted(crash_dir.glob("*-*")):
            result.crashes.append(((tail or ["crash"])[0][:200], artifact))
        if not result.crashes:
            result.crashes.append((f"libFuzzer exit {proc.returncode}", crash_dir))
    return result


def run(names: list[str], seconds: float, *, engine: str = "python", seed: int = 0, timeout: float = 10.0,
        out: Path = CRASHES, say: Callable[[str], None] = print) -> list[Result]:
    results = []
    for name in names:
        if engine == "atheris":
            r = fuzz_atheris(name, seconds, timeout, out)
        else:
            r = fuzz_python(name, seconds, seed, timeout, out)
        say(f"{name:12} {r.runs:8,} inputs in {r.seconds:6.1f} s  {len(r.crashes)} crash(es)")
        for sig, path in r.crashes:
            say(f"    {sig}\n    input: {path}")
        results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per harness (default 10)")
    parser.add_argument("--engine", choices=("python", "atheris", "auto"), default="python",
                        help="auto: atheris when it is installed, else the Python engine")
    parser.add_argument("--only", default="", help="comma-separated harness names (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the Python engine")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-input time bound in seconds")
    parser.add_argument("--out", type=Path, default=CRASHES, help="where crash inputs are written")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(HARNESSES)
    unknown = [n for n in names if n not in HARNESSES]
    if unknown:
        parser.error(f"unknown harness {', '.join(unknown)}; known: {', '.join(HARNESSES)}")
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if importlib.util.find_spec("atheris") else "python"
        print(f"engine: {engine}")
    results = run(names, args.seconds, engine=engine, seed=args.seed, timeout=args.timeout, out=args.out)
    total = sum(r.runs for r in results)
    crashes = sum(len(r.crashes) for r in results)
    print(f"total: {total:,} inputs, {crashes} crash(es)")
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
