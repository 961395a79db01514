"""Plotly figures as JSON, drawn in the page by the vendored plotly.js (static/js/charts.js)."""

from __future__ import annotations

import json

import plotly.graph_objects as go

_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 30, "b": 45}, "height": 320, "font": {"size": 12}}


def confusion_heatmap(confusion: list[list[int]], scale_min: int) -> dict:
    labels = [str(scale_min + i) for i in range(len(confusion))]
    figure = go.Figure(
        go.Heatmap(
            z=confusion,
            x=labels,
            y=labels,
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            hovertemplate="gold %{y}, judge %{x}: %{z}<extra></extra>",
        ),
        layout={**_LAYOUT, "xaxis": {"title": {"text": "judge"}}, "yaxis": {"title": {"text": "gold"}}},
    )
    return json.loads(figure.to_json())


def versions_chart(history: list[dict]) -> dict:
    """NMSE and malformed rate for each finished run, in order, labelled by prompt version and model."""
    labels = [f"#{h['run'].pk} v{h['run'].prompt_version_id} {h['run'].endpoint.name}" for h in history]
    figure = go.Figure(
        [
            go.Scatter(
                x=labels, y=[h["metrics"].nmse for h in history], name="NMSE (0–100)", mode="lines+markers"
            ),
            go.Scatter(
                x=labels,
                y=[100 * h["metrics"].malformed_rate for h in history],
                name="malformed %",
                mode="lines+markers",
                yaxis="y2",
            ),
        ],
        layout={
            **_LAYOUT,
            "yaxis": {"title": {"text": "NMSE"}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": "malformed %"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
            "legend": {"orientation": "h", "y": -0.25},
        },
    )
    return json.loads(figure.to_json())


def models_chart(rows: list[dict]) -> dict:
    """Test NMSE and malformed rate per measured version on its model (bars), dollars per 1,000
    judgments (markers)."""
    names = [f"v{row['version'].pk} · {row['endpoint'].name}" for row in rows]
    figure = go.Figure(
        [
            go.Bar(x=names, y=[row["test"].metrics.nmse for row in rows], name="test NMSE (0–100)"),
            go.Bar(x=names, y=[100 * row["test"].metrics.malformed_rate for row in rows], name="malformed %"),
            go.Scatter(
                x=names,
                y=[float(row["test"].dollars_per_1000 or 0) for row in rows],
                name="$ per 1,000 judgments",
                mode="markers",
                marker={"size": 12, "symbol": "diamond"},
                yaxis="y2",
            ),
        ],
        layout={
            **_LAYOUT,
            "barmode": "group",
            "yaxis": {"title": {"text": "NMSE / malformed %"}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": "$ per 1,000"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
            "legend": {"orientation": "h", "y": -0.25},
        },
    )
    return json.loads(figure.to_json())
