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


def test_version_option() -> None:
    from appvet import __version__

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"appvet {__version__}"


@pytest.mark.parametrize(("args", "needle"), [
    (("--waivers", "w.yaml"), "--policy"),
    (("--fail-on", "review"), "--policy"),
    (("--device", "phone.yaml"), "-t CAPTURE"),
    (("--show-values",), "-t CAPTURE"),
])
def test_options_that_would_do_nothing_are_usage_errors(args: tuple[str, ...], needle: str) -> None:
    proc = run("review", str(BUILT / "plain.apk"), *args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_folder_given_to_review(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "one.apk").write_bytes((BUILT / "plain.apk").read_bytes())
    proc = run("review", str(apps))
    assert proc.returncode == 2 and "appvet fleet" in proc.stderr and "Traceback" not in proc.stderr
    splits = tmp_path / "splits"
    splits.mkdir()
    for name in ("base.apk", "split_config.arm64_v8a.apk", "split_config.en.apk"):
        (splits / name).write_bytes(b"PK")
    proc = run("review", str(splits))
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert "folder of 3 APKs of one app (1 base, 2 splits)" in line and "app.apks" in line


def test_baseline_drops_every_finding_already_in_it(tmp_path: Path) -> None:
    first = run("review", str(BUILT / "multisdk.apk"), "-f", "json", "-q", "--date", "2026-11-29")
    old = json.loads(first.stdout)
    assert old["findings"], "the sample must have findings without a policy"
    base = tmp_path / "old.json"
    base.write_text(first.stdout)
    again = run("review", str(BUILT / "multisdk.apk"), "-f", "json", "-q", "--date", "2026-11-29",
                "--baseline", str(base))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["findings"] == []
    with_policy = run("review", str(BUILT / "multisdk.apk"), "-f", "json", "-q", "--date", "2026-11-29",
                      "--policy", "us-foreign-adversary", "--baseline", str(base))
    known = {f["fingerprint"] for f in old["findings"]}
    assert not known & {f["fingerprint"] for f in json.loads(with_policy.stdout)["findings"]}


def test_date_is_shown_and_a_future_date_warns() -> None:
    proc = run("review", str(BUILT / "multisdk.apk"), "--date", "2021-01-10")
    assert proc.returncode == 0, proc.stderr
    assert "ownership and ban lists as of 2021-01-10" in proc.stdout
    assert "as of 2021-01-10" in proc.stdout.split("SDKs", 1)[1]
    future = run("review", str(BUILT / "plain.apk"), "-f", "json", "-q", "--date", "2999-01-01")
    assert future.returncode == 0
    assert "appvet: warning: --date 2999-01-01 is in the future" in future.stderr


def test_policy_reasons_in_the_terminal_summary() -> None:
    proc = run("review", str(BUILT / "multisdk.apk"), "--policy", "us-foreign-adversary", "--date", "2026-11-29")
    assert proc.returncode == 1
    data = json.loads(run("review", str(BUILT / "multisdk.apk"), "--policy", "us-foreign-adversary", "--date",
                          "2026-11-29", "-f", "json", "-q").stdout)
    text = " ".join(proc.stdout.split())
    assert "decided by 2 fail-level findings, 4 review-level findings" in text
    for fp in data["verdict"]["reasons"]:
        assert f"fingerprint {fp}" in text
    assert "fail: FA001" in text and "SDK Pangle SDK; owner ByteDance Ltd.; country CN" in text


def test_kb_stats_is_a_table_and_json_on_request() -> None:
    text = run("kb", "stats").stdout
    assert "┃ rows" in text and "┃ country" in text and "┃ share of rows" in text
    assert "{'" not in text  # no Python dict reprs
    data = json.loads(run("kb", "stats", "-f", "json").stdout)
    assert f"{data['counts']['sdks']:,}" in text


def test_an_unexpected_error_anywhere_is_exit_3_in_one_line() -> None:
    har = Path(__file__).parent / "fixtures" / "traffic" / "flows.har"
    code = ("import sys; sys.argv = ['appvet', 'traffic', sys.argv[1]]\n"
            "import appvet.report.terminal as t\n"
            "def boom(*a, **k): raise RuntimeError('boom')\n"
            "t.flows_table = boom\n"
            "from appvet.cli import main; main()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(har)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == ["appvet: error: internal error: RuntimeError: boom "
                                                "(re-run with --verbose and report it)"]


def test_a_closed_pipe_is_not_an_error() -> None:
    proc = subprocess.run(f"{sys.executable} -m appvet.cli review {BUILT / 'multisdk.apk'} | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_broken_overlay_kb_is_bad_input(tmp_path: Path) -> None:
    overlay = tmp_path / "our-kb"
    overlay.mkdir()
    (overlay / "sdks.yaml").write_text("kind: sdks\nrows: 3\n")
    proc = run("review", str(BUILT / "plain.apk"), "--kb", str(overlay))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f'appvet: error: {overlay}/sdks.yaml: "rows" must be a list'
    assert run("review", str(BUILT / "plain.apk"), "--kb", str(tmp_path / "missing")).returncode == 2
