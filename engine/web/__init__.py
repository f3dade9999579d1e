"""``callqa serve``: the QA team's web application over the store (dashboard, search, call report, review).

    from engine.web import create_app
    app = create_app(Store.open(url))      # an ASGI app; ``callqa serve`` runs it with uvicorn

The app reads the store that ``callqa batch`` fills and never runs a model. ``callqa report`` writes one
call's report as a self-contained HTML file with ``write_report``. Names load on first use:
``engine.config`` imports ``engine.web.config`` at start-up, and the web framework would otherwise be
imported by every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports
from engine.web.config import WebConfig

if TYPE_CHECKING:
    from engine.web.app import create_app
    from engine.web.standalone import write_report

__all__ = ["WebConfig", "create_app", "write_report"]
__getattr__ = lazy_exports(__name__, {"create_app": "engine.web.app", "write_report": "engine.web.standalone"})
