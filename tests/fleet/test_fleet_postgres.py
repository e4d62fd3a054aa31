"""The fleet against a real PostgreSQL server: a throwaway cluster on 127.0.0.1 in a temporary folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from appvet.fleet import FleetOptions, open_store, run_fleet, summary
from appvet.fleet.store import reviews
from tests.fleet.conftest import build_inputs


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(user: str | None, argv: list[str], null: str | None) -> list[str]:
    # PostgreSQL refuses to run as root; as root, run its tools as the packaged ``postgres`` user.
    if not user:
        return argv
    if null is None:
        return ["runuser", "-u", user, "--", *argv]
    # initdb and pg_ctl write to /dev/null; where that is not the device, give them a writable stand-in
    # in a private mount namespace instead of touching the machine's /dev.
    script = 'mount --bind "$0" /dev/null && exec runuser -u "$1" -- "${@:2}"'
    return ["unshare", "-m", "bash", "-c", script, null, user, *argv]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install -y postgresql)")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        user = "postgres"
    tmp = tempfile.mkdtemp(prefix="appvet-pg-")
    null: str | None = None
    if user:
        shutil.chown(tmp, user)
        if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
            null = str(Path(tmp) / "null")
            Path(null).touch(mode=0o666)
            os.chmod(null, 0o666)
    data = Path(tmp) / "data"
    port = _free_port()
    init = subprocess.run(_as_user(user, [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "appvet",
                                         "--no-sync"], null), capture_output=True, text=True)
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    opts = f"-h 127.0.0.1 -p {port} -k {tmp} -F"
    start = subprocess.run(_as_user(user, [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                                          str(Path(tmp) / "log"), "-w", "start"], null), capture_output=True, text=True)
    if start.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"pg_ctl start failed: {start.stderr.strip()[-300:]}")
    try:
        yield f"postgresql+psycopg://appvet@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_user(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], null),
                       capture_output=True)
        time.sleep(0.1)
        shutil.rmtree(tmp, ignore_errors=True)


def test_fleet_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    build_inputs(tmp_path / "in", 5)
    opts = FleetOptions(store=pg_url, workers=2, policy="us-foreign-adversary", on=date(2026, 6, 1))
    first = run_fleet([tmp_path / "in"], opts)
    assert (first.reviewed, dict(first.failed)) == (5, {"input": 1})
    again = run_fleet([tmp_path / "in"], opts)
    assert (again.reviewed, again.skipped) == (0, 6)
    engine = open_store(pg_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reviews)).scalar_one() == 5
        assert conn.execute(select(func.max(func.length(reviews.c.review_json)))).scalar_one() > 1000
    s = summary(engine)
    engine.dispose()
    assert s["apps"] == 5 and s["failures"] == {"input": 1}
