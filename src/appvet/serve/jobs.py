"""Review jobs: a row in ``svc_jobs`` for each, run by an ``Executor``, the result saved in the fleet store.

    Jobs.submit(app_sha256, team_id, user_id, options) -> job id
    Jobs.status(job_id) -> dict | None
    Jobs.recover()       at startup: running jobs of a stopped server are queued again (or failed)

The executor is the one piece to swap: ``LocalExecutor`` runs each review in its own child process
(``appvet.serve.worker``) from a fixed set of threads that take jobs from the teams in turn (one
team's backlog does not delay another team's next job), kills it at its time budget, caps its
memory and reads at most ``MAX_RESULT`` bytes of its answer; ``DaskExecutor`` sends the same
request to a Dask scheduler. Reports are rendered by the worker into files; the service only moves
them into ``<data-dir>/reports/<review hash>.*`` and hands them out. Job state lives in the
database, so a restart loses nothing: queued jobs are submitted again, jobs that were running are
retried once and then failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from appvet import __version__
from appvet.fleet.store import Key, find_review, save_review
from appvet.serve import db
from appvet.serve.blobs import SHA256_RE as SHA_RE
from appvet.serve.blobs import BlobStore

log = logging.getLogger(__name__)

OnProgress = Callable[[str], None]
OnDone = Callable[[dict[str, Any]], None]

MAX_RESULT = 64 * 1024**2
"""Bytes of a worker's stdout answer read at most; past it the worker is killed and the job fails."""
MAX_REPORT = 256 * 1024**2
"""Largest report file (JSON, HTML, SARIF) a worker may leave; a larger one fails the job."""
REPORT_FILES = {"json": "review.json", "html": "report.html", "sarif": "review.sarif", "reasons": "reasons.json"}


@dataclass(frozen=True)
class JobLimits:
    seconds: float = 300.0
    memory: int = 3 * 1024**3
    workers: int = max(1, min(4, os.cpu_count() or 1))
    max_attempts: int = 2


class Executor(Protocol):
    """Runs one worker request; calls ``on_progress`` with stage names and ``on_done`` exactly once."""

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone,
              team: int = 0) -> None: ...

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
    too_big = [False]

    def read_stdout() -> None:
        assert proc.stdout is not None
        size = 0
        while block := proc.stdout.read1(65536):
            size += len(block)
            if size > MAX_RESULT:
                too_big[0] = True
                _kill(proc)
                return
            chunks.append(block)

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
    if too_big[0]:
        return {"status": "error", "message": f"the review's answer was larger than {MAX_RESULT} bytes"}
    out = b"".join(chunks)
    chunks.clear()
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
        with contextlib.suppress(OSError):
            proc.kill()
    proc.wait()


