"""What every command shares: configuration loading, error reporting, progress."""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
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
    """One bad file on stderr: the file, the reason and what to do (``CallQAError`` carries all three)."""
    stderr.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)


def report_unexpected(path: Path, exc: Exception) -> None:
    """A file that failed in a way the engine does not name: reported like the others, the run goes on."""
    log.debug("%s failed", path, exc_info=exc)
    report_error(CallQAError(path, f"analysis failed ({type(exc).__name__}: {exc})",
                             "The other files go on; this is a fault in callqa, report it with the file"))


def failed_files_note(failures: int, total: int) -> None:
    """The run's last line on stderr when some files failed (the exit code says it too)."""
    if failures:
        stderr.print(f"[red]{failures} of {total} file(s) failed[/red]; the others' results were written",
                     markup=True, highlight=False)


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
    """Run ``work`` on each file; a bad file is reported on stderr and the others go on.

    A ``ConfigError`` is not a bad file: the configuration is wrong for every file, so it stops the run.
    """
    results: list[T] = []
    failures = 0
    for path in files:
        try:
            results.append(work(path))
        except CallQAError as exc:
            report_error(exc)
            failures += 1
        except ConfigError:
            raise
        except Exception as exc:  # one file's failure must not lose the others' results
            report_unexpected(path, exc)
            failures += 1
    return results, failures
