"""Benchmarks: an area against England, its region and its DfE statistical neighbours - ranked
bars with intervals, a spine chart across measures, and a funnel plot across all councils when
national data is loaded.

Local figures come from the measure engine (disclosure-controlled); other councils' figures are
the published benchmarks (already disclosure-controlled by their publisher)."""
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import ui
from send_metrics.present import charts
from send_metrics.measures import equity
from send_metrics.stats import funnels
from scipy.stats import chi2

from send_metrics.catalogue import load_catalogue, measures_by_id

MIN_FUNNEL_COUNCILS = 20
SIG_WORDS = {"better": "better than", "worse": "worse than", "similar": "similar to",
             "higher": "higher than", "lower": "lower than"}


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _published(load_id: str, measure_id: str, year: int) -> pd.DataFrame:
    return ui.database().query_file("benchmarks_published", {"measure": measure_id, "year": year})


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _published_year(load_id: str, year: int) -> pd.DataFrame:
    """Shared between sessions: callers only read it."""
    return ui.database().query_file("benchmarks_year", {"year": year})


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _published_summary(load_id: str) -> pd.DataFrame:
    return ui.database().query("SELECT measure_id, year, count(*) AS n FROM benchmarks WHERE value IS NOT NULL "
                               "GROUP BY ALL")


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _neighbours(load_id: str, area: str) -> list[str]:
    return ui.database().query_file("benchmarks_neighbours", {"area": area})["neighbour_code"].tolist()


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _regions(load_id: str) -> dict[str, str]:
    r = ui.database().query_file("area_region")
    return dict(zip(r["area_code"], r["region_code"]))


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _year_table(load_id: str, year: str) -> pd.DataFrame:
    """equity.rows_for_year of the whole measure table (shared between sessions: callers only read
    it), given only the year's own rows: the same result, much faster (see ui.year_rows)."""
    return equity.rows_for_year(ui.table_index().year_rows(year), year, measures_by_id())


@st.cache_resource(show_spinner=False, max_entries=4)
def _area_options_for(load_id: str) -> tuple[str, ...]:
    return tuple(ui.ordered_area_options(ui.areas_with_data()))


def _area_options() -> list[str]:
    return list(_area_options_for(ui.database().load_id))


def _views(load_id: str, measure_id: str, area: str, year: str) -> tuple[ui.View, ui.View, ui.View]:
    """Ranked bars, spine chart and funnel plot for an area, measure and year, each built once per
    load and selection (see ui.View): the spine does not depend on the measure."""
    return _ranked_view(load_id, measure_id, area, year), _spine_view(load_id, year, area), \
        _funnel_view(load_id, measure_id, area, year)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _ranked_view(load_id: str, measure_id: str, area: str, year: str) -> ui.View:
    view = ui.View()
    m = measures_by_id()[measure_id]
    loaded = _year_table(load_id, year)
    ranked_section(view, m, area, year, loaded[loaded["measure_id"] == m.id], _published(load_id, m.id, int(year)))
    return view


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _spine_view(load_id: str, year: str, area: str) -> ui.View:
    view = ui.View()
    spine_section(view, area, year)
    return view


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _funnel_view(load_id: str, measure_id: str, area: str, year: str) -> ui.View:
    view = ui.View()
    m = measures_by_id()[measure_id]
    funnel_section(view, m, area, year, _year_table(load_id, year), _published(load_id, m.id, int(year)))
    return view


