"""SIGKILL the fleet process part-way; the re-run finishes the rest, nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from appvet.fleet.store import apps, failures, reviews

ROOT = Path(__file__).resolve().parents[2]


def _fleet(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # Its own session, so the kill below takes the fleet and its Dask workers like a crash of the machine would.
    return subprocess.Popen([sys.executable, "-m", "appvet.fleet", *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _reviews(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(reviews)).scalar_one())
    except Exception:  # the store may not exist yet while the fleet starts
        return 0
    finally:
        engine.dispose()


def test_kill_9_then_rerun_completes(fleet_dir: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, _made = fleet_dir
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    args = [str(root), "--store", url, "--workers", "2", "--quiet", "--on", "2026-06-01"]
    proc = _fleet(args)
    # Kill once some reviews are stored; on a busy machine the first ones can take minutes to arrive.
    deadline = time.monotonic() + 300
    while _reviews(url) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the fleet finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _reviews(url)
    assert 3 <= done_before < 52

    again = _fleet(args)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["skipped"] >= done_before
    assert summary["reviewed"] + summary["skipped"] + sum(summary["failed"].values()) == 53

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reviews)).scalar_one() == 52
        assert conn.execute(select(func.count(func.distinct(reviews.c.app_id)))).scalar_one() == 52
        assert conn.execute(select(func.count()).select_from(apps)).scalar_one() == 52
        assert conn.execute(select(failures.c.kind)).scalars().all() == ["input"]
    engine.dispose()
