from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve.server import Server, add_users, make_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "built"
USERS = [("ana", "red", "analyst"), ("apo", "red", "approver"), ("adm", "red", "admin"), ("bob", "blue", "approver"),
         ("cyd", "green", "analyst")]


class Client:
    """A bearer-token client of the running service."""

    def __init__(self, server: Server, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=server.url, headers=headers, timeout=30)

    def upload(self, path: Path, kind: str = "app") -> dict:
        r = self.http.post("/api/uploads", params={"kind": kind, "name": path.name}, content=path.read_bytes(),
                           headers={"content-type": "application/octet-stream"})
        assert r.status_code == 201, r.text
        return r.json()

    def review(self, path: Path, **options: object) -> dict:
        sha = self.upload(path)["sha256"]
        r = self.http.post("/api/jobs", json={"app": sha, **options})
        assert r.status_code == 201, r.text
        return self.wait(r.json()["id"])

    def wait(self, job_id: str, seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            job = self.http.get(f"/api/jobs/{job_id}").json()
            if job["state"] in ("done", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    s = make_server(tmp, limits={"seconds": 60, "workers": 2})
    s.tokens = add_users(s.store, USERS)  # type: ignore[attr-defined]
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def clients(server: Server) -> dict[str, Client]:
    return {name: Client(server, token) for name, token in server.tokens.items()}  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def red_job(clients: dict[str, Client]) -> dict:
    """A finished review of multisdk.apk owned by team red."""
    job = clients["ana"].review(FIXTURES / "multisdk.apk")
    assert job["state"] == "done", job
    return job
