"""Start the real service on 127.0.0.1 in a subprocess (uvicorn, a free port) for the tests and the bench."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from appvet.serve import auth
from appvet.serve.app import open_service_store

RUNNER = """
import json, sys
from pathlib import Path
from appvet.serve.app import Settings
from appvet.serve.jobs import JobLimits
from appvet.serve.app import Quotas, serve
c = json.loads(sys.argv[1])
extra = c.get("settings", {})
if "quotas" in extra:
    extra["quotas"] = Quotas(**extra["quotas"])
if "trusted_proxies" in extra:
    extra["trusted_proxies"] = tuple(extra["trusted_proxies"])
s = Settings(store=c["store"], data_dir=Path(c["data"]), limits=JobLimits(**c.get("limits", {})),
             auth_rate=c.get("auth_rate", 1.0), auth_burst=c.get("auth_burst", 10), **extra)
serve(s, "127.0.0.1", c["port"])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    store: str
    data: Path
    port: int
    config: dict
    proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: float = 30.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "server died")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def make_server(tmp: Path, **config: object) -> Server:
    port = free_port()
    store = f"sqlite:///{tmp / 'serve.db'}"
    cfg = {"store": store, "data": str(tmp / "data"), "port": port, **config}
    return Server(url=f"http://127.0.0.1:{port}", store=store, data=tmp / "data", port=port, config=cfg)


def add_users(store: str, users: list[tuple[str, str, str]]) -> dict[str, str]:
    """Create (name, team, role) users; their tokens by name."""
    engine = open_service_store(store)
    tokens = {}
    for name, team, role in users:
        auth.add_user(engine, name, team, role)
        tokens[name] = auth.issue_token(engine, name)[1]
    engine.dispose()
    return tokens