def ranked_section(view: ui.View, m, area: str, year: str, loaded: pd.DataFrame, published: pd.DataFrame) -> None:
    neighbours = _neighbours(ui.database().load_id, area)
    region = _regions(ui.database().load_id).get(area)
    comp = equity.comparators(loaded, published, m, area, neighbours, region)
    name = ui.area_name(area)
    bars = comp[comp["role"].isin(["selected", "neighbour"])]
    if bars["value"].notna().sum() == 0:
        view.call(st.info, f"No value of this measure is loaded or published for {ui.md(name)} or its neighbours in "
                  f"{year}. Choose another year or measure.")
        return
    eng = comp.loc[comp["role"] == "England", "value"]
    reg = comp.loc[comp["role"] == "region", ["area_name", "value"]]
    eng_v = float(eng.iloc[0]) if len(eng) else None
    fig = charts.ranked_bars(bars, label="area_name", highlight=name, x_title=m.unit, benchmark=eng_v,
                             sig="sig_england")
    if len(reg):
        charts.add_reference_line(fig, float(reg["value"].iloc[0]), str(reg["area_name"].iloc[0]),
                                  dash="dashdot", colour="#801650", position="bottom right")
    me = comp[comp["role"] == "selected"]
    shown = bars.dropna(subset=["value"])
    parts = []
    if len(me) and pd.notna(me["value"].iloc[0]):
        v = float(me["value"].iloc[0])
        sig = str(me["sig_england"].iloc[0])
        better_high = m.polarity != "lower_is_better"
        rank = int((shown["value"] > v).sum() if better_high else (shown["value"] < v).sum()) + 1
        word = "best" if m.polarity != "no_judgement" else "highest"
        if len(shown) <= 1 and (eng_v is None or sig not in SIG_WORDS):
            title = charts.fit_title(f"{name}: {m.format_value(v)}; no comparator figures loaded",
                                     "No comparator figures loaded")
        elif eng_v is not None and sig in SIG_WORDS:
            title = charts.fit_title(f"{name} {SIG_WORDS[sig]} England: {m.format_value(v)} vs {m.format_value(eng_v)}",
                                     f"{name} {SIG_WORDS[sig]} England", f"{SIG_WORDS[sig].capitalize()} England")
        else:
            title = charts.fit_title(f"{name} ranks {rank} of {len(shown)} with its neighbours",
                                     "Ranked against statistical neighbours")
        lo, hi = me["lower_95"].iloc[0], me["upper_95"].iloc[0]
        ci = f" (95% CI {m.format_value(lo)} to {m.format_value(hi)})" if pd.notna(lo) else ""
        vs = f", {ui.sig_text(sig)}: {SIG_WORDS[sig]} England" if sig in SIG_WORDS else ""
        parts.append(f"{name}: {m.format_value(v)} in {year}{ci}{vs}")
        parts.append(f"It ranks {rank} of {len(shown)} ({'1 = ' + word}) among itself and its "
                     f"{len(shown) - 1} statistical neighbours with a value")
    else:
        title = charts.fit_title(f"{name}'s statistical neighbours, {year}", "Statistical neighbours compared")
        why = ui.not_loaded(m)
        parts.append(f"{name}'s own figure is {why} for {year}" if why else
                     f"{name}'s own figure is suppressed or not available for {year}")
    if eng_v is not None:
        parts.append(f"England {m.format_value(eng_v)} (dashed line)")
    if len(reg):
        parts.append(f"{reg['area_name'].iloc[0]} {m.format_value(reg['value'].iloc[0])} (dash-dot line)")
    if not neighbours:
        parts.append(f"{name} has no DfE statistical neighbours (only councils do), so it is compared with "
                     "England and its region only")
    missing = [n for n in neighbours if n not in set(shown["area_code"])]
    if missing:
        parts.append(f"{len(missing)} neighbours have no figure for this year")
    data = comp.assign(value=comp["value"].round(2), lower_95=comp["lower_95"].round(2),
                       upper_95=comp["upper_95"].round(2), sig=comp["sig_england"].map(ui.sig_text))
    view.call(ui.chart_with_table, fig, data, title=title, sentence=". ".join(parts) + ".", key=f"bench_ranked_{m.id}",
                        source=f"{m.source} Other councils: published DfE figures (see the Source column).",
                        table_columns={"area_name": "Area", "role": "Role", "value": f"Value ({m.unit})",
                                       "lower_95": "95% lower", "upper_95": "95% upper", "sig": "vs England",
                                       "source": "Source"})


SPINE_COLUMNS = ["measure_id", "area_level", "area_code", "value"]


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _spine(load_id: str, year: str, area: str) -> pd.DataFrame:
    """equity.spine_rows for an area and year. Comparators are councils only, so spine_rows is
    given the council rows (and the columns it reads) of the year: the same result, faster."""
    loaded = _year_table(load_id, year)
    area_rows = loaded[loaded["area_code"] == area]
    councils = loaded.loc[loaded["area_level"] == "council", SPINE_COLUMNS]
    published = _published_year(load_id, int(year))
    published = published.loc[published["area_level"] == "council", SPINE_COLUMNS]
    return equity.spine_rows(area_rows, councils, published, measures_by_id(), area)


