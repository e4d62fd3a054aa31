"""The process one review runs in: ``python -m appvet.fleet.child`` reads a request on stdin and
writes one JSON result on stdout.

A review of hostile input may run away with time or memory; running it in its own process lets
the fleet put an address-space cap on it (``RLIMIT_AS``) and kill it at its time budget without
losing the worker that asked for it.

Request: ``{"path", "kb": [overlay dirs], "policy": name-or-path|null, "on": "YYYY-MM-DD",
"memory": bytes|0, "stage_seconds": float}``.
Result: ``{"status": "ok", "review_json": str, "app": {...}, "rows": {table: [...]}, "review_date",
"seconds": s}`` or
``{"status": "input"|"oom"|"error", "message": "...", "seconds": s}``.
"""

from __future__ import annotations

import errno
import json
import resource
import sys
import time
from datetime import date
from typing import Any

from appvet.fleet.task import EXIT_OOM


def _cap_memory(limit: int) -> None:
    # Only the soft limit: after a MemoryError the child raises it again to report what happened.
    if limit > 0:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _uncap_memory() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _out_of_memory(exc: BaseException) -> bool:
    """Whether a reader's error was caused by the memory cap (readers turn a failed read into InputError)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, MemoryError) or (isinstance(cur, OSError) and cur.errno == errno.ENOMEM):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Review one app as asked; every outcome becomes a result, never an exception."""
    from pathlib import Path

    from appvet.errors import AppvetError, InputError
    from appvet.fleet.engine import dumps
    from appvet.fleet.store import app_row, review_rows
    from appvet.ingest.interface import Options
    from appvet.kb import load_kb
    from appvet.policy import apply, evaluate, load_policy
    from appvet.review import review

    t0 = time.perf_counter()
    try:
        on = date.fromisoformat(request["on"])
        kb = load_kb(tuple(Path(p) for p in request.get("kb", ())))
        policy = load_policy(request["policy"]) if request.get("policy") else None
        options = Options(stage_seconds=float(request.get("stage_seconds", Options().stage_seconds)))
        _cap_memory(int(request.get("memory", 0)))
        try:
            result = review(request["path"], kb=kb, options=options, on=on)
            if policy is not None:
                result = apply(result, evaluate(result, policy, kb, on))
        finally:
            _uncap_memory()
        # Flattened here, in parallel, so that the one process writing the store only inserts rows.
        return {"status": "ok", "review_json": dumps(result), "app": app_row(result), "rows": review_rows(result),
                "review_date": result.review_date, "seconds": time.perf_counter() - t0}
    except MemoryError:
        _uncap_memory()
        return {"status": "oom", "message": "review exceeded its memory cap", "seconds": time.perf_counter() - t0}
    except InputError as exc:
        if _out_of_memory(exc):
            _uncap_memory()
            return {"status": "oom", "message": f"review exceeded its memory cap ({exc.diagnostics()})",
                    "seconds": time.perf_counter() - t0}
        return {"status": "input", "message": exc.diagnostics(), "seconds": time.perf_counter() - t0}
    except AppvetError as exc:
        return {"status": "error", "message": exc.diagnostics(), "seconds": time.perf_counter() - t0}
    except RecursionError:
        return {"status": "error", "message": "recursion too deep", "seconds": time.perf_counter() - t0}


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        result = run(request)
    except MemoryError:
        _uncap_memory()
        result = {"status": "oom", "message": "review exceeded its memory cap", "seconds": None}
    try:
        sys.stdout.write(json.dumps(result, ensure_ascii=False))
        sys.stdout.flush()
    except MemoryError:
        return EXIT_OOM
    return 0


if __name__ == "__main__":
    sys.exit(main())
