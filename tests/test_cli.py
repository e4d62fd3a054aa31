"""The command line: exit codes, one-line errors, reports on stdout or in a file."""

from __future__ import annotations

import json
import os
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


def test_policy_fail_exits_1_and_default_policy_passes() -> None:
    failing = run("review", str(BUILT / "multisdk.apk"), "--policy", "us-foreign-adversary", "--format", "json",
                  "-q", "--date", "2026-11-29")
    assert failing.returncode == 1, failing.stderr
    verdict = json.loads(failing.stdout)["verdict"]
    assert verdict["decision"] == "fail" and verdict["policy"].startswith("us-foreign-adversary")
    passing = run("review", str(BUILT / "multisdk.apk"), "--policy", "default", "--format", "json", "-q")
    assert passing.returncode == 0, passing.stderr
    assert json.loads(passing.stdout)["verdict"]["decision"] == "pass"


def test_fail_on_review_turns_a_review_verdict_into_exit_1() -> None:
    args = ("review", str(BUILT / "multisdk.apk"), "--policy", "eu-third-country-transfer", "--format", "json", "-q")
    lenient = run(*args)
    assert json.loads(lenient.stdout)["verdict"]["decision"] == "review"
    assert lenient.returncode == 0
    assert run(*args, "--fail-on", "review").returncode == 1


def test_unknown_policy_is_a_usage_error() -> None:
    proc = run("review", str(BUILT / "plain.apk"), "--policy", "no-such-policy")
    assert proc.returncode == 2 and "no-such-policy" in proc.stderr and "Traceback" not in proc.stderr


def test_sarif_output() -> None:
    proc = run("review", str(BUILT / "multisdk.apk"), "--policy", "gov-device-strict", "--format", "sarif", "-q")
    assert proc.returncode == 1
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_diff_of_two_builds(tmp_path: Path) -> None:
    proc = run("diff", str(BUILT / "diff-v1.apk"), str(BUILT / "diff-v2.apk"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert [s["name"] for s in d["sdks"]["added"]] == ["Tencent Bugly"]
    assert d["permissions"]["added"] == ["android.permission.READ_CONTACTS"]
    old = tmp_path / "old.json"
    old.write_text(run("review", str(BUILT / "diff-v1.apk"), "-f", "json", "-q").stdout)
    again = run("diff", str(old), str(BUILT / "diff-v2.apk"), "--format", "json")
    assert json.loads(again.stdout)["sdks"] == d["sdks"]


def test_kb_commands() -> None:
    show = run("kb", "show", "pangle", "--format", "json")
    assert show.returncode == 0
    data = json.loads(show.stdout)
    assert [link["id"] for link in data["owner_chain"]][-1] == "bytedance"
    assert run("kb", "show", "no-such-id").returncode == 2
    search = run("kb", "search", "com.zhiliaoapp.musically", "--format", "json")
    assert any(h["kind"] == "ban-list" for h in json.loads(search.stdout))
    stats = json.loads(run("kb", "stats", "--format", "json").stdout)
    assert stats["counts"]["sdks"] >= 600 and stats["counts"]["domains"] >= 2000


def test_output_to_a_device_writes_through_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    proc = run("review", str(BUILT / "plain.apk"), "-f", "json", "-q", "-o", str(fifo))
    out, _ = reader.communicate(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out)["app"]["package"] == "org.example.plain"
    assert fifo.is_fifo()
