"""The process one service job runs in: ``python -m appvet.serve.worker``.

Request on stdin (JSON): ``{"app": path, "captures": [path], "device": path|null, "policy": name|null,
"on": "YYYY-MM-DD", "memory": bytes, "kb": [overlay dirs]}``. Each stage is reported on stderr as
``progress:<stage>`` so the service can show it; the result is one JSON object on stdout, as in
``appvet.fleet.child``: ``{"status": "ok", "review_json", "app", "rows", "review_date", "kb_version",
"seconds"}`` or ``{"status": "input"|"oom"|"error", "message"}``.

A hostile upload can only exhaust this process: the service kills it at its time budget and the
address-space cap stops it from taking the machine's memory. It reads only paths the service
chose (blob store names), and makes no network request.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any


def _cap_memory(limit: int) -> None:
    if limit > 0:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _uncap_memory() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _say(stage: str) -> None:
    sys.stderr.write(f"progress:{stage[:48]}\n")
    sys.stderr.flush()


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Review as asked; every outcome is a result, never an exception."""
    from appvet.errors import AppvetError, InputError
    from appvet.fleet.engine import dumps
    from appvet.fleet.store import app_row, review_rows
    from appvet.kb import load_kb
    from appvet.policy import apply, evaluate, load_policy
    from appvet.review import review

    t0 = time.perf_counter()
    try:
        on = date.fromisoformat(request["on"])
        _say("knowledge base")
        kb = load_kb(tuple(Path(p) for p in request.get("kb", ())))
        policy = load_policy(request["policy"]) if request.get("policy") else None
        _cap_memory(int(request.get("memory", 0)))
        try:
            result = review(request["app"], kb=kb, on=on, progress=_say, traffic=tuple(request.get("captures", ())),
                            device=request.get("device"))
            if policy is not None:
                _say("policy")
                result = apply(result, evaluate(result, policy, kb, on))
        finally:
            _uncap_memory()
        return {"status": "ok", "review_json": dumps(result), "app": app_row(result), "rows": review_rows(result),
                "review_date": result.review_date, "kb_version": kb.version, "seconds": time.perf_counter() - t0}
    except MemoryError:
        _uncap_memory()
        return {"status": "oom", "message": "review exceeded its memory cap"}
    except InputError as exc:
        return {"status": "input", "message": exc.diagnostics()}
    except AppvetError as exc:
        return {"status": "error", "message": exc.diagnostics()}
    except RecursionError:
        return {"status": "error", "message": "recursion too deep"}


def main() -> int:
    request = json.loads(sys.stdin.read())
    result = run(request)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
