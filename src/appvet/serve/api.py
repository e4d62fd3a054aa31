"""The REST API (``/api``): every route but ``/api/health`` needs a bearer token."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from appvet import __version__
from appvet.serve import app as core
from appvet.serve import audit
from appvet.serve.auth import Principal as Who

JobId = Path(pattern=core.JOB_ID, description="job id (32 hex digits)")


def router(svc: core.Services) -> APIRouter:
    r = APIRouter(prefix="/api")
    need = Depends(core.bearer)

    @r.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @r.get("/me", tags=["service"])
    def me(who: Who = need) -> dict[str, Any]:
        return {"name": who.name, "team": who.team, "role": who.role}

    @r.post("/uploads", tags=["uploads"], status_code=201, response_model=core.UploadOut,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload(request: Request, kind: Literal["app", "capture", "device"] = Query(...),
                     name: str = Query("", max_length=255), who: Who = need) -> core.UploadOut:
        return await core.save_upload(svc, who, kind, name, request)

    @r.post("/jobs", tags=["jobs"], status_code=201, response_model=core.JobOut)
    def submit(req: core.JobRequest, who: Who = need) -> core.JobOut:
        return core.submit_job(svc, who, req)

    @r.get("/jobs", tags=["jobs"], response_model=list[core.JobOut])
    def jobs(limit: int = Query(100, ge=1, le=1000), who: Who = need) -> list[core.JobOut]:
        return [core.job_out(j) for j in core.team_jobs(svc, who, limit)]

    @r.get("/jobs/{job_id}", tags=["jobs"], response_model=core.JobOut)
    def job(job_id: str = JobId, who: Who = need) -> core.JobOut:
        return core.job_out(core.team_job(svc, who, job_id))

    @r.get("/jobs/{job_id}/review.json", tags=["reviews"])
    def review_json(job_id: str = JobId, who: Who = need) -> Response:
        return core.report_response(svc, core.team_job(svc, who, job_id), "json")

    @r.get("/jobs/{job_id}/review.sarif", tags=["reviews"])
    def review_sarif(job_id: str = JobId, who: Who = need) -> Response:
        return core.report_response(svc, core.team_job(svc, who, job_id), "sarif")

    @r.get("/jobs/{job_id}/review.html", tags=["reviews"], response_class=HTMLResponse)
    def review_html(job_id: str = JobId, who: Who = need) -> Response:
        return core.report_response(svc, core.team_job(svc, who, job_id), "html")

    @r.get("/diff", tags=["reviews"])
    def diff(old: str = Query(..., pattern=core.JOB_ID), new: str = Query(..., pattern=core.JOB_ID),
             format: Literal["json", "text"] = "json", who: Who = need) -> Any:
        d = core.diff_of(svc, who, old, new)
        if format == "text":
            from appvet.report.diff import render_diff_text

            return PlainTextResponse(render_diff_text(d))
        return JSONResponse(d)

    @r.post("/jobs/{job_id}/approvals", tags=["approvals"], status_code=201)
    def approve(req: core.ApprovalRequest, job_id: str = JobId, who: Who = need) -> dict[str, Any]:
        return core.record_approval(svc, who, job_id, req)

    @r.get("/jobs/{job_id}/approvals", tags=["approvals"])
    def approvals(job_id: str = JobId, who: Who = need) -> list[dict[str, Any]]:
        return core.approvals_of(svc, who, job_id)

    @r.get("/dashboard", tags=["reviews"])
    def dashboard(who: Who = need) -> dict[str, Any]:
        return core.team_summary(svc, who)

    @r.get("/audit", tags=["audit"])
    def audit_log(limit: int = Query(200, ge=1, le=1000), who: Who = need) -> list[dict[str, Any]]:
        return audit.entries(svc.engine, who.team, limit)

    @r.get("/audit/verify", tags=["audit"])
    def audit_verify(who: Who = need) -> dict[str, Any]:
        if not who.may("admin"):
            raise HTTPException(403, "verifying the whole chain needs the admin role")
        return svc.audit.verify()

    return r
