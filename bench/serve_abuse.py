"""Abuse test of ``appvet serve`` on 127.0.0.1: crafted uploads and oversized bodies against a live server.

    python bench/serve_abuse.py [--workers 2] [--urls 1000000] [--bodies 6]

Starts the service in a subprocess with two teams and samples the server's own resident memory
(and with its review processes) all along, while it:

1. sends ``--bodies`` bodies declared as 300 MiB without a token, and as many with a valid token,
   streaming up to 300 MiB each (chunked, no declared length) to ``POST /api/jobs`` and
   ``POST /api/jobs/{id}/approvals``;
2. reviews two crafted APKs (20,000 activities sharing one 50 KB name; ``--urls`` distinct URLs in
   text assets) and fetches their JSON, SARIF and HTML reports;
3. posts a 48 KB nested waivers file;
4. runs 12 uploads + submits and 12 approvals at once, then checks that the audit log holds every
   one of them and verifies;
5. has team A queue 10 reviews, then team B one, and times B's job (fair share);
6. waits for every job and counts any left ``queued`` or ``running``.

Prints one JSON object; exit 1 if the server's peak RSS reached 1 GiB or a job was lost or stranded.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve_load import MemorySampler  # noqa: E402
from tests.serve.attack import crafted_apk, nested_yaml, raw_request, stream_body  # noqa: E402
from tests.serve.server import add_users, make_server  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "built"
MiB = 1024 * 1024


def variant(base: bytes, tag: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(f"assets/abuse-{tag}.txt", tag)
    return out.getvalue()


def wait(c: httpx.Client, job_id: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def run_all(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--urls", type=int, default=1_000_000)
    ap.add_argument("--bodies", type=int, default=6)
    ap.add_argument("--body-mib", type=int, default=300)
    args = ap.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = make_server(tmp, limits={"seconds": 600, "workers": args.workers})
        tokens = add_users(server.store, [("ana", "red", "analyst"), ("apo", "red", "approver"),
                                          ("bob", "blue", "analyst"), ("adm", "red", "admin")])
        server.start()
        assert server.proc is not None
        sampler = MemorySampler(server.proc.pid)
        sampler.start()
        ana = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens['ana']}"}, timeout=600)
        apo = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens['apo']}"}, timeout=600)
        bob = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens['bob']}"}, timeout=600)
        every_job: list[tuple[httpx.Client, str]] = []

        def review(c: httpx.Client, name: str, body: bytes, **options: object) -> dict:
            up = c.post("/api/uploads", params={"kind": "app", "name": name}, content=body)
            up.raise_for_status()
            job = c.post("/api/jobs", json={"app": up.json()["sha256"], **options})
            job.raise_for_status()
            every_job.append((c, job.json()["id"]))
            return job.json()

        first = review(ana, "plain.apk", (FIXTURES / "plain.apk").read_bytes())
        done = wait(ana, first["id"], 300)

        # 1. bodies
        t0 = time.perf_counter()
        statuses: list[object] = []
        lock = threading.Lock()

        def unauthenticated(i: int) -> None:
            head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
                    f"Content-Length: {args.body_mib * MiB}")
            status, _raw, _s = raw_request(server.port, head, b"{" * MiB, wait=30)
            with lock:
                statuses.append(("unauthenticated", status))

        def streamed(i: int) -> None:
            path = "/api/jobs" if i % 2 else f"/api/jobs/{done['id']}/approvals"
            head = (f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {tokens['apo']}\n"
                    "Content-Type: application/json")
            status, sent = stream_body(server.port, head, args.body_mib * MiB)
            with lock:
                statuses.append(("streamed", status, round(sent / MiB)))

        run_all([threading.Thread(target=unauthenticated, args=(i,)) for i in range(args.bodies)]
                + [threading.Thread(target=streamed, args=(i,)) for i in range(args.bodies)])
        out["bodies"] = {"answers": statuses, "seconds": round(time.perf_counter() - t0, 2),
                         "peak_server_rss_mb": round(sampler.peak_server / MiB, 1)}

        # 2. crafted apps
        crafted = {}
        for name, kwargs in (("components.apk", {"components": 20_000, "name_length": 50_000}),
                             ("urls.apk", {"urls": args.urls})):
            apk = crafted_apk(tmp / name, **kwargs)  # type: ignore[arg-type]
            t1 = time.perf_counter()
            job = wait(ana, review(ana, name, apk.read_bytes())["id"], 900)
            sizes = {}
            if job["state"] == "done":
                for kind in ("json", "sarif", "html"):
                    r = ana.get(f"/api/jobs/{job['id']}/review.{kind}")
                    sizes[kind] = len(r.content) if r.status_code == 200 else r.status_code
            crafted[name] = {"apk_bytes": apk.stat().st_size, "state": job["state"],
                             "message": job.get("message"), "seconds": round(time.perf_counter() - t1, 1),
                             "report_bytes": sizes}
        out["crafted"] = crafted

        # 3. nested waivers
        t1 = time.perf_counter()
        r = apo.post(f"/api/jobs/{done['id']}/approvals", json={"decision": "approve", "waivers": nested_yaml(48_000)})
        out["nested_waivers"] = {"status": r.status_code, "seconds": round(time.perf_counter() - t1, 3)}

        # 4. concurrent writes
        before = len(ana.get("/api/audit", params={"limit": 1000}).json())
        base = (FIXTURES / "reach.apk").read_bytes()
        codes: list[int] = []

        def write_upload(i: int) -> None:
            job = review(ana, f"c{i}.apk", variant(base, f"c{i}"))
            with lock:
                codes.append(201 if job.get("id") else 500)

        def write_approval(i: int) -> None:
            rr = apo.post(f"/api/jobs/{done['id']}/approvals", json={"decision": "approve", "comment": f"n{i}"})
            with lock:
                codes.append(rr.status_code)

        run_all([threading.Thread(target=f, args=(i,)) for i in range(12) for f in (write_upload, write_approval)])
        after = len(ana.get("/api/audit", params={"limit": 1000}).json())
        out["concurrent"] = {"answers_201": codes.count(201), "requests": len(codes),
                             "audit_entries_added": after - before, "expected_entries": 36}

        # 5. fair share (after the earlier jobs settle: the per-user quota counts jobs in flight)
        for c, jid in every_job:
            wait(c, jid, 900)
        print(json.dumps(out), file=sys.stderr, flush=True)
        multisdk = (FIXTURES / "multisdk.apk").read_bytes()
        for i in range(10):
            review(ana, f"a{i}.apk", variant(multisdk, f"a{i}"))
        t1 = time.perf_counter()
        b = review(bob, "b.apk", variant(multisdk, "b"))
        b_job = wait(bob, b["id"], 900)
        out["fair_share"] = {"team_a_queued": 10, "team_b_job_seconds": round(time.perf_counter() - t1, 1),
                             "team_b_state": b_job["state"]}

        # 6. every job settles
        states: dict[str, int] = {}
        for c, jid in every_job:
            s = wait(c, jid, 900)["state"]
            states[s] = states.get(s, 0) + 1
        verify = httpx.get(server.url + "/api/audit/verify", headers={"Authorization": f"Bearer {tokens['adm']}"})
        sampler.stop.set()
        server.stop()
        out["jobs"] = {"submitted": len(every_job), "states": states}
        out["audit_verify"] = verify.json()
        out["peak_server_rss_mb"] = round(sampler.peak_server / MiB, 1)
        out["peak_rss_with_reviews_mb"] = round(sampler.peak_total / MiB, 1)
    stranded = sum(n for s, n in states.items() if s not in ("done", "failed"))
    out["ok"] = (sampler.peak_server < 1024 * MiB and stranded == 0
                 and out["concurrent"]["audit_entries_added"] == 36  # type: ignore[index]
                 and out["concurrent"]["answers_201"] == 24)  # type: ignore[index]
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
