"""Command line. Parses arguments, calls the library, picks a renderer; the only module that exits.

Exit codes: 0 review done and policy passed (or no policy), 1 policy failed, 2 bad input or usage,
3 internal error.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from appvet import __version__
from appvet.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_POLICY_FAILED, AppvetError
from appvet.ingest.interface import Options
from appvet.ingest.zipread import Limits
from appvet.model import to_json

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Review what personal data an Android or iOS app can take, who inside it can, and where it can send it.",
)
kb_app = typer.Typer(no_args_is_help=True, help="Inspect and maintain the knowledge base.")
app.add_typer(kb_app, name="kb")


def _register_groups() -> None:
    from appvet.fleet.cli import fleet_app
    from appvet.serve.cli import serve_cmd, users_app

    app.add_typer(fleet_app, name="fleet")
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")

stderr = Console(stderr=True)


class Format(enum.StrEnum):
    text = "text"
    json = "json"


class ReviewFormat(enum.StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    html = "html"
    markdown = "markdown"


class FailOn(enum.StrEnum):
    fail = "fail"
    review = "review"


KbOption = Annotated[list[Path] | None, typer.Option("--kb", help="Overlay KB directory (repeatable).")]


def _fail(exc: AppvetError, verbose: bool) -> None:
    if verbose:
        raise exc
    _say_error(exc.diagnostics())
    raise typer.Exit(exc.exit_code)


def _say_error(text: str) -> None:
    # Plain write: one line, never wrapped to the terminal's width, whatever its length.
    sys.stderr.write("appvet: error: " + " ".join(text.split()) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    """Write the report beside its destination, then rename: a failure never leaves half a file."""
    if path.exists() and not path.is_file():
        # /dev/null, a pipe or a terminal: write through it; renaming over it would replace the device.
        with path.open("w", encoding="utf-8") as fh:
            fh.write(text)
        return
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would surprise whoever reads the report next
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_kb(kb: list[Path] | None):  # type: ignore[no-untyped-def]
    from appvet.kb import load_kb
    from appvet.kb.ios import register_overlays

    loaded = load_kb(tuple(kb or ()))
    register_overlays(loaded, tuple(kb or ()))
    return loaded


@app.command("review")
def review_cmd(
    path: Annotated[Path, typer.Argument(help="APK, split-APK bundle (.apks, .xapk, .apkm), IPA or .app directory.")],
    fmt: Annotated[ReviewFormat, typer.Option("--format", "-f", help="Report format.")] = ReviewFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (summary to stderr).")
    ] = None,
    kb: KbOption = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="Policy: a shipped name (default, us-foreign-adversary, "
                                 "india-69a, eu-third-country-transfer, gov-device-strict) or a YAML file.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 on this verdict or worse.")] = FailOn.fail,
    waivers: Annotated[Path | None, typer.Option(help="Waivers file (YAML).")] = None,
    baseline: Annotated[Path | None, typer.Option(help="Earlier JSON review: report only what is new.")] = None,
    traffic: Annotated[
        list[Path] | None, typer.Option("--traffic", "-t", help="Capture to join (HAR, mitmproxy, pcap/pcapng).")
    ] = None,
    device: Annotated[
        Path | None, typer.Option(help="Device profile (YAML) of the phone the capture was made on.")
    ] = None,
    geoip: Annotated[
        list[Path] | None, typer.Option(help="MaxMind-format database (.mmdb) for hosting country and ASN.")
    ] = None,
    show_values: Annotated[bool, typer.Option(help="Print detected personal values in full.")] = False,
    max_total_size: Annotated[
        int, typer.Option(help="Limit on the total uncompressed size, bytes.")
    ] = Limits.max_total_uncompressed,
    max_entries: Annotated[int, typer.Option(help="Limit on archive entries.")] = Limits.max_entries,
    max_ratio: Annotated[
        int, typer.Option(help="Limit on an entry's compression ratio (zip bombs).")
    ] = Limits.max_ratio,
    stage_seconds: Annotated[float, typer.Option(help="Time budget of each stage, seconds.")] = Options.stage_seconds,
    on: Annotated[
        datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="Evaluate ownership and ban lists as of this day."),
    ] = None,
    max_memory: Annotated[str | None, typer.Option(help="Memory ceiling of this process, e.g. 2G.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 if any part of the app could not be read (a Skip).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show tracebacks for errors.")] = False,
) -> None:
    """Review one app and print or write the report."""
    from appvet import budget
    from appvet.review import review

    options = Options(
        limits=Limits(max_entries=max_entries, max_total_uncompressed=max_total_size, max_ratio=max_ratio),
        stage_seconds=stage_seconds,
    )
    show_progress = not quiet and stderr.is_terminal
    day = on.date() if on else None
    extra = {"traffic": tuple(traffic or ()), "device": device, "geoip": tuple(geoip or ()),
             "show_values": show_values}
    try:
        if max_memory:
            budget.set_memory_limit(budget.parse_size(max_memory))
        knowledge = _load_kb(kb)
        if show_progress:
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
    except AppvetError as exc:
        _fail(exc, verbose)
        return
    except (MemoryError, RecursionError) as exc:
        if verbose:
            raise
        _say_error(budget.exhausted_message(str(path), exc))
        raise typer.Exit(EXIT_INPUT) from None
    except Exception as exc:  # the one place an unexpected error becomes exit 3
        if verbose:
            raise
        _say_error(f"internal error while reviewing {path}: {type(exc).__name__}: {exc} "
                   "(re-run with --verbose and report it)")
        raise typer.Exit(EXIT_INTERNAL) from None

    from appvet.report import terminal

    if fmt is ReviewFormat.json:
        text = to_json(result)
    elif fmt is ReviewFormat.html:
        from appvet.report.html import render_html

        text = render_html(result, waived=decision[0].waived if decision else ())
    elif fmt is ReviewFormat.markdown:
        from appvet.report.markdown import render_markdown

        text = render_markdown(result, waived=decision[0].waived if decision else ())
    elif fmt is ReviewFormat.sarif:
        from appvet.report.sarif import to_sarif

        text = json.dumps(to_sarif(result, decision[1] if decision else None), indent=2, sort_keys=True) + "\n"
    else:
        console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
        terminal.print_summary(result, console)
        text = console.export_text()
    if output is not None:
        _write_atomic(output, text)
        if not quiet:
            terminal.print_summary(result, stderr if stderr.is_terminal else Console(stderr=True, width=160))
            stderr.print(f"report written to {output}")
    elif fmt is ReviewFormat.text:
        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a pipe or file has no width; do not squeeze tables to 80 columns
        terminal.print_summary(result, out)
    else:
        sys.stdout.write(text)
    if strict and (code := budget.strict_exit_code(result)) is not None:
        sys.stderr.write(f"appvet: error: {path}: {len(result.skips)} parts could not be read (--strict)\n")
        raise typer.Exit(code)
    if result.verdict is not None:
        failing = {"fail"} if fail_on is FailOn.fail else {"fail", "review"}
        if result.verdict.decision in failing:
            raise typer.Exit(EXIT_POLICY_FAILED)


def _apply_policy(result, knowledge, name: str, waivers: Path | None, baseline: Path | None, day):  # type: ignore[no-untyped-def]
    from datetime import date as _date

    from appvet.policy import apply, evaluate, load_baseline, load_policy, load_waivers

    pol = load_policy(name)
    outcome = evaluate(result, pol, knowledge, day or _date.today(),
                       waivers=load_waivers(waivers) if waivers else None,
                       baseline=load_baseline(baseline) if baseline else None)
    for w in outcome.expired_waivers:
        sys.stderr.write(f"appvet: warning: waiver expired and no longer applies: {w}\n")
    return apply(result, outcome), (outcome, pol)


@kb_app.command("stats")
def kb_stats(fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text, kb: KbOption = None) -> None:
    """Counts per kind and coverage of the knowledge base."""
    from appvet.kb.stats import kb_stats as stats

    try:
        data = stats(_load_kb(kb))
    except AppvetError as exc:
        _fail(exc, False)
        return
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        for key, value in sorted(data.items()):
            typer.echo(f"{key}: {value}")


@kb_app.command("validate")
def kb_validate(kb: KbOption = None) -> None:
    """Check schema, references, cycles and overlapping signatures."""
    from appvet.kb.stats import validate

    try:
        problems = validate(_load_kb(kb))
    except AppvetError as exc:
        _fail(exc, False)
        return
    for p in problems:
        typer.echo(p)
    typer.echo(f"{len(problems)} problems")
    raise typer.Exit(1 if problems else 0)


def _print_data(data: object, fmt: Format) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return
    import yaml

    # YAML reads well for nested KB rows and keeps every field of the JSON form.
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110))


@kb_app.command("show")
def kb_show(
    ident: Annotated[str, typer.Argument(help="Entity, SDK, ban list, country list id, or a country code.")],
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    kb: KbOption = None,
) -> None:
    """One KB row with its ownership chain, jurisdictions and sources."""
    from appvet.kb.commands import show

    try:
        _print_data(show(_load_kb(kb), ident), fmt)
    except AppvetError as exc:
        _fail(exc, False)


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Text to find in ids, names, aliases, prefixes, domains, packages.")],
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    kb: KbOption = None,
) -> None:
    """Find KB rows by id, name, alias, class prefix, domain or banned package."""
    from appvet.kb.commands import search

    try:
        hits = search(_load_kb(kb), text)
    except AppvetError as exc:
        _fail(exc, False)
        return
    if fmt is Format.json:
        _print_data(hits, fmt)
        return
    for h in hits:
        typer.echo("\t".join(str(h.get(k, "")) for k in ("kind", "id", "name", "field", "value")))
    if not hits:
        typer.echo(f"nothing matches {text!r}", err=True)


@kb_app.command("import")
def kb_import(
    fmt_name: Annotated[str, typer.Argument(metavar="FORMAT", help="Source format: exodus.")],
    file: Annotated[Path, typer.Argument(help="File to import.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Overlay KB directory to write (use with --kb).")],
) -> None:
    """Import a source file into an overlay KB directory."""
    from appvet.kb.commands import import_file

    try:
        counts = import_file(fmt_name, file, out)
    except AppvetError as exc:
        _fail(exc, False)
        return
    _print_data(counts, Format.json)


@app.command("traffic")
def traffic_cmd(
    captures: Annotated[list[Path], typer.Argument(help="HAR, mitmproxy or pcap/pcapng captures.")],
    device: Annotated[Path | None, typer.Option(help="Device profile (YAML).")] = None,
    geoip: Annotated[list[Path] | None, typer.Option(help="MaxMind-format database (.mmdb).")] = None,
    show_values: Annotated[bool, typer.Option(help="Print detected personal values in full.")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    kb: KbOption = None,
    verbose: Annotated[bool, typer.Option("--verbose")] = False,
) -> None:
    """What left the device in captures made without an APK: recipients, countries, personal data."""
    from appvet import traffic
    from appvet.model import to_dict
    from appvet.report import terminal

    try:
        knowledge = _load_kb(kb)
        profile = traffic.load_profile(device) if device else None
        notes: list = []
        flows = list(traffic.analyze(captures, knowledge, profile, show_values=show_values, notes=notes,
                                     geoip=traffic.GeoIp(list(geoip)) if geoip else None))
    except AppvetError as exc:
        _fail(exc, verbose)
        return
    if fmt is Format.json:
        data = {"flows": to_dict(flows), "notes": to_dict(notes), "captures": [c.name for c in captures]}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    else:
        console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
        console.print(terminal.flows_table(flows))
        text = console.export_text()
    if output is not None:
        _write_atomic(output, text)
    else:
        sys.stdout.write(text)


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="Earlier app (APK or bundle) or its JSON review.")],
    new: Annotated[Path, typer.Argument(help="Later app (APK or bundle) or its JSON review.")],
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    kb: KbOption = None,
    verbose: Annotated[bool, typer.Option("--verbose")] = False,
) -> None:
    """What changed between two versions of an app: SDKs, permissions, capabilities, endpoints, verdict."""
    from appvet.report.diff import diff_reviews, render_diff_text

    try:
        knowledge = None
        sides = []
        for path in (old, new):
            if path.suffix.lower() == ".json":
                sides.append(_read_review_json(path))
            else:
                from appvet.review import review

                knowledge = knowledge or _load_kb(kb)
                sides.append(review(path, kb=knowledge))
    except AppvetError as exc:
        _fail(exc, verbose)
        return
    d = diff_reviews(sides[0], sides[1])
    if fmt is Format.json:
        text = json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    else:
        text = render_diff_text(d)
    if output is not None:
        _write_atomic(output, text)
    else:
        sys.stdout.write(text)


def _read_review_json(path: Path):  # type: ignore[no-untyped-def]
    from appvet.errors import InputError
    from appvet.model import from_dict

    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"not an appvet JSON review ({type(exc).__name__}: {exc})", file=str(path)) from None


@app.command("version")
def version() -> None:
    """Print appvet's version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        stderr.print("appvet: interrupted")
        sys.exit(130)


_register_groups()

if __name__ == "__main__":
    main()
