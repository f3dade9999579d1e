"""What every command shares: configuration loading, error reporting, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from engine.config import AppConfig, ConfigError, load_config
from engine.errors import CallQAError

stderr = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

ConfigOption = typer.Option(None, "--config", "-c", help="YAML file layered over configs/default.yaml")


def config_or_exit(path: Path | None, overrides: dict[str, Any] | None = None) -> AppConfig:
    try:
        return load_config(path, overrides)
    except ConfigError as exc:
        stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def report_error(exc: CallQAError) -> None:
    stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr when a person is watching; nothing in pipes and CI logs."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=stderr, transient=True) as progress:
        yield progress


def for_each_file(files: Iterable[Path], work: Callable[[Path], T]) -> tuple[list[T], int]:
    """Run ``work`` on each file; a bad file is reported on stderr and the others go on."""
    results: list[T] = []
    failures = 0
    for path in files:
        try:
            results.append(work(path))
        except CallQAError as exc:
            report_error(exc)
            failures += 1
    return results, failures
