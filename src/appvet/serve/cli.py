"""``appvet serve`` and ``appvet users add/token/revoke``.

Registered in ``appvet.cli`` with::

    from appvet.serve.cli import serve_cmd, users_app
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")

``serve_app`` holds both for ``python -m appvet.serve``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from appvet.errors import AppvetError

STORE_HELP = "SQLAlchemy URL of the store (sqlite:///file.db or postgresql://...)."
DEFAULT_STORE = "sqlite:///appvet-serve.db"

serve_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The appvet review service.")
users_app = typer.Typer(no_args_is_help=True, help="Service users and their API tokens.")


def serve_cmd(
    store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address; default: local workers."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data_dir: str = typer.Option("appvet-serve-data", "--data-dir", help="Where uploads and the cookie key go."),
    workers: int = typer.Option(0, "--workers", help="Reviews at a time (0: up to 4, one per CPU)."),
    job_seconds: float = typer.Option(300.0, "--job-seconds", help="Time budget of one review."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Set when served over HTTPS."),
) -> None:
    """Run the review service (REST API under /api, web UI under /ui)."""
    import uvicorn

    from appvet.serve.app import Settings, create_app
    from appvet.serve.jobs import JobLimits

    defaults = JobLimits()
    limits = JobLimits(seconds=job_seconds, workers=workers or defaults.workers)
    try:
        app = create_app(Settings(store=store, data_dir=Path(data_dir), scheduler=scheduler, limits=limits,
                                  secure_cookies=secure_cookies))
    except AppvetError as exc:
        typer.echo(exc.diagnostics(), err=True)
        raise typer.Exit(exc.exit_code) from None
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def _engine(store: str):  # type: ignore[no-untyped-def]
    from appvet.fleet.store import open_store
    from appvet.serve import db

    engine = open_store(store)
    db.create_tables(engine)
    return engine


def _run(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except AppvetError as exc:
        typer.echo(exc.diagnostics(), err=True)
        raise typer.Exit(exc.exit_code) from None


@users_app.command("add")
def users_add(name: str, team: str = typer.Option(..., "--team"),
              role: str = typer.Option("analyst", "--role", help="analyst, approver or admin"),
              store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP)) -> None:
    """Add a user to a team (the team is created on first use)."""
    from appvet.serve import audit, auth

    engine = _engine(store)
    _run(auth.add_user, engine, name, team, role)
    audit.append(engine, "cli", team, "user.add", name, {"role": role})
    typer.echo(f"user {name} added to {team} as {role}")


@users_app.command("token")
def users_token(name: str, label: str = typer.Option("", "--label"),
                store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP)) -> None:
    """Issue a token for a user; it is printed once and only its hash is kept."""
    from appvet.serve import audit, auth

    engine = _engine(store)
    tid, token = _run(auth.issue_token, engine, name, label)
    audit.append(engine, "cli", "", "token.issue", name, {"token_id": tid})
    typer.echo(token)
    typer.echo(f"token id {tid}", err=True)


@users_app.command("revoke")
def users_revoke(name: str, token_id: int | None = typer.Option(None, "--token-id", help="Default: every token."),
                 store: str = typer.Option(DEFAULT_STORE, "--store", help=STORE_HELP)) -> None:
    """Revoke one token of a user, or all of them; sessions opened with them end too."""
    from appvet.serve import audit, auth

    engine = _engine(store)
    n = _run(auth.revoke, engine, name, token_id)
    audit.append(engine, "cli", "", "token.revoke", name, {"token_id": token_id, "revoked": n})
    typer.echo(f"{n} token(s) revoked")


serve_app.command("serve")(serve_cmd)
serve_app.add_typer(users_app, name="users")
