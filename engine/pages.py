"""What callqa's HTML pages share, whoever writes them: plotly.js, inlining our own assets, the emotion chart.

The web application and its one-file call report (``engine.web``) and the exported voice case
(``engine.cases``) draw the same emotion trajectories with the same plotly.js. Both import them from
here, below both, so the case library never imports the web application (which imports the case
library to serve its pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from markupsafe import Markup

from engine.record import CallAnalysis, Event

# plotly.js from the installed plotly package: the pages never load anything from a CDN.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

FAMILY_COLOURS = {"escalation": "#c0392b", "defect": "#d68910", "recovery": "#1e8449"}
ROLE_COLOURS = {"agent": "#2e86c1", "customer": "#8e44ad"}
CHART_LAYOUT: dict[str, Any] = {"margin": {"l": 50, "r": 20, "t": 30, "b": 40}, "height": 300,
                                "legend": {"orientation": "h", "y": -0.25}, "template": "plotly_white"}


def inline_asset(text: str) -> Markup:
    """Our own script or stylesheet, inline: only a closing tag inside it could end the element early."""
    return Markup(text.replace("</script", "<\\/script").replace("</style", "<\\/style"))


def emotion_trajectories(analysis: CallAnalysis, events: Sequence[tuple[str, Event]]) -> dict[str, Any]:
    """Both parties' valence on one time axis, with escalations, defects and recoveries marked.

    ``events`` pairs each event with its family (escalation, defect, recovery). Returns
    ``Figure.to_plotly_json()``: data the page hands to ``Plotly.newPlot``, so untrusted text stays text.
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
    fig.update_layout(**CHART_LAYOUT, shapes=shapes,
                      xaxis={"title": {"text": "time (s)"}, "range": [0, analysis.call.duration]},
                      yaxis={"title": {"text": "valence"}, "range": [-1.1, 1.15]})
    return fig.to_plotly_json()
