"""The ``callqa`` command line."""

from __future__ import annotations

import logging

import typer

from engine.cli import analyze, batch, models, sample, summary, transcribe

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="callqa: score every recorded customer-service call, with the evidence.")
transcribe.register(app)
analyze.register(app)
batch.register(app)
sample.register(app)
summary.register(app)
models.register(app)

try:  # stages whose commands are added as they land
    from engine.cli import diarize as _diarize
except ImportError:
    _diarize = None
if _diarize is not None:
    _diarize.register(app)

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

__all__ = ["app"]
