"""The fleet on a real Dask deployment: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.

The test starts the scheduler and the workers as separate programs, exactly as an operator would,
runs the ``appvet fleet --scheduler tcp://127.0.0.1:PORT`` command against them, SIGKILLs the worker
that is reviewing an app while the fleet runs, and checks that the fleet still finishes with every
app stored exactly once (SQLite, and PostgreSQL when its server binaries are installed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from appvet.fleet import open_store
from appvet.fleet.store import apps, failures, reviews
from tests.fleet.conftest import build_inputs
from tests.fleet.test_fleet_postgres import pg_url  # noqa: F401  (module-scoped server fixture)

BIN = Path(sys.executable).parent
DISTINCT = 14


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Each program runs in its own session; the group also holds review processes a worker started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def dask_cluster(tmp: Path, n_workers: int) -> Iterator[Cluster]:
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp / "dask-logs"
    logs.mkdir()
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        started.append(proc)
        return proc

    try:
        scheduler = start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"])
        # --no-nanny: the process started here is the worker itself, so killing it kills the worker.
        workers = [start(f"worker{i}", [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1",
                                        "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}"])
                   for i in range(n_workers)]
        deadline = time.monotonic() + 60
        with Client(address, timeout=60) as client:
            while len(client.scheduler_info()["workers"]) < n_workers:
                if time.monotonic() > deadline:
                    raise AssertionError(f"workers did not join: {(logs / 'worker0.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield Cluster(address, scheduler, workers)
    finally:
        for proc in reversed(started):
            _stop(proc)


def _busy_worker(address: str) -> str | None:
    """The name of a worker that holds a review task right now."""
    from distributed import Client

    with Client(address, timeout=10) as client:
        busy = sorted(addr for addr, keys in client.processing().items() if keys)
        info = client.scheduler_info()["workers"]
        names = [info[addr]["name"] for addr in busy if addr in info]
    return str(names[0]) if names else None


def _stored(url: str) -> int:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(reviews)).scalar_one())
    finally:
        engine.dispose()


def _fleet_with_a_worker_killed(store: str, tmp_path: Path) -> None:
    inputs = build_inputs(tmp_path / "in", DISTINCT)
    with dask_cluster(tmp_path, 2) as cluster:
        by_name = {f"w{i}": w for i, w in enumerate(cluster.workers)}
        cmd = [str(BIN / "appvet"), "fleet", "run", str(tmp_path / "in"), "--store", store,
               "--scheduler", cluster.address, "--quiet", "--timeout", "120"]
        fleet = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        victim: subprocess.Popen[bytes] | None = None
        deadline = time.monotonic() + 240
        while victim is None and fleet.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with contextlib.suppress(Exception):  # the store's tables appear with the fleet's first write
                if _stored(store) < 2:
                    continue
            name = _busy_worker(cluster.address)
            if name in by_name:
                victim = by_name[name]
                os.kill(victim.pid, signal.SIGKILL)
        assert victim is not None, "no worker was found busy while the fleet ran"
        assert fleet.poll() is None, "the fleet ended before a worker could be killed"
        assert victim.wait(timeout=10) == -signal.SIGKILL
        out, err = fleet.communicate(timeout=300)
    assert fleet.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["distinct"] == DISTINCT + 1
    assert summary["reviewed"] == DISTINCT
    assert summary["failed"] == {"input": 1}

    engine = open_store(store)
    try:
        with engine.connect() as conn:
            per_app = conn.execute(select(reviews.c.app_id, func.count()).group_by(reviews.c.app_id)).all()
            assert len(per_app) == DISTINCT and all(n == 1 for _, n in per_app)
            assert conn.execute(select(func.count()).select_from(apps)).scalar_one() == DISTINCT
            kinds = conn.execute(select(failures.c.kind, func.count()).group_by(failures.c.kind)).all()
            assert dict(kinds) == {"input": 1}
    finally:
        engine.dispose()
    assert inputs["files"] == DISTINCT + 3


def test_fleet_survives_a_killed_dask_worker_sqlite(tmp_path: Path) -> None:
    _fleet_with_a_worker_killed(f"sqlite:///{tmp_path / 'fleet.db'}", tmp_path)


def test_fleet_survives_a_killed_dask_worker_postgresql(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    _fleet_with_a_worker_killed(pg_url, tmp_path)
