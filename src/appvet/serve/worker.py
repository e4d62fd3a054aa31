"""The process one service job runs in: ``python -m appvet.serve.worker``.

Request on stdin (JSON), one of two modes:

- review: ``{"app": path, "captures": [path], "device": path|null, "policy": name|null, "on": "YYYY-MM-DD",
  "memory": bytes, "kb": [overlay dirs], "out": dir, "names": {path: shown name}}``
- render: ``{"render": path of a stored review's JSON, "memory": bytes, "out": dir}``

Each stage is reported on stderr as ``progress:<stage>``. Everything large is written as files in
``out`` (``review.json``, ``report.html``, ``review.sarif``, ``reasons.json``), rendered here under
the memory cap so that the service never builds a report itself. stdout carries one small JSON
object: ``{"status": "ok", "app", "rows", "review_date", "kb_version", "seconds"}`` or
``{"status": "input"|"oom"|"error", "message"}``; messages name files by their shown name, never by
their path in the blob store.

A hostile upload can only exhaust this process: the service kills it at its time budget, caps its
memory and the size of what it writes, and it reads only paths the service chose.
"""

from __future__ import annotations

import dataclasses
import json
import os
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


def _write(out: Path, name: str, text: str) -> None:
    fd = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def reasons(review: Any) -> list[dict[str, Any]]:
    """The findings that decided the verdict, each with its SDK, owner, countries and fingerprint."""
    if review.verdict is None:
        return []
    by_fp = {f.fingerprint: f for f in review.findings}
    sdks = {s.id: s for s in review.sdks} | {s.name: s for s in review.sdks}
    out = []
    for fp in review.verdict.reasons:
        f = by_fp.get(fp)
        if f is None:
            continue
        hit = sdks.get(f.sdk or "")
        owner = hit.owner_chain[-1] if hit and hit.owner_chain else None
        out.append({"rule": f.rule, "severity": f.severity, "title": f.title, "message": f.message,
                    "sdk": hit.name if hit else f.sdk, "owner": owner.name if owner else None,
                    "countries": list(hit.jurisdictions) if hit else [], "fingerprint": f.fingerprint})
    return out


def render(review: Any, review_json: str, out: Path) -> None:
    """Every report the service hands out, from the bounded review, into ``out``."""
    from appvet.report.html import render_html
    from appvet.report.sarif import to_sarif

    _say("report")
    _write(out, "review.json", review_json)
    _write(out, "report.html", render_html(review))
    _write(out, "review.sarif", json.dumps(to_sarif(review), ensure_ascii=False))
    _write(out, "reasons.json", json.dumps(reasons(review), ensure_ascii=False))


def _shown(message: str, names: dict[str, str]) -> str:
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        message = message.replace(path, name)
    return message


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Review (or render) as asked; every outcome is a result, never an exception."""
    from appvet.errors import AppvetError, InputError
    from appvet.fleet.engine import dumps
    from appvet.fleet.store import app_row, review_rows

    t0 = time.perf_counter()
    names: dict[str, str] = request.get("names") or {}
    out = Path(request["out"])
    try:
        if request.get("render"):
            from appvet.model import from_dict

            _cap_memory(int(request.get("memory", 0)))
            text = Path(request["render"]).read_text(encoding="utf-8")
            render(from_dict(json.loads(text)), text, out)
            return {"status": "ok", "seconds": time.perf_counter() - t0}

        from appvet.kb import load_kb
        from appvet.policy import apply, evaluate, load_policy
        from appvet.review import review

        on = date.fromisoformat(request["on"])
        _say("knowledge base")
        kb = load_kb(tuple(Path(p) for p in request.get("kb", ())))
        policy = load_policy(request["policy"]) if request.get("policy") else None
        _cap_memory(int(request.get("memory", 0)))
        result = review(request["app"], kb=kb, on=on, progress=_say, traffic=tuple(request.get("captures", ())),
                        device=request.get("device"))
        if policy is not None:
            _say("policy")
            result = apply(result, evaluate(result, policy, kb, on))
        # The review names the file as it was uploaded, not by its place in the blob store.
        shown = dataclasses.replace(result.app, file_name=names.get(request["app"], result.app.file_name))
        result = dataclasses.replace(result, app=shown)
        text = dumps(result)
        render(result, text, out)
        return {"status": "ok", "app": app_row(result), "rows": review_rows(result),
                "review_date": result.review_date, "kb_version": kb.version, "seconds": time.perf_counter() - t0}
    except MemoryError:
        _uncap_memory()
        return {"status": "oom", "message": "review exceeded its memory cap"}
    except InputError as exc:
        return {"status": "input", "message": _shown(exc.diagnostics(), names)}
    except AppvetError as exc:
        return {"status": "error", "message": _shown(exc.diagnostics(), names)}
    except RecursionError:
        return {"status": "error", "message": "recursion too deep"}
    except OSError as exc:
        return {"status": "error", "message": _shown(f"cannot read or write a file: {exc.strerror}", names)}


def main() -> int:
    request = json.loads(sys.stdin.read())
    result = run(request)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
