"""The board pack's printed page: A4 with 15 mm margins, the page number and a footer in the
margin boxes, charts sized to the printable width, and tables and figures kept whole across page
breaks. The page shell (`board`) fills in the footer (as a CSS string) and the chart width.
"""
from __future__ import annotations

CHART_WIDTH = 676  # px: fits the 180 mm printable width of A4 with 15 mm margins (680 px) with its frame


CSS = """
@page { size: A4; margin: 15mm;
  @bottom-left { content: "__FOOTER__"; font: 8pt Arial, Helvetica, sans-serif; color: #505a5f; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt Arial, Helvetica, sans-serif; color: #505a5f; } }
:root { --blue: #12436D; --teal: #28A197; --plum: #801650; --orange: #F46A25; --grey: #3D3D3D;
  --lilac: #A285D1; --text: #0b0c0c; --secondary: #505a5f; --border: #b1b4b6; --light: #f3f2f1; }
* { box-sizing: border-box; }
html { background: #dee0e2; }
body { margin: 0; font-family: "GDS Transport", Arial, Helvetica, sans-serif; color: var(--text);
  font-size: 15px; line-height: 1.4; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.sheet { width: 210mm; margin: 0 auto; background: white; padding: 12mm 15mm 15mm; }
.masthead { border-top: 10px solid var(--blue); padding-top: 10px; display: flex; justify-content: space-between;
  align-items: baseline; font-size: 13px; color: var(--secondary); }
.masthead strong { color: var(--blue); font-size: 14px; letter-spacing: .02em; }
h1 { font-size: 30px; line-height: 1.12; margin: 14px 0 6px; font-weight: 700; color: var(--text); }
h1 .area { color: var(--blue); display: block; }
.meta { color: var(--secondary); font-size: 14px; margin: 0 0 12px; }
.meta span + span::before { content: " · "; }
h2 { font-size: 22px; margin: 26px 0 8px; padding-top: 8px; border-top: 2px solid var(--blue); color: var(--text);
  break-after: avoid; page-break-after: avoid; }
h2 .num { color: var(--blue); margin-right: 6px; }
h3 { font-size: 17px; margin: 18px 0 6px; break-after: avoid; page-break-after: avoid; }
p { margin: 0 0 10px; }
.lede { font-size: 15px; color: var(--text); }
.notice { border-left: 6px solid var(--orange); background: #fef0e9; padding: 8px 12px; margin: 10px 0; font-size: 13.5px; }
.notice strong { color: #8a3100; }
.notice.synthetic { border-color: var(--plum); background: #f7e8ee; }
.notice.synthetic strong { color: var(--plum); }
.summary { background: var(--light); border-left: 6px solid var(--blue); padding: 10px 16px 6px; margin: 10px 0 12px;
  break-inside: avoid; page-break-inside: avoid; }
.summary h2 { border: 0; margin: 0 0 6px; padding: 0; font-size: 20px; }
.summary ol { margin: 0 0 6px; padding-left: 22px; }
.summary li { margin-bottom: 6px; font-size: 15px; }
.howto { font-size: 12.5px; color: var(--secondary); }
.contents { columns: 2; font-size: 13px; margin: 0 0 4px; padding-left: 20px; }
.contents a { color: #1d70b8; }
table.data { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 11.5px; }
table.data tr { break-inside: avoid; page-break-inside: avoid; }
table.grid, table.proj, table.needs, table.sources { break-inside: avoid; page-break-inside: avoid; }
table.data caption { text-align: left; font-weight: 700; font-size: 13px; padding: 0 0 4px; caption-side: top; }
.tab-no, .fig-no { color: var(--blue); margin-right: 4px; }
table.data th, table.data td { border-bottom: 1px solid var(--border); padding: 4px 5px; text-align: left; vertical-align: top; }
table.data thead th { border-bottom: 2px solid var(--text); font-size: 11px; vertical-align: bottom; }
table.data tbody th { font-weight: 700; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.supp { color: var(--secondary); font-style: italic; text-align: right; }
td.na { color: #6f777b; text-align: right; }
.ci { display: block; font-weight: 400; color: var(--secondary); font-size: 10.5px; }
.unit { display: block; color: var(--secondary); font-size: 10.5px; }
.bench { display: block; color: var(--secondary); font-size: 10.5px; margin-top: 2px; }
.muted { color: var(--secondary); }
table.glance { table-layout: fixed; width: 100%; }
table.glance td, table.glance th { font-size: 9.5px; padding: 3px 3px; overflow-wrap: anywhere; }
table.glance th[scope=row] { width: 24%; }
table.glance .tag { white-space: normal; font-size: 9.5px; }
table.glance td.num { white-space: normal; }
.rag-red { background: #F6D7D2; color: #0B0C0C; } .rag-amber { background: #FDE3CC; color: #0B0C0C; }
.rag-green { background: #CCE2D8; color: #0B0C0C; } .rag-neutral { background: #dbe3ec; color: var(--blue); }
.rag-none { color: #505a5f; font-weight: 400; }
.spark { font-size: 12px; letter-spacing: -1px; color: var(--blue); }
.tag { display: inline-block; padding: 1px 5px; font-weight: 700; font-size: 10.5px; white-space: nowrap; }
.tag-better { background: #d4ece9; color: #0f5a52; }
.tag-worse { background: #f2d6e0; color: var(--plum); }
.tag-similar { background: #e9e9e9; color: var(--grey); }
.tag-neutral { background: #dbe3ec; color: var(--blue); }
.tag-none { color: #6f777b; font-weight: 400; }
.mdc { display: inline-block; width: 16px; height: 16px; border-radius: 50%; color: white; font-weight: 700;
  font-size: 10px; line-height: 16px; text-align: center; margin-right: 4px; vertical-align: middle; }
.mdc-text { font-size: 10.5px; vertical-align: middle; }
table.headline td:nth-child(3) { font-size: 13px; font-weight: 700; }
table.grid { font-size: 9.5px; table-layout: fixed; }
table.grid th:first-child { width: 17%; }
table.grid td, table.grid th { padding: 2px 3px; }
table.grid td.supp { font-size: 8.5px; }
sup.flag { color: var(--orange); font-weight: 700; margin-left: 1px; }
figure.chart { margin: 12px 0 18px; }
.fig-title { font-weight: 700; font-size: 15px; margin: 0 0 4px; }
.verdict { font-size: 13.5px; margin: 0 0 4px; }
.verdict .badges { margin-bottom: 4px; }
.plot { width: calc(__W__px + 4px); padding: 1px; break-inside: avoid; page-break-inside: avoid; border: 1px solid #e6e6e6; }
.note { font-size: 11.5px; color: var(--secondary); margin: -8px 0 0; }
.keep { break-inside: avoid; page-break-inside: avoid; }
@media print { .page-break { break-before: page; page-break-before: always; } }
table.defs td, table.defs th { font-size: 10.5px; }
footer { margin-top: 18px; border-top: 1px solid var(--border); padding-top: 6px; font-size: 11.5px; color: var(--secondary); }
@media print {
  html { background: white; }
  .sheet { width: auto; padding: 0; margin: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
}
"""
