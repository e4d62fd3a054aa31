"""Review jobs: a row in ``svc_jobs`` for each, run by an ``Executor``, the result saved in the fleet store.

    Jobs.submit(app_sha256, team_id, user_id, options) -> job id
    Jobs.status(job_id) -> dict | None
    Jobs.recover()       at startup: running jobs of a stopped server are queued again (or failed)

The executor is the one piece to swap: ``LocalExecutor`` runs each review in its own child process
(``appvet.serve.worker``) from a bounded thread pool, kills it at its time budget and caps its
memory; ``DaskExecutor`` sends the same request to a Dask scheduler. Job state lives in the
database, so a restart loses nothing: queued jobs are submitted again, jobs that were running are
retried once and then failed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from appvet import __version__
from appvet.fleet.store import Key, find_review, save_review
from appvet.serve import db
from appvet.serve.blobs import BlobStore

log = logging.getLogger(__name__)

OnProgress = Callable[[str], None]
OnDone = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class JobLimits:
    seconds: float = 300.0
    memory: int = 3 * 1024**3
    workers: int = max(1, min(4, os.cpu_count() or 1))
    max_attempts: int = 2


class Executor(Protocol):
    """Runs one worker request; calls ``on_progress`` with stage names and ``on_done`` exactly once."""

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone) -> None: ...

    def shutdown(self) -> None: ...


def run_worker(request: dict[str, Any], seconds: float, on_progress: OnProgress | None = None) -> dict[str, Any]:
    """Run ``appvet.serve.worker`` on ``request``; kill it (and its group) after ``seconds``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "appvet.serve.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_die_with_parent)
    tail: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith("progress:") and on_progress is not None:
                on_progress(line[9:])
            elif line:
                tail[:] = [*tail[-4:], line[:500]]

    chunks: list[bytes] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        chunks.append(proc.stdout.read())

    # Each pipe has its own reader: progress must be seen while the review runs, not after.
    readers = [threading.Thread(target=read_stderr, daemon=True), threading.Thread(target=read_stdout, daemon=True)]
    for t in readers:
        t.start()
    try:
        assert proc.stdin is not None
        with proc.stdin:
            proc.stdin.write(json.dumps(request).encode("utf-8"))
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return {"status": "timeout", "message": f"review killed after {seconds:g} s"}
    except BrokenPipeError:
        proc.wait()
    finally:
        for t in readers:
            t.join(timeout=5)
    out = b"".join(chunks)
    if proc.returncode == 0 and out:
        try:
            result = json.loads(out)
        except ValueError:
            return {"status": "error", "message": "review process wrote an unreadable result"}
        return result if isinstance(result, dict) else {"status": "error", "message": "bad result"}
    if proc.returncode == -signal.SIGKILL:
        return {"status": "oom", "message": "review process killed"}
    return {"status": "error", "message": tail[-1] if tail else f"review process exit {proc.returncode}",
            "seconds": time.perf_counter() - t0}


