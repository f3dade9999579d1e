"""``callqa agents …``: agents' levels in the voice-case library, and their assessments.

    callqa agents list --db URL
    callqa agents show AGENT
    callqa agents assessment AGENT                 the questions of the next level's test half
    callqa agents assess AGENT --trainer T --pass CASE:Q … --fail CASE:Q …   (or --results FILE.json)
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.cases import (
    DbOption,
    FormatOption,
    TrainerOption,
    case_settings,
    check_format,
    fail,
    library_store,
    repository,
)
from engine.cli.common import ConfigOption


def _question_key(value: str) -> tuple[str, int]:
    case_id, sep, index = value.rpartition(":")
    if not sep or not index.isdigit():
        raise typer.BadParameter(f"expected CASE_ID:QUESTION (e.g. case-0123abcd:0), got {value!r}")
    return case_id, int(index)


def _results(passed: list[str], failed: list[str], file: Path | None) -> dict[tuple[str, int], bool]:
    results: dict[tuple[str, int], bool] = {}
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise fail(f"{file}: {exc}", 2) from None
        if not isinstance(data, dict) or not all(isinstance(v, bool) for v in data.values()):
            raise fail(f"{file}: expected a JSON object of \"CASE_ID:QUESTION\": true|false", 2)
        results.update({_question_key(k): v for k, v in data.items()})
    results.update({_question_key(k): True for k in passed})
    results.update({_question_key(k): False for k in failed})
    return results


def register(app: typer.Typer) -> None:
    agents = typer.Typer(no_args_is_help=True, help="Agents' levels (0-5) and their assessments on the library.")
    app.add_typer(agents, name="agents")

    @agents.command("list")
    def list_agents(db: str = DbOption, output: str = FormatOption, config: Path = ConfigOption) -> None:
        """Every agent with their level and latest assessment."""
        check_format(output, ("text", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            found = repository(app_config, rules, store).agents()
        if output == "json":
            typer.echo(json.dumps([a.model_dump(mode="json") for a in found], indent=2))
            return
        table = Table(title="agents")
        for column in ("agent", "level", "assessments", "last"):
            table.add_column(column)
        for a in found:
            last = a.assessments[-1] if a.assessments else None
            table.add_row(a.agent_id, str(a.level), str(len(a.assessments)),
                          f"level {last.level}: {last.passed}/{last.total} {'up' if last.moved_up else 'stayed'}"
                          if last else "-")
        Console().print(table)

    @agents.command("show")
    def show(agent_id: str, db: str = DbOption, output: str = FormatOption, config: Path = ConfigOption) -> None:
        """An agent's level and every assessment, per question."""
        check_format(output, ("text", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            agent = repository(app_config, rules, store).agent(agent_id)
        if output == "json":
            typer.echo(json.dumps(agent.model_dump(mode="json"), indent=2))
            return
        typer.echo(f"{agent.agent_id}: level {agent.level}")
        for a in agent.assessments:
            typer.echo(f"  attempt {a.attempt} at level {a.level} by {a.trainer}: {a.passed}/{a.total} "
                       f"({a.share:.0%}) {'moved up' if a.moved_up else 'stayed'}")
            for item in a.items:
                typer.echo(f"    {item.case_id}:{item.question} {item.kind}: {'pass' if item.passed else 'fail'}")

    @agents.command("assessment")
    def assessment(agent_id: str, db: str = DbOption, output: str = FormatOption,
                   config: Path = ConfigOption) -> None:
        """The questions an agent answers next: the test half of the level above theirs."""
        check_format(output, ("text", "json"))
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            repo = repository(app_config, rules, store)
            level = repo.agent(agent_id).level + 1
            questions = repo.assessment_questions(level) if level <= rules.agents.max_level else []
        if output == "json":
            typer.echo(json.dumps({"agent_id": agent_id, "level": level, "questions": [
                {"key": f"{q.case_id}:{q.index}", **q.question.model_dump(mode="json")} for q in questions]},
                ensure_ascii=False, indent=2))
            return
        typer.echo(f"{agent_id}: level {level}'s test half, {len(questions)} question(s)")
        for q in questions:
            typer.echo(f"  {q.case_id}:{q.index} [{q.question.kind}] {q.question.prompt}")

    @agents.command("assess")
    def assess(agent_id: str, trainer: str = TrainerOption,
               passed: list[str] = typer.Option([], "--pass", help="CASE_ID:QUESTION the agent passed"),
               failed: list[str] = typer.Option([], "--fail", help="CASE_ID:QUESTION the agent failed"),
               results: Path = typer.Option(None, "--results", help="JSON {\"CASE_ID:QUESTION\": true|false}"),
               db: str = DbOption, config: Path = ConfigOption) -> None:
        """Record an assessment: every question of the next level's test half, passed or failed."""
        from engine.cases.repository import CaseError

        answers = _results(passed, failed, results)
        app_config, rules = case_settings(config)
        with library_store(app_config, db) as store:
            try:
                record = repository(app_config, rules, store).record_assessment(agent_id, trainer, answers)
            except CaseError as exc:
                raise fail(str(exc)) from None
        outcome = f"moved up to level {record.level}" if record.moved_up else f"stays below level {record.level}"
        typer.echo(f"{agent_id}: level {record.level} assessment {record.passed}/{record.total} "
                   f"({record.share:.0%}); {outcome}")
