"""``appvet review``'s work, shared by the Typer command and the lean path of ``appvet.cli.main``.

Nothing here imports the command-line framework or the terminal renderer at module level: a review that
writes JSON to a file never needs either.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from appvet.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_POLICY_FAILED, AppvetError, UsageError

DEFAULT_MAX_MEMORY = "4G"
"""``appvet review``'s address-space cap unless ``--max-memory`` says otherwise (the service's worker has 3 GiB)."""


class ReviewFormat(enum.StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    html = "html"
    markdown = "markdown"


class FailOn(enum.StrEnum):
    fail = "fail"
    review = "review"


def say_error(text: str) -> None:
    # Plain write: one line, never wrapped to the terminal's width, whatever its length.
    from appvet.report.plain import clean

    sys.stderr.write("appvet: error: " + clean(" ".join(text.split())) + "\n")


def fail(exc: AppvetError, verbose: bool) -> int:
    if verbose:
        raise exc
    say_error(exc.diagnostics())
    return exc.exit_code


def load_kb(kb: list[Path] | None):  # type: ignore[no-untyped-def]
    from appvet.errors import InputError, KnowledgeBaseError
    from appvet.kb import load_kb as load
    from appvet.kb.ios import register_overlays

    try:
        loaded = load(tuple(kb or ()))
    except KnowledgeBaseError as exc:
        # A broken overlay is the user's input (exit 2); a broken packaged KB stays an internal error.
        if exc.file and any(exc.file == str(d) or exc.file.startswith(f"{d}/") for d in kb or ()):
            raise InputError(exc.message, file=exc.file) from None
        raise
    register_overlays(loaded, tuple(kb or ()))
    return loaded


def stderr_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True)


def run_review(
    path: Path,
    *,
    fmt: ReviewFormat = ReviewFormat.text,
    output: Path | None = None,
    kb: list[Path] | None = None,
    policy: str | None = None,
    fail_on: FailOn = FailOn.fail,
    waivers: Path | None = None,
    baseline: Path | None = None,
    traffic: list[Path] | None = None,
    device: Path | None = None,
    geoip: list[Path] | None = None,
    show_values: bool = False,
    max_total_size: int | None = None,
    max_entries: int | None = None,
    max_ratio: int | None = None,
    stage_seconds: float | None = None,
    on: datetime | None = None,
    max_memory: str = DEFAULT_MAX_MEMORY,
    strict: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> int:
    """Review one app and print or write the report; the exit code."""
    from appvet import budget
    from appvet.ingest.interface import Options
    from appvet.ingest.zipread import Limits
    from appvet.report.plain import clean
    from appvet.review import review

    options = Options(
        limits=Limits(max_entries=Limits.max_entries if max_entries is None else max_entries,
                      max_total_uncompressed=(Limits.max_total_uncompressed if max_total_size is None
                                              else max_total_size),
                      max_ratio=Limits.max_ratio if max_ratio is None else max_ratio),
        stage_seconds=Options.stage_seconds if stage_seconds is None else stage_seconds,
    )
    # The terminal renderer is loaded only when something is shown on a terminal or printed as text.
    stderr = None if quiet else stderr_console()
    show_progress = stderr is not None and stderr.is_terminal
    day = on.date() if on else None
    extra = {"traffic": tuple(traffic or ()), "device": device, "geoip": tuple(geoip or ()),
             "show_values": show_values}
    inputs = (path, *(traffic or ()), device, *(geoip or ()), waivers, baseline,
              Path(policy) if policy else None, *(kb or ()))
    try:
        check_review_usage(path, policy=policy, waivers=waivers, baseline=baseline, traffic=traffic,
                           device=device, geoip=geoip, show_values=show_values, fail_on=fail_on)
        if output is not None:
            from appvet.report.output import check_output

            check_output(output, inputs)  # refuse before the work, not after it
        if day is not None and day > datetime.now().date():
            sys.stderr.write(f"appvet: warning: --date {day} is in the future; ownership and ban lists are "
                             "those known today, and may change before that day\n")
        if max_memory.lower() != "none":
            try:
                budget.set_memory_limit(budget.parse_size(max_memory))
            except UsageError:
                if max_memory != DEFAULT_MAX_MEMORY:
                    raise  # the default yields to a tighter limit set outside appvet
        knowledge = load_kb(kb)
        if show_progress:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=stderr, transient=True) as bar:
                task = bar.add_task(f"reviewing {path.name}")
                result = review(path, kb=knowledge, options=options, on=day, **extra,
                                progress=lambda m: bar.update(task, description=f"{path.name}: {m}"))
        else:
            result = review(path, kb=knowledge, options=options, on=day, **extra)
        decision = None
        if policy is not None:
            result, decision = _apply_policy(result, knowledge, policy, waivers, baseline, day)
        if baseline is not None:
            result = _drop_baseline(result, baseline)
        text = render(result, fmt, decision)
        if output is not None:
            from appvet.report.output import write_report

            write_report(output, text, inputs)
    except AppvetError as exc:
        return fail(exc, verbose)
    except (MemoryError, RecursionError) as exc:
        if verbose:
            raise
        say_error(budget.exhausted_message(str(path), exc))
        return EXIT_INPUT
    except Exception as exc:  # the one place an unexpected error becomes exit 3
        if verbose:
            raise
        say_error(f"internal error while reviewing {path}: {type(exc).__name__}: {exc} "
                  "(re-run with --verbose and report it)")
        return EXIT_INTERNAL

    if output is not None:
        if stderr is not None:
            from rich.console import Console
            from rich.text import Text

            from appvet.report import terminal

            terminal.print_summary(result, stderr if stderr.is_terminal else Console(stderr=True, width=160))
            stderr.print(Text(f"report written to {clean(output)}"))
    elif fmt is ReviewFormat.text:
        from rich.console import Console

        from appvet.report import terminal

        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a pipe or file has no width; do not squeeze tables to 80 columns
        terminal.print_summary(result, out)
    else:
        sys.stdout.write(text)
    if strict and (code := budget.strict_exit_code(result)) is not None:
        n = len(result.skips)
        sys.stderr.write(f"appvet: error: {clean(path)}: {n} {'part' if n == 1 else 'parts'} could not be read "
                         "(--strict)\n")
        return code
    if result.verdict is not None:
        failing = {"fail"} if fail_on is FailOn.fail else {"fail", "review"}
        if result.verdict.decision in failing:
            return EXIT_POLICY_FAILED
    return 0


def render(result, fmt: ReviewFormat, decision) -> str:  # type: ignore[no-untyped-def]
    """The report as text in the chosen format."""
    waived = decision[0].waived if decision else ()
    if fmt is ReviewFormat.json:
        from appvet.model import to_json

        return to_json(result)
    if fmt is ReviewFormat.html:
        from appvet.report.html import render_html

        return render_html(result, waived=waived)
    if fmt is ReviewFormat.markdown:
        from appvet.report.markdown import render_markdown

        return render_markdown(result, waived=waived)
    if fmt is ReviewFormat.sarif:
        from appvet.report.sarif import to_sarif

        return json.dumps(to_sarif(result, decision[1] if decision else None), indent=2, sort_keys=True) + "\n"
    from rich.console import Console

    from appvet.report import terminal

    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    terminal.print_summary(result, console)
    return console.export_text()


def check_review_usage(path: Path, *, policy, waivers, baseline, traffic, device, geoip,  # type: ignore[no-untyped-def]
                       show_values, fail_on) -> None:
    """Options that would silently do nothing are usage errors, and so is a folder given as an app."""
    if waivers is not None and policy is None:
        raise UsageError("--waivers applies to a policy's findings: add --policy NAME")
    if fail_on is not FailOn.fail and policy is None:
        raise UsageError("--fail-on applies to a policy's verdict: add --policy NAME")
    if not traffic:
        for given, name in ((device, "--device"), (geoip, "--geoip")):
            if given:
                raise UsageError(f"{name} applies to a traffic capture: add -t CAPTURE")
        if show_values:
            raise UsageError("--show-values applies to personal data found in a traffic capture: add -t CAPTURE")
    if path.is_dir():
        raise UsageError(_folder_message(path))


def _folder_message(path: Path) -> str:
    apks = sorted(p.name for p in path.iterdir() if p.suffix.lower() == ".apk" and p.is_file())
    splits = [n for n in apks if n.startswith("split_") or ".config." in n or n.startswith("config.")]
    if splits and len(splits) < len(apks):
        return (f"{path}: is a folder of {len(apks)} APKs of one app ({len(apks) - len(splits)} base, "
                f"{len(splits)} {'split' if len(splits) == 1 else 'splits'}); zip them into one bundle and "
                f"review that: (cd {path} && zip -j ../app.apks *.apk) && appvet review app.apks")
    return (f"{path}: is a folder; 'appvet review' takes one app (.apk, .apks, .xapk, .apkm); "
            f"to review every app in a folder use: appvet fleet {path}")


def _drop_baseline(result, baseline: Path):  # type: ignore[no-untyped-def]
    """Every finding already in the baseline is dropped, not only the policy's (those the policy stage drops)."""
    from dataclasses import replace

    from appvet.policy import load_baseline

    known = {f.fingerprint for f in load_baseline(baseline).findings if f.fingerprint}
    return replace(result, findings=tuple(f for f in result.findings if f.fingerprint not in known))