class LocalExecutor:
    """Reviews on this machine: ``limits.workers`` threads, each running one child process at a time.

    Waiting jobs are kept per team and taken round-robin across teams, first-come-first-served
    within a team: a team with a hundred queued reviews delays another team's next one by at most
    one review per worker.
    """

    def __init__(self, limits: JobLimits) -> None:
        self.limits = limits
        # Teams with waiting jobs, in turn order: a dict keeps insertion order, so the team at the
        # front is next and a team whose job was taken goes to the back by being inserted again.
        self._queues: dict[int, deque[Callable[[], None]]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._loop, name=f"appvet-job-{i}", daemon=True)
                         for i in range(limits.workers)]
        for t in self._threads:
            t.start()

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone,
              team: int = 0) -> None:
        def work() -> None:
            try:
                result = run_worker(request, self.limits.seconds, on_progress)
            except Exception as exc:  # the threads must outlive any one job
                result = {"status": "error", "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}
            on_done(result)

        with self._cond:
            self._queues.setdefault(team, deque()).append(work)
            self._cond.notify()

    def _next(self) -> Callable[[], None] | None:
        with self._cond:
            while not self._closed and not self._queues:
                self._cond.wait()
            if self._closed:
                return None
            team = next(iter(self._queues))
            queue = self._queues.pop(team)
            work = queue.popleft()
            if queue:
                self._queues[team] = queue  # back of the line: the other teams go first
            return work

    def _loop(self) -> None:
        while (work := self._next()) is not None:
            try:
                work()
            except Exception:
                log.exception("job thread")

    def waiting(self) -> dict[int, int]:
        with self._cond:
            return {team: len(q) for team, q in self._queues.items()}

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            self._queues.clear()
            self._cond.notify_all()


class DaskExecutor:
    """Reviews on a Dask scheduler (``appvet serve --scheduler tcp://host:8786``); blobs must be on shared storage."""

    def __init__(self, address: str, limits: JobLimits) -> None:
        from distributed import Client

        self.limits = limits
        self._client = Client(address)

    def start(self, job_id: str, request: dict[str, Any], on_progress: OnProgress, on_done: OnDone,
              team: int = 0) -> None:
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
        self.data_dir = blobs.root.parent
        self.reports = self.data_dir / "reports"
        self.work = self.data_dir / "work"
        for d in (self.reports, self.work):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Work folders of reviews cut short by a stop (their jobs run again with new ones); a folder
        # younger than two review budgets may belong to another process sharing this directory.
        cutoff = time.time() - 2 * limits.seconds
        for stale in self.work.iterdir():
            if stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)

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
        self._start(job_id, app_sha256, options, team_id)
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
            queued = conn.execute(select(db.jobs.c.id, db.jobs.c.app_sha256, db.jobs.c.request, db.jobs.c.team_id)
                                  .where(db.jobs.c.state == "queued").order_by(db.jobs.c.created_at)).all()
        for row in queued:
            self._start(row.id, row.app_sha256, json.loads(row.request), row.team_id)
        return counts

    def key(self, app_sha256: str, options: dict[str, Any], team_id: int, kb_version: str | None = None) -> Key:
        """The cache key of a job: every input that changes its review, and the team that asked.

        The team is part of it so that nothing one team submits (an old date, a policy, a capture)
        can become another team's answer, and a job never reveals that another team reviewed the
        same bytes.
        """
        from appvet.policy import load_policy

        pkey = ""
        if options.get("policy"):
            p = load_policy(options["policy"])
            pkey = f"{p.name}@{p.version}"
        inputs = {"team": team_id, "on": options.get("on"), "captures": sorted(options.get("captures", ())),
                  "device": options.get("device"), "kb": [str(p) for p in self.kb],
                  "waivers": options.get("waivers")}
        digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]
        return Key(app_sha256, __version__, kb_version or self.kb_version(), f"{pkey}|svc:{digest}")

    def scrub(self, message: str, names: dict[str, str] | None = None) -> str:
        """A message fit for a client: blob paths become the names files were uploaded under."""
        for sha, name in (names or {}).items():
            if SHA_RE.match(sha):
                message = message.replace(str(self.blobs.path(sha)), name)
        return message.replace(str(self.data_dir.resolve()), "<data>").replace(str(self.data_dir), "<data>")

    def _start(self, job_id: str, app_sha256: str, options: dict[str, Any], team_id: int) -> None:
        names = {k: v for k, v in (options.get("names") or {}).items() if isinstance(v, str)}
        if not options.get("on"):
            options = {**options, "on": date.today().isoformat()}
        try:
            key = self.key(app_sha256, options, team_id)
            with self.engine.connect() as conn:
                stored = find_review(conn, key)
        except Exception as exc:
            self._fail(job_id, self.scrub(f"cannot start: {exc}".splitlines()[0], names))
            return
        if stored is not None:
            # Same bytes, code, data, date, policy and team: the stored review is the answer.
            self._finish(job_id, stored)
            return
        out = Path(tempfile.mkdtemp(prefix=f"{job_id}-", dir=self.work))
        paths = {str(self.blobs.path(sha)): name for sha, name in names.items() if SHA_RE.match(sha)}
        request = {
            "app": str(self.blobs.path(app_sha256)),
            "captures": [str(self.blobs.path(s)) for s in options.get("captures", ())],
            "device": str(self.blobs.path(options["device"])) if options.get("device") else None,
            "policy": options.get("policy"),
            "on": options["on"],
            "memory": self.limits.memory,
            "kb": [str(p) for p in self.kb],
            "out": str(out),
            "names": paths,
        }
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
                self._record(job_id, key, result, out, names)
            except Exception as exc:
                log.exception("job %s: cannot record the result", job_id)
                self._fail(job_id, self.scrub(f"cannot record the result: {exc}".splitlines()[0], names))
            finally:
                shutil.rmtree(out, ignore_errors=True)

        self.executor.start(job_id, request, on_progress, on_done, team=team_id)

    def _record(self, job_id: str, key: Key, result: dict[str, Any], out: Path, names: dict[str, str]) -> None:
        if result.get("status") != "ok":
            self._fail(job_id, self.scrub(f"{result.get('status', 'error')}: {result.get('message', '')}"[:2000],
                                          names))
            return
        for name in REPORT_FILES.values():
            f = out / name
            if not f.is_file() or f.stat().st_size > MAX_REPORT:
                self._fail(job_id, f"error: the review's {name} is missing or larger than {MAX_REPORT} bytes")
                return
        text = (out / REPORT_FILES["json"]).read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        for kind, name in REPORT_FILES.items():
            if kind != "json":
                os.replace(out / name, self.report_path(digest, kind))
        if result.get("kb_version") and result["kb_version"] != key.kb:
            key = Key(key.sha256, key.appvet, result["kb_version"], key.policy)
        save_review(self.engine, key, key.sha256, result["app"], result["rows"], result["review_date"],
                    text, result.get("seconds"), reparsed=True)
        del text
        with self.engine.connect() as conn:
            rid = find_review(conn, key)
        if rid is None:
            self._fail(job_id, "the review was not stored")
            return
        self._finish(job_id, rid)

    def report_path(self, review_hash: str, kind: str) -> Path:
        if not SHA_RE.match(review_hash) or kind not in REPORT_FILES:
            raise ValueError("not a report")
        return self.reports / f"{review_hash}.{REPORT_FILES[kind]}"

    def render(self, review_id: int, review_hash: str) -> None:
        """Make the report files of a stored review that has none (one stored before reports were kept)."""
        from appvet.fleet.store import reviews

        out = Path(tempfile.mkdtemp(prefix="render-", dir=self.work))
        try:
            src = out / "stored.json"
            with self.engine.connect() as conn:
                text = conn.execute(select(reviews.c.review_json).where(reviews.c.id == review_id)).scalar_one()
            src.write_text(text, encoding="utf-8")
            del text
            result = run_worker({"render": str(src), "memory": self.limits.memory, "out": str(out)},
                                self.limits.seconds)
            if result.get("status") != "ok":
                raise RuntimeError(f"cannot render the report: {result.get('message', '')}")
            for kind, name in REPORT_FILES.items():
                if kind != "json" and (out / name).is_file():
                    os.replace(out / name, self.report_path(review_hash, kind))
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def _finish(self, job_id: str, review_id: int) -> None:
        from appvet.fleet.store import apps, reviews, verdicts

        with self.engine.begin() as conn:
            text = conn.execute(select(reviews.c.review_json).where(reviews.c.id == review_id)).scalar_one()
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            del text
            app = conn.execute(select(apps.c.package, apps.c.version_name).join(reviews, reviews.c.app_id == apps.c.id)
                               .where(reviews.c.id == review_id)).first()
            verdict = conn.execute(select(verdicts.c.decision).where(verdicts.c.review_id == review_id)).scalar()
            conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(
                state="done", progress="done", review_id=review_id, review_hash=digest,
                package=app.package if app else None, version_name=app.version_name if app else None,
                verdict=verdict, finished_at=db.now(), message=None))

    def _fail(self, job_id: str, message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(
                state="failed", progress="failed", message=message, finished_at=db.now()))

    def shutdown(self) -> None:
        self.executor.shutdown()
