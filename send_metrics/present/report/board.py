"""The board pack's page shell: the masthead, the summary table, the key messages, the contents and
the numbered sections in order, the reference sections and the footer, with plotly.js inline once
(the file opens offline and makes no network request).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.offline

from send_metrics.measures import summary
from send_metrics.measures.engine import Engine
from send_metrics.present.report import (
    equity,
    needs,
    reference,
    summary_table,
    transition,
    waits,
)
from send_metrics.present.report.pack import Pack, esc
from send_metrics.present.report.style import CHART_WIDTH, CSS
from send_metrics.present.safe_text import for_css_string


def long_date(d: dt.date | dt.datetime) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def board_pack_html(engine: Engine, area_code: str, period: str | None = None) -> str:
    """The board pack for one area as a single self-contained HTML document."""
    pack = Pack(engine, area_code, period)
    db = engine.db
    info = dict(db.load_info or {})
    demo = bool(info.get("demo"))
    area_name = pack.name(area_code)

    tiles = summary.tiles(engine, area_code, pack.year)
    messages = summary.key_messages(tiles)
    for t in tiles:
        pack.m(t.measure.id)

    glance = summary_table.glance(pack, tiles) if tiles else '<p class="na">No headline measures have data for this area.</p>'
    headline = summary_table.headline(pack, tiles) if tiles else '<p class="na">No headline measures have data for this area.</p>'
    spc_html = waits.spc_section(pack)
    ns_html = equity.north_south(pack)
    loc_html = equity.localities(pack)
    needs_html = needs.needs(pack)
    proj_html = needs.projection(pack)
    demand_html = transition.transition_model(pack)

    # Fewer than three messages: add the strongest equity gaps and the projection, all computed above.
    if len(messages) < 3:
        used: set[str] = set()
        for _, mid, text in sorted(pack.extra_messages, key=lambda s: -s[0]):
            if len(messages) >= 4:
                break
            if mid not in used:  # one message per measure: the strongest gap
                used.add(mid)
                messages.append(text)
        if len(messages) < 3 and getattr(pack, "projection_message", None):
            messages.append(pack.projection_message)

    monthly_latest = [t.period_label for t in tiles if t.measure.monthly]
    annual = [str(t.period_label)[:4] for t in tiles if not t.measure.monthly]
    year = pack.year or (max(annual) if annual else None)
    period_text = f"Year {year}" if year else "Latest period"
    if monthly_latest:
        period_text += f" (monthly measures to {monthly_latest[0]})"
    today = dt.date.today()
    loaded = info.get("loaded_at")
    loaded_text = long_date(pd.Timestamp(loaded)) if loaded else "unknown"
    footer = f"SEND board pack · {area_name} · {long_date(today)}" + (" · SYNTHETIC DATA" if demo else "")

    synthetic = ""
    if demo:
        synthetic = ('<div class="notice synthetic" role="note"><strong>Synthetic data - not for decisions.</strong> '
                     "This pack was produced from the demonstration extract. Local figures (caseload, assessments, "
                     "school census, waiting lists and outcomes) are made up to show how the pack works; only the "
                     "England, regional and statistical-neighbour benchmarks are published figures.</div>")
    notes = [n for n in info.get("notes") or [] if n]
    load_notes = ""
    if notes:
        load_notes = ('<div class="notice" role="note"><strong>Notes from the data load:</strong> '
                      + "; ".join(esc(n) for n in notes[:5]) + "</div>")

    sections = [
        ("headline", "Headline measures", headline,
         "Each figure is the latest for the period, with its 95% confidence interval. Significance compares the "
         "interval with the England value and the statistical neighbours' pooled value (counts are never "
         "compared); the recent trend tests the last five annual points at 99.8%; the SPC verdict reads the latest "
         "point against its process limits. How each is computed is in the Definitions section. "
         + summary.multiple_comparisons_note(tiles)),
        ("waits", "Waiting times: statistical process control", spc_html,
         "Making Data Count XmR charts: points outside the process limits, runs of seven rising or falling, two "
         "of three points beyond the two-sigma line and runs of seven on one side of the mean are special causes "
         "(a real change; on trial limits, from fewer than 13 points, a possible one); everything else is "
         "common-cause noise and needs no reaction."),
        ("equity", "Equity: North and South Cumbria, and localities", ns_html + "<h3>Localities</h3>" + loc_html,
         "Gaps between places are differences of proportions (Newcombe's hybrid score interval), of rates (MOVER "
         "on their exact or Byar intervals) or of averages (MOVER on their Student's t intervals, when the "
         "pupils' standard deviation is loaded). A gap is significant when its 95% interval excludes zero."),
        ("needs", "Needs and demand", needs_html + proj_html, ""),
        ("demand", "Demand and cost projection (transition model)", demand_html,
         "Each child with a plan moves year to year between national curriculum year, primary need and setting, "
         "with probabilities estimated from the council's January snapshots and pooled towards larger groups where "
         "data are thin; joiners are drawn against the population. 1,000 simulations give the intervals."),
    ]
    body = []
    for i, (anchor, title, content, intro) in enumerate(sections, start=1):
        intro_html = f'<p class="howto">{esc(intro)}</p>' if intro else ""
        cls = ' class="page-break"' if i > 1 else ""  # each main section starts a printed page
        body.append(f'<section id="{anchor}"{cls}><h2><span class="num">{i}</span>{esc(title)}</h2>'
                    f"{intro_html}{content}</section>")

    disclosure_text = (
        f"Counts from {engine.suppress_min:g} to {engine.suppress_max:g} are suppressed (primary suppression), and "
        "further cells are suppressed wherever a suppressed count could be worked out from the totals of "
        "overlapping areas - localities, councils, the North and South Cumbria footprints and Cumbria as a "
        "whole (secondary suppression). Everything the dashboard publishes of one table for those areas (this "
        "pack, every page and the data explorer at every breakdown) comes from one protected version: a count "
        "withheld anywhere is withheld everywhere, and further cells are withheld until no small count can be "
        "worked out from any combination of them, nor narrowed to two neighbouring values using that no count "
        "is below zero or above the group it is part of, with every council figure the publisher shows in full "
        "(DfE's EHC plan caseload, assessments and ceased plans) taken as known to anyone; a category no child "
        "in a locality falls in is written as 0, so that a missing row never gives a count away. Below council level (localities, former districts, footprints, the rest "
        "of a council) a percentage is also withheld when the rest of its group is a small count or when it is "
        f"none or all of a group of {engine.suppress_max + 1:g}-{2 * (engine.suppress_max + 1):g} children; council "
        "figures are not subject to this rule (their publisher shows them). "
        "A suppressed figure is shown as \"suppressed\" and drawn as a gap, never "
        "as zero; rates, intervals, gaps and changes built on a suppressed count are withheld too. The aggregate "
        "projection uses council totals only; the transition model's projections are model estimates, not counts "
        "of children, and a projection of a small number is not shown. "
        f"{pack.suppressed_shown} cells in this pack are suppressed.")
    refs = [
        ("definitions", "Definitions", reference.definitions(pack)),
        ("sources", "Sources, data dates and editions", reference.sources(pack)
         + f'<p class="howto">Data loaded {esc(loaded_text)} (load {esc(info.get("load_id", "-"))}, data contract '
           f'version {esc(info.get("contract_version", "-"))}).</p>'),
        ("disclosure", "Disclosure control", f'<div class="notice" role="note"><strong>Small numbers are protected.'
                                             f'</strong> {esc(disclosure_text)}</div>'),
    ]
    n0 = len(sections)
    for i, (anchor, title, content) in enumerate(refs, start=n0 + 1):
        cls = ' class="page-break"' if i == n0 + 1 else ""
        body.append(f'<section id="{anchor}"{cls}><h2><span class="num">{i}</span>{esc(title)}</h2>{content}</section>')

    contents = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t, *_ in [*sections, *refs])
    msgs = "".join(f"<li>{esc(m)}</li>" for m in messages) or "<li>No measure has enough data for a message.</li>"
    # The footer sits in a CSS string inside <style>: escaped for that context (every character
    # that could end the string, the rule or the element is a CSS hex escape).
    css = (CSS.replace("__FOOTER__", for_css_string(footer))
              .replace("__W__", str(CHART_WIDTH)))
    plotly_js = plotly.offline.get_plotlyjs()
    title = f"SEND board pack: {area_name}, {period_text}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{esc(title)}</title><style>{css}</style>"
        f'<script type="text/javascript">{plotly_js}</script></head><body><main class="sheet">'
        f'<div class="masthead"><strong>SEND PARTNERSHIP BOARD</strong><span>Board paper · {esc(long_date(today))}</span></div>'
        f'<h1>SEND needs, timeliness and waiting times<span class="area">{esc(area_name)}</span></h1>'
        f'<p class="meta"><span>{esc(period_text)}</span><span>Area code {esc(area_code)}</span>'
        f"<span>Prepared {esc(long_date(today))}</span><span>Data loaded {esc(loaded_text)}</span></p>"
        f"{synthetic}{load_notes}"
        f'<section class="glance" id="glance"><h2>Headline measures at a glance</h2>{glance}'
        '<p class="howto">Against benchmark: ▼ worse, ● similar, ▲ better than England (else the statistical '
        "neighbours) at 95% confidence; ◆ higher or lower where no judgement is made. Trend: the last five "
        "points. SPC: I improvement, C concern, N neither, ~ common cause (noise).</p></section>"
        f'<section class="summary" id="summary"><h2>What the board should know</h2><ol>{msgs}</ol>'
        '<p class="howto">Generated from the statistics in this pack: significance against England and '
        "statistical neighbours at 95% confidence, the recent trend, and SPC signals (special cause = a real "
        "change; common cause = noise).</p></section>"
        f'<ol class="contents">{contents}</ol>'
        + "".join(body)
        + f"<footer>{esc(footer)}. Produced by the SEND needs dashboard (python -m send_metrics report) from the "
          "same measure engine as the dashboard.</footer></main></body></html>\n")
