"""``callqa summary``: one day's calls per agent and team, and what customers called about."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.common import ConfigOption
from engine.cli.sample import open_store, parse_day, sections
from engine.store import EventKindsConfig, StoreConfig
from engine.summary import DailySummary, GroupSummary, SummaryConfig, daily_summary


def _groups_table(title: str, groups: list[GroupSummary]) -> Table:
    table = Table(title=title)
    for column in ("", "calls", "failed", "mean score", "verdicts", "escalations", "recoveries", "top defects"):
        table.add_column(column, overflow="fold")
    for g in groups:
        table.add_row(
            g.name, str(g.calls), str(g.failed), "-" if g.mean_score is None else f"{g.mean_score:.1f}",
            ", ".join(f"{v} {n}" for v, n in g.verdicts.items()) or "-", str(g.escalations), str(g.recoveries),
            "; ".join(f"{d} ({n})" for d, n in g.top_defects) or "-",
        )
    return table


def print_summary(summary: DailySummary, console: Console) -> None:
    reasons = ", ".join(f"{r} {n}" for r, n in summary.failure_reasons.items())
    console.print(f"[bold]callqa daily summary, {summary.day.isoformat()}[/bold]: {summary.calls} calls analysed, "
                  f"{summary.failed} failed" + (f" ({reasons})" if reasons else ""))
    if summary.dated_by_processing:
        console.print(f"[yellow]{summary.dated_by_processing} call(s) carry no recording time (no call_start in "
                      "the manifest or sidecar, none in the file's tags): filed under the day they were processed"
                      "[/yellow]")
    console.print(_groups_table("per team", [*summary.teams, summary.overall]))
    console.print(_groups_table("per agent", summary.agents))
    drivers = Table(title="call drivers (customers' opening words)")
    for column in ("what customers called about", "calls", "share", "for example"):
        drivers.add_column(column, overflow="fold")
    for d in summary.drivers:
        drivers.add_row(d.label, str(d.calls), f"{d.share:.0%}", " | ".join(d.examples))
    console.print(drivers)


def register(app: typer.Typer) -> None:
    @app.command("summary")
    def summary(
        day: str = typer.Option(None, "--date", "-d", help="YYYY-MM-DD (default: the latest day with calls)"),
        db: str = typer.Option(None, "--db", help="database URL (default: store.url)"),
        output: str = typer.Option("text", "--format", help="text | json"),
        config: Path = ConfigOption,
    ) -> None:
        """Per agent and team: calls, mean score, verdicts, top defects, escalations, recoveries; call drivers."""
        if output not in ("text", "json"):
            raise typer.BadParameter("use text or json", param_hint="--format")
        cfg = sections(config, {"store": StoreConfig, "summary": SummaryConfig, "event_kinds": EventKindsConfig})
        store_cfg, summary_cfg, kinds = cfg["store"], cfg["summary"], cfg["event_kinds"]
        assert isinstance(store_cfg, StoreConfig) and isinstance(summary_cfg, SummaryConfig)
        assert isinstance(kinds, EventKindsConfig)
        if db:
            store_cfg = store_cfg.model_copy(update={"url": db})
        with open_store(store_cfg) as store:
            result = daily_summary(store, parse_day(day, "--date"), summary_cfg, kinds)
        if result is None:
            typer.echo("no calls stored yet")
            raise typer.Exit(1)
        if output == "json":
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            print_summary(result, Console())
