"""The web pages' Jinja2 environment and assets, shared by the server (``app``) and the one-file report.

Autoescape is on for every template: transcripts and metadata are untrusted text. The case templates are
on the path too: a voice-case page shares its body with the exported case (``case_body.html``).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from engine.cases.export import TEMPLATES as CASE_TEMPLATES
from engine.score.context import clock

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def template_environment() -> jinja2.Environment:
    """Jinja2 over the web and case templates, autoescape on, with the filters the pages use."""
    loader = jinja2.FileSystemLoader([TEMPLATES, CASE_TEMPLATES])
    env = jinja2.Environment(loader=loader, autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["clock"] = clock
    env.filters["score"] = lambda v: "–" if v is None else f"{v:.1f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    return env
