"""``callqa report``: one call's report as a single HTML file to send to someone without the server.

The same template body as the server's page (``call_body.html``), with the styles, the scripts and
plotly.js inline, and the recording embedded as a data URL (or linked, or left out). It opens from a
file, offline, in any current browser.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from engine.pages import PLOTLY_JS, inline_asset
from engine.record import CallAnalysis, Redaction
from engine.store import EventKindsConfig, StoredCall
from engine.web.config import WebConfig
from engine.web.report import build_report
from engine.web.templating import STATIC, template_environment
from engine.web.views import item_overrides

AudioMode = Literal["embed", "link", "none"]
def recording_file(source: str, redaction: Redaction | None, audio_root: Path | None = None) -> Path | None:
    """The recording a call may play: the redacted copy when redaction was on (None when none was written,
    never the original), else the call's own recording; relative paths under ``audio_root``."""
    chosen = source if redaction is None else redaction.audio
    if chosen is None:
        return None
    path = Path(chosen)
    return path if path.is_absolute() else (audio_root or Path.cwd()) / path


def recording_path(analysis: CallAnalysis, audio_root: Path | None = None) -> Path | None:
    """The recording the report plays (``recording_file``), when it is on this machine."""
    path = recording_file(analysis.call.source, analysis.redaction, audio_root)
    return path if path is not None and path.is_file() else None


def audio_source(analysis: CallAnalysis, mode: AudioMode, audio_root: Path | None = None) -> str | None:
    """What the report's player plays: a data URL, the recording's file URL, or nothing."""
    path = recording_path(analysis, audio_root)
    if mode == "none" or path is None:
        return None
    if mode == "link":
        return path.resolve().as_uri()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_report(analysis: CallAnalysis, kinds: EventKindsConfig | None = None, web: WebConfig | None = None,
                  audio: AudioMode = "embed", call: StoredCall | None = None,
                  reviews: list[dict[str, Any]] | None = None, audio_root: Path | None = None) -> str:
    """The self-contained HTML of one call's report."""
    web = web or WebConfig()
    report = build_report(analysis, kinds or EventKindsConfig(), web.silence_display_s, call=call, reviews=reviews)
    template = template_environment().get_template("report_file.html")
    return template.render(
        report=report, reviews=report.reviews, overrides=item_overrides(report.reviews), plots=report.plots,
        audio_url=audio_source(analysis, audio, audio_root),
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        inline_css=inline_asset((STATIC / "app.css").read_text(encoding="utf-8")),
        inline_js=inline_asset((STATIC / "app.js").read_text(encoding="utf-8")),
        inline_plotly=inline_asset(PLOTLY_JS.read_text(encoding="utf-8")),
    )


def write_report(analysis: CallAnalysis, out: Path, **options: Any) -> int:
    """Write the report to ``out``; returns its size in bytes."""
    html = render_report(analysis, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out.stat().st_size
