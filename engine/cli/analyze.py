"""``callqa analyze``: the whole analysis of each call, written as ``<call id>.json``, with a summary."""

from __future__ import annotations

from pathlib import Path

import typer

from engine.cli.common import ConfigOption, config_or_exit, for_each_file, stderr
from engine.config import ConfigError
from engine.pipeline import Engine
from engine.record import CallAnalysis
from engine.score import summary_lines


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        files: list[Path] = typer.Argument(..., help="recordings to analyse"),
        standard: str = typer.Option(None, "--standard", "-s",
                                     help="QA standard: five_point, qa_checklist, or a YAML path (default: config)"),
        out: Path = typer.Option(Path("out"), "--out", "-o", help="folder for <call id>.json"),
        redact: bool = typer.Option(False, "--redact", help="mask card/ID/phone numbers, e-mails … in everything "
                                    "written, and write a redacted audio copy (redact.enabled)"),
        config: Path = ConfigOption,
    ) -> None:
        """Transcribe, diarize, score: write each CallAnalysis as JSON and print a readable summary."""
        overrides: dict = {}
        if standard:
            overrides["score"] = {"standard": standard}
        if redact:
            overrides["redact"] = {"enabled": True}
        engine = Engine(config_or_exit(config, overrides or None))
        try:
            engine.standard  # noqa: B018  (load and validate the standard before any audio is decoded)
            if engine.config.redact.enabled:
                engine.redactor  # noqa: B018  (and the redaction rules)
        except ConfigError as exc:
            stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        out.mkdir(parents=True, exist_ok=True)

        def one(path: Path) -> CallAnalysis:
            analysis = engine.analyze(path)
            target = out / f"{analysis.call.call_id}.json"
            target.write_text(analysis.to_json(indent=2), encoding="utf-8")
            lines = summary_lines(analysis)
            if engine.config.redact.enabled:
                from engine.redact import redaction_summary

                lines.append(redaction_summary(analysis.redaction))
            typer.echo("\n".join(lines) + f"\n  -> {target}\n")
            return analysis

        try:
            analyses, failures = for_each_file(files, one)
        except ConfigError as exc:
            # A model's configuration is read when a call first needs it (models load lazily): a bad one
            # stops the run with its message, as one found at start-up does.
            stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {len(analyses)} analyses to {out}/" + (f"; {failures} failed" if failures else ""))
        if failures:
            raise typer.Exit(1)
