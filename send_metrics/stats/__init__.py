"""Statistics: the published methods every figure is judged by (BRIEF section 7).

Owns pure, vectorised implementations of the public-health statistics that OHID Fingertips, the
PHEindicatormethods R package and NHS England's "Making Data Count" use, so that every figure the
dashboard shows can carry a confidence interval, a benchmark comparison, a recent-trend reading,
funnel-plot limits, equity (gap / ratio) statistics and SPC signals, and so that no small number is
disclosed. One module per family of methods, one function per published method, each module with
its reference tests (``tests/test_stats_<family>.py``, ``tests/stats/test_spc.py``,
``tests/stats/test_disclosure.py``):

* ``intervals`` - confidence intervals for a proportion (Wilson), a count and a crude rate (Byar,
  exact Poisson), a mean (Student's t).
* ``comparisons`` - a figure against a benchmark (Fingertips' better / similar / worse) and two
  groups against each other (differences and ratios with their intervals, the equity verdict).
* ``trends`` - Fingertips' recent trends (weighted regression for rates, chi-square test for trend
  for proportions) and their reading through a polarity.
* ``funnels`` - Spiegelhalter funnel limits and over-dispersion (multiplicative phi, additive tau2).
* ``spc`` - XmR charts as NHSRplotthedots ("Making Data Count").
* ``disclosure`` - statistical disclosure control: primary and secondary suppression, rounding,
  rates built on suppressed counts, the audit of a protected table; ``recoverability`` - the
  linear algebra and linear programs behind secondary suppression (can a suppressed cell be worked
  out, and which further cells stop it).
* ``_common`` - what the families share (confidence levels, scalar or array in and out,
  polarities, scipy imported on first use).

What it may import: nothing else of the project (only numpy, scipy, pandas and highspy), so every
method can be tested and reused alone. Callers import the module a method lives in
(``from send_metrics.stats import intervals`` then ``intervals.wilson_ci(...)``); this package
re-exports nothing.

Invariants (of ``intervals``, ``comparisons``, ``trends`` and ``funnels``; ``spc`` and
``disclosure`` state their own)
----------
* Every function is pure: no I/O, no global state, no Streamlit, no pandas
  requirement (pandas Series are accepted wherever numpy arrays are).
* Scalar inputs give Python ``float`` / ``str`` outputs; array-like inputs give
  numpy arrays of the broadcast shape.  Nothing is looped in Python per element
  except where documented (the recent-trend fit works on a single series).
* Proportions are handled as fractions in [0, 1]; callers scale for display.
  Rates take a ``multiplier`` (e.g. 1000 for "per 1,000").
* Missing or undefined input (NaN, zero denominator) yields NaN limits, never
  an exception and never a zero; categorical outputs then say
  ``"not_compared"`` / ``"not_enough_data"``.
* Invalid input that signals a data error (negative counts, numerator above
  denominator for a proportion, confidence outside (0, 1)) raises
  ``ValueError``.
* ``confidence`` may be given as a fraction (0.95, 0.998) or, as in
  PHEindicatormethods, as a percentage (95, 99.8).
* scipy is imported on first use, never when a module is imported: a page that only reads the
  precomputed measure table (the Board, on every start) needs none of it.
"""
