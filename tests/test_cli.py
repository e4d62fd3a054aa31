"""The command line: exit codes, one-line errors, reports on stdout or in a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BAD, BUILT

APPVET = [sys.executable, "-m", "appvet.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APPVET, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


BAD_CASES = {
    "random.apk": "not a zip",
    "truncated.apk": "truncated",
    "zipbomb.apk": "zip bomb",
    "corrupt-dex.apk": "classes.dex",
    "traversal.apk": "unsafe entry name",
    "not-an-apk.zip": "not an APK",
    "empty.apk": "empty file",
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_input_gives_exit_2_and_one_line(name: str) -> None:
    path = BAD / name
    assert path.exists(), f"fixture missing: {path}"
    proc = run("review", str(path), "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("appvet: error: ") and name in lines[0]
    assert BAD_CASES[name] in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_file_is_exit_2() -> None:
    proc = run("review", "/nonexistent/app.apk")
    assert proc.returncode == 2
    assert "app.apk" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_option_is_exit_2() -> None:
    assert run("review", "--no-such-option", str(BUILT / "plain.apk")).returncode == 2


def test_json_to_stdout_is_the_report_only() -> None:
    proc = run("review", str(BUILT / "plain.apk"), "--format", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["app"]["package"] == "org.example.plain"


def test_output_file_and_summary_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    proc = run("review", str(BUILT / "multisdk.apk"), "--format", "json", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text())["app"]["package"] == "com.example.multisdk"
    assert "Umeng" in proc.stderr  # the summary names SDKs


def test_failed_review_leaves_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    out.write_text("previous")
    proc = run("review", str(BAD / "random.apk"), "--format", "json", "-o", str(out))
    assert proc.returncode == 2
    assert out.read_text() == "previous"
