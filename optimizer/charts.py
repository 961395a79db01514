"""Plotly figures of optimization runs, as JSON for static/js/charts.js."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from judging.charts import _LAYOUT
from labeling.numbers import PLOTLY_TICKFORMAT as TICKS


def progress_chart(progress: list[list], *, base_score: float | None, budget: int) -> dict:
    """Best dev score so far against metric calls used, with the base's score as a reference line."""
    calls = [point[0] for point in progress]
    traces = [
        go.Scatter(
            x=calls,
            y=[point[1] for point in progress],
            mode="lines+markers",
            line_shape="hv",
            name="best dev score",
        )
    ]
    if base_score is not None:
        traces.append(
            go.Scatter(
                x=[0, budget], y=[base_score, base_score], mode="lines", name="base", line={"dash": "dot"}
            )
        )
    figure = go.Figure(
        traces,
        layout={
            **_LAYOUT,
            "xaxis": {"title": {"text": "metric calls"}, "range": [0, budget], "tickformat": ",d"},
            "yaxis": {"title": {"text": "dev score (0–1)"}, "tickformat": TICKS},
        },
    )
    return json.loads(figure.to_json())
