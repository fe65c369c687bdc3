"""Trends: any measure for any areas over time with 95% intervals and the England line, and a
statistical process control (SPC) view of one area with the rule that flags each point, the
target and a rebase date. All figures come from the measure engine (disclosure-controlled)."""
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.present import charts, spc_charts
from send_metrics.catalogue import load_catalogue, measures_by_id
from send_metrics.measures.summary import SIG_PHRASE, TREND_PHRASE

WAIT_DEFAULT = ["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA"]
NO_REBASE = "none"


def _ordered_areas(codes) -> list[str]:
    """Cumbrian areas first; an area whose name repeats an earlier one (a former district that is
    the same place as a locality) is left out so the lists never show two 'Allerdale's."""
    codes = list(dict.fromkeys(codes))
    first = [c for c in ui.CUMBRIA_AREAS if c in codes]
    names = ui.area_info().names
    out, seen = [], set()
    for c in first + sorted(c for c in codes if c not in first):
        name = names.get(c, c)
        if name not in seen:
            out.append(c)
            seen.add(name)
    return out


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _area_options(load_id: str, measure_id: str) -> tuple[str, ...]:
    """Areas with a published value of the measure, in selector order (worked out once per load)."""
    idx = ui.table_index()
    pos = idx.positions([measure_id], None)
    has = pos[~np.isnan(idx.values[pos])]
    return tuple(_ordered_areas(idx.column("area_code", has)))


def _x(rows: pd.DataFrame, monthly: bool) -> pd.Series:
    if monthly:
        return pd.to_datetime(rows["period"].str[:10])
    return rows["period"].str[:4].astype(int)


def _direction(first: float, last: float) -> str:
    if last > first:
        return "up"
    if last < first:
        return "down"
    return "unchanged"


def _select_rebase(options: list[str], labels: dict[str, str]) -> str:
    """Rebase period kept in the URL (?rebase=2024-07-01); 'none' when the URL value is unknown."""
    return ui.url_select("Rebase the limits from (a known change, e.g. a new service model)", options, "rebase",
                         NO_REBASE, format_func=lambda p: "No rebase" if p == NO_REBASE else labels.get(p, p))


