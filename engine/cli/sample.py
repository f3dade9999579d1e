"""``callqa sample``: draw calls for human review (random, stratified per agent, or risk-weighted)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from engine.cli.common import ConfigOption, config_or_exit, stderr
from engine.config import describe_validation_error
from engine.store import EventKindsConfig, SamplingConfig, Store, StoreConfig
from engine.store.config import app_section
from engine.store.sampling import draw_sample, risk_weight


def sections(config: Path | None, names: dict[str, type[BaseModel]]) -> dict[str, BaseModel]:
    """The named sections of the configuration, or exit 2 naming the key at fault."""
    app_config = config_or_exit(config)
    try:
        return {name: app_section(app_config, name, model) for name, model in names.items()}
    except ValidationError as exc:
        stderr.print(f"[red]error:[/red] {describe_validation_error(config or 'configuration', exc)}",
                     markup=True, highlight=False)
        raise typer.Exit(2) from None


def open_store(store_config: StoreConfig) -> Store:
    """Open an existing database (a typo in --db must not quietly create an empty SQLite file)."""
    url = make_url(store_config.url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        stderr.print(f"[red]error:[/red] no database at {url.database}", markup=True, highlight=False)
        raise typer.Exit(2)
    return Store.open(store_config)


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}", param_hint=option) from None


def register(app: typer.Typer) -> None:
    @app.command("sample")
    def sample(
        reviewer: str = typer.Option(..., "--reviewer", "-r", help="who will review the calls"),
        n: int = typer.Option(None, "--n", "-n", min=1, help="calls to draw (default: sampling.size)"),
        strategy: str = typer.Option(None, "--strategy", "-s",
                                     help="random | stratified (per agent) | risk (default: sampling.strategy)"),
        seed: int = typer.Option(0, "--seed", help="the same seed on the same database draws the same calls"),
        db: str = typer.Option(None, "--db", help="database URL (default: store.url)"),
        first_day: str = typer.Option(None, "--from", help="only calls on or after YYYY-MM-DD"),
        last_day: str = typer.Option(None, "--to", help="only calls on or before YYYY-MM-DD"),
        dry_run: bool = typer.Option(False, "--dry-run", help="show the draw without recording it"),
        output: str = typer.Option("text", "--format", help="text | json"),
        config: Path = ConfigOption,
    ) -> None:
        """Draw calls for a reviewer; a call is never drawn twice for the same reviewer."""
        cfg = sections(config, {"store": StoreConfig, "sampling": SamplingConfig, "event_kinds": EventKindsConfig})
        store_cfg, sampling_cfg, kinds = cfg["store"], cfg["sampling"], cfg["event_kinds"]
        assert isinstance(store_cfg, StoreConfig) and isinstance(sampling_cfg, SamplingConfig)
        assert isinstance(kinds, EventKindsConfig)
        strategy = strategy or sampling_cfg.strategy
        if strategy not in ("random", "stratified", "risk"):
            raise typer.BadParameter("use random, stratified or risk", param_hint="--strategy")
        if output not in ("text", "json"):
            raise typer.BadParameter("use text or json", param_hint="--format")
        if db:
            store_cfg = store_cfg.model_copy(update={"url": db})
        with open_store(store_cfg) as store:
            picked = draw_sample(store, reviewer, n or sampling_cfg.size, strategy, seed,  # type: ignore[arg-type]
                                 config=sampling_cfg, kinds=kinds, first_day=parse_day(first_day, "--from"),
                                 last_day=parse_day(last_day, "--to"), record=not dry_run)
        rows = [
            {"call_id": c.call_id, "call_key": c.call_key, "agent_id": c.agent_id, "team": c.team,
             "call_date": c.call_date.isoformat() if c.call_date else None, "score": c.total,
             "verdict": c.verdict, "risk_weight": round(risk_weight(c, sampling_cfg, kinds), 3)}
            for c in picked
        ]
        if output == "json":
            typer.echo(json.dumps({"reviewer": reviewer, "strategy": strategy, "seed": seed,
                                   "recorded": not dry_run, "calls": rows}, indent=2))
            return
        if not rows:
            typer.echo(f"no calls left to draw for {reviewer}")
            return
        table = Table(title=f"calls for {reviewer} ({strategy}, seed {seed}{', not recorded' if dry_run else ''})")
        for column in ("call", "agent", "team", "date", "score", "verdict", "risk weight"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["call_id"], r["agent_id"] or "-", r["team"] or "-", r["call_date"] or "-",
                          "-" if r["score"] is None else f"{r['score']:.1f}", r["verdict"] or "-",
                          f"{r['risk_weight']:.2f}")
        Console().print(table)
