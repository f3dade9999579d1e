"""A case exported as JSON or as one self-contained HTML page (``callqa cases export``).

The page holds the clip's player (a data: URI), the transcript with speakers, times and marks (a click on a
time plays from there), both parties' emotion trajectories (plotly, inline), the annotation and the
questions. In the test half a question's reference answer stays hidden until the reader submits an answer.

Privacy: the clip comes from the redacted copy of the recording when redaction was on; when it was off the
page says so, and the original audio is embedded only when asked (``with_audio``), since it carries the
parties' names and numbers. The transcript is the stored one: masked when redaction was on.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from engine.cases.clip import AudioClip, cut_clip
from engine.cases.config import ExportConfig
from engine.cases.records import Mark, VoiceCase
from engine.cases.texts import load_texts
from engine.emotion.config import TrajectoryConfig
from engine.emotion.trajectory import trajectories
from engine.pages import PLOTLY_JS, emotion_trajectories, inline_asset
from engine.record import CallAnalysis, Event
from engine.score.context import clock
from engine.store.config import EventKindsConfig, kind_matches

ExportFormat = Literal["json", "html"]
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Privacy:
    redacted: bool
    audio: str  # "redacted clip", "original clip (opted in)", or why there is none
    notice: str

    @classmethod
    def redaction_on(cls, analysis: CallAnalysis, clip: bool, missing_where: str) -> Privacy:
        """A call analysed with redaction on: its clip is the redacted copy (absent: not ``missing_where``)."""
        assert analysis.redaction is not None
        masked = sum(analysis.redaction.counts.values())
        audio = "redacted clip" if clip else f"no clip: the redacted copy of the recording is not {missing_where}"
        return cls(True, audio, f"Redaction was on: {masked} name(s) and number(s) masked in the transcript "
                                f"and the audio.")

    @classmethod
    def redaction_off(cls, audio: str, clip_verb: str) -> Privacy:
        """A call analysed with redaction off: what ``audio`` says, and that names and numbers are as spoken."""
        return cls(False, audio, f"Redaction was off for this call: the transcript (and the clip, if {clip_verb}) "
                                 "carries the parties' names and numbers as spoken.")


def case_moments(case: VoiceCase) -> list[tuple[float, float]]:
    """The spans a case's clip is cut around: its reasons, marks and questions."""
    spans = [(r.start, r.end) for r in case.reasons if r.event_kind != "scorecard"]
    spans += [(m.start, m.end) for m in case.annotation.marks]
    spans += [(q.time, q.time) for q in case.annotation.questions]
    return spans


def privacy(analysis: CallAnalysis, clip: AudioClip | None, with_audio: bool) -> Privacy:
    if analysis.redaction is not None:
        return Privacy.redaction_on(analysis, clip is not None, "there")
    if clip:
        audio = "original clip (opted in with --with-audio)"
    else:
        audio = ("no clip: the original recording is not there" if with_audio else
                 "no clip: redaction was off, so the original audio leaves the store only with --with-audio")
    return Privacy.redaction_off(audio, "included")


def case_json(case: VoiceCase, analysis: CallAnalysis | None) -> dict[str, Any]:
    """The case as JSON: the record itself, and whether its call was redacted."""
    data = case.model_dump(mode="json")
    data["redacted"] = bool(analysis and analysis.redaction is not None)
    return data


def _family(kind: str, kinds: EventKindsConfig) -> str | None:
    for family in ("escalation", "recovery", "defect"):
        if kind_matches(kind, getattr(kinds, family)):
            return family
    return None


def trajectory_figure(analysis: CallAnalysis) -> dict[str, Any]:
    """Both parties' valence over the call (plotly JSON), with escalations, defects and recoveries marked."""
    if not analysis.trajectories:  # an analysis without the emotion stage's curves: drawn from its turns
        analysis = analysis.model_copy(update={"trajectories": trajectories(analysis.turns, TrajectoryConfig())})
    kinds = EventKindsConfig()
    events: list[tuple[str, Event]] = [(f, e) for e in analysis.events if (f := _family(e.kind, kinds))]
    return emotion_trajectories(analysis, events)


def marks_by_turn(case: VoiceCase) -> dict[int, list[Mark]]:
    """The annotation's marks under the turns they sit on (the transcript shows them there)."""
    found: dict[int, list[Mark]] = {}
    for mark in case.annotation.marks:
        if mark.turn is not None:
            found.setdefault(mark.turn, []).append(mark)
    return found


def case_css() -> str:
    """The styles of the shared case body (``case_body.html``)."""
    return (TEMPLATES / "case.css").read_text(encoding="utf-8")


def case_environment() -> jinja2.Environment:
    """Jinja2 over the case templates, autoescape on: transcripts are untrusted text."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["clock"] = clock
    return env


def render_case_html(case: VoiceCase, analysis: CallAnalysis, config: ExportConfig,
                     with_audio: bool = False) -> str:
    """The case page as one HTML file (opens offline)."""
    clip = cut_clip(analysis, case_moments(case), config, allow_original=with_audio)
    figure = json.dumps(trajectory_figure(analysis), default=str).replace("</", "<\\/")
    return case_environment().get_template("case.html").render(
        case=case, annotation=case.annotation, marks_by_turn=marks_by_turn(case),
        labels=load_texts(case.annotation.language).labels,
        questions_mode="in_page" if case.half == "test" else "shown", privacy=privacy(analysis, clip, with_audio),
        clip=clip, preload="auto", inline_css=inline_asset(case_css()),
        audio_url=(f"data:audio/wav;base64,{base64.b64encode(clip.wav).decode('ascii')}" if clip else None),
        figure=Markup(figure), inline_plotly=inline_asset(PLOTLY_JS.read_text(encoding="utf-8")),
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def export_case(case: VoiceCase, analysis: CallAnalysis | None, out: Path, fmt: ExportFormat,
                config: ExportConfig, with_audio: bool = False) -> int:
    """Write the case to ``out``; returns the bytes written."""
    if fmt == "json":
        text = json.dumps(case_json(case, analysis), ensure_ascii=False, indent=2)
    else:
        if analysis is None:
            raise ValueError(f"{case.case_id}: its call's analysis is not in the store; only JSON can be exported")
        text = render_case_html(case, analysis, config, with_audio)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out.stat().st_size