def trend_section(m, areas: list[str]) -> None:
    _trend_view(ui.database().load_id, m.id, tuple(areas)).show()


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _trend_view(load_id: str, measure_id: str, areas: tuple[str, ...]) -> ui.View:
    """The trend chart of a measure for the chosen areas (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    areas = list(areas)
    table = ui.table([measure_id], areas)
    rows = table[table["area_code"].isin(areas)].copy()
    if rows.empty:
        view.call(st.info, "None of the chosen areas has figures for this measure. Choose another area or measure.")
        return view
    rows["x"] = _x(rows, m.monthly)
    present = set(rows["area_code"])
    rows["area_name"] = pd.Categorical(rows["area_name"], [ui.area_name(a) for a in areas if a in present])
    rows = rows.sort_values(["area_name", "period"])
    bench = None
    eng = rows.dropna(subset=["england_value"]).groupby("x", sort=True)["england_value"].first()
    if len(eng):
        bench = pd.DataFrame({"x": eng.index, "value": eng.to_numpy()})
    fig = charts.tidy_bands(charts.trend_lines(rows, x="x", group="area_name", y_title=m.unit, benchmark=bench))

    lead = rows[rows["area_code"] == areas[0]].dropna(subset=["value"])
    if lead.empty:
        lead = rows.dropna(subset=["value"]).head(0)
    if len(lead) >= 2:
        a, b = lead.iloc[0], lead.iloc[-1]
        name = ui.area_name(str(b["area_code"]))
        d = _direction(a["value"], b["value"])
        title = charts.fit_title(
            f"{name}: {d} from {m.format_value(a['value'])} to {m.format_value(b['value'])} since {a['period_label']}",
            f"{name}: {d} to {m.format_value(b['value'])} by {b['period_label']}",
            f"{name} {d} over time")
    else:
        title = charts.fit_title(f"{m.title} over time", "How this measure changed over time")

    sentences = []
    for code in areas[:5]:
        s = rows[rows["area_code"] == code]
        if s.empty:
            continue
        last = s.iloc[-1]
        name = ui.area_name(code)
        if pd.isna(last["value"]):
            sentences.append(f"{name}: {last['period_label']} is suppressed (small numbers) or not available.")
            continue
        text = f"{name}: {m.format_value(last['value'])}"
        if pd.notna(last["lower_95"]):
            text += f" (95% CI {m.format_value(last['lower_95'])} to {m.format_value(last['upper_95'])})"
        text += f" in {last['period_label']}"
        sig = str(last["sig_england_95"])
        if sig in SIG_PHRASE and pd.notna(last["england_value"]):
            text += f"; {ui.sig_text(sig)}: {SIG_PHRASE[sig]} England ({m.format_value(last['england_value'])})"
        trend = str(last["trend_verdict"])
        if trend in TREND_PHRASE:
            text += f"; {TREND_PHRASE[trend]}"
        sentences.append(text + ".")
    if len(areas) > 5:
        sentences.append(f"The table lists all {len(areas)} areas.")
    if bench is None:
        sentences.append("No England figure is loaded or published for this measure.")
    else:
        sentences.append("The dashed grey line is England.")
    eng_source = rows["england_source"].dropna().iloc[0] if rows["england_source"].notna().any() else "not available"
    data = rows.assign(
        value=rows["value"].round(2), lower_95=rows["lower_95"].round(2), upper_95=rows["upper_95"].round(2),
        england_value=rows["england_value"].round(2), sig=rows["sig_england_95"].map(ui.sig_text),
        note=rows["suppression_reason"].fillna(""))
    view.call(
        ui.chart_with_table, fig, data, title=title, sentence=" ".join(sentences),
        source=f"{m.source} England: {eng_source}.",
        key=f"trend_{m.id}",
        table_columns={"area_name": "Area", "period_label": "Period", "value": f"Value ({m.unit})",
                       "lower_95": "95% lower", "upper_95": "95% upper", "numerator": "Numerator",
                       "denominator": "Denominator", "england_value": "England", "sig": "vs England",
                       "trend_verdict": "Recent trend", "note": "Note"})
    return view


def spc_section(m, options: list[str], default: str) -> None:
    st.divider()
    st.markdown("#### Is it a real change? Statistical process control")
    st.caption("Making Data Count XmR chart: the mean, process limits (mean ± 2.66 × the average "
               "moving range), and each point coloured and lettered by the rule that flags it "
               "(I improvement, C concern, N neutral). Fewer than 13 points give trial limits.")
    c1, c2 = st.columns(2)
    with c1:
        area = ui.select_area(options, key="spc_area", label="Area for the SPC chart", default=default)
    load_id = ui.database().load_id
    _, kept, labels = _series(load_id, m.id, area)
    periods = kept["period"].tolist()
    with c2:
        rebase = _select_rebase([NO_REBASE, *periods[2:-1]], labels)
    _spc_view(load_id, m.id, area, rebase).show()


@st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)
def _series(load_id: str, measure_id: str, area: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """An area's series of a measure, its published points and their labels (read only)."""
    series = ui.table([measure_id], [area]).sort_values("period")
    kept = series.dropna(subset=["value"])
    return series, kept, dict(zip(kept["period"], kept["period_label"]))


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _spc_view(load_id: str, measure_id: str, area: str, rebase: str) -> ui.View:
    """The SPC chart of a measure for an area and rebase period (see ui.View)."""
    view = ui.View()
    m = measures_by_id()[measure_id]
    series, kept, labels = _series(load_id, measure_id, area)
    dropped = len(series) - len(kept)
    if len(kept) < 6:
        view.call(st.info, f"{ui.area_md(area)} has {len(kept)} published points for this measure; an SPC "
                  "chart needs at least 6. Choose another area or a monthly measure.")
        return view
    dates = pd.to_datetime(kept["period"].str[:10] if m.monthly else kept["period"].str[:4] + "-01-01")
    rebase_dates = []
    if rebase != NO_REBASE:
        rebase_dates = [pd.Timestamp(rebase[:10] if m.monthly else rebase[:4] + "-01-01")]
    frame, summ, fig = spc_charts.measure_spc(kept["value"], dates.to_numpy(), m, rebase_dates)
    name = ui.area_name(area)
    title = spc_charts.spc_title(name, summ, kept["period_label"].iloc[-1])
    sentence = summ["sentence"]
    if m.target is None:
        sentence += " This measure has no target."
    if rebase_dates:
        sentence += f" Limits are recalculated from {labels.get(rebase, rebase)}."
    if dropped:
        sentence += f" {dropped} suppressed or missing points are left out."
    data = spc_charts.spc_table(frame, kept["period_label"])
    view.call(ui.chart_with_table, fig, data, title=title, sentence=sentence, key=f"spc_{m.id}",
              source=f"{m.source} SPC rules: NHS England Making Data Count.")
    return view


def render() -> None:
    ui.page("Trends", "Any measure for any areas over time, with 95% confidence intervals and the "
            "England line, and a statistical process control view that separates real change from noise.")
    with_data = ui.measures_with_data()
    measures = [m for m in load_catalogue() if m.id in with_data]
    if not measures:
        st.info("No measure has figures yet. Load extracts on the Upload page.")
        return
    m = ui.select_measure(measures, default="timeliness_20wk_ex")
    options = list(_area_options(ui.database().load_id, m.id))
    if not options:
        st.info("This measure has no published figures in the loaded data. Choose another measure.")
        return
    default = WAIT_DEFAULT if m.group == "Waiting times" else [ui.DEFAULT_AREA, "E06000064"]
    areas = ui.select_many_areas(options, default=default, label="Areas to compare")
    st.caption(f"**Definition:** {ui.escape(m.definition)} {ui.escape(m.caveats)}")

    def trend() -> None:
        if not areas:
            st.info("Choose at least one area above to draw the trend chart.")
        else:
            trend_section(m, areas)
    ui.views({"Trend and England": trend,
              "Statistical process control": lambda: spc_section(m, options, areas[0] if areas else options[0])})


ui.guarded(render)