def spine_section(view: ui.View, area: str, year: str) -> None:
    spine = _spine(ui.database().load_id, year, area)
    name = ui.area_name(area)
    if spine.empty:
        view.call(st.info, f"No measure has both an England value and at least three other councils' values for "
                  f"{year}. Choose another year (published comparator figures cover fewer measures in the latest "
                  "year).")
        return
    n = len(spine)
    worse = int((spine["sig"] == "worse").sum())
    better = int((spine["sig"] == "better").sum())
    differ = int(spine["sig"].isin(["better", "worse", "higher", "lower"]).sum())
    title = charts.fit_title(f"{name}: {differ} of {n} measures differ significantly from England",
                             f"{differ} of {n} measures differ significantly from England")
    fig = charts.spine_chart(spine)
    sentence = (f"Each row places {name}'s value within the range of the councils with a figure in {year} "
                "(light grey: lowest to highest; blue: the middle half); the black line is England. The marker's "
                "shape gives the comparison with England: ▲ better or higher, ▼ worse or lower, ● similar. "
                f"{name} differs significantly from England on {differ} of {n} measures: better on {better}, worse on "
                f"{worse}, and higher or lower on {differ - better - worse} that carry no judgement. Only percentages, "
                "rates and averages are shown: counts are not comparable between areas of different sizes.")
    data = spine.assign(**{c: spine[c].round(2) for c in ("value", "benchmark", "min", "q25", "q75", "max")},
                        sig_text=spine["sig"].map(ui.sig_text))
    view.call(ui.chart_with_table, fig, data, title=title, sentence=sentence, key=f"bench_spine_{area}",
                        source="Measure engine (local figures); DfE published figures for other councils and England.",
                        table_columns={"measure_title": "Measure", "period_label": "Period", "value": name,
                                       "benchmark": "England", "min": "Lowest council", "q25": "Lower quartile",
                                       "q75": "Upper quartile", "max": "Highest council",
                                       "n_comparators": "Councils compared", "sig_text": "vs England"})


def funnel_section(view: ui.View, m, area: str, year: str, loaded: pd.DataFrame, published: pd.DataFrame) -> None:
    cfg = ui.database().config
    councils = equity.council_values(loaded[loaded["measure_id"] == m.id], published, m,
                                     cfg.suppress_min, cfg.suppress_max)
    eng = loaded.loc[(loaded["measure_id"] == m.id), "england_value"].dropna()
    pub_eng = published.loc[published["area_code"] == equity.ENGLAND, "value"].dropna()
    bench = float(eng.iloc[0]) if len(eng) else (float(pub_eng.iloc[0]) if len(pub_eng) else None)
    if m.kind not in ("proportion", "rate", "mean"):
        view.call(st.info, f"A funnel plot compares rates, percentages or averages with their denominators; "
                  f"{m.title} is a {m.kind.replace('_', ' ')}. Choose a percentage, a rate or an average.")
        return
    sd = None
    if m.kind == "mean":
        # Limits for an average need the spread of the pupils' scores; only loaded extracts with an
        # sd column give it (the DfE publishes averages alone), and none is ever assumed.
        councils = councils[pd.to_numeric(councils["sd"], errors="coerce").notna()].reset_index(drop=True)
        sd = equity.pooled_sd(councils)
        if not np.isfinite(sd):
            view.call(st.info, f"**Funnel plot not drawn:** limits for an average need the standard deviation of "
                      f"the pupils' scores in each council, and none is loaded for {m.title} in {year} (the DfE "
                      "publishes only the average). The averages are compared in the bars above, without "
                      "intervals; an outcomes extract with the `sd` column gives both.", icon=":material/info:")
            return
    if len(councils) < MIN_FUNNEL_COUNCILS or bench is None:
        view.call(st.info, f"**Funnel plot not drawn:** it needs figures with numerators and denominators for at least "
                f"{MIN_FUNNEL_COUNCILS} councils, and {len(councils)} are loaded for {m.title} in {year}"
                f"{'' if bench is not None else ' (and no England value)'}. Load the national file - for example "
                "the DfE 'Education, health and care plans' CSVs for every local authority, or LAIT - on the "
                "Upload page or with `python -m send_metrics load`.", icon=":material/info:")
        return
    kind = equity.funnel_kind(m)
    phi = funnels.overdispersion_phi(councils["numerator"], councils["denominator"], bench, kind, m.multiplier, sd=sd)
    _, raw = equity.funnel_frame(councils, m, bench, sd=sd)
    # Spiegelhalter (2005): widen the limits when councils vary more than chance allows
    # (I x phi beyond the 95th centile of chi-square on I - 1 degrees of freedom).
    over = bool(np.isfinite(phi) and len(councils) * phi > chi2.ppf(0.95, len(councils) - 1))
    limits, pos = equity.funnel_frame(councils, m, bench, phi=phi if over else 1.0, sd=sd)
    name = ui.area_name(area)
    fig = charts.funnel_plot(pos, limits, highlight=[name], benchmark=bench, x_title="Denominator (log scale)",
                             y_title=m.unit)
    charts.nice_log_ticks(fig, limits["denominator"])
    out998 = int(pos["outside_998"].sum())
    out95 = int(pos["outside_95"].sum())
    title = charts.fit_title(f"{out998} of {len(pos)} councils outside the 99.8% limits"
                             + (" (widened)" if over else ""), "Councils against the funnel limits")
    parts = [f"Each point is a council's {ui.lower_first(m.title)} in {year} against its denominator, "
             f"with 95% (dashed) and 99.8% (dotted) limits around England ({m.format_value(bench)})"]
    if over:
        tau2 = funnels.overdispersion_tau2(councils["numerator"], councils["denominator"], bench, kind, m.multiplier,
                                         sd=sd)
        _, additive = equity.funnel_frame(councils, m, bench, tau2=tau2, sd=sd)
        parts.append(f"Councils vary far more than chance alone gives, so the limits drawn are widened for "
                     f"overdispersion by the multiplicative model (factor φ = {phi:.1f}, limits widened by √φ); "
                     f"the additive random-effects model (DerSimonian-Laird, as NHS England uses for SHMI) would put "
                     f"{int(additive['outside_998'].sum())} of {len(pos)} outside the 99.8% limits, and the "
                     f"unwidened limits {int(raw['outside_998'].sum())}")
    parts.append(f"{out95} councils are outside the 95% limits (about {0.05 * len(pos):.0f} expected by chance) "
                 f"and {out998} outside the 99.8% limits")
    me = pos[pos["area_code"] == area]
    if len(me):
        parts.append(f"{name}: {m.format_value(me['value'].iloc[0])}, {me['position'].iloc[0]}")
    else:
        parts.append(f"{name} is not a council or has no figure, so it is not on the plot")
    data = pos.assign(value=pos["value"].round(2))
    view.call(ui.chart_with_table, fig, data, title=title, sentence=". ".join(parts) + ".", key=f"bench_funnel_{m.id}",
                        source=f"{m.source} Limits: "
                               + ("multiplicative overdispersion, normal approximation widened by √φ "
                                  "(Spiegelhalter 2005)." if over
                                  else ("Wilson score, as PHE and Fingertips (PHEindicatormethods phe_funnels)."
                                        if kind == "proportion" else
                                        (f"normal, England ± z × σ/√pupils with σ = {sd:.1f} points, the pooled "
                                         "within-council standard deviation of pupils' scores (Spiegelhalter 2005)."
                                         if kind == "mean" else "exact Poisson (Spiegelhalter 2005)."))),
                        table_columns={"area_name": "Council", "value": f"Value ({m.unit})",
                                       "numerator": "Numerator", "denominator": "Denominator",
                                       "position": "Position", "source": "Source"})


