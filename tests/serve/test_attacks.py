"""Attacks on the running service, each reproduced against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text, update

from appvet.serve import db
from tests.serve.attack import crafted_apk, nested_yaml, raw_request, rss, stream_body
from tests.serve.conftest import FIXTURES, Client
from tests.serve.server import Server, add_users, make_server

MiB = 1024 * 1024


def started(tmp: Path, users: list[tuple[str, str, str]], **config: object) -> Server:
    s = make_server(tmp, **config)
    s.tokens = add_users(s.store, users)  # type: ignore[attr-defined]
    s.start()
    return s


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A fresh server (for tests that change its database or need a quiet rate limiter)."""
    s = started(tmp_path, [("ana", "red", "analyst"), ("apo", "red", "approver"), ("bob", "blue", "approver")],
                limits={"seconds": 60, "workers": 2}, auth_burst=3, auth_rate=0.01)
    yield s
    s.stop()


def api(s: Server, user: str) -> Client:
    return Client(s, s.tokens[user])  # type: ignore[attr-defined]


# --- 1. bodies are read only from known callers, and only up to a cap ---------------------------------


@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs/" + "0" * 32 + "/approvals"])
def test_unauthenticated_body_is_refused_before_it_is_read(server: Server, path: str) -> None:
    head = (f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
            f"Content-Length: {300 * MiB}")
    status, _raw, seconds = raw_request(server.port, head, b'{"app": "' + b"a" * 1000, wait=5)
    assert status == 401 and seconds < 5


def test_declared_oversized_body_is_refused_before_it_is_read(server: Server) -> None:
    token = server.tokens["ana"]  # type: ignore[attr-defined]
    head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
            f"Content-Type: application/json\nContent-Length: {300 * MiB}")
    status, raw, _ = raw_request(server.port, head, b"{", wait=5)
    assert status == 413 and b"content-type: application/json" in raw.lower()


def test_streamed_oversized_body_is_cut_and_memory_stays_flat(server: Server) -> None:
    assert server.proc is not None
    token = server.tokens["ana"]  # type: ignore[attr-defined]
    before = rss(server.proc.pid)
    head = (f"POST /api/jobs/{'0' * 32}/approvals HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
            "Content-Type: application/json")
    status, _sent = stream_body(server.port, head, 64 * MiB)
    assert status == 413
    assert rss(server.proc.pid) - before < 32 * MiB


def test_unauthenticated_upload_is_refused_before_it_is_read(server: Server) -> None:
    head = f"POST /api/uploads?kind=app HTTP/1.1\nHost: 127.0.0.1\nContent-Length: {100 * MiB}"
    status, _raw, seconds = raw_request(server.port, head, b"PK" + b"\0" * 1000, wait=5)
    assert status == 401 and seconds < 5


def test_ui_post_without_session_is_refused_before_it_is_read(server: Server) -> None:
    head = (f"POST /ui/jobs/{'0' * 32}/approve HTTP/1.1\nHost: 127.0.0.1\n"
            f"Content-Type: application/x-www-form-urlencoded\nContent-Length: {200 * MiB}")
    status, _raw, seconds = raw_request(server.port, head, b"decision=approve&", wait=5)
    assert status == 401 and seconds < 5


# --- 2. a review is keyed by everything that changes it, and by team ----------------------------------


def test_an_old_date_from_one_team_is_not_another_teams_answer(server: Server, clients: dict[str, Client],
                                                                tmp_path: Path) -> None:
    app = tmp_path / "dated.apk"
    app.write_bytes((FIXTURES / "reach.apk").read_bytes())
    sha = clients["ana"].upload(app)["sha256"]
    old = clients["ana"].http.post("/api/jobs", json={"app": sha, "policy": "default", "on": "2001-02-03"})
    assert clients["ana"].wait(old.json()["id"])["state"] == "done"
    r = clients["cyd"].http.post("/api/uploads", params={"kind": "app", "name": "green-copy.apk"},
                                 content=app.read_bytes())
    assert r.status_code == 201
    new = clients["cyd"].http.post("/api/jobs", json={"app": sha, "policy": "default"})
    job = clients["cyd"].wait(new.json()["id"])
    assert job["state"] == "done"
    review = clients["cyd"].http.get(f"/api/jobs/{job['id']}/review.json").json()
    assert review["review_date"] != "2001-02-03"
    # Green's review is green's own: it names green's upload, not red's.
    assert review["app"]["file_name"] == "green-copy.apk"
    # The same team asking with another date gets another review.
    again = clients["ana"].http.post("/api/jobs", json={"app": sha, "policy": "default"})
    mine = clients["ana"].wait(again.json()["id"])
    assert clients["ana"].http.get(f"/api/jobs/{mine['id']}/review.json").json()["review_date"] != "2001-02-03"