def _die_with_parent() -> None:
    """In the child: be killed when the server dies (kill -9 included), so no review outlives its job."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


class LocalExecutor:
    """Reviews on this machine: at most ``limits.workers`` child processes at a time."""

    def __init__(self, limits: JobLimits) -> None:
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="appvet-job")

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone) -> None:
        def work() -> None:
            try:
                result = run_worker(request, self.limits.seconds, on_progress)
            except Exception as exc:  # the pool must outlive any one job
                result = {"status": "error", "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}
            on_done(result)

        self._pool.submit(work)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskExecutor:
    """Reviews on a Dask scheduler (``appvet serve --scheduler tcp://host:8786``); blobs must be on shared storage."""

    def __init__(self, address: str, limits: JobLimits) -> None:
        from distributed import Client

        self.limits = limits
        self._client = Client(address)

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone) -> None:
        on_progress("sent to the cluster")
        future = self._client.submit(run_worker, request, self.limits.seconds, pure=False, key=f"svc-{job_id}")

        def done(f: Any) -> None:
            try:
                result = f.result()
            except Exception as exc:
                result = {"status": "error", "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}
            on_done(result)

        future.add_done_callback(done)

    def shutdown(self) -> None:
        self._client.close()


class Jobs:
    def __init__(self, engine: Engine, blobs: BlobStore, executor: Executor, limits: JobLimits,
                 kb: tuple[Path, ...] = ()) -> None:
        self.engine = engine
        self.blobs = blobs
        self.executor = executor
        self.limits = limits
        self.kb = kb
        self._kb_version: str | None = None

    def kb_version(self) -> str:
        if self._kb_version is None:
            from appvet.kb import load_kb

            self._kb_version = load_kb(self.kb).version
        return self._kb_version

    def submit(self, app_sha256: str, team_id: int, user_id: int, options: dict[str, Any], app_name: str) -> str:
        """Record a queued job and hand it to the executor; ``options`` are validated by the caller."""
        job_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(db.jobs.insert().values(
                id=job_id, team_id=team_id, user_id=user_id, app_sha256=app_sha256, app_name=app_name[:255],
                request=json.dumps(options, sort_keys=True), state="queued", progress="queued", attempts=0,
                created_at=db.now()))
        self._start(job_id, app_sha256, options)
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.jobs).where(db.jobs.c.id == job_id)).first()
        return dict(row._mapping) if row else None

    def recover(self) -> dict[str, int]:
        """Settle the jobs a stopped server left: retry those under ``max_attempts``, fail the rest."""
        counts = {"requeued": 0, "failed": 0}
        with self.engine.begin() as conn:
            for row in conn.execute(select(db.jobs.c.id, db.jobs.c.attempts).where(db.jobs.c.state == "running")):
                if row.attempts < self.limits.max_attempts:
                    conn.execute(update(db.jobs).where(db.jobs.c.id == row.id).values(
                        state="queued", progress="queued again after a restart"))
                    counts["requeued"] += 1
                else:
                    conn.execute(update(db.jobs).where(db.jobs.c.id == row.id).values(
                        state="failed", progress="failed", message="server stopped during the review, twice",
                        finished_at=db.now()))
                    counts["failed"] += 1
            queued = conn.execute(select(db.jobs.c.id, db.jobs.c.app_sha256, db.jobs.c.request)
                                  .where(db.jobs.c.state == "queued").order_by(db.jobs.c.created_at)).all()
        for row in queued:
            self._start(row.id, row.app_sha256, json.loads(row.request))
        return counts

    def _key(self, app_sha256: str, options: dict[str, Any]) -> Key:
        from appvet.policy import load_policy

        pkey = ""
        if options.get("policy"):
            p = load_policy(options["policy"])
            pkey = f"{p.name}@{p.version}"
        extra = sorted(options.get("captures", ())) + ([options["device"]] if options.get("device") else [])
        if extra:
            # The fleet key has no room for captures; they change the review, so they go in its last part.
            pkey += "|traffic:" + hashlib.sha256(",".join(extra).encode()).hexdigest()[:16]
        return Key(app_sha256, __version__, self.kb_version(), pkey)

    def _start(self, job_id: str, app_sha256: str, options: dict[str, Any]) -> None:
        try:
            key = self._key(app_sha256, options)
            with self.engine.connect() as conn:
                stored = find_review(conn, key)
        except Exception as exc:
            self._fail(job_id, f"cannot start: {exc}".splitlines()[0])
            return
        if stored is not None:
            # Same bytes, code, data and policy: the stored review is the answer.
            self._finish(job_id, stored)
            return
        request = {
            "app": str(self.blobs.path(app_sha256)),
            "captures": [str(self.blobs.path(s)) for s in options.get("captures", ())],
            "device": str(self.blobs.path(options["device"])) if options.get("device") else None,
            "policy": options.get("policy"),
            "on": options.get("on") or date.today().isoformat(),
            "memory": self.limits.memory,
            "kb": [str(p) for p in self.kb],
        }
        with self.engine.begin() as conn:
            conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(state="queued", progress="queued"))
        last = [0.0]

        def on_progress(stage: str) -> None:
            with self.engine.begin() as conn:
                values: dict[str, Any] = {"progress": stage[:64]}
                if last[0] == 0.0:
                    values.update(state="running", started_at=db.now(), attempts=db.jobs.c.attempts + 1)
                last[0] = time.monotonic()
                conn.execute(update(db.jobs).where(db.jobs.c.id == job_id, db.jobs.c.state.in_(("queued", "running")))
                             .values(**values))

        def on_done(result: dict[str, Any]) -> None:
            try:
                self._record(job_id, key, result)
            except Exception as exc:
                log.exception("job %s: cannot record the result", job_id)
                self._fail(job_id, f"cannot record the result: {exc}".splitlines()[0])

        self.executor.start(job_id, request, on_progress, on_done)

    def _record(self, job_id: str, key: Key, result: dict[str, Any]) -> None:
        if result.get("status") != "ok":
            self._fail(job_id, f"{result.get('status', 'error')}: {result.get('message', '')}"[:2000])
            return
        if result.get("kb_version") and result["kb_version"] != key.kb:
            key = Key(key.sha256, key.appvet, result["kb_version"], key.policy)
        save_review(self.engine, key, key.sha256, result["app"], result["rows"], result["review_date"],
                    result["review_json"], result.get("seconds"), reparsed=True)
        with self.engine.connect() as conn:
            rid = find_review(conn, key)
        if rid is None:
            self._fail(job_id, "the review was not stored")
            return
        self._finish(job_id, rid)

    def _finish(self, job_id: str, review_id: int) -> None:
        from appvet.fleet.store import reviews

        with self.engine.begin() as conn:
            text = conn.execute(select(reviews.c.review_json).where(reviews.c.id == review_id)).scalar_one()
            data = json.loads(text)
            app = data.get("app") or {}
            verdict = (data.get("verdict") or {}).get("decision")
            conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(
                state="done", progress="done", review_id=review_id,
                review_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), package=app.get("package"),
                version_name=app.get("version_name"), verdict=verdict, finished_at=db.now(), message=None))

    def _fail(self, job_id: str, message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(
                state="failed", progress="failed", message=message, finished_at=db.now()))

    def shutdown(self) -> None:
        self.executor.shutdown()