def render() -> None:
    ui.page("Benchmarks", "An area against England, its region and its DfE statistical neighbours: ranked "
            "bars with intervals, a spine chart across measures, and a funnel plot across councils.")
    options = _area_options()
    load_id = ui.database().load_id
    by_id = measures_by_id()
    pub_summary = _published_summary(load_id)
    have = ui.measures_with_data() | set(pub_summary["measure_id"])
    measures = [m for m in load_catalogue() if m.id in have and m.kind != "gap"]
    if not options or not measures:
        st.info("No figures are loaded yet. Load extracts on the Upload page.")
        return
    c1, c2 = st.columns(2)
    with c1:
        area = ui.select_area(options)
    with c2:
        m = ui.select_measure(measures, default="timeliness_20wk_ex")
    idx = ui.table_index()
    pos = idx.positions([m.id], [area])
    mine = idx.column("period", pos[~np.isnan(idx.values[pos])])
    pub_years = pub_summary[pub_summary["measure_id"] == m.id]
    years = sorted({str(p)[:4] for p in mine} | {str(y) for y in pub_years["year"]})
    if not years:
        st.info(f"{ui.md(m.title)} has no figures for {ui.area_md(area)}. Choose another measure or area.")
        return
    # Default: the latest year with the most published comparators.
    rich = pub_years[pub_years["n"] >= pub_years["n"].max() * 0.8] if len(pub_years) else pub_years
    best = str(int(rich["year"].max())) if len(rich) else years[-1]
    year = ui.select_period(years, label="Year", default=best)
    ranked, spine, funnel = _views(load_id, m.id, area, year)
    st.caption(f"**Definition:** {ui.escape(m.definition)} {ui.escape(m.caveats)}")

    def shown(header: str, view: ui.View):
        def draw() -> None:
            st.header(header)
            view.show()
        return draw
    ui.views({"Statistical neighbours": shown(f"{ui.area_md(area)} and its statistical neighbours", ranked),
              "Every measure against England": shown("Every measure against England", spine),
              "All councils: funnel plot": shown("All councils: funnel plot", funnel)})


ui.guarded(render)