# --- 3. crafted uploads cost the worker, not the server ----------------------------------------------


def test_crafted_app_gives_a_bounded_review_and_server_memory_stays_flat(server: Server, clients: dict[str, Client],
                                                                         tmp_path: Path) -> None:
    assert server.proc is not None
    apk = crafted_apk(tmp_path / "components.apk", components=20_000, name_length=50_000)
    before = rss(server.proc.pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss(server.proc.pid))  # type: ignore[union-attr]
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        job = clients["ana"].review(apk)
        assert job["state"] == "done", job
        for suffix in ("json", "sarif", "html"):
            r = clients["ana"].http.get(f"/api/jobs/{job['id']}/review.{suffix}")
            assert r.status_code == 200 and len(r.content) < 64 * MiB
    finally:
        done.set()
        t.join()
    review = clients["ana"].http.get(f"/api/jobs/{job['id']}/review.json").json()
    assert len(review["manifest"]["components"]) < 20_000
    assert any(s["stage"] == "bounds" and s["locator"] == "manifest.components" for s in review["skips"])
    assert peak[0] - before < 300 * MiB


# --- 4. concurrent approvals, uploads and submits lose nothing -----------------------------------------


def test_concurrent_approvals_uploads_and_submits_lose_nothing(own_server: Server) -> None:
    ana, apo = api(own_server, "ana"), api(own_server, "apo")
    done = ana.review(FIXTURES / "plain.apk")
    assert done["state"] == "done"
    before = len(ana.http.get("/api/audit", params={"limit": 1000}).json())
    statuses: list[int] = []
    jobs: list[str] = []
    lock = threading.Lock()
    n = 30

    # Every request writes an audit entry; none of them needs a review to run, so they all
    # contend for the log at once: device-profile uploads (distinct bytes), submits answered from
    # the store, approvals.
    def upload(i: int) -> None:
        with httpx.Client(base_url=own_server.url, headers=ana.http.headers, timeout=60) as c:
            r = c.post("/api/uploads", params={"kind": "device", "name": f"d{i}.yaml"},
                       content=f"imei: ['35{i:013d}']\n".encode())
            with lock:
                statuses.append(r.status_code)

    def submit(i: int) -> None:
        with httpx.Client(base_url=own_server.url, headers=ana.http.headers, timeout=60) as c:
            r = c.post("/api/jobs", json={"app": done["app_sha256"], "on": done["created_at"][:10]})
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 201:
                    jobs.append(r.json()["id"])

    def approve(i: int) -> None:
        with httpx.Client(base_url=own_server.url, headers=apo.http.headers, timeout=60) as c:
            r = c.post(f"/api/jobs/{done['id']}/approvals", json={"decision": "approve", "comment": f"n{i}"})
            with lock:
                statuses.append(r.status_code)

    threads = [threading.Thread(target=f, args=(i,)) for i in range(n) for f in (upload, submit, approve)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == 3 * n, sorted(statuses)
    for j in jobs:
        assert ana.wait(j, 120)["state"] == "done"
    entries = ana.http.get("/api/audit", params={"limit": 1000}).json()
    assert len(entries) - before == 3 * n
    assert len(ana.http.get(f"/api/jobs/{done['id']}/approvals").json()) == n
    engine = create_engine(own_server.store)
    with engine.connect() as conn:
        stuck = conn.execute(select(db.jobs.c.id).where(db.jobs.c.state.in_(("queued", "running")))).all()
    engine.dispose()
    assert stuck == []


# --- 5. the audit chain cannot be rewritten without the key, and covers approvals ----------------------


def _audit_verify(s: Server) -> tuple[int, str]:
    import subprocess
    import sys

    p = subprocess.run([str(Path(sys.executable).parent / "appvet"), "audit", "verify", "--store", s.store,
                        "--data-dir", str(s.data)], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_rewritten_approval_and_truncated_log_are_detected(own_server: Server) -> None:
    import hashlib

    ana, apo = api(own_server, "ana"), api(own_server, "apo")
    job = ana.review(FIXTURES / "plain.apk")
    r = apo.http.post(f"/api/jobs/{job['id']}/approvals", json={"decision": "approve", "comment": "ok"})
    assert r.status_code == 201
    ana.http.get("/api/me")
    code, out = _audit_verify(own_server)
    assert code == 0 and "ok" in out, out
    own_server.stop()
    engine = create_engine(own_server.store)
    # The attack: turn the approval into a rejection in both tables, rehash the chain from there
    # on, and drop the tail.
    with engine.begin() as conn:
        conn.execute(update(db.approvals).values(decision="reject"))
        rows = conn.execute(select(db.audit).order_by(db.audit.c.id)).all()
        prev = "0" * 64
        for row in rows:
            action = "approval.reject" if row.action == "approval.approve" else row.action
            body = json.dumps([prev, row.at, row.actor, row.team, action, row.target, row.detail],
                              ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256(body.encode()).hexdigest()
            conn.execute(update(db.audit).where(db.audit.c.id == row.id).values(action=action, prev_hash=prev,
                                                                                 hash=digest))
            prev = digest
    engine.dispose()
    code, out = _audit_verify(own_server)
    assert code == 1 and "NOT ok" in out


def test_truncating_the_tail_is_detected(own_server: Server) -> None:
    ana = api(own_server, "ana")
    ana.upload(FIXTURES / "plain.apk")
    assert _audit_verify(own_server)[0] == 0
    engine = create_engine(own_server.store)
    with engine.begin() as conn:
        last = conn.execute(select(db.audit.c.id).order_by(db.audit.c.id.desc()).limit(1)).scalar_one()
        conn.execute(text("DELETE FROM svc_audit WHERE id = :i"), {"i": last})
    engine.dispose()
    code, out = _audit_verify(own_server)
    assert code == 1 and "anchored head" in out


def test_changed_approval_row_alone_is_detected(own_server: Server) -> None:
    ana, apo = api(own_server, "ana"), api(own_server, "apo")
    job = ana.review(FIXTURES / "plain.apk")
    apo.http.post(f"/api/jobs/{job['id']}/approvals", json={"decision": "approve"})
    engine = create_engine(own_server.store)
    with engine.begin() as conn:
        conn.execute(update(db.approvals).values(decision="reject"))
    engine.dispose()
    code, out = _audit_verify(own_server)
    assert code == 1 and "approval" in out


# --- 6. signing out ends the session on the server; idle sessions end ----------------------------------


def _sign_in(s: Server, user: str) -> httpx.Client:
    c = httpx.Client(base_url=s.url, timeout=30)
    form = c.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = c.post("/ui/login", data={"token": s.tokens[user], "csrf": csrf})  # type: ignore[attr-defined]
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    return c


def test_replayed_cookie_after_sign_out_is_refused(server: Server, red_job: dict) -> None:
    c = _sign_in(server, "apo")
    cookie = c.cookies.get("appvet_session")
    page = c.get(f"/ui/jobs/{red_job['id']}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert c.post("/ui/logout", data={"csrf": csrf}).status_code == 303
    replay = httpx.Client(base_url=server.url, cookies={"appvet_session": cookie}, timeout=30)
    assert replay.get("/ui/").status_code == 303
    r = replay.post(f"/ui/jobs/{red_job['id']}/approve",
                    data={"decision": "approve", "comment": "replayed", "csrf": csrf})
    # 401 from the guard: a 303 could as well be the redirect after a recorded approval.
    assert r.status_code == 401
    assert all(a["comment"] != "replayed" for a in api(server, "apo").http.get(
        f"/api/jobs/{red_job['id']}/approvals").json())


def test_another_cookie_with_json_or_spaces_does_not_sign_the_user_out_of_posts(server: Server) -> None:
    c = _sign_in(server, "ana")
    cookie = c.cookies.get("appvet_session")
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/").text).group(1)  # type: ignore[union-attr]
    raw = httpx.Client(base_url=server.url, timeout=30)
    header = f'prefs={{"theme":"dark"}}; note=a b; appvet_session={cookie}'
    assert raw.get("/ui/", headers={"Cookie": header}).status_code == 200
    r = raw.post("/ui/logout", data={"csrf": csrf}, headers={"Cookie": header})
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_idle_session_ends(server: Server) -> None:
    c = _sign_in(server, "ana")
    assert c.get("/ui/").status_code == 200
    engine = create_engine(server.store)
    with engine.begin() as conn:
        conn.execute(update(db.sessions).values(last_seen=db.now().replace(year=2000)))
    engine.dispose()
    assert c.get("/ui/").status_code == 303


# --- 7. nested waivers are refused before parsing -------------------------------------------------------


def test_deeply_nested_waivers_are_refused_quickly(server: Server, clients: dict[str, Client], red_job: dict) -> None:
    t0 = time.monotonic()
    r = clients["apo"].http.post(f"/api/jobs/{red_job['id']}/approvals",
                                 json={"decision": "approve", "waivers": nested_yaml(48 * 1024)})
    assert r.status_code == 422 and "nested" in r.text
    assert time.monotonic() - t0 < 3


# --- 8. forwarded headers and the sign-in limiter --------------------------------------------------------


def test_forwarded_for_from_an_untrusted_client_is_ignored(own_server: Server) -> None:
    codes = []
    for i in range(6):
        r = httpx.get(own_server.url + "/api/me", headers={"Authorization": "Bearer avt_wrong",
                                                           "X-Forwarded-For": f"10.0.0.{i}"})
        codes.append(r.status_code)
    assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}


def test_a_valid_token_is_not_refused_when_its_address_is_blocked(own_server: Server) -> None:
    for _ in range(5):
        httpx.get(own_server.url + "/api/me", headers={"Authorization": "Bearer avt_wrong"})
    assert httpx.get(own_server.url + "/api/me", headers={"Authorization": "Bearer avt_x"}).status_code == 429
    assert api(own_server, "ana").http.get("/api/me").status_code == 200
    c = _sign_in(own_server, "apo")
    assert c.get("/ui/").status_code == 200


def test_sign_in_audit_records_the_real_address(own_server: Server) -> None:
    c = httpx.Client(base_url=own_server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.9"})
    form = c.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    c.post("/ui/login", data={"token": own_server.tokens["ana"], "csrf": csrf})  # type: ignore[attr-defined]
    entries = api(own_server, "ana").http.get("/api/audit").json()
    signed = [e for e in entries if e["action"] == "ui.sign_in"]
    assert signed and signed[0]["detail"]["ip"] == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_is_used(tmp_path: Path) -> None:
    s = started(tmp_path, [("ana", "red", "analyst")], auth_burst=2, auth_rate=0.01,
                settings={"trusted_proxies": ["127.0.0.1/32"]})
    try:
        codes = [httpx.get(s.url + "/api/me", headers={"Authorization": "Bearer avt_wrong",
                                                       "X-Forwarded-For": f"198.51.100.{i}"}).status_code
                 for i in range(5)]
        assert codes == [401] * 5  # each client has its own allowance behind the proxy
        same = [httpx.get(s.url + "/api/me", headers={"Authorization": "Bearer avt_wrong",
                                                      "X-Forwarded-For": "198.51.100.77"}).status_code
                for _ in range(4)]
        assert same[-1] == 429
    finally:
        s.stop()


# --- information leaks ------------------------------------------------------------------------------------


def test_store_and_keys_are_readable_by_the_owner_only(server: Server) -> None:
    db_file = Path(server.store.removeprefix("sqlite:///"))
    for p in (db_file, server.data / "session.key", server.data / "audit.key"):
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p


def test_host_header_is_not_echoed_in_redirects(server: Server) -> None:
    for path in ("/ui", "/", "/ui/"):
        r = httpx.get(server.url + path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert "evil.example" not in r.headers.get("location", ""), (path, r.headers.get("location"))


def test_login_page_does_not_show_text_from_the_url(server: Server) -> None:
    r = httpx.get(server.url + "/ui/login", params={"error": "Your token expired, call 555-0100"})
    assert "555-0100" not in r.text
    r = httpx.get(server.url + "/ui/login", params={"error": "invalid"})
    assert "Invalid or revoked token" in r.text


def test_failed_job_names_the_upload_not_the_blob_path(server: Server, clients: dict[str, Client],
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "broken-upload.apk"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file" * 10)
    job = clients["ana"].review(bad)
    assert job["state"] == "failed"
    assert str(server.data) not in (job["message"] or "") and "/blobs/" not in (job["message"] or "")
    assert "broken-upload.apk" in job["message"]
