"""Command line. Parses arguments, calls the library, picks a renderer; the only module that exits.

Exit codes: 0 review done and policy passed (or no policy), 1 policy failed, 2 bad input or usage,
3 internal error.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from appvet import __version__
from appvet.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_POLICY_FAILED, AppvetError, UsageError
from appvet.ingest.interface import Options
from appvet.ingest.zipread import Limits
from appvet.model import to_json
from appvet.report.plain import clean

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Review what personal data an Android or iOS app can take, who inside it can, and where it can send it.",
)
kb_app = typer.Typer(no_args_is_help=True, help="Inspect and maintain the knowledge base.")
app.add_typer(kb_app, name="kb")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"appvet {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print appvet's version and exit.")] = False,
) -> None:
    """Review what personal data an Android app can take, who inside it can, and where it can send it."""


def _register_groups() -> None:
    from appvet.fleet.cli import fleet_app
    from appvet.serve.cli import audit_app, serve_cmd, users_app

    app.add_typer(fleet_app, name="fleet")
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")

stderr = Console(stderr=True)
DEFAULT_MAX_MEMORY = "4G"
"""``appvet review``'s address-space cap unless ``--max-memory`` says otherwise (the service's worker has 3 GiB)."""


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
    from appvet.report.plain import clean

    sys.stderr.write("appvet: error: " + clean(" ".join(text.split())) + "\n")


def _write_atomic(path: Path, text: str, inputs: tuple[Path | None, ...] = ()) -> None:
    """Write a report to ``-o``; refusals and write failures raise ``UsageError`` (exit 2, one line)."""
    from appvet.report.output import write_report

    write_report(path, text, inputs)


def _load_kb(kb: list[Path] | None):  # type: ignore[no-untyped-def]
    from appvet.errors import InputError, KnowledgeBaseError
    from appvet.kb import load_kb
    from appvet.kb.ios import register_overlays

    try:
        loaded = load_kb(tuple(kb or ()))
    except KnowledgeBaseError as exc:
        # A broken overlay is the user's input (exit 2); a broken packaged KB stays an internal error.
        if exc.file and any(exc.file == str(d) or exc.file.startswith(f"{d}/") for d in kb or ()):
            raise InputError(exc.message, file=exc.file) from None
        raise
    register_overlays(loaded, tuple(kb or ()))
    return loaded


@app.command("review")
def review_cmd(
    path: Annotated[Path, typer.Argument(help="APK, split-APK bundle (.apks, .xapk, .apkm), App Bundle (.aab), "
                                              "IPA or .app directory.")],
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
    max_memory: Annotated[str, typer.Option(
        help="Memory ceiling of this process, e.g. 2G; 'none' lifts it. A hostile file stops here, not at the "
             "machine's limit.")] = DEFAULT_MAX_MEMORY,
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
    inputs = (path, *(traffic or ()), device, *(geoip or ()), waivers, baseline,
              Path(policy) if policy else None, *(kb or ()))
    try:
        _check_review_usage(path, policy=policy, waivers=waivers, baseline=baseline, traffic=traffic,
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
        if baseline is not None:
            result = _drop_baseline(result, baseline)
        text = _render(result, fmt, decision)
        if output is not None:
            _write_atomic(output, text, inputs)
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

    if output is not None:
        if not quiet:
            terminal.print_summary(result, stderr if stderr.is_terminal else Console(stderr=True, width=160))
            stderr.print(Text(f"report written to {clean(output)}"))
    elif fmt is ReviewFormat.text:
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
        raise typer.Exit(code)
    if result.verdict is not None:
        failing = {"fail"} if fail_on is FailOn.fail else {"fail", "review"}
        if result.verdict.decision in failing:
            raise typer.Exit(EXIT_POLICY_FAILED)


def _render(result, fmt: ReviewFormat, decision) -> str:  # type: ignore[no-untyped-def]
    """The report as text in the chosen format."""
    from appvet.report import terminal

    waived = decision[0].waived if decision else ()
    if fmt is ReviewFormat.json:
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
    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    terminal.print_summary(result, console)
    return console.export_text()


def _check_review_usage(path: Path, *, policy, waivers, baseline, traffic, device, geoip,  # type: ignore[no-untyped-def]
                        show_values, fail_on) -> None:
    """Options that would silently do nothing are usage errors, and so is a folder given as an app."""
    from appvet.errors import UsageError

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
        out = Console()
        if not out.is_terminal:
            out = Console(width=100)
        for table in _stats_tables(data):
            out.print(table)


def _stats_tables(data: dict) -> list:  # type: ignore[type-arg]
    """``kb stats`` for a person: one table of counts, one of coverage, one of SDKs by country."""
    from rich.table import Table

    def words(key: str) -> str:
        return key.replace("_", " ")

    counts = Table(title=f"Knowledge base {data.get('version', '')}")
    counts.add_column("rows")
    counts.add_column("count", justify="right")
    for key, value in data.get("counts", {}).items():
        counts.add_row(words(key), f"{value:,}")
    for key, value in data.get("signatures", {}).items():
        counts.add_row(f"signatures: {words(key)}", f"{value:,}")
    coverage = Table(title="Coverage")
    coverage.add_column("share of rows")
    coverage.add_column("", justify="right")
    for key, value in sorted(data.items()):
        if isinstance(value, float):
            coverage.add_row(words(key), f"{value:.1%}")
    countries = Table(title="SDKs by country of the ultimate parent")
    countries.add_column("country")
    countries.add_column("SDKs", justify="right")
    for country, n in sorted(data.get("sdks_by_ultimate_parent_country", {}).items(), key=lambda kv: (-kv[1], kv[0])):
        countries.add_row(country, str(n))
    return [counts, coverage, countries]


@kb_app.command("validate")
def kb_validate(kb: KbOption = None) -> None:
    """Check schema, references, cycles, signatures, owners, countries, domains and sources.

    Prints one line per problem (errors first), then the counts; exits 1 when there is any error or warning.
    """
    from appvet.kb.stats import check

    try:
        problems = check(_load_kb(kb))
    except AppvetError as exc:
        _fail(exc, False)
        return
    for p in problems:
        typer.echo(str(p))
    errors = sum(1 for p in problems if p.level == "error")
    typer.echo(f"{len(problems)} problems ({errors} errors, {len(problems) - errors} warnings)")
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
    on: Annotated[
        datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="Owner chain and ban-list status as of this day."),
    ] = None,
) -> None:
    """One KB row with its ownership chain (each link with its start date and sources), jurisdictions and sources;
    a ban list with its events and its status."""
    from appvet.kb.commands import show

    try:
        _print_data(show(_load_kb(kb), ident, on.date() if on else None), fmt)
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
        try:
            _write_atomic(output, text, (*captures, device, *(geoip or ())))
        except AppvetError as exc:
            _fail(exc, verbose)
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
        try:
            _write_atomic(output, text, (old, new))
        except AppvetError as exc:
            _fail(exc, verbose)
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


METAVARS = {
    "--kb": "DIR", "--policy": "NAME|FILE", "--output": "FILE", "--waivers": "FILE", "--baseline": "REVIEW.json",
    "--traffic": "CAPTURE", "--device": "PROFILE.yaml", "--geoip": "DB.mmdb", "--max-total-size": "BYTES",
    "--max-entries": "N", "--max-ratio": "N", "--stage-seconds": "SECONDS", "--date": "YYYY-MM-DD",
    "--max-memory": "SIZE", "--store": "URL", "--scheduler": "ADDRESS", "--workers": "N", "--timeout": "SECONDS",
    "--top": "N", "--out": "DIR", "--format": None,
}
"""Value names shown by --help, instead of Python types (``<list[Path]>``, ``<str>``, ``<%Y-%m-%d>``)."""
_PLAIN_TYPES = {"int": "N", "float": "NUMBER", "Path": "PATH", "list[Path]": "PATH", "str": "TEXT",
                "list[str]": "TEXT", "datetime": "YYYY-MM-DD"}


def plain_metavars(command: Any) -> Any:
    """Give every option and argument of ``command`` (and its subcommands) a plain value name.

    Duck-typed: Typer builds its commands on its own copy of click's classes."""
    for param in command.params:
        kind = getattr(param, "param_type_name", "")
        if kind == "option":
            bare = param.bare_type() if hasattr(param, "bare_type") else ""
            if bare == "bool" or getattr(param, "is_flag", False):
                param.metavar = ""
            elif param.metavar is None:
                name = next((o for o in param.opts if o.startswith("--")), "")
                if METAVARS.get(name):
                    param.metavar = METAVARS[name]
                elif bare in _PLAIN_TYPES:
                    param.metavar = _PLAIN_TYPES[bare]
        elif kind == "argument" and param.metavar is None:
            param.metavar = (param.name or "value").upper() + ("..." if param.nargs != 1 else "")
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)
    return command


EXIT_INTERRUPTED = 130


def main() -> None:
    """Run the CLI; whatever escapes a command still ends as one line and a documented exit code."""
    try:
        plain_metavars(typer.main.get_command(app))(standalone_mode=True)
    except KeyboardInterrupt:
        sys.stderr.write("appvet: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``appvet ... | head``): not an error of appvet's; say nothing more.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except AppvetError as exc:
        _say_error(exc.diagnostics())
        sys.exit(exc.exit_code)
    except Exception as exc:  # never a traceback, and never exit 1, which means "policy failed"
        if "--verbose" in sys.argv:
            raise
        _say_error(f"internal error: {type(exc).__name__}: {exc} (re-run with --verbose and report it)")
        sys.exit(EXIT_INTERNAL)


_register_groups()

if __name__ == "__main__":
    main()
