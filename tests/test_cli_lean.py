"""The lean ``review`` parser takes only the plain forms and hands everything else to the full command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from appvet.cli_review import ReviewFormat, parse_lean


def test_plain_forms_are_parsed() -> None:
    assert parse_lean(["review", "a.apk"]) == {"path": Path("a.apk")}
    assert parse_lean(["review", "a.apk", "--format", "json", "-o", "r.json", "-q", "--kb", "k1", "--kb", "k2",
                       "-p", "default", "--strict", "--verbose"]) == {
        "path": Path("a.apk"), "fmt": ReviewFormat.json, "output": Path("r.json"), "quiet": True,
        "kb": [Path("k1"), Path("k2")], "policy": "default", "strict": True, "verbose": True}


@pytest.mark.parametrize("argv", [
    [], ["kb", "stats"], ["review"], ["review", "--help"], ["review", "a.apk", "--help"],
    ["review", "a.apk", "--format=json"], ["review", "a.apk", "-f", "JSON"], ["review", "a.apk", "-f"],
    ["review", "a.apk", "-o", "--quiet"], ["review", "a.apk", "b.apk"], ["review", "a.apk", "-t", "c.har"],
    ["review", "a.apk", "-f", "json", "-f", "text"], ["review", "a.apk", "-o", "x", "-o", "y"],
    ["review", "--", "a.apk"], ["review", "a.apk", "-qf", "json"], ["review", "a.apk", "--max-memory", "1G"],
    ["review", "", "-q"], ["review", "a.apk", "-o", ""],
])
def test_everything_else_goes_to_the_full_parser(argv: list[str]) -> None:
    assert parse_lean(argv) is None
