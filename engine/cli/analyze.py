"""``callqa analyze``: the whole analysis of each call, written as ``<call id>.json``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.common import ConfigOption, config_or_exit, for_each_file
from engine.pipeline import Engine
from engine.record import CallAnalysis


def summary_table(analyses: list[CallAnalysis]) -> Table:
    table = Table(title="callqa: analysed calls")
    for column in ("call", "duration", "language", "channels", "words", "turns", "notes"):
        table.add_column(column, overflow="fold")
    for a in analyses:
        transcript = a.transcript
        table.add_row(
            a.call.call_id, f"{a.call.duration:.1f} s", transcript.language if transcript else "-",
            str(a.call.channels), str(len(transcript.words)) if transcript else "-", str(len(a.turns)),
            "; ".join(a.call.warnings),
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        files: list[Path] = typer.Argument(..., help="recordings to analyse"),
        out: Path = typer.Option(Path("out"), "--out", "-o", help="folder for <call id>.json"),
        config: Path = ConfigOption,
    ) -> None:
        """Analyse calls end to end and write each CallAnalysis as JSON, with a summary."""
        engine = Engine(config_or_exit(config))
        out.mkdir(parents=True, exist_ok=True)

        def one(path: Path) -> CallAnalysis:
            analysis = engine.analyze(path)
            target = out / f"{analysis.call.call_id}.json"
            target.write_text(analysis.to_json(indent=2), encoding="utf-8")
            return analysis

        analyses, failures = for_each_file(files, one)
        if analyses:
            Console().print(summary_table(analyses))
            typer.echo(f"wrote {len(analyses)} analyses to {out}/")
        if failures:
            raise typer.Exit(1)
