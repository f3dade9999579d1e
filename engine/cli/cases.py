"""``callqa cases …``: the voice-case library on the command line.

    callqa cases promote --db URL [--date D]          promote the stored calls the rules pick
    callqa cases list [--status candidate] [--level 2 --half test --kind defect --driver bill --agent a7 …]
    callqa cases show CASE [--format json] [--versions]
    callqa cases accept CASE --trainer T [--level N]  /  reject CASE --trainer T --reason "…"
    callqa cases edit CASE --trainer T --file annotation.json | --background "…" [--note "…"]
    callqa cases regrade CASE --trainer T --level N [--note "…"]  /  retire CASE --trainer T --reason "…"
    callqa cases library                              each level's halves against the target
    callqa cases export CASE --out case.html [--format json|html] [--with-audio]
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from engine.cases.config import CaseRules, load_case_rules
from engine.cases.records import Annotation, CaseQuery, CaseSummary, VoiceCase
from engine.cli.common import ConfigOption, config_or_exit, stderr
from engine.cli.sample import open_store, parse_day
from engine.config import AppConfig, ConfigError
from engine.store import Store

DbOption = typer.Option(None, "--db", help="database URL (default: store.url)")
TrainerOption = typer.Option(..., "--trainer", "-t", help="who decides (kept in the case's history)")
FormatOption = typer.Option("text", "--format", help="text | json")


def fail(message: str, code: int = 1) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def case_settings(config: Path | None) -> tuple[AppConfig, CaseRules]:
    app_config = config_or_exit(config)
    try:
        return app_config, load_case_rules(app_config.cases)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def library_store(app_config: AppConfig, db: str | None) -> Store:
    store_config = app_config.store.model_copy(update={"url": db}) if db else app_config.store
    return open_store(store_config)


def repository(app_config: AppConfig, rules: CaseRules, store: Store):  # type: ignore[no-untyped-def]
    from engine.cases.repository import CaseRepository

    return CaseRepository(store, app_config.cases, rules, drivers=app_config.summary.drivers)


def check_format(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise typer.BadParameter(f"use {' or '.join(allowed)}", param_hint="--format")


def _print_cases(cases: list[CaseSummary], title: str) -> None:
    if not cases:
        typer.echo("no cases")
        return
    table = Table(title=title)
    for column in ("case", "status", "kind", "level", "half", "call", "agent", "lang", "driver", "why"):
        table.add_column(column)
    for c in cases:
        why = ", ".join(dict.fromkeys(r.rule for r in c.reasons))
        table.add_row(c.case_id, c.status, c.kind, str(c.level or "-"), c.half or "-", c.call_id, c.agent_id or "-",
                      c.language, c.driver or "-", why)
    Console().print(table)


def _print_case(case: VoiceCase) -> None:
    console = Console()
    console.print(f"[bold]{case.case_id}[/bold]  {case.status} · {case.kind} · level {case.level or '-'}"
                  f"{' · ' + case.half + ' half' if case.half else ''} · call {case.call_id} · "
                  f"annotation v{case.annotation_version}", highlight=False)
    a = case.annotation
    console.print(f"background: {a.background.situation}", markup=False, highlight=False)
    for r in case.reasons:
        console.print(f"  reason {r.rule} ({r.severity}) at {r.start:.1f} s: {r.detail}", markup=False,
                      highlight=False)
    if case.grade:
        for g in case.grade.reasons:
            console.print(f"  grade {g.factor}: {g.why} -> {g.points:.2f} x {g.weight}", markup=False,
                          highlight=False)
    for t in a.turns:
        acts = ", ".join(f"{x.act}{'*' if x.mattered else ''}" for x in t.acts)
        extra = " · ".join(p for p in (t.emotion, t.change or "", ", ".join(t.intent), acts) if p)
        console.print(f"  [{t.index:>2}] {t.start:7.1f}s {t.role:<8} {t.text}   ({extra})", markup=False,
                      highlight=False)
    for m in a.marks:
        console.print(f"  mark {m.kind} {m.check} turn {m.turn}: {m.label}", markup=False, highlight=False)
    console.print(f"outcome: {a.outcome.summary}", markup=False, highlight=False)
    for n, q in enumerate(a.questions):
        console.print(f"  Q{n} [{q.kind}] turn {q.turn}: {q.prompt}\n      answer: {q.reference_answer}",
                      markup=False, highlight=False)
    for h in case.history:
        console.print(f"  history {h.position}: {h.action} by {h.actor} {h.detail}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    cases = typer.Typer(no_args_is_help=True, help="The graded voice-case library: candidates, cases, export.")
    app.add_typer(cases, name="cases")

    @cases.command("promote")
    def promote(db: str = DbOption, day: str = typer.Option(None, "--date", help="only calls of YYYY-MM-DD"),
                config: Path = ConfigOption) -> None:
        """Promote the stored calls the rules pick into case candidates (a recording is promoted once)."""
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            report = repository(app_config, rules, store).promote(day=parse_day(day, "--date"))
        typer.echo(f"{len(report.promoted)} new candidate(s) from {report.considered} call(s); "
                   f"{report.already} already promoted")
        for case_id in report.promoted:
            typer.echo(f"  {case_id}")

    @cases.command("list")
    def list_cases(
        db: str = DbOption,
        status: str = typer.Option(None, "--status", help="candidate | accepted | rejected | retired"),
        level: int = typer.Option(None, "--level", min=1, max=5),
        half: str = typer.Option(None, "--half", help="training | test"),
        kind: str = typer.Option(None, "--kind", help="defect | recovery | exemplary"),
        driver: str = typer.Option(None, "--driver", help="a word of the call driver"),
        agent: str = typer.Option(None, "--agent"),
        language: str = typer.Option(None, "--language"),
        day: str = typer.Option(None, "--date", help="calls of YYYY-MM-DD"),
        output: str = FormatOption,
        config: Path = ConfigOption,
    ) -> None:
        """Search the library and the candidates queue."""
        check_format(output, ("text", "json"))
        try:
            query = CaseQuery(status=status, level=level, half=half, kind=kind, driver=driver, agent_id=agent,
                              language=language, day=parse_day(day, "--date"))
        except ValidationError as exc:
            raise fail("; ".join(f"--{e['loc'][0]}: {e['msg']}" for e in exc.errors()), 2) from None
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            found = repository(app_config, rules, store).search(query)
        if output == "json":
            typer.echo(json.dumps([c.model_dump(mode="json") for c in found], ensure_ascii=False, indent=2))
        else:
            _print_cases(found, "voice cases")

    @cases.command("show")
    def show(case_id: str, db: str = DbOption, output: str = FormatOption,
             versions: bool = typer.Option(False, "--versions", help="every annotation version (json)"),
             config: Path = ConfigOption) -> None:
        """One case: annotation, marks, questions, grade and history."""
        check_format(output, ("text", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            repo = repository(app_config, rules, store)
            case = repo.case(case_id)
            if case is None:
                raise fail(f"no case {case_id}")
            history = repo.annotation_versions(case_id) if versions else []
        if output == "json":
            data = case.model_dump(mode="json")
            if versions:
                data["versions"] = [v.model_dump(mode="json") for v in history]
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            _print_case(case)

    def decide(action: str, case_id: str, db: str | None, config: Path | None, **kwargs: object) -> None:
        from engine.cases.repository import CaseError

        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            try:
                case = getattr(repository(app_config, rules, store), action)(case_id, **kwargs)
            except CaseError as exc:
                raise fail(str(exc)) from None
        typer.echo(f"{case.case_id}: {case.status}, level {case.level or '-'}"
                   f"{', ' + case.half + ' half' if case.half else ''}, annotation v{case.annotation_version}")

    @cases.command("accept")
    def accept(case_id: str, trainer: str = TrainerOption,
               level: int = typer.Option(None, "--level", min=1, max=5, help="instead of the engine's grade"),
               db: str = DbOption, config: Path = ConfigOption) -> None:
        """Accept a candidate into the library (its half comes from the seeded hash of its id)."""
        decide("accept", case_id, db, config, trainer=trainer, level=level)

    @cases.command("reject")
    def reject(case_id: str, trainer: str = TrainerOption,
               reason: str = typer.Option(..., "--reason", help="why it is not a case"),
               db: str = DbOption, config: Path = ConfigOption) -> None:
        """Reject a candidate, with the reason."""
        decide("reject", case_id, db, config, trainer=trainer, reason=reason)

    @cases.command("edit")
    def edit(case_id: str, trainer: str = TrainerOption,
             file: Path = typer.Option(None, "--file", help="a whole annotation as JSON (from `cases show --format "
                                                            "json`, its `annotation`)"),
             background: str = typer.Option(None, "--background", help="new background text"),
             note: str = typer.Option("", "--note", help="what changed"),
             db: str = DbOption, config: Path = ConfigOption) -> None:
        """Save a new version of a case's annotation (the earlier versions are kept)."""
        if (file is None) == (background is None):
            raise typer.BadParameter("give --file or --background", param_hint="--file")
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            current = repository(app_config, rules, store).case(case_id)
        if current is None:
            raise fail(f"no case {case_id}")
        if file is not None:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
                annotation = Annotation.model_validate(data.get("annotation", data))
            except (OSError, ValueError) as exc:
                raise fail(f"{file}: not an annotation: {exc}", 2) from None
        else:
            background_now = current.annotation.background.model_copy(update={"situation": background})
            annotation = current.annotation.model_copy(update={"background": background_now})
        decide("edit", case_id, db, config, trainer=trainer, annotation=annotation, note=note)

    @cases.command("regrade")
    def regrade(case_id: str, trainer: str = TrainerOption,
                level: int = typer.Option(..., "--level", min=1, max=5), note: str = typer.Option("", "--note"),
                db: str = DbOption, config: Path = ConfigOption) -> None:
        """Set a case's level over the engine's grade (its reasons are kept)."""
        decide("regrade", case_id, db, config, trainer=trainer, level=level, note=note)

    @cases.command("retire")
    def retire(case_id: str, trainer: str = TrainerOption, reason: str = typer.Option(..., "--reason"),
               db: str = DbOption, config: Path = ConfigOption) -> None:
        """Take a case out of the library; it and its history are kept."""
        decide("retire", case_id, db, config, trainer=trainer, reason=reason)

    @cases.command("library")
    def library(db: str = DbOption, output: str = FormatOption, config: Path = ConfigOption) -> None:
        """Each level's training and test halves against the target size."""
        check_format(output, ("text", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            levels = repository(app_config, rules, store).library_status()
        if output == "json":
            typer.echo(json.dumps([s.model_dump() for s in levels], indent=2))
            return
        table = Table(title="the library")
        for column in ("level", "training", "test"):
            table.add_column(column)
        for s in levels:
            table.add_row(str(s.level), f"{s.training} / {s.target_training}", f"{s.test} / {s.target_test}")
        Console().print(table)

    @cases.command("export")
    def export(case_id: str, out: Path = typer.Option(..., "--out", "-o", help="the file to write"),
               output: str = typer.Option("html", "--format", help="html | json"),
               with_audio: bool = typer.Option(False, "--with-audio",
                                               help="embed a clip of the original recording when redaction was "
                                                    "off (it carries names and numbers)"),
               db: str = DbOption, config: Path = ConfigOption) -> None:
        """Write one case as a self-contained HTML page (clip, transcript, trajectories, questions) or JSON."""
        from engine.cases.export import export_case

        check_format(output, ("html", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            repo = repository(app_config, rules, store)
            case = repo.case(case_id)
            if case is None:
                raise fail(f"no case {case_id}")
            analysis = repo.analysis(case)
        try:
            size = export_case(case, analysis, out, output, rules.export, with_audio)  # type: ignore[arg-type]
        except ValueError as exc:
            raise fail(str(exc)) from None
        typer.echo(f"{out} ({size / 1024:.0f} KiB)")


__all__ = ["case_settings", "check_format", "fail", "library_store", "register", "repository"]
