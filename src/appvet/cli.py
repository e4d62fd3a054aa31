"""Command line. Parses arguments, calls the library, picks a renderer; the only module that exits.

Exit codes: 0 review done and policy passed (or no policy), 1 policy failed, 2 bad input or usage,
3 internal error.

The common ``appvet review APP [-f FORMAT] [-o FILE] [-q] [--kb DIR] [-p POLICY] [--strict] [--verbose]`` runs
without building the full command line (Typer, click, rich and the other commands' modules): a review of a
small app is mostly start-up, and every other form, help and usage error included, goes to the full parser
in ``appvet.cli_app``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any

from appvet.errors import EXIT_INTERNAL, AppvetError

EXIT_INTERRUPTED = 130


def __getattr__(name: str) -> Any:
    # ``from appvet.cli import app`` (tests, embedding) still gets the Typer application.
    if name.startswith("__"):
        raise AttributeError(name)
    from appvet import cli_app

    return getattr(cli_app, name)


def _run_full() -> None:
    import typer

    from appvet.cli_app import app, plain_metavars

    plain_metavars(typer.main.get_command(app))(standalone_mode=True)


def _run_lean(values: dict[str, Any]) -> None:
    """What the full parser does around a command: exit code, Ctrl-C as 130, a closed pipe as exit 1."""
    from appvet.cli_review import run_review

    try:
        code = run_review(**values)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _silence_stdout()
        sys.exit(1)
    sys.exit(code)


def _silence_stdout() -> None:
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main() -> None:
    """Run the CLI; whatever escapes a command still ends as one line and a documented exit code."""
    try:
        from appvet.cli_review import parse_lean

        values = parse_lean(sys.argv[1:])
        if values is None:
            _run_full()
        else:
            _run_lean(values)
    except KeyboardInterrupt:
        sys.stderr.write("appvet: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``appvet ... | head``): not an error of appvet's; say nothing more.
        _silence_stdout()
        sys.exit(0)
    except AppvetError as exc:
        from appvet.cli_review import say_error

        say_error(exc.diagnostics())
        sys.exit(exc.exit_code)
    except Exception as exc:  # never a traceback, and never exit 1, which means "policy failed"
        if "--verbose" in sys.argv:
            raise
        from appvet.cli_review import say_error

        say_error(f"internal error: {type(exc).__name__}: {exc} (re-run with --verbose and report it)")
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
