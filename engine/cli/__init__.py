"""The ``callqa`` command line."""

from __future__ import annotations

import logging

import typer

from engine.cli import (
    agents,
    analyze,
    batch,
    cases,
    diarize,
    emotion,
    models,
    report,
    sample,
    serve,
    summary,
    transcribe,
)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="callqa: score every recorded customer-service call, with the evidence.")
for command in (transcribe, diarize, emotion, analyze, batch, sample, summary, serve, report, models, cases, agents):
    command.register(app)

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

__all__ = ["app"]
