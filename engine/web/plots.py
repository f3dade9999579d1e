"""The charts, as plotly figures (plotly.js draws them in the page from the figure's JSON).

Each function returns ``Figure.to_plotly_json()``: plain data the page embeds as JSON and hands to
``Plotly.newPlot``, so a chart is data, never markup, and untrusted text inside it stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from engine.record import CallAnalysis, Event
from engine.store.queries import DayPoint

FAMILY_COLOURS = {"escalation": "#c0392b", "defect": "#d68910", "recovery": "#1e8449"}
ROLE_COLOURS = {"agent": "#2e86c1", "customer": "#8e44ad"}
_LAYOUT: dict[str, Any] = {"margin": {"l": 50, "r": 20, "t": 30, "b": 40}, "height": 300,
                           "legend": {"orientation": "h", "y": -0.25}, "template": "plotly_white"}


def emotion_trajectories(analysis: CallAnalysis, events: Sequence[tuple[str, Event]]) -> dict[str, Any]:
    """Both parties' valence on one time axis, with escalations, defects and recoveries marked.

    ``events`` pairs each event with its family (escalation, defect, recovery).
    """
    fig = go.Figure()
    for role, points in sorted(analysis.trajectories.items()):
        fig.add_scatter(
            x=[p.time for p in points], y=[p.valence for p in points], mode="lines+markers", name=role,
            line={"color": ROLE_COLOURS.get(role)}, text=[p.label for p in points],
            customdata=[round(p.arousal, 2) for p in points],
            hovertemplate="%{x:.1f} s: %{text}<br>valence %{y:.2f}, arousal %{customdata}<extra>" + role + "</extra>",
        )
    # One list of shapes set once: plotly re-validates every shape on each add_vrect, which made a
    # long call's report take minutes.
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": e.start, "x1": max(e.end, e.start + 0.5),
               "y0": 0, "y1": 1, "fillcolor": FAMILY_COLOURS[f], "opacity": 0.15, "line": {"width": 0},
               "layer": "below"} for f, e in events if f in FAMILY_COLOURS]
    for family, colour in FAMILY_COLOURS.items():
        marked = [e for f, e in events if f == family]
        if marked:
            fig.add_scatter(x=[e.start for e in marked], y=[1.05] * len(marked), mode="markers", name=family,
                            marker={"color": colour, "symbol": "triangle-down", "size": 11},
                            text=[f"{e.kind}: {e.detail}"[:200] for e in marked],
                            hovertemplate="%{x:.1f} s: %{text}<extra></extra>")
    fig.update_layout(**_LAYOUT, shapes=shapes,
                      xaxis={"title": {"text": "time (s)"}, "range": [0, analysis.call.duration]},
                      yaxis={"title": {"text": "valence"}, "range": [-1.1, 1.15]})
    return fig.to_plotly_json()


def talk_time(dynamics: dict[str, Any], duration: float) -> dict[str, Any]:
    """Agent talk, customer talk, overlap and silence, as shares of the call."""
    parts = [("agent", dynamics.get("agent_talk_seconds")), ("customer", dynamics.get("customer_talk_seconds")),
             ("overlap", dynamics.get("overlap_seconds")), ("silence", dynamics.get("silence_seconds"))]
    fig = go.Figure()
    for name, seconds in parts:
        if isinstance(seconds, int | float):
            fig.add_bar(y=["call"], x=[seconds], name=name, orientation="h",
                        marker={"color": ROLE_COLOURS.get(name, "#aab7b8" if name == "silence" else "#f4d03f")},
                        hovertemplate=f"{name}: %{{x:.1f}} s<extra></extra>")
    fig.update_layout(**{**_LAYOUT, "height": 150}, barmode="stack",
                      xaxis={"title": {"text": "seconds"}, "range": [0, max(duration, 1.0)]})
    return fig.to_plotly_json()


def score_distribution(totals: Sequence[float]) -> dict[str, Any]:
    fig = go.Figure(go.Histogram(x=list(totals), xbins={"start": 0, "end": 100.001, "size": 5},
                                 marker={"color": "#2e86c1"}, hovertemplate="%{x}: %{y} calls<extra></extra>"))
    fig.update_layout(**_LAYOUT, xaxis={"title": {"text": "total score"}, "range": [0, 100]},
                      yaxis={"title": {"text": "calls"}}, bargap=0.05)
    return fig.to_plotly_json()


def verdict_counts(verdicts: dict[str, int]) -> dict[str, Any]:
    fig = go.Figure(go.Bar(x=list(verdicts), y=list(verdicts.values()), marker={"color": "#5d6d7e"},
                           hovertemplate="%{x}: %{y} calls<extra></extra>"))
    fig.update_layout(**_LAYOUT, yaxis={"title": {"text": "calls"}})
    return fig.to_plotly_json()


def trend(points: Sequence[DayPoint]) -> dict[str, Any]:
    """Calls per day (bars) and the mean score (line, right axis) over the last days."""
    days = [p.day.isoformat() for p in points]
    fig = go.Figure()
    fig.add_bar(x=days, y=[p.calls for p in points], name="calls", marker={"color": "#aed6f1"},
                hovertemplate="%{x}: %{y} calls<extra></extra>")
    fig.add_scatter(x=days, y=[p.mean_score for p in points], name="mean score", yaxis="y2", mode="lines+markers",
                    line={"color": "#1b4f72"}, hovertemplate="%{x}: mean %{y:.1f}<extra></extra>")
    fig.update_layout(**_LAYOUT, xaxis={"type": "category"}, yaxis={"title": {"text": "calls"}},
                      yaxis2={"title": {"text": "mean score"}, "overlaying": "y", "side": "right", "range": [0, 100]})
    return fig.to_plotly_json()
