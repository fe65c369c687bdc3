"""Maps of the localities: the boundaries drawn as filled outlines (offline: no basemap or topojson
is fetched), each locality labelled with its value, and a schematic of the seven localities for
when no boundaries are loaded. Both shade along the sequential palette and show suppressed
localities in light grey, saying so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from send_metrics.present.charts import SEQUENTIAL, SUPPRESSED_GREY

# Text on the sequential colours: white on the two dark blues, near-black on the light blue.
_SEQ_TEXT = ["#FFFFFF", "#FFFFFF", "#0B0C0C"]


def _centroid(geometry: dict) -> tuple[float, float]:
    """Rough label point: the centre of the largest ring's bounding box."""
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    ring = max((p[0] for p in polys), key=len)
    xs, ys = [c[0] for c in ring], [c[1] for c in ring]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def _mix(c1: str, c2: str, t: float) -> str:
    a = [int(c1.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    b = [int(c2.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b))


def sequential_colour(value: float, lo: float, hi: float) -> str:
    """Light blue (low) to dark blue (high) along the Analysis Function sequential palette."""
    t = 0.5 if hi == lo else min(1.0, max(0.0, (value - lo) / (hi - lo)))
    light, mid, dark = SEQUENTIAL[2], SEQUENTIAL[1], SEQUENTIAL[0]
    return _mix(light, mid, t * 2) if t <= 0.5 else _mix(mid, dark, (t - 0.5) * 2)


def locality_map(geojson: dict, df: pd.DataFrame, *, code_property: str = "locality_code",
                 location: str = "area_code", value: str = "value", label: str = "label",
                 colour_title: str = "", callouts: dict | None = None,
                 scale: tuple[float, float] | None = None) -> go.Figure:
    """Map of the localities drawn as filled outlines (works offline: no basemap or topojson is
    fetched). Each locality is labelled with its value so colour is never the only cue; suppressed
    localities are light grey and say so. ``scale`` (lo, hi) anchors the colour scale (default: the
    range of the values, which makes any difference look large). ``callouts`` moves small areas' labels out with an
    arrow: {code: (dx, dy)} in pixels."""
    callouts = callouts or {}
    feats = [f for f in geojson.get("features", []) if f.get("geometry")]
    lats = [c[1] for f in feats for poly in (f["geometry"]["coordinates"] if f["geometry"]["type"] == "MultiPolygon"
                                             else [f["geometry"]["coordinates"]]) for c in poly[0]]
    k = float(np.cos(np.radians(np.mean(lats)))) if lats else 1.0
    by_code = df.set_index(location)
    v = pd.to_numeric(df[value], errors="coerce")
    lo, hi = (float(v.min()), float(v.max())) if v.notna().any() else (0.0, 1.0)
    if scale is not None:  # an anchored scale (e.g. 0 to 100%): small differences look small
        lo, hi = float(scale[0]), float(scale[1])
    traces, annotations = [], []  # built first, then one Figure: add_trace one by one re-validates
    for f in feats:
        code = f["properties"].get(code_property)
        val = by_code[value].get(code, np.nan) if code in by_code.index else np.nan
        text = str(by_code[label].get(code, code)) if code in by_code.index else str(code)
        fill = SUPPRESSED_GREY if pd.isna(val) else sequential_colour(float(val), lo, hi)
        geom = f["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for poly in polys:
            ring = np.asarray(poly[0], dtype=float)  # numpy: plotly validates arrays, not each point
            traces.append(dict(type="scatter", x=ring[:, 0] * k, y=ring[:, 1], mode="lines",
                               fill="toself", fillcolor=fill, line=dict(color="#FFFFFF", width=1.5),
                               name=text.replace("<br>", ": "), showlegend=False,
                               hoveron="fills", hoverinfo="name"))
        x, y = _centroid(f["geometry"])
        dx, dy = callouts.get(code, (0, 0))
        annotations.append(dict(x=x * k, y=y, text=text, showarrow=bool(dx or dy), ax=dx, ay=dy,
                                arrowcolor="#0B0C0C", bgcolor="rgba(255,255,255,0.85)", borderpad=2,
                                font=dict(size=12, color="#0B0C0C")))
    if v.notna().any():
        traces.append(dict(type="scatter", x=[None], y=[None], mode="markers", showlegend=False,
                           hoverinfo="skip",
                           marker=dict(colorscale=[[0, SEQUENTIAL[2]], [0.5, SEQUENTIAL[1]], [1, SEQUENTIAL[0]]],
                                       cmin=lo, cmax=hi, color=[lo], showscale=True,
                                       colorbar=dict(title=colour_title, thickness=14))))
    return go.Figure(data=traces, layout=dict(
        annotations=annotations, xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", scaleratio=1.0),
        height=620, margin=dict(l=0, r=0, t=10, b=0),
        font=dict(family="Arial, sans-serif", size=14, color="#0B0C0C"), hovermode="closest",
        plot_bgcolor="#FFFFFF"))


def locality_schematic(df: pd.DataFrame, *, value_text: str = "value_text", name: str = "area_name",
                       footprint: str = "footprint", value: str = "value") -> go.Figure:
    """A schematic (not a map) of the seven localities: North Cumbria on the left, South Cumbria on
    the right, one labelled box each, shaded by value with the value written in the box."""
    fig = go.Figure()
    v = df[value].astype(float)
    lo, hi = (v.min(), v.max()) if v.notna().any() else (0.0, 1.0)
    columns = {"North Cumbria": 0, "South Cumbria": 1}
    rows_used = {0: 0, 1: 0}
    for _, r in df.iterrows():
        col = columns.get(str(r[footprint]), 0)
        row = rows_used[col]
        rows_used[col] += 1
        x0, y0 = col * 1.1, -row * 1.1
        if pd.isna(r[value]):
            fill, ink = SUPPRESSED_GREY, "#0B0C0C"
        else:
            k = 0 if hi == lo else int(round((1 - (r[value] - lo) / (hi - lo)) * 2))
            fill, ink = SEQUENTIAL[k], _SEQ_TEXT[k]
        fig.add_shape(type="rect", x0=x0, x1=x0 + 1, y0=y0, y1=y0 - 1, fillcolor=fill,
                      line=dict(color="#FFFFFF", width=2))
        fig.add_annotation(x=x0 + 0.5, y=y0 - 0.5, text=f"<b>{r[name]}</b><br>{r[value_text]}", showarrow=False,
                           font=dict(color=ink, size=13))
    for label, col in columns.items():
        fig.add_annotation(x=col * 1.1 + 0.5, y=0.25, text=f"<b>{label}</b>", showarrow=False,
                           font=dict(size=15, color="#0B0C0C"))
    fig.update_xaxes(visible=False, range=[-0.1, 2.2])
    fig.update_yaxes(visible=False, range=[-(max(rows_used.values()) * 1.1) - 0.1, 0.5])
    fig.update_layout(height=120 * max(rows_used.values()) + 120,
                      margin=dict(l=10, r=10, t=10, b=10))
    return fig
