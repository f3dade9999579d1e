"""``callqa batch``: a day of recordings analysed on Ray, stored, resumable, with alerts as calls finish."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from engine.cli.common import ConfigOption, config_or_exit, report_error, stderr
from engine.config import ConfigError
from engine.store import Store


def _summary(report) -> Table:
    table = Table(title="callqa batch" + (" (interrupted: rerun to finish)" if report.interrupted else ""))
    table.add_column("")
    table.add_column("")
    rows = [
        ("recordings", str(report.total)),
        ("analysed now", str(report.done)),
        ("skipped (already stored)", str(report.skipped)),
        ("failed", str(len(report.failed))),
        ("audio analysed", f"{report.audio_seconds / 3600:.2f} h"),
        ("wall time", f"{report.wall_seconds:.1f} s"),
        ("real-time factor", f"{report.real_time_factor:.3f}"),
        ("alerts delivered / pending", f"{report.alerts_delivered} / {report.alerts_pending}"),
        ("new voice-case candidates", str(len(report.cases_promoted))),  # callqa cases list
    ]
    if report.calls_per_node:
        # Where the work went: on a cluster, a node missing here did none.
        rows.append(("calls per Ray node", ", ".join(f"{node[:8]} ×{count}"
                                                     for node, count in sorted(report.calls_per_node.items()))))
    for name, value in rows:
        table.add_row(name, value)
    for call_id, reason, message in report.failed:
        table.add_row(f"[red]failed[/red] {call_id}", f"{reason}: {message}")
    return table


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        source: str = typer.Argument(..., help="a folder, a glob, or a manifest (.csv / .jsonl)"),
        db: str = typer.Option(None, "--db", help="database URL (default: store.url, an SQLite file)"),
        address: str = typer.Option(None, "--address", help="Ray cluster to join, HOST:PORT of its head "
                                    "(default: a new Ray in this process, never a cluster already on the machine)"),
        workers: int = typer.Option(None, "--workers", "-w", help="analysis actors (default: one per CPU)"),
        standard: str = typer.Option(None, "--standard", help="QA standard name or YAML path"),
        redact: bool = typer.Option(False, "--redact", help="mask card/ID/phone numbers, e-mails … before anything "
                                    "is stored, and write redacted audio copies (redact.enabled)"),
        config: Path = ConfigOption,
    ) -> None:
        """Analyse every recording of SOURCE not analysed before; store results; alert as calls finish."""
        overrides: dict = {"store": {}, "batch": {}}
        if db:
            overrides["store"]["url"] = db
        if address:
            overrides["batch"]["address"] = address
        if workers:
            overrides["batch"]["workers"] = workers
        if standard:
            overrides["score"] = {"standard": standard}
        if redact:
            overrides["redact"] = {"enabled": True}
        app_config = config_or_exit(config, overrides)
        if app_config.redact.enabled:
            from engine.redact.rules import load_rules

            try:  # a bad rules file stops the batch before Ray starts, not in every actor
                load_rules(app_config.redact)
            except ConfigError as exc:
                stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
                raise typer.Exit(2) from None

        from workers.batch import run_batch, shutdown
        from workers.cluster import ClusterError
        from workers.intake import ManifestError, collect

        try:
            items = collect(source)
        except ManifestError as exc:
            stderr.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        store = Store.open(app_config.store)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[audio]} audio · {task.fields[speed]}"), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=stderr, disable=not stderr.is_terminal) as progress:
            task = progress.add_task("calls", total=len(items), audio="0.00 h", speed="-")

            def hook(report, _outcome) -> None:
                finished = report.done + report.skipped + len(report.failed)
                speed = (f"{report.audio_seconds / report.wall_seconds:.1f} audio s/s"
                         if report.wall_seconds else "-")
                progress.update(task, completed=finished, audio=f"{report.audio_seconds / 3600:.2f} h", speed=speed)

            try:
                report = run_batch(items, app_config, store, app_config.batch, progress=hook)
            except ClusterError as exc:
                report_error(exc)
                raise typer.Exit(2) from None
            finally:
                shutdown()
                store.close()
        Console().print(_summary(report))
        if report.interrupted:
            raise typer.Exit(130)
