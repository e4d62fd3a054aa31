"""``appvet fleet`` takes the option names of ``appvet review``, and runs quietly when Dask's port is taken."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.fleet.conftest import BUILT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appvet.cli", *args], capture_output=True, text=True, timeout=300)


def test_review_option_names_and_no_port_warning(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    shutil.copy(BUILT / "plain.apk", apps / "plain.apk")
    with contextlib.ExitStack() as stack:
        sock = socket.socket()
        stack.callback(sock.close)
        with contextlib.suppress(OSError):  # taken already by someone else: as good for this test
            sock.bind(("127.0.0.1", 8787))
            sock.listen()
        proc = _run("fleet", str(apps), "--store", f"sqlite:///{tmp_path / 'f.db'}", "--workers", "1", "-q",
                    "--date", "2026-01-01", "--max-memory", "2G")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reviewed"] == 1
    assert "already in use" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    # the earlier names still work, and are not shown in the help
    old = _run("fleet", str(apps), "--store", f"sqlite:///{tmp_path / 'g.db'}", "--workers", "1", "-q",
               "--on", "2026-01-01", "--memory", "2048")
    assert old.returncode == 0, old.stderr
    helptext = _run("fleet", "run", "--help").stdout
    assert "--date" in helptext and "--max-memory" in helptext
    assert "--on " not in helptext and "--memory " not in helptext


def test_bad_max_memory_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run("fleet", str(tmp_path), "--store", f"sqlite:///{tmp_path / 'f.db'}", "--max-memory", "lots")
    assert proc.returncode == 2 and "not a size" in proc.stderr


def test_help_shows_plain_value_names() -> None:
    for cmd in (("review",), ("traffic",), ("diff",), ("fleet", "run"), ("fleet", "report"), ("kb", "stats")):
        options = _run(*cmd, "--help").stdout.split("Options", 1)[1]
        options = "\n".join(line for line in options.splitlines() if "--help" not in line)
        for python_type in ("<str>", "<int>", "<float>", "<bool>", "list[Path]", "%Y-%m-%d"):
            assert python_type not in options, (cmd, python_type)
