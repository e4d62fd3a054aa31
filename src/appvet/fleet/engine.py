"""Run a fleet: find the inputs, skip what the store already holds, review the rest on Dask.

    run_fleet(inputs, FleetOptions(...), progress=None) -> FleetSummary

What is done for each distinct file (by SHA-256), with key (sha256, appvet version, KB version,
policy name@version):

- a review with this key is stored: nothing (``skipped``);
- these bytes were rejected as input by this appvet and KB: nothing (``skipped``), the failure stands;
- a review with the same appvet and KB versions but another policy is stored: the policy is
  evaluated again on the stored review, in this process, without reading the app (``reevaluated``);
- otherwise the app is reviewed on a worker (``reviewed`` or ``failed``). A changed KB always means
  a new review: SDK signatures, ownership and domain owners are applied while the app is read, and
  the stored facts keep only their outcome.

Results are written as they finish, one transaction per app, so a killed fleet loses only the
apps in flight.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from appvet import __version__
from appvet.fleet.inputs import discover, sha256_file
from appvet.fleet.store import (
    Key,
    app_row,
    final_failure,
    find_reusable,
    find_review,
    note_source,
    open_store,
    review_rows,
    save_failure,
    save_review,
)
from appvet.fleet.task import Limits, review_task
from appvet.model import Review, from_dict, to_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetOptions:
    store: str = "sqlite:///fleet.db"
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``); ``None`` starts a local cluster."""
    workers: int | None = None
    """Worker processes of the local cluster; ``None``: one per CPU."""
    policy: str | None = None
    kb: tuple[Path, ...] = ()
    """KB overlay directories (must be readable by every worker)."""
    on: date | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass
class FleetSummary:
    inputs: int = 0
    """Files named by the inputs."""
    distinct: int = 0
    """Distinct files by content."""
    skipped: int = 0
    reevaluated: int = 0
    reviewed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "failed": dict(sorted(self.failed.items()))}


class Progress(Protocol):
    """Told about the work as it happens (the CLI draws a progress bar from it)."""

    def start(self, total: int) -> None: ...

    def advance(self, ok: bool) -> None: ...


class _Quiet:
    def start(self, total: int) -> None:
        pass

    def advance(self, ok: bool) -> None:
        pass


def policy_key(policy: Any | None) -> str:
    return f"{policy.name}@{policy.version}" if policy is not None else ""


def without_policy(review: Review) -> Review:
    """The review as the analysis left it: policy findings (those citing a policy) and verdict removed."""
    kept = tuple(f for f in review.findings if not any(e.kind == "policy" for e in f.evidence))
    versions = {k: v for k, v in review.versions.items() if k != "policy"}
    return dataclasses.replace(review, findings=kept, verdict=None, versions=versions)


def reevaluate(stored_json: str, policy: Any | None, kb: Any, on: date) -> Review:
    """Apply ``policy`` (or none) to a stored review instead of reading the app again."""
    from appvet.policy import apply, evaluate

    base = without_policy(from_dict(json.loads(stored_json)))
    return apply(base, evaluate(base, policy, kb, on)) if policy is not None else base


