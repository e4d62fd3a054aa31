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


def _review_command():  # type: ignore[no-untyped-def]
    import typer

    from appvet.cli_app import app

    return typer.main.get_command(app).commands["review"]  # type: ignore[attr-defined]


def test_lean_option_names_are_the_review_commands_own() -> None:
    from appvet.cli_review import LEAN_FLAGS, LEAN_VALUES

    by_opt = {o: p for p in _review_command().params for o in p.opts}
    for opt, name in (LEAN_FLAGS | LEAN_VALUES).items():
        assert opt in by_opt, f"{opt} is not an option of appvet review"
        assert by_opt[opt].name == name, f"{opt} sets {by_opt[opt].name} in the full parser, {name} in the lean one"
        assert by_opt[opt].is_flag == (opt in LEAN_FLAGS), opt


def test_what_the_lean_path_leaves_out_defaults_as_in_the_full_parser() -> None:
    """The lean path passes only what was given; run_review's defaults stand for the Typer command's."""
    import inspect

    from appvet.cli_review import run_review
    from appvet.ingest.interface import Options
    from appvet.ingest.zipread import Limits

    # run_review takes None for a limit and uses the same class default the Typer command shows.
    none_means = {"max_total_size": Limits.max_total_uncompressed, "max_entries": Limits.max_entries,
                  "max_ratio": Limits.max_ratio, "stage_seconds": Options.stage_seconds}
    defaults = {n: p.default for n, p in inspect.signature(run_review).parameters.items()}
    for param in _review_command().params:
        if param.name == "path":
            continue
        lean = defaults[param.name]
        lean = none_means.get(param.name, lean) if lean is None else lean
        assert lean == param.default or (lean is None and param.default in (None, [], ())), param.name


def test_every_other_review_option_goes_to_the_full_parser() -> None:
    from appvet.cli_review import LEAN_FLAGS, LEAN_VALUES

    others = [o for p in _review_command().params for o in (*p.opts, *p.secondary_opts)
              if o.startswith("-") and o not in LEAN_FLAGS | LEAN_VALUES]
    assert "--traffic" in others and "--no-strict" in others
    for opt in others:
        assert parse_lean(["review", "a.apk", opt, "x"]) is None, opt
        assert parse_lean(["review", "a.apk", opt]) is None, opt
