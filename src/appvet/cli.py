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
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from appvet import __version__
from appvet.errors import EXIT_INPUT, EXIT_INTERNAL, AppvetError
from appvet.ingest.interface import Options
from appvet.ingest.zipread import Limits
from appvet.model import to_json

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Review what personal data an Android app can take, who inside it can, and where it can send it.",
)
kb_app = typer.Typer(no_args_is_help=True, help="Inspect and maintain the knowledge base.")
app.add_typer(kb_app, name="kb")

stderr = Console(stderr=True)


class Format(enum.StrEnum):
    text = "text"
    json = "json"


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

    return load_kb(tuple(kb or ()))


@app.command("review")
def review_cmd(
    path: Annotated[Path, typer.Argument(help="APK, or split-APK bundle (.apks, .xapk, .apkm).")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (summary to stderr).")
    ] = None,
    kb: KbOption = None,
    max_total_size: Annotated[
        int, typer.Option(help="Limit on the total uncompressed size, bytes.")
    ] = Limits.max_total_uncompressed,
    max_entries: Annotated[int, typer.Option(help="Limit on archive entries.")] = Limits.max_entries,
    max_ratio: Annotated[
        int, typer.Option(help="Limit on an entry's compression ratio (zip bombs).")
    ] = Limits.max_ratio,
    stage_seconds: Annotated[float, typer.Option(help="Time budget of each stage, seconds.")] = Options.stage_seconds,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show tracebacks for errors.")] = False,
) -> None:
    """Review one app and print or write the report."""
    from appvet.review import review

    options = Options(
        limits=Limits(max_entries=max_entries, max_total_uncompressed=max_total_size, max_ratio=max_ratio),
        stage_seconds=stage_seconds,
    )
    show_progress = not quiet and stderr.is_terminal
    try:
        knowledge = _load_kb(kb)
        if show_progress:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=stderr, transient=True) as bar:
                task = bar.add_task(f"reviewing {path.name}")
                result = review(path, kb=knowledge, options=options,
                                progress=lambda m: bar.update(task, description=f"{path.name}: {m}"))
        else:
            result = review(path, kb=knowledge, options=options)
    except AppvetError as exc:
        _fail(exc, verbose)
        return
    except (MemoryError, RecursionError) as exc:
        if verbose:
            raise
        _say_error(f"{path}: input exhausted a resource ({type(exc).__name__})")
        raise typer.Exit(EXIT_INPUT) from None
    except Exception as exc:  # the one place an unexpected error becomes exit 3
        if verbose:
            raise
        _say_error(f"internal error while reviewing {path}: {type(exc).__name__}: {exc} "
                   "(re-run with --verbose and report it)")
        raise typer.Exit(EXIT_INTERNAL) from None

    from appvet.report import terminal

    if fmt is Format.json:
        text = to_json(result)
    else:
        console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
        terminal.print_summary(result, console)
        text = console.export_text()
    if output is not None:
        _write_atomic(output, text)
        if not quiet:
            terminal.print_summary(result, stderr if stderr.is_terminal else Console(stderr=True, width=160))
            stderr.print(f"report written to {output}")
    elif fmt is Format.text:
        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a pipe or file has no width; do not squeeze tables to 80 columns
        terminal.print_summary(result, out)
    else:
        sys.stdout.write(text)
    if result.verdict is not None and result.verdict.decision == "fail":
        raise typer.Exit(1)


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


if __name__ == "__main__":
    main()
