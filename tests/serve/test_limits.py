"""Quotas, slow clients, and what a user of the service sees (CLI next steps, links, reasons)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from appvet.serve import db
from tests.serve.attack import raw_request
from tests.serve.conftest import FIXTURES, Client
from tests.serve.server import Server, add_users, free_port, make_server

APPVET = str(Path(sys.executable).parent / "appvet")


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[Server]:
    s = make_server(tmp_path, limits={"seconds": 60, "workers": 1},
                    settings={"quotas": {"user_active_jobs": 1, "team_active_jobs": 5, "team_disk": 30_000,
                                         "user_uploads_per_hour": 2}, "idle_seconds": 1.0,
                              "header_seconds": 1.5})
    s.tokens = add_users(s.store, [("ana", "red", "analyst"), ("bob", "blue", "analyst")])  # type: ignore[attr-defined]
    s.start()
    yield s
    s.stop()


def test_quotas_answer_429_and_413(tight: Server) -> None:
    ana = Client(tight, tight.tokens["ana"])  # type: ignore[attr-defined]
    sha = ana.upload(FIXTURES / "plain.apk")["sha256"]  # 8.6 KB of the team's 30 KB
    first = ana.http.post("/api/jobs", json={"app": sha})
    second = ana.http.post("/api/jobs", json={"app": sha, "policy": "default"})
    assert first.status_code == 201
    if ana.http.get(f"/api/jobs/{first.json()['id']}").json()["state"] in ("queued", "running"):
        assert second.status_code == 429 and "queued or running" in second.json()["detail"]
        assert second.headers.get("retry-after")
    # Whatever the timing above: a job held queued counts against its user.
    engine = create_engine(tight.store)
    with engine.begin() as conn:
        user = conn.execute(select(db.users.c.id, db.users.c.team_id).where(db.users.c.name == "ana")).one()
        conn.execute(db.jobs.insert().values(id="f" * 32, team_id=user.team_id, user_id=user.id, app_sha256=sha,
                                             app_name="held", request="{}", state="queued", progress="queued",
                                             attempts=0, created_at=db.now()))
    engine.dispose()
    held = ana.http.post("/api/jobs", json={"app": sha, "policy": "default"})
    assert held.status_code == 429 and "queued or running" in held.json()["detail"]
    big = ana.http.post("/api/uploads", params={"kind": "app", "name": "m.apk"},
                        content=(FIXTURES / "multisdk.apk").read_bytes() + b"\0" * 10_000)
    assert big.status_code == 413 and "upload space" in big.json()["detail"]
    ana.upload(FIXTURES / "diff-v1.apk")  # the second upload of the hour (the refused one did not count)
    third = ana.http.post("/api/uploads", params={"kind": "app", "name": "x.apk"},
                          content=(FIXTURES / "diff-v2.apk").read_bytes())
    assert third.status_code == 429 and "uploads in the last hour" in third.json()["detail"]
    # Another team has its own allowance.
    bob = Client(tight, tight.tokens["bob"])  # type: ignore[attr-defined]
    assert bob.http.post("/api/uploads", params={"kind": "app", "name": "p.apk"},
                         content=(FIXTURES / "plain.apk").read_bytes()).status_code == 201


def test_a_client_that_stops_sending_is_dropped(tight: Server) -> None:
    token = tight.tokens["ana"]  # type: ignore[attr-defined]
    head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
            "Content-Type: application/json\nContent-Length: 100")
    status, _raw, seconds = raw_request(tight.port, head, b'{"app": ', wait=10)
    assert status == 408 and seconds < 5


def test_a_client_that_sends_headers_slowly_is_dropped(tight: Server) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        for _ in range(20):
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            try:
                s.settimeout(0.25)
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed and time.monotonic() - t0 < 4
    # An ordinary request on a fresh connection is served.
    assert httpx.get(tight.url + "/api/health").status_code == 200


def test_users_add_says_what_to_do_next(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    p = subprocess.run([APPVET, "users", "add", "zoe", "--team", "t", "--store", store,
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "next: appvet users token zoe" in p.stdout
    p = subprocess.run([APPVET, "users", "token", "zoe", "--store", store, "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("avt_") and "/ui/login" in p.stderr


def test_serve_refuses_a_missing_store_unless_create(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    p = subprocess.run([APPVET, "serve", "--store", f"sqlite:///{missing}", "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "does not exist" in p.stderr and "--create" in p.stderr
    assert "Traceback" not in p.stderr and not missing.exists()


def test_serve_prints_its_url(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([APPVET, "serve", "--create", "--store", f"sqlite:///{tmp_path / 'n.db'}", "--port",
                             str(port), "--data-dir", str(tmp_path / "d")], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"http://127.0.0.1:{port}/ui/" in line
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert (tmp_path / "n.db").exists()
    finally:
        proc.terminate()
        proc.wait(10)


def _sign_in(s: Server, user: str) -> httpx.Client:
    c = httpx.Client(base_url=s.url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/login").text).group(1)  # type: ignore[union-attr]
    assert c.post("/ui/login", data={"token": s.tokens[user], "csrf": csrf}).status_code == 303  # type: ignore[attr-defined]
    return c


def test_job_page_links_work_for_a_signed_in_user_and_show_reasons(server: Server,
                                                                   clients: dict[str, Client]) -> None:
    job = clients["ana"].review(FIXTURES / "multisdk.apk", policy="gov-device-strict")
    assert job["state"] == "done" and job["verdict"] == "fail"
    c = _sign_in(server, "ana")
    page = c.get(f"/ui/jobs/{job['id']}").text
    for href in re.findall(r'href="(/ui/jobs/[0-9a-f]{32}/review\.(?:json|sarif))"', page):
        r = c.get(href)
        assert r.status_code == 200 and r.json()
    assert len(re.findall(r'href="/ui/jobs/[0-9a-f]{32}/review\.(json|sarif)"', page)) == 2
    review = c.get(f"/ui/jobs/{job['id']}/review.json").json()
    assert 'id="reasons"' in page
    for fp in review["verdict"]["reasons"]:
        assert fp in page
    # Another team's session cannot fetch it.
    other = _sign_in(server, "bob")
    assert other.get(f"/ui/jobs/{job['id']}/review.json").status_code == 404
