"""The board pack: one self-contained HTML file that prints cleanly to A4.

`board.board_pack_html(engine, area_code, period)` builds the pack from the same engine, tiles and
charts the dashboard uses, so the board reads exactly what the dashboard shows:

* a plain-English summary generated from the statistics (`summary.key_messages`);
* the headline measures with 95% intervals, significance against England and statistical
  neighbours, recent trend and SPC verdicts;
* SPC (XmR) charts of the monthly waiting-time measures with variation and assurance;
* North vs South Cumbria and locality equity, each gap with a 95% confidence interval
  (Newcombe's hybrid score method for proportions, MOVER for rates and averages);
* needs (primary-need mix, plans per 1,000 by locality) and the demand projection (aggregate model);
* the transition model's demand and cost projection, where the council's person-level data is loaded;
* a data table under every chart, the definition of every measure shown, sources, data dates
  and editions, the disclosure-control notice and, for the demo extract, a synthetic-data notice.

Disclosure: only values the engine has already protected are used. A suppressed cell is printed
as "suppressed" and drawn as a gap; nothing is re-derived from unprotected data. Every value cell
carries `data-cell="measure|area|period"` so a test can check each suppressed cell.

The file holds plotly.js once, inline; it makes no network request and opens offline.

One module per part of the pack, so a section can be read (and changed) on its own:

* `pack`: the `Pack` every section writes through: value cells, numbered figures and tables;
* `style`: the printed page's CSS;
* `summary_table`: the summary table at a glance and the headline measures;
* `waits`, `equity`, `needs`, `transition`: the sections' builders, one function per section;
* `reference`: definitions, sources and editions;
* `board`: the page shell, putting the sections together in order;
* `write`: the `python -m send_metrics report` command.
"""
