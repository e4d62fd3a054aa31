"""``appvet fleet``: review many apps into a store, and report on the store.

    appvet fleet [run] INPUT... [--store URL] [--scheduler ADDR] [--workers N] [--policy P] [--date D]
    appvet fleet report [--store URL] [--format text|json|csv|parquet] [--output PATH]

``fleet_app`` is a Typer app; the main CLI mounts it with ``app.add_typer(fleet_app, name="fleet")``.
Exit codes follow appvet's table: 0 done, 2 bad usage or store URL, 3 internal error. Apps that
fail are recorded in the store and do not change the exit code.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from appvet.errors import AppvetError


class _RunByDefault(TyperGroup):
    """``appvet fleet INPUT...`` means ``appvet fleet run INPUT...``: anything that is not a subcommand
    (or the group's --help) is handed to ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


fleet_app = typer.Typer(cls=_RunByDefault, no_args_is_help=True,
                        help="Review many apps (locally or on a Dask cluster) into a queryable store.")

StoreOpt = Annotated[str, typer.Option("--store", help="SQLAlchemy URL: sqlite:///fleet.db or "
                                       "postgresql+psycopg://user:pass@host/db.")]


def _fail(exc: AppvetError) -> typer.Exit:
    from appvet.report.plain import clean

    typer.echo(f"appvet fleet: {clean(exc.diagnostics())}", err=True)
    return typer.Exit(exc.exit_code)


@fleet_app.command("run")
def run_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Folders (searched recursively for .apk/.apks/.xapk), "
                                                  "app files, or list files (.txt/.lst: one path a line).")],
    store: StoreOpt = "sqlite:///fleet.db",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address "
                                                  "(tcp://host:8786); default: a local cluster.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes "
                                                "(default: one per CPU).")] = None,
    policy: Annotated[str | None, typer.Option("--policy", "-p", help="Policy name or YAML file.")] = None,
    kb: Annotated[list[Path] | None, typer.Option("--kb", help="KB overlay directory (repeatable).")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Evaluate ownership and ban lists as of this day, "
                                           "YYYY-MM-DD (default: today).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per app before it is killed.")] = 600.0,
    max_memory: Annotated[str | None, typer.Option("--max-memory", help="Memory ceiling per app, e.g. 4G "
                                                   "(0: none; default 4G).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    old_on: Annotated[str | None, typer.Option("--on", hidden=True)] = None,
    old_memory: Annotated[int | None, typer.Option("--memory", min=0, hidden=True)] = None,
) -> None:
    """Review every app not yet in the store; re-evaluate stored reviews for a new policy."""
    from appvet.budget import parse_size
    from appvet.errors import UsageError
    from appvet.fleet.engine import FleetOptions, run_fleet
    from appvet.fleet.progress import RichProgress
    from appvet.fleet.task import Limits

    on = on or old_on  # --on and --memory (MiB) are the earlier names of --date and --max-memory
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise _fail(UsageError(f"--date: not a date (YYYY-MM-DD): {on!r}")) from None
    try:
        if max_memory is not None:
            memory_bytes = 0 if max_memory.strip() == "0" else parse_size(max_memory)
        else:
            memory_bytes = (4096 if old_memory is None else old_memory) * 1024**2
    except AppvetError as exc:
        raise _fail(exc) from None
    options = FleetOptions(store=store, scheduler=scheduler, workers=workers, policy=policy,
                           kb=tuple(kb or ()), on=day, limits=Limits(seconds=timeout, memory=memory_bytes))
    try:
        if quiet:
            summary = run_fleet(inputs, options)
        else:
            with RichProgress() as bar:
                summary = run_fleet(inputs, options, bar)
    except AppvetError as exc:
        raise _fail(exc) from None
    typer.echo(json.dumps(summary.to_dict(), sort_keys=True))


@fleet_app.command("report")
def report_cmd(
    store: StoreOpt = "sqlite:///fleet.db",
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json, csv or parquet.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (json) or folder (csv, parquet) "
                                                "for the export; json goes to stdout without it.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="SDKs in the top list.")] = 20,
) -> None:
    """Summarise the fleet, or export its tables for notebooks."""
    from appvet.errors import UsageError
    from appvet.fleet.report import export, summary
    from appvet.fleet.store import open_store

    try:
        if fmt not in ("text", "json", "csv", "parquet"):
            raise UsageError(f"--format: one of text, json, csv, parquet (not {fmt!r})")
        if fmt in ("csv", "parquet") and output is None:
            raise UsageError(f"--format {fmt} writes one file per table: give a folder with --output")
        engine = open_store(store)
        try:
            if fmt == "text":
                _print_summary(summary(engine, top))
            elif output is None:
                sys.stdout.write(json.dumps(summary(engine, top), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
            else:
                db = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
                for path in export(engine, fmt, output, (Path(db),) if db else ()):
                    typer.echo(str(path), err=True)
        finally:
            engine.dispose()
    except AppvetError as exc:
        raise _fail(exc) from None


def _print_summary(s: dict) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    from appvet.report.terminal import add_row as add  # app names come from the apps: shown, never interpreted

    console = Console()
    console.print(f"[bold]{s['apps']} apps reviewed[/]; verdicts: "
                  + (", ".join(f"{k} {v}" for k, v in s["verdicts"].items()) or "none")
                  + "; failed: " + (", ".join(f"{k} {v}" for k, v in s["failures"].items()) or "none"))
    t = Table(title="Top SDKs")
    for col in ("SDK", "owner", "country", "control", "apps", "share"):
        t.add_column(col)
    for row in s["top_sdks"]:
        add(t, row["name"], row["owner"] or "?", row["owner_country"] or "?", row["jurisdictions"],
            str(row["apps"]), f"{row['prevalence']:.0%}")
    console.print(t)
    c = Table(title="Data that code can send, by country (apps)")
    for col in ("country", "category", "apps"):
        c.add_column(col)
    for row in s["countries"]:
        add(c, row["country"], row["category"], str(row["apps"]))
    console.print(c)
    if s["bans"]:
        b = Table(title="Apps on ban lists")
        for col in ("app", "list", "jurisdiction", "status"):
            b.add_column(col)
        for row in s["bans"]:
            add(b, row["app"], row["name"], row["jurisdiction"], row["status"])
        console.print(b)
