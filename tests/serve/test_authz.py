"""Every route without a token, with another team's token, and with an analyst on approver actions."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.serve.conftest import Client


def _routes(server) -> list[tuple[str, str]]:
    spec = httpx.get(server.url + "/openapi.json").json()
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]


def _fill(path: str, job_id: str) -> str:
    return re.sub(r"\{[^}]+\}", job_id, path)


def test_every_route_but_health_needs_a_token(server, red_job: dict) -> None:
    routes = _routes(server)
    assert len(routes) >= 12
    for method, path in routes:
        r = httpx.request(method, server.url + _fill(path, red_job["id"]),
                          params={"old": red_job["id"], "new": red_job["id"], "kind": "app"})
        if path == "/api/health":
            assert r.status_code == 200
        else:
            assert r.status_code == 401, (method, path, r.status_code)


def test_another_team_sees_nothing_of_red(server, clients: dict[str, Client], red_job: dict) -> None:
    blue = clients["bob"]
    for method, path in _routes(server):
        if "{job_id}" not in path:
            continue
        kwargs = {"json": {"decision": "approve"}} if method == "POST" else {}
        r = blue.http.request(method, _fill(path, red_job["id"]), **kwargs)
        assert r.status_code == 404, (method, path, r.status_code)
    r = blue.http.get("/api/diff", params={"old": red_job["id"], "new": red_job["id"]})
    assert r.status_code == 404
    assert all(j["id"] != red_job["id"] for j in blue.http.get("/api/jobs").json())
    assert all(e["team"] == "blue" for e in blue.http.get("/api/audit").json())
    assert blue.http.get("/api/dashboard").json()["jobs"] == {}


def test_analyst_cannot_approve_or_verify(clients: dict[str, Client], red_job: dict) -> None:
    ana = clients["ana"]
    r = ana.http.post(f"/api/jobs/{red_job['id']}/approvals", json={"decision": "approve"})
    assert r.status_code == 403
    assert ana.http.get("/api/audit/verify").status_code == 403
    assert clients["apo"].http.get("/api/audit/verify").status_code == 403


@pytest.mark.parametrize("header", ["Bearer avt_nottherealtoken", "Basic abc", "Bearer"])
def test_bad_tokens_are_refused(server, header: str) -> None:
    assert httpx.get(server.url + "/api/me", headers={"Authorization": header}).status_code == 401


def test_revoked_token_stops_working(server) -> None:
    from appvet.fleet.store import open_store
    from appvet.serve import auth

    engine = open_store(server.store)
    tid, token = auth.issue_token(engine, "ana", "short-lived")
    assert httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert auth.revoke(engine, "ana", tid) == 1
    assert httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    engine.dispose()