def _apply_policy(result, knowledge, name: str, waivers: Path | None, baseline: Path | None, day):  # type: ignore[no-untyped-def]
    from appvet.policy import apply, evaluate, load_baseline, load_policy, load_waivers

    pol = load_policy(name)
    outcome = evaluate(result, pol, knowledge, day or date.today(),
                       waivers=load_waivers(waivers) if waivers else None,
                       baseline=load_baseline(baseline) if baseline else None)
    for w in outcome.expired_waivers:
        sys.stderr.write(f"appvet: warning: waiver expired and no longer applies: {w}\n")
    return apply(result, outcome), (outcome, pol)


LEAN_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--verbose": "verbose", "--strict": "strict"}
LEAN_VALUES = {"-f": "fmt", "--format": "fmt", "-o": "output", "--output": "output", "--kb": "kb", "-p": "policy",
               "--policy": "policy"}
"""The options the lean parser takes, by the name of the ``review`` command's parameter they set (a test holds
them to the Typer command's own names); every other option goes to the full parser."""
_LEAN_TYPES: dict[str, Any] = {"fmt": ReviewFormat, "output": Path, "kb": Path, "policy": str}


def parse_lean(args: list[str]) -> dict[str, Any] | None:
    """``review``'s arguments when they are only the common, unambiguous ones; else None (the full parser decides).

    Anything unusual (``--help``, ``--opt=value``, an unknown option, a value that looks like an option, a
    second path, a bad choice) goes to the full parser, so help, usage errors and their exit codes stay its own.
    """
    if not args or args[0] != "review":
        return None
    values: dict[str, Any] = {}
    rest = args[1:]
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok in LEAN_FLAGS:
            values[LEAN_FLAGS[tok]] = True
        elif tok in LEAN_VALUES:
            name = LEAN_VALUES[tok]
            if i + 1 >= len(rest) or rest[i + 1].startswith("-") or not rest[i + 1]:
                return None
            i += 1
            if name == "fmt" and rest[i] not in ReviewFormat.__members__:
                return None
            value = _LEAN_TYPES[name](rest[i])
            if name == "kb":
                values.setdefault("kb", []).append(value)
            elif name in values:
                return None  # given twice: the full parser says what happens
            else:
                values[name] = value
        elif tok.startswith("-") or "path" in values or not tok:
            return None
        else:
            values["path"] = Path(tok)
        i += 1
    return values if "path" in values else None
