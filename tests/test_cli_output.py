"""``-o``: where a report may be written, and what happens when it cannot be (exit 2, one line, nothing lost)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from appvet.errors import UsageError
from appvet.report.output import check_output, write_report
from tests.conftest import BUILT
from tests.test_cli import run

PLAIN = BUILT / "plain.apk"


def _one_line_exit_2(proc, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("appvet: error: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    proc = run("review", str(PLAIN), "-f", "json", "-o", str(tmp_path / "no-such" / "r.json"))
    _one_line_exit_2(proc, "does not exist")


def test_output_to_a_directory(tmp_path: Path) -> None:
    proc = run("review", str(PLAIN), "-f", "json", "-o", str(tmp_path))
    _one_line_exit_2(proc, "is a directory")


def test_output_over_the_input_itself(tmp_path: Path) -> None:
    app = tmp_path / "plain.apk"
    shutil.copy(PLAIN, app)
    before = app.read_bytes()
    proc = run("review", str(app), "-f", "json", "-o", str(app))
    _one_line_exit_2(proc, "is the input")
    assert app.read_bytes() == before
    # the same file by another name is the input too
    os.link(app, tmp_path / "again.apk")
    _one_line_exit_2(run("review", str(app), "-o", str(tmp_path / "again.apk")), "is the input")


def test_output_through_a_symlink_to_another_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    proc = run("review", str(PLAIN), "-f", "json", "-o", str(link))
    _one_line_exit_2(proc, "symbolic link")
    assert victim.read_text() == "keep me" and link.is_symlink()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere" / "x")
    _one_line_exit_2(run("review", str(PLAIN), "-f", "json", "-o", str(dangling)), "symbolic link")


def test_output_over_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "private.json"
    out.write_text("old")
    out.chmod(0o600)
    proc = run("review", str(PLAIN), "-f", "json", "-q", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["app"]["package"] == "org.example.plain"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_device_is_one_line(tmp_path: Path) -> None:
    # /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
    proc = run("review", str(PLAIN), "-f", "json", "-q", "-o", "/dev/full")
    _one_line_exit_2(proc, "device is full")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _one_line_exit_2(run("review", str(PLAIN), "-f", "json", "-o", str(folder / "r.json")), "permission")
    finally:
        folder.chmod(0o700)


def test_write_report_refuses_and_reports_each_case(tmp_path: Path) -> None:
    src = tmp_path / "in.har"
    src.write_text("{}")
    with pytest.raises(UsageError, match="is the input"):
        check_output(src, [src])
    with pytest.raises(UsageError, match="device is full"):
        write_report(Path("/dev/full"), "x" * 10)
    out = tmp_path / "new.txt"
    write_report(out, "hello")
    assert out.read_text() == "hello"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new.txt.")]


def test_traffic_and_diff_refuse_bad_outputs_too(tmp_path: Path) -> None:
    har = Path(__file__).parent / "fixtures" / "traffic" / "flows.har"
    _one_line_exit_2(run("traffic", str(har), "-o", str(tmp_path / "none" / "t.txt")), "does not exist")
    _one_line_exit_2(run("traffic", str(har), "-o", str(har)), "is the input")
    _one_line_exit_2(run("diff", str(PLAIN), str(PLAIN), "-o", str(tmp_path)), "is a directory")


def test_traffic_and_diff_write_to_output_what_they_print(tmp_path: Path) -> None:
    har = Path(__file__).parent / "fixtures" / "traffic" / "flows.har"
    for args in (("traffic", str(har), "-f", "json"), ("diff", str(PLAIN), str(PLAIN), "-f", "json")):
        shown = run(*args)
        out = tmp_path / f"{args[0]}.json"
        written = run(*args, "-o", str(out))
        assert shown.returncode == written.returncode == 0, written.stderr
        assert json.loads(out.read_text()) == json.loads(shown.stdout) and written.stdout == ""
