"""Plotly figures of the agreement panel, as JSON for json_script; static/js/charts.js draws them with
the vendored plotly.js."""

from __future__ import annotations

import html
import json

import plotly.graph_objects as go

from labeling.agreement import Agreement
from labeling.numbers import PLOTLY_TICKFORMAT as TICKS

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
    "height": 320,
    "font": {"size": 12},
    "template": "plotly_white",
}


def _text(name: str) -> str:
    """plotly.js reads a few HTML tags inside labels; escaping keeps a name plain text."""
    return html.escape(name)


def distribution_chart(agreement: Agreement) -> dict:
    """Each annotator's share of labels per score, side by side: a lenient or strict annotator shows."""
    points = [str(p) for p in agreement.scale_points]
    traces = []
    for summary in agreement.summaries:
        shares = [100 * c / summary.labels if summary.labels else 0 for c in summary.counts]
        traces.append(
            go.Bar(
                x=points,
                y=shares,
                name=_text(summary.annotator),
                customdata=summary.counts,
                hovertemplate="score %{x}: %{y:.0f}% (%{customdata} labels)<extra>%{fullData.name}</extra>",
            )
        )
    figure = go.Figure(
        traces,
        layout={
            **_LAYOUT,
            "barmode": "group",
            "xaxis": {"title": {"text": "score"}, "type": "category"},
            "yaxis": {
                "title": {"text": "% of the annotator's labels"},
                "rangemode": "tozero",
                "tickformat": TICKS,
            },
            "legend": {"orientation": "h", "y": -0.25},
        },
    )
    return json.loads(figure.to_json())


def bias_chart(agreement: Agreement) -> dict:
    """Mean score − gold per annotator: right of zero is more lenient than gold, left is stricter."""
    rows = [s for s in agreement.summaries if s.bias is not None]
    figure = go.Figure(
        go.Bar(
            x=[s.bias for s in rows],
            y=[_text(s.annotator) for s in rows],
            orientation="h",
            customdata=[s.bias_items for s in rows],
            marker={"color": ["#b3261e" if s.bias > 0 else "#2f5fd0" for s in rows]},
            hovertemplate="%{y}: %{x:+.2f} over %{customdata} items<extra></extra>",
        ),
        layout={
            **_LAYOUT,
            "height": max(160, 60 + 40 * len(rows)),
            "xaxis": {
                "title": {"text": "mean score − gold"},
                "zeroline": True,
                "zerolinewidth": 2,
                "tickformat": TICKS,
            },
            "yaxis": {"type": "category", "automargin": True},
        },
    )
    return json.loads(figure.to_json())


def kappa_heatmap(agreement: Agreement) -> dict:
    """Weighted kappa of every pair of annotators; blank where they share too few items."""
    names = agreement.annotators
    index = {name: i for i, name in enumerate(names)}
    z: list[list[float | None]] = [[None] * len(names) for _ in names]
    shared: list[list[int]] = [[0] * len(names) for _ in names]
    for pair in agreement.pairs:
        i, j = index[pair.first], index[pair.second]
        z[i][j] = z[j][i] = pair.kappa
        shared[i][j] = shared[j][i] = pair.items
    labels = [_text(name) for name in names]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            customdata=shared,
            texttemplate="%{z:.2f}",
            hovertemplate="%{y} × %{x}: κ %{z:.2f} on %{customdata} items<extra></extra>",
        ),
        layout={
            **_LAYOUT,
            "height": max(240, 120 + 45 * len(names)),
            "xaxis": {"type": "category"},
            "yaxis": {"type": "category", "autorange": "reversed", "automargin": True},
        },
    )
    return json.loads(figure.to_json())
