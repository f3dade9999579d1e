"""``callqa models``: which models are installed here, and where."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from engine.errors import ModelNotInstalled
from engine.models import available_models, ensure_model_dir
from engine.models.registry import MODELS


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="Installed models and their locations.", no_args_is_help=True)
    app.add_typer(models_app, name="models")

    @models_app.command("list")
    def list_models() -> None:
        """Show every known model: installed or not, where, and how to install it."""
        table = Table(title="callqa models (all offline)")
        for column in ("name", "kind", "installed", "location / install with", "description"):
            table.add_column(column, overflow="fold")
        for entry, location in available_models():
            table.add_row(entry.name, entry.kind, "yes" if location else "no",
                          str(location) if location else entry.install, entry.description)
        Console().print(table)

    @models_app.command("prepare")
    def prepare() -> None:
        """Make every installed model ready (joins the split multilingual weights once)."""
        failed = False
        for name in MODELS:
            try:
                typer.echo(f"{name}: {ensure_model_dir(name)}")
            except ModelNotInstalled as exc:
                typer.echo(f"{name}: {exc}", err=True)
                failed = True
        if failed:
            raise typer.Exit(1)
