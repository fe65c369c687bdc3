"""The demand transition model (send_metrics/measures/demand.py): recovery of known transition
probabilities, pooling, joiners, scenarios, costs, the backtest and the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from send_metrics.measures import demand
from send_metrics.measures import demand_outputs
from send_metrics.measures import demand_simulation
from send_metrics.measures.demand import NA, NCYS, NEEDS, NK, NN, SETTINGS

ROOT = Path(__file__).resolve().parents[2]
MAIN, SPECIAL, INDEP = SETTINGS.index("mainstream"), SETTINGS.index("special"), SETTINGS.index("independent")
ASD = NEEDS.index("ASD")


def _known_panel(rng, years=6, n0=4000, p_leave=0.08, p_special=0.06, p_indep=0.015, p_need=0.02, joiners=500):
    """Children aged 7 (ncy 3) to 12 (ncy 8) in mainstream with ASD, moving with known probabilities."""
    rows = []
    pid = 0
    cur = []
    for _ in range(n0):
        cur.append([pid, int(rng.integers(3, 9)), ASD, MAIN])
        pid += 1
    for y in range(2015, 2015 + years):
        rows += [[y, f"p{c[0]}", c[1], NEEDS[c[2]], SETTINGS[c[3]]] for c in cur]
        nxt = []
        for c in cur:
            if rng.random() < p_leave or c[1] >= 20:
                continue
            k = c[3]
            if k == MAIN:
                u = rng.random()
                k = SPECIAL if u < p_special else INDEP if u < p_special + p_indep else MAIN
            n = c[2] if rng.random() >= p_need else int(rng.integers(0, NN))
            nxt.append([c[0], c[1] + 1, n, k])
        for _ in range(joiners):
            nxt.append([pid, int(rng.integers(0, 9)), ASD, MAIN])
            pid += 1
        cur = nxt
    df = pd.DataFrame(rows, columns=["year", "person_id", "ncy", "primary_need", "setting_type"])
    return demand.panel(df)


@pytest.fixture(scope="module")
def known():
    return _known_panel(np.random.default_rng(7))


def test_recovers_known_transition_probabilities_within_their_intervals(known):
    """Data simulated with known leaving and move probabilities, for six ages: the fitted posterior's
    99.9% interval (quantiles of posterior draws) holds every true value, its 95% interval all but
    (by chance) one or two of the 18, and the posterior mean is close to the truth."""
    params = demand.fit(known)
    d = demand.draw(params, np.random.default_rng(1), 400)
    a = np.arange(NA)
    # Pool over the ages simulated (ncy 4..8 after a year), each state a draw from the posterior.
    states = demand.state_index(a[(NCYS >= 3) & (NCYS <= 8)], ASD, MAIN)
    checks = {"leave": (d.leave[:, states], 0.08), "to special": (d.setting[:, states, SPECIAL], 0.06),
              "to independent": (d.setting[:, states, INDEP], 0.015)}
    held95 = tried = 0
    for name, (draws, truth) in checks.items():
        for j in range(draws.shape[1]):
            lo, hi = np.percentile(draws[:, j], [2.5, 97.5])
            held95 += lo <= truth <= hi
            tried += 1
            lo, hi = np.percentile(draws[:, j], [0.05, 99.95])
            assert lo <= truth <= hi, (name, j, lo, hi, truth)
        assert abs(draws.mean() - truth) < 0.25 * truth, (name, draws.mean(), truth)
    # 18 intervals at 95%: about one is expected to miss by chance; three or more would not be chance.
    assert held95 >= tried - 2, (held95, tried)


def test_pooling_gives_every_allowed_transition_a_non_zero_probability(known):
    """Only mainstream -> special/independent moves were ever seen; yet every setting allowed at the
    next age has a positive (and small) probability, and a disallowed one (early years at 12) none."""
    params = demand.fit(known)
    mean = params.setting_mean()  # (NA, NN, NK, NK)
    allowed = demand.allowed_mask()
    for ai in range(NA - 1):
        for k in range(NK):
            row = mean[ai, ASD, k]
            assert np.all(row[allowed[ai + 1]] > 0), (NCYS[ai], SETTINGS[k], row)
    ai = int(np.flatnonzero(NCYS == 6)[0])
    row = mean[ai, ASD, MAIN]
    never_seen = [SETTINGS.index(s) for s in ("alternative_provision", "other")]
    assert np.all(row[never_seen] > 0) and np.all(row[never_seen] < 0.01)
    assert row[SETTINGS.index("early_years")] == 0  # ncy 7 (age 11): not allowed in early years
    # need changes and the joiner mix are pooled the same way
    need_mean = demand._renorm(params.need_alpha)
    assert np.all(need_mean > 0)
    mix = demand._renorm(params.mix_alpha).reshape(NA, NN, NK)
    assert np.all(mix[:, :, allowed[0] | True][allowed[:, None, :].repeat(NN, 1)] > 0)


def test_pool_dirichlet_shrinks_thin_rows_towards_their_group():
    counts = np.array([[0, 1], [50, 50], [900, 100]], float)
    g = np.array([0, 0, 1])
    alpha = demand.pool_dirichlet(counts, np.ones_like(counts, bool), [g], weight=10)
    mean = alpha / alpha.sum(1, keepdims=True)
    # the thin row (1 observation) sits near its group's rate (about 0.5), not at 0
    assert 0.35 < mean[0, 0] < 0.55
    assert abs(mean[2, 0] - 0.9) < 0.01


def test_simulation_is_reproducible_and_tracks_the_truth(known):
    params = demand.fit(known)
    pop = np.ones((40, NA))
    years = list(range(2010, 2050))
    start = known.snapshot(max(known.years))
    s1 = demand_simulation.simulate(params, start, pop, years, years=3, sims=200, seed=5)
    s2 = demand_simulation.simulate(params, start, pop, years, years=3, sims=200, seed=5)
    assert np.array_equal(s1.need_setting, s2.need_setting)
    # one year on: stayers (1 - 0.08) of the start plus about 500 joiners
    total = s1.need_setting[:, 0].sum((1, 2))
    expected = len(start.a) * 0.92 + 500
    assert abs(np.median(total) - expected) < 0.03 * expected


def test_scenario_fewer_moves_to_independent_and_slower_joiner_growth(known):
    params = demand.fit(known)
    pop, years = np.ones((40, NA)), list(range(2010, 2050))
    start = known.snapshot(max(known.years))
    y0 = max(known.years)
    base = demand_simulation.simulate(params, start, pop, years, years=4, sims=200, seed=3)
    sc = demand.Scenario(from_year=y0 + 2, move_from="mainstream", move_to="independent", move_change=-0.5)
    alt = demand_simulation.simulate(params, start, pop, years, years=4, sims=200, seed=3, scenario=sc)
    ind_b, ind_s = base.need_setting[..., INDEP].sum(2).mean(0), alt.need_setting[..., INDEP].sum(2).mean(0)
    assert abs(ind_s[0] - ind_b[0]) < 0.05 * ind_b[0] + 2  # before the scenario's year: the same
    assert ind_s[-1] < ind_b[-1] * 0.9  # after: fewer independent places
    sj = demand.Scenario(from_year=y0 + 1, joiner_growth=-0.10)
    slow = demand_simulation.simulate(params, start, pop, years, years=4, sims=200, seed=3, scenario=sj)
    assert slow.need_setting[:, -1].sum((1, 2)).mean() < base.need_setting[:, -1].sum((1, 2)).mean()
    assert "50% fewer moves from mainstream to independent" in sc.describe()


def test_costs_need_a_source_and_use_the_setting_row_for_any_need(known):
    params = demand.fit(known)
    sim = demand_simulation.simulate(params, known.snapshot(max(known.years)), np.ones((40, NA)), list(range(2010, 2050)),
                          years=2, sims=50, seed=1)
    rows = pd.DataFrame({"primary_need": ["ALL", "ASD"], "setting_type": ["mainstream", "special"],
                         "cost_per_place": [1000.0, 5000.0], "source": ["Test table", "Test table"]})
    table = demand_simulation.cost_table(rows)
    out = demand_simulation.costs(sim, table)
    assert set(out["source"]) == {"Test table"}
    main = sim.need_setting[..., MAIN].sum(2)
    special_asd = sim.need_setting[..., ASD, SPECIAL]
    assert out["value"].iloc[1] == pytest.approx((main[:, 0] * 1000 + special_asd[:, 0] * 5000).mean())
    assert demand_simulation.cost_table(rows.assign(source="")) is None  # no source: never shown


@pytest.mark.timeout(1800)  # 16 backtest origins of 400 simulations each
def test_backtest_on_the_synthetic_history_is_calibrated():
    """The acceptance check: one year ahead, the 95% interval holds the actual caseload by setting
    in 90-98% of (council, origin, setting) cases of the synthetic person-level demo."""
    from send_metrics.tools import demand_demo
    from send_metrics.tools.demo_datasets.population import build_population, population_rows
    rows = pd.DataFrame(demand_demo.history(), columns=["year", "ti", "area_code", "area_level", "person_id",
                                                        "primary_need", "age_band", "setting_type", "ncy"])
    pop = pd.DataFrame(population_rows(build_population()),
                       columns=["year", "ti", "area_code", "area_level", "age_band", "population"])
    frames = []
    for council, locs in demand_demo.COUNCILS.items():
        names = [loc for loc, _w in locs]
        p = demand.panel(rows[rows["area_code"].isin(names)])
        cp = pop[pop["area_code"].isin(names)].groupby(["year", "age_band"], as_index=False)["population"].sum()
        years = list(range(2014, 2040))
        P, _notes = demand.single_year_population(cp, years)
        frames.append(demand_simulation.backtest_cases(p, P, years, horizon=1, sims=400, series=f"{council}:"))
    s = demand_simulation.score(pd.concat(frames), horizon=1)
    assert s["forecasts"] >= 100
    assert 0.90 <= s["coverage_95_by_horizon"]["1"] <= 0.98, s
    assert 0.65 <= s["coverage_80_by_horizon"]["1"] <= 0.92, s


@pytest.fixture(scope="module")
def demand_load(tmp_path_factory) -> dict:
    """The synthetic person-level history (with its population and illustrative costs) loaded once, in
    process and without the derived tables (as conftest's demo_store): the demand model reads the
    store's datasets only, and the needs breakdowns' disclosure repair is slow on 12 years of small
    locality cells."""
    from dataclasses import replace

    from send_metrics.tools import demand_demo
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    tmp = tmp_path_factory.mktemp("demand_demo")
    # A quarter-size council keeps the load quick; the full-size history's backtest is checked above
    # without a load (test_backtest_on_the_synthetic_history_is_calibrated).
    demand_demo.write(tmp / "data" / "demo", scale=0.25)
    result = load(replace(load_config(tmp / "data"), store_dir=tmp / "store"))
    assert result.load_id, result.notes
    return {"SEND_DATA_DIR": str(tmp / "data"), "SEND_STORE_DIR": str(tmp / "store")}


@pytest.mark.timeout(1800)  # a load of 12 years of person-level data, then simulations
def test_cli_backtest_transition_prints_the_aggregate_keys(demand_load):
    import os
    import subprocess
    import sys
    env = {**os.environ, **demand_load}
    r = subprocess.run([sys.executable, "-m", "send_metrics", "backtest", "--json", "--model", "transition"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    keys = {"coverage_80", "coverage_95", "coverage_95_by_horizon", "mape", "bias", "series", "origins"}
    assert keys <= set(out)
    assert out["model"] == "transition" and out["origins"] >= 5 and out["series"] >= 12
    assert out["forecasts"] > 100 and 0 < out["coverage_95"] <= 1 and out["mape"] > 0
    assert set(out["coverage_95_by_setting"]) >= {"mainstream", "special", "independent", "post16"}
    agg = subprocess.run([sys.executable, "-m", "send_metrics", "backtest", "--json"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=1800)
    assert keys <= set(json.loads(agg.stdout))


@pytest.fixture
def app_env(demand_load):
    from test_disclosure_e2e import AppEnv
    with AppEnv(demand_load["SEND_DATA_DIR"], demand_load["SEND_STORE_DIR"], SEND_AUTH="off"):
        yield


def _open(params: dict):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/demand.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 0, [e.value for e in at.error]
    return at


def _plain(text: str) -> str:
    import re
    return re.sub(r"\\(.)", r"\1", str(text)).replace("\u2060", "")


@pytest.mark.timeout(1800)  # a load of 12 years of person-level data, then simulations
def test_demand_page_reproduces_a_scenario_from_its_link(app_env):
    """A link with a scenario opens the page with that scenario chosen and drawn beside the baseline;
    the same link gives the same figures."""
    link = {"area": "E06000064", "sc_from": "mainstream", "sc_to": "independent", "sc_move": "-10", "sc_join": "-3",
            "sc_year": "2028"}
    at = _open(link)
    chosen = {w.key: w.value for w in at.selectbox}
    assert {k: chosen[k] for k in link} == link
    text = [_plain(m.value) for m in at.markdown]
    assert any("10% fewer moves from mainstream to independent or non-maintained special and joiners growing 3.0% "
               "a year slower, from January 2028" in t for t in text), text
    headline = next(t for t in text if "EHC plans in January 2026; the baseline projects" in t)
    assert "the scenario" in headline
    for k, v in link.items():
        assert at.query_params[k] == [v] or at.query_params[k] == v
    # every chart has a subheader; the scenario is a line of its own on the total chart
    import json as _json
    specs = [_json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert len(specs) >= 6
    assert any(t.get("name") == "Scenario (median)" for t in specs[0]["data"])
    again = _open(link)
    assert next(_plain(m.value) for m in again.markdown if "the baseline projects" in _plain(m.value)) == headline


@pytest.mark.timeout(1800)  # a load of 12 years of person-level data, then simulations
def test_demand_page_shows_costs_only_with_their_source(app_env):
    at = _open({"area": "E06000063"})
    text = [_plain(m.value) for m in at.markdown] + [_plain(c.value) for c in at.caption]
    with_money = [t for t in text if "£" in t]
    assert with_money
    for t in with_money:
        assert "ILLUSTRATIVE demo table" in t, t
    assert any("Source: cost per place: ILLUSTRATIVE demo table" in t for t in text)
    # the backtest is shown, by setting
    assert any("Rolling-origin backtest of the transition model" in t for t in text)
    assert "Backtest by setting (one year ahead)" in [_plain(s.value) for s in at.subheader]


def test_observed_small_counts_are_suppressed_with_a_complement():
    t = pd.DataFrame({"year": [2025] * 4 + [2026] * 3, "group": list("abcd") + list("abc"),
                      "value": [3.0, 10, 12, 40, 0, 7, 9]})
    out = demand_outputs.protect(t)
    y25 = out[out["year"] == 2025].set_index("group")
    assert y25["suppressed"].tolist() == [True, True, False, False]  # 3 primary, 10 its complement
    assert y25["value"].isna().tolist() == [True, True, False, False]
    assert not out[out["year"] == 2026]["suppressed"].any()  # zero is not disclosive


def test_not_enough_data_says_why():
    df = pd.DataFrame({"year": [2024], "person_id": ["a"], "ncy": [None], "primary_need": ["ASD"],
                       "setting_type": ["mainstream"]})
    with pytest.raises(demand.NotEnoughData, match="national curriculum year"):
        demand.panel(df)
    p = demand.panel(df.assign(ncy=3))
    with pytest.raises(demand.NotEnoughData, match="two consecutive"):
        demand.fit(p)


@pytest.mark.timeout(1800)  # a load of 12 years of person-level data, then simulations
def test_board_pack_has_a_demand_section_with_the_cost_source(demand_load, monkeypatch):
    from dataclasses import replace

    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.present.report.pack import Pack
    from send_metrics.present.report.transition import transition_model
    config = replace(load_config(Path(demand_load["SEND_DATA_DIR"])), store_dir=Path(demand_load["SEND_STORE_DIR"]))
    # The pack's demand section alone (the whole pack would compute every derived table first).
    section = transition_model(Pack(Engine(Database(config)), "E06000063", None))
    assert "transition model to 2036" in section
    assert "Observed" in section and "data-under" in section
    assert "Rolling-origin backtest of the transition model" in section
    assert "Cost per place: ILLUSTRATIVE demo table" in section
    assert section.count("£") > 0


@pytest.mark.browser
@pytest.mark.timeout(1800)
def test_demand_page_in_the_browser(demand_load):
    """Headless Chromium on the synthetic person-level demo: the scenario restored from its link, the cost
    source shown, no exception, no serious or critical axe violation; writes docs/screenshots/demand.png."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed")
    from test_browser import CHROMIUM
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (install Debian's chromium)")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from test_browser import (AXE_OPTIONS, NAV, SHOTS, exceptions, full_screenshot, navigation_ok, open_page,
                                    selected, start_server, stop_server, wait_for_app)
    proc, base, _log = start_server(Path(demand_load["SEND_STORE_DIR"]), Path(demand_load["SEND_DATA_DIR"]))
    link = "/demand?area=E06000063&sc_from=mainstream&sc_to=independent&sc_move=-10&sc_join=-3&sc_year=2028"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
            try:
                pg = b.new_context(viewport={"width": 1280, "height": 900}).new_page()
                open_page(pg, base + "/")
                # The first view runs the simulations and the backtest (cached for the load after that).
                pg.goto(base + link, wait_until="domcontentloaded", timeout=900_000)
                wait_for_app(pg, timeout=900_000)
                assert navigation_ok(pg)
                assert not exceptions(pg), exceptions(pg)
                assert selected(pg, "Change in those moves (%)") == "-10%"
                assert selected(pg, "From January") == "2028"
                assert pg.get_by_text("ILLUSTRATIVE demo table", exact=False).count() > 0
                results = Axe().run(pg, context={"exclude": [[NAV]]}, options=AXE_OPTIONS)
                bad = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
                SHOTS.mkdir(parents=True, exist_ok=True)
                full_screenshot(pg, SHOTS / "demand.png")
                assert not bad, "; ".join(f"{v['id']} ({v['impact']}): {v['help']} e.g. {v['nodes'][0]['target']}"
                                          for v in bad)
            finally:
                b.close()
    finally:
        stop_server(proc)
