"""The charts, as plotly figures (plotly.js draws them in the page from the figure's JSON).

Each function returns ``Figure.to_plotly_json()``: plain data the page embeds as JSON and hands to
``Plotly.newPlot``, so a chart is data, never markup, and untrusted text inside it stays text. The emotion
trajectories, which the exported voice case draws too, are ``engine.pages.emotion_trajectories``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from engine.pages import CHART_LAYOUT, ROLE_COLOURS
from engine.store.queries import DayPoint


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
    fig.update_layout(**{**CHART_LAYOUT, "height": 150}, barmode="stack",
                      xaxis={"title": {"text": "seconds"}, "range": [0, max(duration, 1.0)]})
    return fig.to_plotly_json()


def score_distribution(totals: Sequence[float]) -> dict[str, Any]:
    fig = go.Figure(go.Histogram(x=list(totals), xbins={"start": 0, "end": 100.001, "size": 5},
                                 marker={"color": "#2e86c1"}, hovertemplate="%{x}: %{y} calls<extra></extra>"))
    fig.update_layout(**CHART_LAYOUT, xaxis={"title": {"text": "total score"}, "range": [0, 100]},
                      yaxis={"title": {"text": "calls"}}, bargap=0.05)
    return fig.to_plotly_json()


def verdict_counts(verdicts: dict[str, int]) -> dict[str, Any]:
    fig = go.Figure(go.Bar(x=list(verdicts), y=list(verdicts.values()), marker={"color": "#5d6d7e"},
                           hovertemplate="%{x}: %{y} calls<extra></extra>"))
    fig.update_layout(**CHART_LAYOUT, yaxis={"title": {"text": "calls"}})
    return fig.to_plotly_json()


def trend(points: Sequence[DayPoint]) -> dict[str, Any]:
    """Calls per day (bars) and the mean score (line, right axis) over the last days."""
    days = [p.day.isoformat() for p in points]
    fig = go.Figure()
    fig.add_bar(x=days, y=[p.calls for p in points], name="calls", marker={"color": "#aed6f1"},
                hovertemplate="%{x}: %{y} calls<extra></extra>")
    fig.add_scatter(x=days, y=[p.mean_score for p in points], name="mean score", yaxis="y2", mode="lines+markers",
                    line={"color": "#1b4f72"}, hovertemplate="%{x}: mean %{y:.1f}<extra></extra>")
    fig.update_layout(**CHART_LAYOUT, xaxis={"type": "category"}, yaxis={"title": {"text": "calls"}},
                      yaxis2={"title": {"text": "mean score"}, "overlaying": "y", "side": "right", "range": [0, 100]})
    return fig.to_plotly_json()
