"""What a Dask worker runs for one app: the review in a child process under a time and memory cap.

The function is a plain module-level function of plain data so any worker (local or remote, same
appvet installed) can run it; the input path must be readable by the worker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

EXIT_OOM = 86
"""Exit status of a review process that ran out of memory before it could report (``child.py``)."""


@dataclass(frozen=True)
class Limits:
    """Budget of one app's review."""

    seconds: float = 600.0
    """Wall-clock time after which the review is killed and recorded as ``timeout``."""
    memory: int = 4 * 1024**3
    """Address-space cap (bytes) of the review process; exceeding it is recorded as ``oom``. 0: no cap."""


def review_task(path: str, sha256: str, request: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Review ``path`` in a child process; the result dict always has ``status`` and ``sha256``."""
    t0 = time.perf_counter()
    body = json.dumps({**request, "path": path})
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "appvet.fleet.child"], input=body.encode("utf-8"),
            capture_output=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        return _failure(path, sha256, "timeout", f"review killed after {seconds:g} s", t0)
    if proc.returncode == 0 and proc.stdout:
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            return _failure(path, sha256, "error", "review process wrote an unreadable result", t0)
        result.update(path=path, sha256=sha256)
        return result
    if proc.returncode in (EXIT_OOM, -signal.SIGKILL):
        # SIGKILL that we did not send is the kernel's OOM killer (the cap only bounds address space).
        return _failure(path, sha256, "oom", f"review process killed (exit {proc.returncode})", t0)
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return _failure(path, sha256, "error", tail[-1] if tail else f"review process exit {proc.returncode}", t0)


def _failure(path: str, sha256: str, kind: str, message: str, t0: float) -> dict[str, Any]:
    return {"status": kind, "message": message, "path": path, "sha256": sha256,
            "seconds": time.perf_counter() - t0}
