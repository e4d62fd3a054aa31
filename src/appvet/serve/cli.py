"""``appvet serve``, ``appvet users add/token/revoke`` and ``appvet audit verify``.

Registered in ``appvet.cli_app`` (the full command line behind ``appvet.cli``) with::

    from appvet.serve.cli import audit_app, serve_cmd, users_app
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")

``serve_app`` holds them all for ``python -m appvet.serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from appvet.errors import AppvetError, UsageError

STORE_HELP = "SQLAlchemy URL of the store (sqlite:///file.db or postgresql://...)."
DATA_HELP = "The service's data directory (uploads, reports, the cookie and audit keys)."
DEFAULT_STORE = "sqlite:///appvet-serve.db"
DEFAULT_DATA = "appvet-serve-data"

serve_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The appvet review service.")
users_app = typer.Typer(no_args_is_help=True, help="Service users and their API tokens.")
audit_app = typer.Typer(no_args_is_help=True, help="The service's audit log.")


def _fail(exc: AppvetError) -> typer.Exit:
    typer.echo(exc.diagnostics(), err=True)
    return typer.Exit(exc.exit_code)


TRUSTED_PROXY = typer.Option([], "--trusted-proxy", metavar="ADDRESS",
                             help="A reverse proxy whose X-Forwarded-For is believed (repeatable).")


def check_store(store: str, create: bool) -> None:
    """A SQLite store must exist unless ``create``: a typo must not start an empty service."""
    from appvet.serve.app import sqlite_path

    path = sqlite_path(store)
    if path is not None and not path.exists() and not create:
        raise UsageError(f"store {path} does not exist; check --store, or pass --create to make a new one")


def serve_cmd(
    store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
    create: bool = typer.Option(False, "--create", help="Make the store if it does not exist."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address; default: local workers."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data_dir: str = typer.Option(DEFAULT_DATA, "--data-dir", help=DATA_HELP),
    workers: int = typer.Option(0, "--workers", help="Reviews at a time (0: up to 4, one per CPU)."),
    job_seconds: float = typer.Option(300.0, "--job-seconds", help="Time budget of one review."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Set when served over HTTPS."),
    trusted_proxy: list[str] = TRUSTED_PROXY,
) -> None:
    """Run the review service (REST API under /api, web UI under /ui)."""
    from appvet.serve.app import Settings, serve
    from appvet.serve.guard import parse_networks
    from appvet.serve.jobs import JobLimits

    defaults = JobLimits()
    limits = JobLimits(seconds=job_seconds, workers=workers or defaults.workers)
    try:
        check_store(store, create)
        try:
            parse_networks(tuple(trusted_proxy))
        except ValueError as exc:
            raise UsageError(f"--trusted-proxy: {exc}") from None
        settings = Settings(store=store, data_dir=Path(data_dir), scheduler=scheduler, limits=limits,
                            secure_cookies=secure_cookies, trusted_proxies=tuple(trusted_proxy))
        serve(settings, host, port, announce=True)
    except AppvetError as exc:
        raise _fail(exc) from None


def _log(store: str, data_dir: str, create: bool = False) -> Any:
    from appvet.serve.app import open_service_store
    from appvet.serve.audit import AuditLog

    check_store(store, create)
    engine = open_service_store(store)
    return engine, AuditLog.open(engine, Path(data_dir))


def _run(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except AppvetError as exc:
        raise _fail(exc) from None


@users_app.command("add")
def users_add(name: str, team: str = typer.Option(..., "--team"),
              role: str = typer.Option("analyst", "--role", help="analyst, approver or admin"),
              store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
              data_dir: str = typer.Option(DEFAULT_DATA, "--data-dir", help=DATA_HELP)) -> None:
    """Add a user to a team (the team is created on first use); makes the store if it is new."""
    from appvet.serve import auth

    engine, log = _run(_log, store, data_dir, True)
    _run(auth.add_user, engine, name, team, role)
    log.append("cli", team, "user.add", name, {"role": role})
    typer.echo(f"user {name} added to {team} as {role}")
    typer.echo(f"next: appvet users token {name} --store {store} --data-dir {data_dir}   (prints the API token "
               "to sign in with)")


@users_app.command("token")
def users_token(name: str, label: str = typer.Option("", "--label"),
                store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
                data_dir: str = typer.Option(DEFAULT_DATA, "--data-dir", help=DATA_HELP)) -> None:
    """Issue a token for a user; it is printed once and only its hash is kept."""
    from appvet.serve import auth

    engine, log = _run(_log, store, data_dir)
    tid, token = _run(auth.issue_token, engine, name, label)
    log.append("cli", "", "token.issue", name, {"token_id": tid})
    typer.echo(token)
    typer.echo(f"token id {tid}; sign in at /ui/login with it, or send it as 'Authorization: Bearer <token>'",
               err=True)


@users_app.command("revoke")
def users_revoke(name: str, token_id: int | None = typer.Option(None, "--token-id", help="Default: every token."),
                 store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
                 data_dir: str = typer.Option(DEFAULT_DATA, "--data-dir", help=DATA_HELP)) -> None:
    """Revoke one token of a user, or all of them; sessions opened with them end too."""
    from appvet.serve import auth

    engine, log = _run(_log, store, data_dir)
    n = _run(auth.revoke, engine, name, token_id)
    log.append("cli", "", "token.revoke", name, {"token_id": token_id, "revoked": n})
    typer.echo(f"{n} token(s) revoked")


@audit_app.command("verify")
def audit_verify(store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
                 data_dir: str = typer.Option(DEFAULT_DATA, "--data-dir", help=DATA_HELP)) -> None:
    """Check the audit log: every entry's MAC, the anchored head, and every approval. Exit 1 if tampered."""
    from appvet.serve.app import sqlite_path

    if not (Path(data_dir) / "audit.key").is_file():
        raise _fail(UsageError(f"{data_dir}: no audit.key here; pass the service's --data-dir"))
    path = sqlite_path(store)
    if path is not None and not path.exists():
        raise _fail(UsageError(f"store {path} does not exist; check --store"))
    _engine, log = _run(_log, store, data_dir)
    result = log.verify()
    if result["ok"]:
        typer.echo(f"audit log ok: {result['entries']} entries, head {result['head'][:16]}")
        return
    where = f" at entry {result['broken_at']}" if result["broken_at"] is not None else ""
    typer.echo(f"audit log NOT ok{where}: {result['problem']} ({result['entries']} entries verified before it)",
               err=True)
    raise typer.Exit(1)


serve_app.command("serve")(serve_cmd)
serve_app.add_typer(users_app, name="users")
serve_app.add_typer(audit_app, name="audit")
