"""The full command line (Typer): every command, its options and its help. ``appvet.cli.main`` runs it.

Exit codes: 0 review done and policy passed (or no policy), 1 policy failed, 2 bad input or usage,
3 internal error.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from appvet import __version__
from appvet.cli_review import DEFAULT_MAX_MEMORY, FailOn, ReviewFormat, fail, run_review
from appvet.cli_review import load_kb as _load_kb
from appvet.errors import AppvetError
from appvet.ingest.interface import Options
from appvet.ingest.zipread import Limits

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



class Format(enum.StrEnum):
    text = "text"
    json = "json"


KbOption = Annotated[list[Path] | None, typer.Option("--kb", help="Overlay KB directory (repeatable).")]


def _fail(exc: AppvetError, verbose: bool) -> None:
    raise typer.Exit(fail(exc, verbose))


def _emit(text: str, output: Path | None, inputs: tuple[Path | None, ...], verbose: bool) -> None:
    """The report to stdout, or to ``-o`` (never over one of ``inputs``; a refusal is exit 2, one line)."""
    if output is None:
        sys.stdout.write(text)
        return
    from appvet.report.output import write_report

    try:
        write_report(output, text, inputs)
    except AppvetError as exc:
        _fail(exc, verbose)


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
    code = run_review(path, fmt=fmt, output=output, kb=kb, policy=policy, fail_on=fail_on, waivers=waivers,
                      baseline=baseline, traffic=traffic, device=device, geoip=geoip, show_values=show_values,
                      max_total_size=max_total_size, max_entries=max_entries, max_ratio=max_ratio,
                      stage_seconds=stage_seconds, on=on, max_memory=max_memory, strict=strict, quiet=quiet,
                      verbose=verbose)
    if code:
        raise typer.Exit(code)


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
    _emit(text, output, (*captures, device, *(geoip or ())), verbose)


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
    _emit(text, output, (old, new), verbose)


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


_register_groups()
