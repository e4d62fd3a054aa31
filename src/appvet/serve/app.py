"""The service: a REST API under ``/api`` and a server-rendered web UI under ``/ui``, one FastAPI app.

    create_app(settings) -> FastAPI

The API authenticates with ``Authorization: Bearer <token>`` only (no cookies, so no cross-site
request can use it); the UI with a signed session cookie naming the token it was opened with,
plus a synchroniser CSRF token on every state-changing request. Every job, upload, review and
approval belongs to a team and is looked up with the caller's team in the query, so another
team's object answers 404 exactly like a missing one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, insert, select

from appvet import __version__
from appvet.errors import AppvetError, LimitExceeded
from appvet.model import Review, from_dict
from appvet.serve import audit, auth, db
from appvet.serve.blobs import BlobStore
from appvet.serve.jobs import JobLimits, Jobs, LocalExecutor

SHA = r"^[0-9a-f]{64}$"
JOB_ID = r"^[0-9a-f]{32}$"
SESSION_COOKIE = "appvet_session"
PRE_COOKIE = "appvet_pre"
SESSION_SECONDS = 12 * 3600
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Settings:
    store: str = "sqlite:///appvet-serve.db"
    data_dir: Path = Path("appvet-serve-data")
    scheduler: str | None = None
    limits: JobLimits = field(default_factory=JobLimits)
    upload_limits: dict[str, int] = field(default_factory=lambda: {
        "app": 512 * 1024**2, "capture": 256 * 1024**2, "device": 1024**2})
    secure_cookies: bool = False
    """Mark cookies ``Secure``: set it when the service is reached over HTTPS (behind a proxy)."""
    auth_rate: float = 1.0
    auth_burst: int = 10
    kb: tuple[Path, ...] = ()
    body_limit: int = 256 * 1024
    """Largest body of any request but an upload (JSON and forms)."""
    idle_seconds: float = 30.0
    """A client that sends nothing of its request body for this long is answered 408 and dropped."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed; nobody else's is."""
    session_idle_seconds: int = 1800
    """A UI session unused for this long has ended."""
    quotas: Quotas = field(default_factory=lambda: Quotas())
    keepalive_seconds: int = 5
    """An idle kept-alive connection is closed after this long."""
    header_seconds: float = 10.0
    """A connection whose request headers are not complete this long after they began is closed."""
    max_connections: int = 1000
    """Connections served at once; past it new requests are answered 503."""


@dataclass(frozen=True)
class Quotas:
    """What one user or team may hold at once; past it the service answers 429 (rate, jobs) or 413 (disk)."""

    user_active_jobs: int = 20
    """Queued plus running jobs of one user."""
    team_active_jobs: int = 60
    """Queued plus running jobs of one team."""
    team_disk: int = 20 * 1024**3
    """Bytes of uploads a team may keep."""
    user_uploads_per_hour: int = 300


@dataclass
class Services:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    jobs: Jobs
    limiter: auth.RateLimiter
    secret: bytes
    env: Environment
    audit: audit.AuditLog


# --- request and response bodies ------------------------------------------------------------------


class JobRequest(BaseModel):
    app: str = Field(pattern=SHA, description="sha256 of an upload of kind 'app' made by your team")
    captures: list[Annotated[str, Field(pattern=SHA)]] = Field(default_factory=list, max_length=8)
    device: str | None = Field(default=None, pattern=SHA)
    policy: str | None = Field(default=None, max_length=64, description="name of a shipped policy")
    on: date | None = Field(default=None, description="date at which ownership and bans are evaluated")


class ApprovalRequest(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=4000)
    waivers: str = Field(default="", max_length=65536, description="waivers file (YAML), may be empty")


class UploadOut(BaseModel):
    sha256: str
    kind: str
    size: int
    name: str


class JobOut(BaseModel):
    id: str
    state: str
    progress: str
    app_sha256: str
    app_name: str
    package: str | None = None
    version_name: str | None = None
    verdict: str | None = None
    message: str | None = None
    review_hash: str | None = None
    created_at: str
    finished_at: str | None = None


# --- helpers shared by the API and the UI ---------------------------------------------------------


def job_out(row: dict[str, Any]) -> JobOut:
    return JobOut(id=row["id"], state=row["state"], progress=row["progress"], app_sha256=row["app_sha256"],
                  app_name=row["app_name"], package=row.get("package"), version_name=row.get("version_name"),
                  verdict=row.get("verdict"), message=row.get("message"), review_hash=row.get("review_hash"),
                  created_at=row["created_at"].isoformat(),
                  finished_at=row["finished_at"].isoformat() if row.get("finished_at") else None)


