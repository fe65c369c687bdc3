"""The demand transition model (send_metrics.measures.demand) timed in a fresh process: fit and
simulations for a council of a given size, with the process's peak memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from send_metrics.config import PROJECT_ROOT

_DEMAND_CHILD = """
import json, sys, time
import numpy as np, pandas as pd
from send_metrics.measures import demand, demand_simulation
from send_metrics.tools import demand_demo
from send_metrics.tools.demo_datasets.population import build_population, population_rows
from send_metrics.tools.bench.system import peak_rss_mb
plans, sims, years = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rows = pd.DataFrame(demand_demo.history(), columns=["year", "ti", "area_code", "area_level", "person_id",
                                                    "primary_need", "age_band", "setting_type", "ncy"])
names = [loc for loc, _w in demand_demo.COUNCILS["E06000063"]]
p = demand.panel(rows[rows["area_code"].isin(names)])
pop = pd.DataFrame(population_rows(build_population()),
                   columns=["year", "ti", "area_code", "area_level", "age_band", "population"])
cp = pop[pop["area_code"].isin(names)].groupby(["year", "age_band"], as_index=False)["population"].sum()
pop_years = list(range(2014, 2045))
P, _ = demand.single_year_population(cp, pop_years)
last = p.snapshot(max(p.years))
pick = np.random.default_rng(0).integers(0, len(last.a), plans)  # a council of `plans` plans, same mix
start = demand.Panel(last.year[pick], np.arange(plans), last.a[pick], last.n[pick], last.k[pick])
P = P * plans / len(last.a)  # joiners in proportion
t0, c0 = time.perf_counter(), time.process_time()
params = demand.fit(p, P, pop_years)
sim = demand_simulation.simulate(params, start, P, pop_years, years=years, sims=sims, seed=2026)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"demand_sim_s": elapsed, "demand_sim_cpu_s": cpu, "demand_sim_rss_mb": peak_rss_mb(),
                  "demand_sim_final_plans": float(sim.need_setting[:, -1].sum((1, 2)).mean())}))
"""


def demand_process(plans: int = 5000, sims: int = 1000, years: int = 10) -> dict:
    """The demand transition model (send_metrics.measures.demand) in a fresh process: fit and ``sims``
    simulations of ``years`` years for a council of ``plans`` plans; seconds and the process's
    peak RSS."""
    r = subprocess.run([sys.executable, "-c", _DEMAND_CHILD, str(plans), str(sims), str(years)],
                       capture_output=True, text=True, cwd=PROJECT_ROOT, env=dict(os.environ))
    if r.returncode:
        raise RuntimeError(f"demand simulation failed: {r.stderr[-800:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) for k, v in out.items()}
