"""The REST API against the real server: reviews, formats, diff, approvals, audit, limits, headers."""

from __future__ import annotations

import httpx

from tests.serve.conftest import FIXTURES, Client


def test_health_needs_no_token(server) -> None:
    r = httpx.get(server.url + "/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_review_results_in_every_format(clients: dict[str, Client], red_job: dict) -> None:
    c = clients["ana"]
    assert red_job["package"] == "com.example.multisdk" and len(red_job["review_hash"]) == 64
    data = c.http.get(f"/api/jobs/{red_job['id']}/review.json").json()
    assert data["app"]["sha256"] == red_job["app_sha256"]
    assert any(s["id"] for s in data["sdks"])
    sarif = c.http.get(f"/api/jobs/{red_job['id']}/review.sarif")
    assert sarif.json()["version"] == "2.1.0"
    html = c.http.get(f"/api/jobs/{red_job['id']}/review.html")
    assert html.status_code == 200 and "com.example.multisdk" in html.text
    assert "sha256-" in html.headers["content-security-policy"]


def test_same_app_twice_reuses_the_stored_review(clients: dict[str, Client], red_job: dict) -> None:
    again = clients["ana"].review(FIXTURES / "multisdk.apk")
    assert again["id"] != red_job["id"] and again["review_hash"] == red_job["review_hash"]


def test_diff_between_two_versions(clients: dict[str, Client]) -> None:
    c = clients["ana"]
    old, new = c.review(FIXTURES / "diff-v1.apk"), c.review(FIXTURES / "diff-v2.apk")
    assert old["state"] == new["state"] == "done"
    d = c.http.get("/api/diff", params={"old": old["id"], "new": new["id"]}).json()
    assert d != {} and "sdks" in d
    text = c.http.get("/api/diff", params={"old": old["id"], "new": new["id"], "format": "text"}).text
    assert "->" in text


def test_approval_records_who_and_review_hash_and_lands_in_audit(clients: dict[str, Client], red_job: dict) -> None:
    waivers = ("waivers:\n  - rule: FA002\n    reason: contract\n"
               "    approver: apo@example.com\n    expires: 2030-01-01\n")
    r = clients["apo"].http.post(f"/api/jobs/{red_job['id']}/approvals",
                                 json={"decision": "approve", "comment": "ok", "waivers": waivers})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["by"] == "apo" and rec["review_hash"] == red_job["review_hash"]
    assert rec["waivers"][0]["rule"] == "FA002"
    listed = clients["ana"].http.get(f"/api/jobs/{red_job['id']}/approvals").json()
    assert listed[-1]["decision"] == "approve" and listed[-1]["by"] == "apo"
    entries = clients["ana"].http.get("/api/audit").json()
    assert any(e["action"] == "approval.approve" and e["target"] == red_job["id"] for e in entries)
    assert clients["adm"].http.get("/api/audit/verify").json()["ok"] is True


def test_bad_waivers_are_rejected(clients: dict[str, Client], red_job: dict) -> None:
    r = clients["apo"].http.post(f"/api/jobs/{red_job['id']}/approvals",
                                 json={"decision": "approve", "waivers": "waivers: [{rule: 1}]"})
    assert r.status_code == 422


def test_audit_log_has_no_write_routes(server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    for path, ops in spec["paths"].items():
        if path.startswith("/api/audit"):
            assert set(ops) == {"get"}


def test_upload_limits_and_hostile_names(clients: dict[str, Client], server) -> None:
    c = clients["ana"]
    big = c.http.post("/api/uploads", params={"kind": "device", "name": "d.yaml"}, content=b"x" * (1024**2 + 1))
    assert big.status_code == 413
    r = c.http.post("/api/uploads", params={"kind": "capture", "name": "../../../../etc/passwd"}, content=b"hello")
    assert r.status_code == 201 and r.json()["name"] == "passwd"
    assert (server.data / "blobs" / r.json()["sha256"]).read_bytes() == b"hello"
    assert not list(server.data.glob("blobs/.upload-*"))
    assert c.http.post("/api/uploads", params={"kind": "app"}, content=b"").status_code == 400


def test_non_apk_upload_fails_its_job_cleanly(clients: dict[str, Client], tmp_path) -> None:
    bad = tmp_path / "not.apk"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    job = clients["ana"].review(bad)
    assert job["state"] == "failed" and job["message"].startswith("input:")


def test_job_needs_own_team_upload(clients: dict[str, Client], red_job: dict) -> None:
    r = clients["bob"].http.post("/api/jobs", json={"app": red_job["app_sha256"]})
    assert r.status_code == 422


def test_security_headers(server) -> None:
    r = httpx.get(server.url + "/ui/login")
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "http" not in csp
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
