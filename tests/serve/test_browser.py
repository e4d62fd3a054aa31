"""End to end in Debian's chromium driven by Playwright: sign in, upload, wait, report, approve, audit."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.serve.conftest import FIXTURES

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def _browser_or_skip():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        print("skipped: /usr/bin/chromium is not installed")
        pytest.skip("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: playwright is not installed")
        pytest.skip("playwright is not installed")
    return sync_playwright


def test_sign_in_upload_report_approve_audit(server) -> None:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(server.url + "/ui/")
            assert page.url.endswith("/ui/login")
            page.fill("#token", server.tokens["apo"])
            page.click("#signin")
            page.wait_for_url("**/ui/")
            page.set_input_files("#file", str(FIXTURES / "multisdk.apk"))
            page.click("#upload")
            page.wait_for_url("**/ui/jobs/*", timeout=30_000)
            job_url = page.url
            page.wait_for_selector("#state.state-done", timeout=60_000)
            assert page.locator("#review-hash").inner_text().strip()
            page.click("#report")
            page.wait_for_load_state()
            assert "com.example.multisdk" in page.content()
            page.goto(job_url)
            page.fill("#comment", "accepted with a waiver")
            page.fill("#waivers", "waivers:\n  - rule: FA002\n    reason: vendor contract\n"
                                  "    approver: apo@example.com\n    expires: 2030-01-01\n")
            page.click("#approve")
            page.wait_for_selector("text=accepted with a waiver")
            page.goto(server.url + "/ui/audit")
            rows = page.locator("#audit").inner_text()
            assert "approval.approve" in rows and "FA002" in rows
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
