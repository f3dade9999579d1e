"""``callqa serve``: the web application over the store; ``callqa reviewer add``: who may sign in to it."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from engine.cases.config import CasesConfig
from engine.cli.common import ConfigOption, stderr
from engine.cli.sample import open_store, sections
from engine.store import EventKindsConfig, StoreConfig
from engine.summary import SummaryConfig

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _store_config(config: Path | None, db: str | None) -> tuple[StoreConfig, dict]:
    from engine.web import WebConfig

    cfg = sections(config, {"store": StoreConfig, "summary": SummaryConfig, "event_kinds": EventKindsConfig,
                            "web": WebConfig, "cases": CasesConfig})
    store_cfg = cfg["store"]
    assert isinstance(store_cfg, StoreConfig)
    if db:
        store_cfg = store_cfg.model_copy(update={"url": db})
    return store_cfg, cfg


def _check_case_rules(cases: CasesConfig) -> None:
    """The case pages load the library's rules on first use: a bad rules file stops the server here instead."""
    from engine.cases.config import load_case_rules
    from engine.config import ConfigError

    try:
        load_case_rules(cases)
    except ConfigError as exc:
        stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        db: str = typer.Option(None, "--db", help="database URL (default: store.url)"),
        host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; only this machine by default"),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="port to listen on"),
        audio_root: Path = typer.Option(None, "--audio-root",
                                        help="folder that relative recording paths in the store are under "
                                             "(default: the current folder)"),
        config: Path = ConfigOption,
    ) -> None:
        """Dashboard, search, call reports with audio, review and the voice-case library in the browser."""
        import uvicorn

        from engine.web import create_app

        store_cfg, cfg = _store_config(config, db)
        _check_case_rules(cfg["cases"])  # type: ignore[arg-type]
        store = open_store(store_cfg)
        if audio_root is not None and not audio_root.is_dir():
            stderr.print(f"[red]error:[/red] --audio-root {audio_root}: no such folder", markup=True, highlight=False)
            raise typer.Exit(2)
        app_ = create_app(store, cfg["web"], cfg["summary"], cfg["event_kinds"], audio_root,  # type: ignore[arg-type]
                          cfg["cases"])  # type: ignore[arg-type]
        if host not in LOCAL_HOSTS:
            stderr.print(f"[yellow]warning:[/yellow] listening on {host}: other machines can reach this server; "
                         "put it behind HTTPS before calls leave this network", markup=True, highlight=False)
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"callqa serve: http://{shown}:{port}/  (database {store_cfg.url}; Ctrl+C to stop)")
        try:
            uvicorn.run(app_, host=host, port=port, log_level="warning")
        finally:
            store.close()

    reviewer_app = typer.Typer(help="Reviewer accounts for `callqa serve` (passwords are stored hashed).",
                               no_args_is_help=True)
    app.add_typer(reviewer_app, name="reviewer")

    @reviewer_app.command("add")
    def add(
        name: str = typer.Argument(..., help="the reviewer's sign-in name"),
        db: str = typer.Option(None, "--db", help="database URL (default: store.url)"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
        config: Path = ConfigOption,
    ) -> None:
        """Add a reviewer, or set a new password for one."""
        from engine.web.auth import add_reviewer

        store_cfg, _ = _store_config(config, db)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        with open_store(store_cfg) as store:
            try:
                add_reviewer(store, name, password)
            except ValueError as exc:
                stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
                raise typer.Exit(2) from None
        typer.echo(f"reviewer {name} can sign in")
