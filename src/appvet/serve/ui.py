"""The web UI (``/ui``): server-rendered pages, a signed session cookie, CSRF tokens on every post."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from appvet.serve import app as core
from appvet.serve import audit, auth, sessions

LOGIN_ERRORS = {"invalid": "Invalid or revoked token.", "expired": "Your session ended; sign in again.",
                "busy": "Too many attempts; wait a minute."}
"""The only texts the sign-in page shows: ``?error=`` picks one by name, anything else shows nothing."""


def router(svc: core.Services) -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)
    secure = svc.settings.secure_cookies

    def session(request: Request) -> tuple[auth.Principal, dict[str, Any]] | None:
        checked = getattr(request.state, "session", None)  # the guard's, on every post
        return checked if checked is not None else sessions.lookup(svc, request.cookies.get(core.SESSION_COOKIE))

    def signed_in(request: Request) -> tuple[auth.Principal, dict[str, Any]]:
        found = session(request)
        if found is None:
            raise HTTPException(303, headers={"Location": "/ui/login"})
        return found

    def check_csrf(data: dict[str, Any], sent: str | None) -> None:
        if not sent or not secrets.compare_digest(str(data.get("c", "")), sent):
            raise HTTPException(403, "missing or wrong CSRF token")

    def page(request: Request, name: str, who: auth.Principal | None, csrf: str = "", **ctx: Any) -> HTMLResponse:
        html = svc.env.get_template(name).render(nonce=request.state.nonce, who=who, csrf=csrf, **ctx)
        return HTMLResponse(html)

    @r.get("/login")
    def login_form(request: Request, error: str = "") -> Response:
        pre = secrets.token_urlsafe(24)
        resp = page(request, "login.html.j2", None, csrf=pre, error=LOGIN_ERRORS.get(error, ""))
        resp.set_cookie(core.PRE_COOKIE, core.sign(svc, {"c": pre, "at": int(time.time())}), max_age=900,
                        httponly=True, samesite="strict", secure=secure, path="/ui")
        return resp

    @r.post("/login")
    def login(request: Request, token: str = Form(..., max_length=200),
              csrf: str = Form(..., max_length=100)) -> Response:
        pre = core.unsign(svc, request.cookies.get(core.PRE_COOKIE), max_age=900)
        check_csrf(pre or {}, csrf)
        ip = core.client_ip(request)
        who = auth.authenticate(svc.engine, token.strip())
        if who is None:
            # Only failures spend the address's allowance: a valid token is never refused for others' guesses.
            if not svc.limiter.allow(ip):
                return RedirectResponse("/ui/login?error=busy", status_code=303)
            return RedirectResponse("/ui/login?error=invalid", status_code=303)
        svc.audit.append(who.name, who.team, "ui.sign_in", str(who.token_id), {"ip": ip})
        resp = RedirectResponse("/ui/", status_code=303)
        value = sessions.start(svc, who)
        resp.set_cookie(core.SESSION_COOKIE, value, max_age=core.SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=secure, path="/")
        resp.delete_cookie(core.PRE_COOKIE, path="/ui")
        return resp

    @r.post("/logout")
    def logout(request: Request, csrf: str = Form("", max_length=100)) -> Response:
        who, data = signed_in(request)
        check_csrf(data, csrf)
        sessions.end(svc, data["s"])
        svc.audit.append(who.name, who.team, "ui.sign_out", str(who.token_id), {"ip": core.client_ip(request)})
        resp = RedirectResponse("/ui/login", status_code=303)
        resp.delete_cookie(core.SESSION_COOKIE, path="/")
        return resp

    @r.get("/")
    def home(request: Request) -> Response:
        who, data = signed_in(request)
        return page(request, "home.html.j2", who, data["c"], jobs=core.team_jobs(svc, who, 200),
                    summary=core.team_summary(svc, who), policies=sorted(core.known_policies()))

    @r.post("/upload")
    async def upload(request: Request, kind: str = Query("app", pattern="^(app|capture|device)$"),
                     name: str = Query("", max_length=255), policy: str = Query("", max_length=64)) -> Response:
        # Database work goes to the thread pool: this handler runs on the event loop.
        who, data = await run_in_threadpool(signed_in, request)
        check_csrf(data, request.headers.get("x-csrf-token"))
        up = await core.save_upload(svc, who, kind, name, request)
        out: dict[str, Any] = {"upload": up.model_dump()}
        if kind == "app":
            try:
                req = core.JobRequest(app=up.sha256, policy=policy or None)
            except ValidationError as exc:
                raise HTTPException(422, str(exc).splitlines()[0]) from None
            out["job"] = (await run_in_threadpool(core.submit_job, svc, who, req)).model_dump()
        return JSONResponse(out, status_code=201)

    @r.get("/jobs/{job_id}")
    def job_page(request: Request, job_id: str) -> Response:
        who, data = signed_in(request)
        job = core.team_job(svc, who, job_id)
        others = [j for j in core.team_jobs(svc, who, 200) if j["state"] == "done" and j["id"] != job_id]
        reasons = core.verdict_reasons(svc, job) if job["state"] == "done" else []
        return page(request, "job.html.j2", who, data["c"], job=job, approvals=core.approvals_of(svc, who, job_id),
                    others=others, can_approve=who.may("approver"), reasons=reasons)

    @r.get("/jobs/{job_id}/status")
    def job_status(request: Request, job_id: str) -> Response:
        who, _ = signed_in(request)
        return JSONResponse(core.job_out(core.team_job(svc, who, job_id)).model_dump())

    @r.get("/jobs/{job_id}/report")
    def report(request: Request, job_id: str) -> Response:
        who, _ = signed_in(request)
        return core.report_response(svc, core.team_job(svc, who, job_id), "html")

    @r.get("/jobs/{job_id}/review.json")
    def review_json(request: Request, job_id: str) -> Response:
        who, _ = signed_in(request)
        return core.report_response(svc, core.team_job(svc, who, job_id), "json")

    @r.get("/jobs/{job_id}/review.sarif")
    def review_sarif(request: Request, job_id: str) -> Response:
        who, _ = signed_in(request)
        return core.report_response(svc, core.team_job(svc, who, job_id), "sarif")

    @r.post("/jobs/{job_id}/approve")
    def approve(request: Request, job_id: str, decision: str = Form(...), comment: str = Form("", max_length=4000),
                waivers: str = Form("", max_length=65536), csrf: str = Form("", max_length=100)) -> Response:
        who, data = signed_in(request)
        check_csrf(data, csrf)
        try:
            req = core.ApprovalRequest(decision=decision, comment=comment, waivers=waivers)  # type: ignore[arg-type]
        except ValidationError:
            raise HTTPException(422, "decision: approve or reject") from None
        core.record_approval(svc, who, job_id, req)
        return RedirectResponse(f"/ui/jobs/{job_id}", status_code=303)

    @r.get("/diff")
    def diff(request: Request, old: str = Query(""), new: str = Query("")) -> Response:
        who, data = signed_in(request)
        done = [j for j in core.team_jobs(svc, who, 500) if j["state"] == "done"]
        d = core.diff_of(svc, who, old, new) if old and new else None
        text = None
        if d is not None:
            from appvet.report.diff import render_diff_text

            text = render_diff_text(d)
        return page(request, "diff.html.j2", who, data["c"], jobs=done, old=old, new=new, diff=text)

    @r.get("/audit")
    def audit_page(request: Request) -> Response:
        who, data = signed_in(request)
        chain = svc.audit.verify() if who.may("admin") else None
        return page(request, "audit.html.j2", who, data["c"], entries=audit.entries(svc.engine, who.team, 300),
                    chain=chain)

    return r