def team_job(svc: Services, who: auth.Principal, job_id: str) -> dict[str, Any]:
    if not re.match(JOB_ID, job_id):
        raise HTTPException(404, "no such job")
    with svc.engine.connect() as conn:
        row = conn.execute(select(db.jobs).where(db.jobs.c.id == job_id, db.jobs.c.team_id == who.team_id)).first()
    if row is None:
        raise HTTPException(404, "no such job")
    return dict(row._mapping)


def team_jobs(svc: Services, who: auth.Principal, limit: int = 200) -> list[dict[str, Any]]:
    with svc.engine.connect() as conn:
        rows = conn.execute(select(db.jobs).where(db.jobs.c.team_id == who.team_id)
                            .order_by(db.jobs.c.created_at.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def review_text(svc: Services, job: dict[str, Any]) -> str:
    """A finished job's review as stored (JSON text); 409 while the job has none."""
    from appvet.fleet.store import reviews

    if job["state"] != "done" or job["review_id"] is None:
        raise HTTPException(409, f"job is {job['state']}, no review yet")
    with svc.engine.connect() as conn:
        return str(conn.execute(select(reviews.c.review_json).where(reviews.c.id == job["review_id"])).scalar_one())


def job_review(svc: Services, job: dict[str, Any]) -> Review:
    return from_dict(json.loads(review_text(svc, job)))


def html_report(review: Review) -> str:
    from appvet.report.html import render_html

    return render_html(review)


def _report_file(svc: Services, job: dict[str, Any], kind: str) -> Path:
    if job["state"] != "done" or job["review_id"] is None or not job["review_hash"]:
        raise HTTPException(409, f"job is {job['state']}, no review yet")
    path = svc.jobs.report_path(job["review_hash"], kind)
    if not path.is_file():
        try:
            svc.jobs.render(job["review_id"], job["review_hash"])
        except Exception as exc:
            raise HTTPException(503, svc.jobs.scrub(str(exc).splitlines()[0] if str(exc) else "cannot render")
                                ) from None
    return path


def report_response(svc: Services, job: dict[str, Any], kind: str) -> Response:
    """A finished job's review as JSON (the stored text), SARIF or HTML (files the worker rendered)."""
    from fastapi.responses import FileResponse

    if kind == "json":
        return Response(review_text(svc, job), media_type="application/json")
    path = _report_file(svc, job, kind)
    if kind == "html":
        html = path.read_text(encoding="utf-8")
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": report_csp(html)})
    return FileResponse(path, media_type="application/sarif+json")


def verdict_reasons(svc: Services, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The rules that decided a finished job's verdict (as the worker listed them); [] without a policy."""
    try:
        path = _report_file(svc, job, "reasons")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (HTTPException, OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def diff_of(svc: Services, who: auth.Principal, old: str, new: str) -> dict[str, Any]:
    from appvet.report.diff import diff_reviews

    return diff_reviews(job_review(svc, team_job(svc, who, old)), job_review(svc, team_job(svc, who, new)))


def known_policies() -> set[str]:
    from appvet.policy import shipped_policies

    names = set()
    for p in shipped_policies():
        names.add(p if isinstance(p, str) else getattr(p, "name", str(p)))
    return names


async def save_upload(svc: Services, who: auth.Principal, kind: str, name: str, request: Request) -> UploadOut:
    """Store the request's body as an upload of ``kind``; the guard has refused a malformed length."""
    from starlette.concurrency import run_in_threadpool

    length = request.headers.get("content-length")
    declared = int(length) if length and length.isdigit() else None
    chunks = request.stream()
    if kind not in db.UPLOAD_KINDS:
        raise HTTPException(422, f"kind: one of {', '.join(db.UPLOAD_KINDS)}")
    limit = svc.settings.upload_limits[kind]
    if declared is not None and declared > limit:
        raise HTTPException(413, f"upload larger than {limit} bytes")
    room = await run_in_threadpool(upload_room, svc, who)
    if declared is not None and declared > room:
        raise HTTPException(413, f"your team's upload space is used up ({room} bytes left); remove old uploads "
                                 "or ask an admin to raise the quota")
    try:
        sha, size = await svc.blobs.save(chunks, min(limit, room))
    except LimitExceeded:
        if room < limit:
            raise HTTPException(413, f"your team's upload space is used up ({room} bytes left)") from None
        raise HTTPException(413, f"upload larger than {limit} bytes") from None
    if size == 0:
        raise HTTPException(400, "empty upload")
    label = _display_name(name) or f"{kind}-{sha[:12]}"
    return await run_in_threadpool(_record_upload, svc, who, kind, sha, size, label)


def upload_room(svc: Services, who: auth.Principal) -> int:
    """Bytes the caller's team may still upload; 429 past the user's hourly number of uploads."""
    from datetime import timedelta

    q = svc.settings.quotas
    with svc.engine.connect() as conn:
        used = conn.execute(select(func.coalesce(func.sum(db.uploads.c.size), 0))
                            .where(db.uploads.c.team_id == who.team_id)).scalar_one()
        recent = conn.execute(select(func.count()).select_from(db.uploads).where(
            db.uploads.c.user_id == who.user_id, db.uploads.c.created_at > db.now() - timedelta(hours=1))).scalar_one()
    if recent >= q.user_uploads_per_hour:
        raise HTTPException(429, f"you have made {recent} uploads in the last hour (the limit); try again later",
                            headers={"Retry-After": "600"})
    return max(0, q.team_disk - int(used))


def _record_upload(svc: Services, who: auth.Principal, kind: str, sha: str, size: int, label: str) -> UploadOut:
    with svc.audit.transaction() as conn:
        exists = conn.execute(select(db.uploads.c.id).where(
            db.uploads.c.team_id == who.team_id, db.uploads.c.sha256 == sha, db.uploads.c.kind == kind)).first()
        if not exists:
            conn.execute(insert(db.uploads).values(team_id=who.team_id, sha256=sha, kind=kind, size=size, name=label,
                                                   user_id=who.user_id, created_at=db.now()))
            svc.audit.add(conn, who.name, who.team, "upload", sha, {"kind": kind, "size": size, "name": label})
    return UploadOut(sha256=sha, kind=kind, size=size, name=label)


def _display_name(name: str) -> str:
    """A file name for display only (never for a path): the last component, printable, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable() and c not in "<>\"'`")[:120]


def submit_job(svc: Services, who: auth.Principal, req: JobRequest) -> JobOut:
    wanted = [(req.app, "app")] + [(c, "capture") for c in req.captures] + ([(req.device, "device")]
                                                                            if req.device else [])
    with svc.engine.connect() as conn:
        names = {}
        for sha, kind in wanted:
            row = conn.execute(select(db.uploads.c.name).where(
                db.uploads.c.team_id == who.team_id, db.uploads.c.sha256 == sha, db.uploads.c.kind == kind)).first()
            if row is None or not svc.blobs.exists(sha):
                raise HTTPException(422, f"no {kind} upload {sha[:12]}… for your team")
            names[sha] = row[0]
    if req.policy and req.policy not in known_policies():
        raise HTTPException(422, f"unknown policy {req.policy!r}")
    check_job_quota(svc, who)
    # The evaluation date is fixed when the job is asked for, so that it is part of the job's cache key
    # and a retry after a restart gives the same review.
    options: dict[str, Any] = {"captures": sorted(set(req.captures)), "device": req.device, "policy": req.policy,
                               "on": (req.on or date.today()).isoformat(),
                               "names": {sha: names[sha] for sha, _ in wanted}}
    job_id = svc.jobs.submit(req.app, who.team_id, who.user_id, options, names[req.app])
    svc.audit.append(who.name, who.team, "job.submit", job_id,
                     {"app": req.app, **{k: v for k, v in options.items() if k != "names"}})
    row = svc.jobs.status(job_id)
    assert row is not None
    return job_out(row)


def check_job_quota(svc: Services, who: auth.Principal) -> None:
    q = svc.settings.quotas
    active = db.jobs.c.state.in_(("queued", "running"))
    with svc.engine.connect() as conn:
        mine = conn.execute(select(func.count()).select_from(db.jobs)
                            .where(db.jobs.c.user_id == who.user_id, active)).scalar_one()
        team = conn.execute(select(func.count()).select_from(db.jobs)
                            .where(db.jobs.c.team_id == who.team_id, active)).scalar_one()
    if mine >= q.user_active_jobs:
        raise HTTPException(429, f"you have {mine} jobs queued or running (the limit); wait for some to finish",
                            headers={"Retry-After": "30"})
    if team >= q.team_active_jobs:
        raise HTTPException(429, f"your team has {team} jobs queued or running (the limit); wait for some to finish",
                            headers={"Retry-After": "30"})


def record_approval(svc: Services, who: auth.Principal, job_id: str, req: ApprovalRequest) -> dict[str, Any]:
    from appvet.policy import PolicyError, parse_waivers

    if not who.may("approver"):
        raise HTTPException(403, "approving needs the approver role")
    job = team_job(svc, who, job_id)
    if job["state"] != "done" or not job["review_hash"]:
        raise HTTPException(409, f"job is {job['state']}: only a finished review can be approved")
    waivers: list[dict[str, Any]] = []
    if req.waivers.strip():
        try:
            parsed = parse_waivers(req.waivers.encode("utf-8"), "waivers")
        except PolicyError as exc:
            raise HTTPException(422, exc.diagnostics()) from None
        waivers = [{"fingerprint": w.fingerprint, "rule": w.rule, "sdk": w.sdk, "package": w.package,
                    "reason": w.reason, "approver": w.approver, "expires": w.expires.isoformat()} for w in parsed]
    with svc.audit.transaction() as conn:
        aid = conn.execute(insert(db.approvals).values(
            job_id=job_id, team_id=who.team_id, user_id=who.user_id, decision=req.decision, comment=req.comment,
            waivers=req.waivers, app_sha256=job["app_sha256"], review_hash=job["review_hash"],
            created_at=db.now())).inserted_primary_key[0]
        svc.audit.add(conn, who.name, who.team, f"approval.{req.decision}", job_id,
                      {"approval": aid, "job": job_id, "app": job["app_sha256"], "review_hash": job["review_hash"],
                       "comment": req.comment, "waivers": waivers,
                       "waivers_sha256": audit.waivers_digest(req.waivers)})
    return {"id": aid, "job": job_id, "decision": req.decision, "by": who.name, "app_sha256": job["app_sha256"],
            "review_hash": job["review_hash"], "waivers": waivers}


def approvals_of(svc: Services, who: auth.Principal, job_id: str) -> list[dict[str, Any]]:
    team_job(svc, who, job_id)
    with svc.engine.connect() as conn:
        rows = conn.execute(
            select(db.approvals, db.users.c.name.label("by"))
            .join(db.users, db.users.c.id == db.approvals.c.user_id)
            .where(db.approvals.c.job_id == job_id, db.approvals.c.team_id == who.team_id)
            .order_by(db.approvals.c.id)).all()
    return [{"id": r.id, "decision": r.decision, "by": r.by, "at": r.created_at.isoformat(), "comment": r.comment,
             "waivers": r.waivers, "app_sha256": r.app_sha256, "review_hash": r.review_hash} for r in rows]


def team_summary(svc: Services, who: auth.Principal) -> dict[str, Any]:
    """The team's dashboard: jobs by state, reviews by verdict, the SDKs and owner countries seen most."""
    from appvet.fleet.store import sdk_hits

    with svc.engine.connect() as conn:
        states = dict(conn.execute(select(db.jobs.c.state, func.count()).where(db.jobs.c.team_id == who.team_id)
                                   .group_by(db.jobs.c.state)).all())
        verdicts = dict(conn.execute(select(func.coalesce(db.jobs.c.verdict, "none"), func.count())
                                     .where(db.jobs.c.team_id == who.team_id, db.jobs.c.state == "done")
                                     .group_by(func.coalesce(db.jobs.c.verdict, "none"))).all())
        ids = select(db.jobs.c.review_id).where(db.jobs.c.team_id == who.team_id,
                                                db.jobs.c.review_id.is_not(None)).distinct().scalar_subquery()
        sdks = conn.execute(select(sdk_hits.c.name, sdk_hits.c.owner_country,
                                   func.count(func.distinct(sdk_hits.c.review_id)).label("n"))
                            .where(sdk_hits.c.review_id.in_(ids))
                            .group_by(sdk_hits.c.name, sdk_hits.c.owner_country)
                            .order_by(func.count(func.distinct(sdk_hits.c.review_id)).desc(), sdk_hits.c.name)
                            .limit(20)).all()
    return {"jobs": states, "verdicts": verdicts,
            "sdks": [{"name": s.name, "country": s.owner_country, "reviews": s.n} for s in sdks]}


# --- security headers ------------------------------------------------------------------------------


def page_csp(nonce: str) -> str:
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def report_csp(html: str) -> str:
    """The report page's CSP: its own inline scripts by hash, nothing from elsewhere."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S))
    return (f"default-src 'none'; script-src {hashes or chr(39) + 'none' + chr(39)}; style-src 'unsafe-inline'; "
            "img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# --- the app ---------------------------------------------------------------------------------------


def open_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = open_service_store(settings.store)
    blobs = BlobStore(settings.data_dir / "blobs")
    blobs.sweep()
    if settings.scheduler:
        from appvet.serve.jobs import DaskExecutor

        executor: Any = DaskExecutor(settings.scheduler, settings.limits)
    else:
        executor = LocalExecutor(settings.limits)
    jobs = Jobs(engine, blobs, executor, settings.limits, settings.kb)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    return Services(settings=settings, engine=engine, blobs=blobs, jobs=jobs,
                    limiter=auth.RateLimiter(settings.auth_rate, settings.auth_burst),
                    secret=_secret(settings.data_dir), env=env,
                    audit=audit.AuditLog.open(engine, settings.data_dir))


def open_service_store(url: str) -> Engine:
    """The store with the service's tables; a new SQLite file is made readable by its owner only."""
    import os

    from appvet.fleet.store import open_store

    path = sqlite_path(url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = open_store(url)
    db.create_tables(engine)
    if path is not None:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if p.exists():
                p.chmod(0o600)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:
        return None
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _secret(data_dir: Path) -> bytes:
    """The cookie-signing key: made once, kept in the data directory readable by the owner only."""
    return audit._secret_file(data_dir / "session.key")


class ServiceApp(FastAPI):
    """FastAPI with the request guard outside its own error handling (see ``appvet.serve.guard``)."""

    def build_middleware_stack(self) -> Any:
        from appvet.serve.guard import Guard

        return Guard(super().build_middleware_stack(), self.state.svc)


def create_app(settings: Settings) -> FastAPI:
    from contextlib import asynccontextmanager

    svc = open_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        counts = svc.jobs.recover()
        svc.audit.append("system", "", "server.start", __version__, counts)
        yield
        svc.jobs.shutdown()
        svc.engine.dispose()

    app = ServiceApp(title="appvet service", version=__version__, lifespan=lifespan,
                     description="Review Android apps as a team: uploads, review jobs, reports, approvals, audit log.",
                     docs_url=None, redoc_url=None)
    app.state.svc = svc
    app.router.redirect_slashes = False

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.nonce = secrets.token_urlsafe(16)
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        response.headers.setdefault("Content-Security-Policy", page_csp(request.state.nonce))
        return response

    @app.exception_handler(AppvetError)
    async def appvet_error(_request: Request, exc: AppvetError) -> JSONResponse:
        return JSONResponse({"detail": svc.jobs.scrub(exc.diagnostics())}, status_code=400)

    from appvet.serve import api, ui

    app.include_router(api.router(svc))
    app.include_router(ui.router(svc))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/ui", include_in_schema=False)
    def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    return app


def serve(settings: Settings, host: str, port: int, announce: bool = False) -> None:
    """Run the service with uvicorn: forwarded headers are handled by the guard, never by uvicorn."""
    import sys

    import uvicorn

    app = create_app(settings)
    from appvet.serve.protocol import with_header_deadline

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False,
                            http=with_header_deadline(settings.header_seconds),
                            proxy_headers=False, timeout_keep_alive=settings.keepalive_seconds,
                            limit_concurrency=settings.max_connections, h11_max_incomplete_event_size=16 * 1024)
    server = uvicorn.Server(config)
    if announce:
        shown = f"[{host}]" if ":" in host else host
        sys.stderr.write(f"appvet serve: listening on http://{shown}:{port}/ui/ (API under /api); Ctrl-C stops it\n")
        sys.stderr.flush()
    server.run()


# --- authentication dependencies -------------------------------------------------------------------


def client_ip(request: Request) -> str:
    """The caller's address as the guard established it (forwarded headers only from trusted proxies)."""
    ip = getattr(request.state, "client_ip", None)
    return ip if isinstance(ip, str) else (request.client.host if request.client else "?")


def bearer(request: Request) -> auth.Principal:
    """The caller of an API route: the guard checks every token under /api before any body is read,
    so a route it did not check is refused rather than checked a second, different way."""
    who = getattr(request.state, "who", None)
    if not isinstance(who, auth.Principal):
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return who


def sign(svc: Services, data: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    mac = hmac.new(svc.secret, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unsign(svc: Services, value: str | None, max_age: int = SESSION_SECONDS) -> dict[str, Any] | None:
    import time

    if not value or "." not in value or len(value) > 4096:
        return None
    body, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(hmac.new(svc.secret, body.encode(), hashlib.sha256).hexdigest(), mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("at"), int) or time.time() - data["at"] > max_age:
        return None
    return data


def text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status)


__all__ = ["Settings", "create_app", "html_report", "report_csp"]