def dumps(review: Review) -> str:
    """The stored form of a review: compact, sorted keys, without timings (equal reviews, equal text)."""
    data = to_dict(review)
    data.pop("timings", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def run_fleet(inputs: Sequence[str | Path], options: FleetOptions, progress: Progress | None = None) -> FleetSummary:
    """Review every app named by ``inputs`` that the store does not hold yet; see the module docstring."""
    from appvet.kb import load_kb
    from appvet.policy import load_policy

    t0 = time.perf_counter()
    sink = progress or _Quiet()
    paths = discover(inputs)
    kb = load_kb(options.kb)
    policy = load_policy(options.policy) if options.policy else None
    on = options.on or date.today()
    engine = open_store(options.store)
    summary = FleetSummary(inputs=len(paths))
    try:
        by_sha = _hash_all(paths)
        summary.distinct = len(by_sha)
        sink.start(len(by_sha))
        todo = _plan(engine, by_sha, kb, policy, on, summary, sink)
        if todo:
            request = {"kb": [str(p) for p in options.kb], "policy": options.policy, "on": on.isoformat(),
                       "memory": options.limits.memory}
            _review_on_dask(engine, todo, request, options, policy_key(policy), kb.version, summary, sink)
    finally:
        engine.dispose()
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


def _hash_all(paths: Sequence[Path]) -> dict[str, list[Path]]:
    from concurrent.futures import ThreadPoolExecutor

    # hashlib releases the GIL on large buffers, so a few threads keep several disks busy.
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        digests = list(pool.map(sha256_file, paths))
    by_sha: dict[str, list[Path]] = {}
    for path, digest in zip(paths, digests, strict=True):
        by_sha.setdefault(digest, []).append(path)
    return by_sha


def _plan(engine: Engine, by_sha: dict[str, list[Path]], kb: Any, policy: Any | None, on: date,
          summary: FleetSummary, sink: Progress) -> list[tuple[str, Path]]:
    """Settle every app the store can answer for; return (sha256, path) of those that need a worker."""
    todo: list[tuple[str, Path]] = []
    pkey = policy_key(policy)
    for sha, found in by_sha.items():
        key = Key(sha, __version__, kb.version, pkey)
        with engine.begin() as conn:
            for p in found:
                note_source(conn, sha, str(p))
            if find_review(conn, key) is not None or final_failure(conn, key):
                summary.skipped += 1
                sink.advance(True)
                continue
            stored = find_reusable(conn, key)
        if stored is not None:
            result = reevaluate(stored, policy, kb, on)
            save_review(engine, key, str(found[0]), app_row(result), review_rows(result), result.review_date,
                        dumps(result), None, reparsed=False)
            summary.reevaluated += 1
            sink.advance(True)
            continue
        todo.append((sha, found[0]))
    # Largest first: the long reviews start early instead of trailing at the end of the run.
    todo.sort(key=lambda item: -_size(item[1]))
    return todo


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A client of the given scheduler, or of a local cluster of single-threaded worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # Port 0: the scheduler always serves HTTP (health, metrics); a fixed port warns when taken.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def _review_on_dask(engine: Engine, todo: list[tuple[str, Path]], request: dict[str, Any], options: FleetOptions,
                    pkey: str, kb_version: str, summary: FleetSummary, sink: Progress) -> None:
    from distributed import as_completed

    with dask_client(options.scheduler, options.workers) as client:
        futures = [client.submit(review_task, str(path), sha, request, options.limits.seconds, pure=False,
                                 key=f"review-{sha[:16]}-{i}")
                   for i, (sha, path) in enumerate(todo)]
        paths = {f.key: (sha, str(path)) for f, (sha, path) in zip(futures, todo, strict=True)}
        for future in as_completed(futures):
            sha, path = paths[future.key]
            key = Key(sha, __version__, kb_version, pkey)
            try:
                result = future.result()
            except Exception as exc:  # a worker lost repeatedly (KilledWorker) or the task itself crashed
                result = {"status": "error", "message": f"{type(exc).__name__}: {exc}".splitlines()[0],
                          "seconds": None}
            _record(engine, key, path, result, summary)
            sink.advance(result.get("status") == "ok")
            future.release()


def _record(engine: Engine, key: Key, path: str, result: dict[str, Any], summary: FleetSummary) -> None:
    status = result.get("status")
    if status == "ok":
        save_review(engine, key, path, result["app"], result["rows"], result["review_date"], result["review_json"],
                    result.get("seconds"), reparsed=True)
        summary.reviewed += 1
        return
    kind = status if status in ("input", "timeout", "oom") else "error"
    save_failure(engine, key, path, kind, str(result.get("message", "")), result.get("seconds"))
    summary.failed[kind] += 1
