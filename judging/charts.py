"""Plotly figures as JSON, drawn in the page by the vendored plotly.js (static/js/charts.js)."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from labeling.numbers import PLOTLY_TICKFORMAT as TICKS

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
    """NMSE and malformed rate for each finished run, in order: one line per split (a dev run and a test
    run measure different items, so one line through both would read as a change), NMSE above and the
    malformed rate below on axes of their own so neither line sits on the other."""
    labels = {h["run"].pk: _run_label(h["run"]) for h in history}
    splits = list(dict.fromkeys(h["run"].item_set for h in history))
    traces = []
    for colour, split in zip(_SPLIT_COLOURS, splits, strict=False):
        runs = [h for h in history if h["run"].item_set == split]
        name = _split_label(split)
        x = [labels[h["run"].pk] for h in runs]
        common = {"x": x, "mode": "lines+markers", "legendgroup": split, "line": {"color": colour}}
        traces.append(go.Scatter(y=[h["metrics"].nmse for h in runs], name=name, **common))
        traces.append(
            go.Scatter(
                y=[100 * h["metrics"].malformed_rate for h in runs],
                name=name,
                showlegend=False,
                xaxis="x2",
                yaxis="y2",
                **common,
            )
        )
    # Categories in run order, whichever line a run belongs to.
    order = {"categoryorder": "array", "categoryarray": list(labels.values())}
    figure = go.Figure(
        traces,
        layout={
            **_LAYOUT,
            "height": 420,
            "xaxis": {**order, "matches": "x2", "showticklabels": False},
            "xaxis2": {**order, "anchor": "y2", "automargin": True},
            "yaxis": {
                "title": {"text": "NMSE"},
                "rangemode": "tozero",
                "domain": [0.45, 1],
                "tickformat": TICKS,
            },
            "yaxis2": {
                "title": {"text": "malformed %"},
                "tickformat": TICKS,
                "rangemode": "tozero",
                "domain": [0, 0.3],
                "anchor": "x2",
            },
            "legend": {"orientation": "h", "x": 0, "y": 1.12, "title": {"text": "items judged"}},
        },
    )
    return json.loads(figure.to_json())


def _run_label(run) -> str:
    return f"#{run.pk} v{run.prompt_version_id} {run.endpoint.name} · {run.item_set}"


def _split_label(item_set: str) -> str:
    return {"labeled": "all labeled items"}.get(item_set, f"{item_set} split")


_SPLIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]


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
            "yaxis": {"title": {"text": "NMSE / malformed %"}, "rangemode": "tozero", "tickformat": TICKS},
            "yaxis2": {
                "title": {"text": "$ per 1,000"},
                "tickformat": TICKS,
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
            "legend": {"orientation": "h", "y": -0.25},
        },
    )
    return json.loads(figure.to_json())


def _error_bars(found: list, scale: float) -> dict:
    """Plotly's asymmetric error bars from intervals (none where the interval is unknown)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [scale * (i.high - i.estimate) if i.high is not None else 0 for i in found],
        "arrayminus": [scale * (i.estimate - i.low) if i.low is not None else 0 for i in found],
        "thickness": 1,
    }


def version_trend_chart(points: list) -> dict:
    """Test NMSE and malformed % per prompt version, oldest first, one pair of lines per model, each point
    with its 95% bootstrap interval as an error bar. Both run from 0 to 100, so they share one axis (two
    axes scaled apart would draw two versions' lines on top of each other)."""
    labels = [f"v{p.version.pk}" for p in points]
    traces = []
    for model in dict.fromkeys(p.version.target_model.name for p in points):
        mine = [p for p in points if p.version.target_model.name == model]
        x = [f"v{p.version.pk}" for p in mine]
        hover = [f"v{p.version.pk} · {p.version.origin} · {p.measurement.judgments} test items" for p in mine]
        nmse = [p.nmse for p in mine]
        malformed = [p.malformed_rate for p in mine]
        traces += [
            go.Scatter(
                x=x,
                y=[i.estimate for i in nmse],
                error_y=_error_bars(nmse, 1),
                name=f"NMSE · {model}",
                mode="lines+markers",
                text=hover,
                hovertemplate="%{text}<br>NMSE %{y:.2f}<extra></extra>",
            ),
            go.Scatter(
                x=x,
                y=[100 * i.estimate if i.estimate is not None else None for i in malformed],
                error_y=_error_bars(malformed, 100),
                name=f"malformed % · {model}",
                mode="lines+markers",
                line={"dash": "dot"},
                text=hover,
                hovertemplate="%{text}<br>malformed %{y:.1f}%<extra></extra>",
            ),
        ]
    figure = go.Figure(
        traces,
        layout={
            **_LAYOUT,
            "xaxis": {"title": {"text": "prompt version"}, "categoryorder": "array", "categoryarray": labels},
            "yaxis": {
                "title": {"text": "NMSE (0–100) · malformed %"},
                "rangemode": "tozero",
                "tickformat": TICKS,
            },
            "legend": {"orientation": "h", "y": -0.3},
        },
    )
    return json.loads(figure.to_json())
