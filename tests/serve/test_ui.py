"""The web UI over HTTP: sign-in, session cookie, CSRF on every post, pages scoped to the team."""

from __future__ import annotations

import re

import httpx

from tests.serve.conftest import FIXTURES


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def sign_in(server, name: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=server.url, timeout=30)
    pre = _csrf(c.get("/ui/login").text)
    r = c.post("/ui/login", data={"token": server.tokens[name], "csrf": pre})
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    home = c.get("/ui/")
    assert home.status_code == 200
    return c, _csrf(home.text)


def test_pages_need_a_session(server) -> None:
    for path in ("/ui/", "/ui/diff", "/ui/audit", "/ui/jobs/" + "0" * 32):
        r = httpx.get(server.url + path)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_login_needs_its_csrf_token_and_a_valid_token(server) -> None:
    c = httpx.Client(base_url=server.url)
    c.get("/ui/login")
    assert c.post("/ui/login", data={"token": server.tokens["ana"], "csrf": "forged"}).status_code == 403
    pre = _csrf(c.get("/ui/login").text)
    r = c.post("/ui/login", data={"token": "avt_wrong", "csrf": pre})
    assert r.status_code == 303 and "error" in r.headers["location"]


def test_upload_and_approve_need_the_session_csrf_token(server, red_job: dict) -> None:
    c, csrf = sign_in(server, "apo")
    body = (FIXTURES / "plain.apk").read_bytes()
    assert c.post("/ui/upload", params={"kind": "app", "name": "plain.apk"}, content=body).status_code == 403
    r = c.post("/ui/upload", params={"kind": "app", "name": "plain.apk"}, content=body,
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and len(r.json()["job"]["id"]) == 32
    url = f"/ui/jobs/{red_job['id']}/approve"
    assert c.post(url, data={"decision": "approve", "csrf": "x"}).status_code == 403
    r = c.post(url, data={"decision": "reject", "comment": "via form", "csrf": csrf})
    assert r.status_code == 303
    page = c.get(f"/ui/jobs/{red_job['id']}").text
    assert "via form" in page
    report = c.get(f"/ui/jobs/{red_job['id']}/report")
    assert report.status_code == 200 and "frame-ancestors 'none'" in report.headers["content-security-policy"]


def test_other_team_cannot_open_red_pages(server, red_job: dict) -> None:
    c, csrf = sign_in(server, "bob")
    assert c.get(f"/ui/jobs/{red_job['id']}").status_code == 404
    assert c.get(f"/ui/jobs/{red_job['id']}/report").status_code == 404
    assert c.post(f"/ui/jobs/{red_job['id']}/approve", data={"decision": "approve", "csrf": csrf}).status_code == 404
    assert red_job["id"] not in c.get("/ui/").text


def test_revoked_token_ends_the_session(server) -> None:
    from appvet.fleet.store import open_store
    from appvet.serve import auth

    engine = open_store(server.store)
    auth.add_user(engine, "tmpuser", "red", "analyst")
    server.tokens["tmpuser"] = auth.issue_token(engine, "tmpuser")[1]
    c, _ = sign_in(server, "tmpuser")
    auth.revoke(engine, "tmpuser")
    assert c.get("/ui/").status_code == 303
    engine.dispose()
