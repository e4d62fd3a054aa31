"""Control characters from an app never reach a person's terminal, Markdown or diff raw; JSON keeps them."""

from __future__ import annotations

import dataclasses
import io
import json

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from appvet.model import Endpoint, Evidence, to_json
from appvet.report import terminal
from appvet.report.diff import diff_reviews, render_diff_text
from appvet.report.markdown import render_markdown
from appvet.report.plain import clean
from tests.report.test_html import sample

# Retitle the window, clear the screen, hide what came before, and reverse the reading direction.
ATTACK = "\x1b]0;owned\x07\x1b[2J\x1b[1A\x1b[2K\u202egnp.evil\x9b31m"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


def hostile():  # type: ignore[no-untyped-def]
    r = sample()
    app = dataclasses.replace(r.app, label="Label" + ATTACK, package="com.evil" + ATTACK, version_name=ATTACK)
    ev = Evidence("dex", "classes.dex", "Lcom/evil/A;->b()V", excerpt=ATTACK)
    endpoint = Endpoint(value="https://x.evil.example/" + ATTACK, host="x.evil.example" + ATTACK, kind="url",
                        domain="evil.example", owner=None, owner_country=None, holder="first-party", evidence=(ev,))
    sdk = dataclasses.replace(r.sdks[0], name="[bold red]SDK" + ATTACK)
    return dataclasses.replace(r, app=app, endpoints=(endpoint, *r.endpoints), sdks=(sdk, *r.sdks[1:]))


def _terminal(review) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    # A real terminal: rich emits its own styling, so look only for the attack's sequences.
    console = Console(file=buf, force_terminal=True, width=200, color_system="standard")
    terminal.print_summary(review, console)
    return buf.getvalue()


def test_terminal_summary_shows_escapes_instead_of_sending_them() -> None:
    out = _terminal(hostile())
    for seq in ("\x1b]0;", "\x07", "\x1b[2J", "\x1b[1A", "\x1b[2K", "\u202e", "\x9b"):
        assert seq not in out, repr(seq)
    assert "\\x1b]0;owned\\x07" in out
    assert "[bold red]SDK" in out  # markup in a name is shown as text, not applied


def test_markdown_has_no_raw_control_characters() -> None:
    text = render_markdown(hostile())
    for ch in RAW:
        assert ch not in text, repr(ch)
    assert "x1b" in text


def test_diff_text_has_no_raw_control_characters() -> None:
    old = sample()
    text = render_diff_text(diff_reviews(old, hostile()))
    for ch in RAW:
        assert ch not in text, repr(ch)
    assert "x.evil.example\\x1b]0;owned\\x07" in text  # the hostile host is in the diff, shown escaped


def test_json_keeps_the_raw_value() -> None:
    data = json.loads(to_json(hostile()))
    assert data["app"]["label"] == "Label" + ATTACK


@given(st.text())
def test_clean_leaves_no_control_character(s: str) -> None:
    out = clean(s)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E for c in out)
    if s.isprintable() and not any(0x2000 <= ord(c) <= 0x206F or c == "\ufeff" for c in s):
        assert out == s


def test_skip_summary_names_what_was_bounded_with_plurals() -> None:
    from appvet.model import Skip

    base = sample()
    one = dataclasses.replace(base, skips=(Skip("data flows", "stopped after 849 methods (work bound)", "flows"),))
    text = " ".join(_plain(one).split())
    assert "1 part of the review was not read or stopped at a bound (flows: 1)" in text
    assert "data flows: stopped after 849 methods (work bound)" in text
    many = dataclasses.replace(base, skips=tuple(Skip(f"lib/x{i}.so", "not an ELF file", "native")
                                                 for i in range(12)))
    text = " ".join(_plain(many).split())
    assert "12 parts of the review were not read or stopped at a bound (native: 12)" in text
    assert "4 more under 'skips'" in text


def _plain(review) -> str:  # type: ignore[no-untyped-def]
    console = Console(record=True, width=200, file=io.StringIO())
    terminal.print_summary(review, console)
    return console.export_text()


def test_every_human_report_says_as_of_which_day() -> None:
    from appvet.report.html import render_html

    r = sample()
    phrase = f"{r.review_date} (ownership and ban lists as of this day)"
    assert phrase in render_markdown(r)
    assert phrase in render_html(r)
    assert f"ownership and ban lists as of {r.review_date}" in _plain(r)


def test_fleet_summary_shows_escapes_instead_of_sending_them(capsys) -> None:  # type: ignore[no-untyped-def]
    from appvet.fleet.cli import _print_summary

    _print_summary({"apps": 1, "verdicts": {}, "failures": {}, "top_sdks": [], "countries": [],
                    "bans": [{"app": "[red]App" + ATTACK, "name": "list", "jurisdiction": "US", "status": "x"}]})
    out = capsys.readouterr().out
    for ch in RAW:
        assert ch not in out, repr(ch)
    assert "[red]App\\x1b]0;owned\\x07" in "".join(out.split())
