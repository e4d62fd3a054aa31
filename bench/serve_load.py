"""Load and crash test of ``appvet serve`` on 127.0.0.1.

    python bench/serve_load.py [--uploads 200] [--distinct 40] [--concurrency 200]

1. Starts the service in a subprocess, sends ``--uploads`` concurrent uploads + job submissions
   from this process (variants of the test fixtures, ``--distinct`` different files so that most
   are real reviews and some reuse a stored one), waits for every job and checks that none was
   lost or duplicated; samples the server's resident memory (with its review children) meanwhile.
2. Submits another batch of new variants, ``kill -9`` the server while they run, restarts it and
   checks that every job ends ``done`` or ``failed`` (none left queued or running).

Prints one JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve.server import add_users, make_server  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "built"
SOURCES = ["multisdk.apk", "plain.apk", "reach.apk", "diff-v1.apk", "diff-v2.apk", "multidex.apk"]


def variant(base: bytes, i: int) -> bytes:
    """The same app with one extra asset: new bytes (a new review), same analysis work."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(f"assets/bench-{i}.txt", f"variant {i}")
    return out.getvalue()


def payloads(n: int, distinct: int, offset: int) -> list[tuple[str, bytes]]:
    bases = [(name, (FIXTURES / name).read_bytes()) for name in SOURCES]
    made = [(f"{bases[k % len(bases)][0]}#{offset + k}", variant(bases[k % len(bases)][1], offset + k))
            for k in range(distinct)]
    return [made[i % len(made)] for i in range(n)]


async def submit_all(url: str, token: str, items: list[tuple[str, bytes]], concurrency: int) -> list[str]:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                                 limits=limits) as c:
        async def one(name: str, body: bytes) -> str:
            async with sem:
                up = await c.post("/api/uploads", params={"kind": "app", "name": name}, content=body)
                up.raise_for_status()
                job = await c.post("/api/jobs", json={"app": up.json()["sha256"]})
                job.raise_for_status()
                return str(job.json()["id"])

        return list(await asyncio.gather(*(one(n, b) for n, b in items)))


def wait_all(url: str, token: str, ids: list[str], seconds: float) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while True:
            jobs = {j["id"]: j["state"] for j in c.get("/api/jobs", params={"limit": 1000}).json()}
            states = {i: jobs.get(i, "missing") for i in ids}
            if all(s in ("done", "failed") for s in states.values()) or time.monotonic() > deadline:
                return states


class MemorySampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak_server = 0
        self.peak_total = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                server = self.proc.memory_info().rss
                total = server + sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except psutil.Error:
                break
            self.peak_server = max(self.peak_server, server)
            self.peak_total = max(self.peak_total, total)
            time.sleep(0.05)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=200)
    ap.add_argument("--distinct", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # One user sends everything here: the per-user quotas are raised so that they measure the
        # service, not the quota (bench/serve_abuse.py runs with the defaults).
        server = make_server(Path(tmp), limits={"seconds": 120, "workers": args.workers},
                             settings={"quotas": {"user_active_jobs": 100_000, "team_active_jobs": 100_000,
                                                  "user_uploads_per_hour": 100_000}})
        token = add_users(server.store, [("bench", "bench", "analyst")])["bench"]
        server.start()
        sampler = MemorySampler(server.proc.pid)  # type: ignore[union-attr]
        sampler.start()
        t0 = time.perf_counter()
        ids = asyncio.run(submit_all(server.url, token, payloads(args.uploads, args.distinct, 0), args.concurrency))
        t_submit = time.perf_counter() - t0
        states = wait_all(server.url, token, ids, 600)
        sampler.stop.set()
        counts: dict[str, int] = {}
        for s in states.values():
            counts[s] = counts.get(s, 0) + 1
        result["load"] = {"uploads": args.uploads, "distinct_files": args.distinct, "concurrency": args.concurrency,
                          "workers": args.workers, "job_ids": len(ids), "unique_job_ids": len(set(ids)),
                          "states": counts, "submit_seconds": round(t_submit, 2),
                          "total_seconds": round(time.perf_counter() - t0, 2),
                          "peak_server_rss_mb": round(sampler.peak_server / 2**20, 1),
                          "peak_rss_with_reviews_mb": round(sampler.peak_total / 2**20, 1)}
        ok_load = len(set(ids)) == args.uploads and counts.get("done", 0) == args.uploads

        # Crash: new files so the jobs really run, kill -9 while they do, restart.
        batch = asyncio.run(submit_all(server.url, token, payloads(24, 24, 10_000), 24))
        time.sleep(2.5)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            listed = c.get("/api/jobs", params={"limit": 1000}).json()
        before = {j["id"]: j["state"] for j in listed if j["id"] in batch}
        server.kill9()
        server.start()
        after = wait_all(server.url, token, batch, 300)
        server.stop()
        crash_counts: dict[str, int] = {}
        for s in after.values():
            crash_counts[s] = crash_counts.get(s, 0) + 1
        result["crash"] = {"jobs": len(batch), "states_at_kill": _count(before.values()),
                           "states_after_restart": crash_counts}
        ok_crash = set(after.values()) <= {"done", "failed"} and len(after) == len(batch)
    result["ok"] = ok_load and ok_crash
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def _count(values: object) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:  # type: ignore[attr-defined]
        out[v] = out.get(v, 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
