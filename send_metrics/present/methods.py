"""How each statistic is computed, in words: one text for the Definitions page, the board pack and
the README (a test checks that the README holds every entry word for word, so the three cannot
drift apart). Each entry names the function that computes it; change both together.

Disclosure control is described beside each measure (Definitions) and in the board pack's own
disclosure section, not here.
"""
from __future__ import annotations

#: (heading, text). Plain text: no Markdown or HTML, so every output can escape it its own way.
METHODS: tuple[tuple[str, str], ...] = (
    ("Values",
     "Every percentage, rate and average is the sum of its numerators over the sum of its denominators at the "
     "level shown (a locality, a council, a health footprint, the pooled statistical neighbours), never an "
     "average of rates. A median wait is interpolated within the summed wait bands; gaps and year-on-year "
     "changes are differences of such values. (engine.Engine)"),
    ("Confidence intervals",
     "95% and 99.8% intervals: the Wilson score interval for a percentage; for a count or a rate the exact "
     "Poisson interval (chi-square) below 10 events and Byar's approximation from 10 events, as "
     "PHEindicatormethods phe_rate; Student's t for an average when the extract gives the standard deviation "
     "of the pupils' scores, as phe_mean, and no interval without it (none is ever assumed); Newcombe's hybrid "
     "score interval for a gap between two percentages. (intervals.wilson_ci, byar_ci, rate_ci, "
     "mean_ci; comparisons.proportion_difference_ci)"),
    ("Against England, the region and neighbours",
     "Better or worse (higher or lower where no judgement is made) when the area's interval lies wholly above "
     "or below the benchmark value, similar otherwise, as Fingertips: at 95% against England, the region and "
     "the neighbours, and at 99.8% against England too. England and the region are computed from loaded data, "
     "or the published value when they are not loaded. The neighbours' value pools the DfE statistical "
     "neighbours that have both a numerator and a denominator (their number is stated) and is compared only "
     "when at least five have data. Counts, medians and year-on-year changes are never compared, nor an "
     "average without an interval. (comparisons.compare_to_benchmark, benchmarks.pool_neighbours)"),
    ("Recent trend",
     "Only for annual percentages and rates with five unbroken years (counts and monthly series are not "
     "tested): for a percentage, the chi-square test for trend (Cochran-Armitage) on the counts; for a rate, a "
     "weighted regression on time with weights from the 95% intervals. Significant when chi-square exceeds "
     "9.5495 (99.8%), and only when the least-squares slope (of the log-odds, for a percentage) and every "
     "leave-one-out slope have the same sign, as Fingertips' TrendMarkerCalculator. (trends.proportion_trend, "
     "trends.recent_trend)"),
    ("Funnel plots",
     "Every council against its denominator with 95% and 99.8% limits around England, from at least 20 "
     "councils: Wilson-based limits for a percentage, as PHEindicatormethods calculate_funnel_limits (the exact "
     "binomial limits of Spiegelhalter are a named option); exact Poisson limits for a rate; normal limits, "
     "England plus or minus z times sigma over the square root of the number of pupils, for an average, with "
     "sigma the pooled within-council standard deviation of the pupils' scores (Spiegelhalter 2005), only when "
     "the councils' standard deviations are loaded. When councils vary more than chance allows (the number of "
     "councils times phi above the 95th centile of chi-square on one fewer degrees of freedom, phi from 10% "
     "Winsorised z-scores) the limits drawn are widened by the square root of phi (multiplicative "
     "over-dispersion), and the chart says how many councils the additive random-effects model "
     "(DerSimonian-Laird) would put outside them. (funnels.funnel_limits, overdispersion_phi, "
     "overdispersion_tau2)"),
    ("Statistical process control",
     "XmR charts as NHS England's Making Data Count (NHSRplotthedots): the mean, process limits at the mean "
     "plus or minus 2.66 times the mean moving range (moving ranges of 3.267 times the mean or more screened "
     "out), and a special cause when a point is outside a limit, in a run of seven rising or falling, two of "
     "three beyond the two-sigma line on one side, or in a run of seven on one side of the mean. Fewer than 13 "
     "points give trial limits, and every verdict on them says so. (spc.spc)"),
    ("Gaps between places",
     "North against South Cumbria and a locality against the rest of its council: the difference by "
     "Newcombe's method for percentages and by MOVER for rates (on their exact or Byar intervals) and for "
     "averages (on their Student's t intervals); the ratio by MOVER-R on the same intervals, so the verdict, "
     "taken from the difference, agrees with both. Counts are not compared. (pair_comparison.compare_one)"),
    ("Demand projection",
     "A log-linear trend fitted to the last six Januaries of each total, with a damped trend (growth slowing "
     "by a fifth a year) as a sensitivity check. The 80% and 95% intervals of a council's EHC plan total come "
     "from a rolling-origin backtest over every council's total in the loaded data (from every year with at "
     "least three years of data up to it, one to five years ahead). Councils' errors in the same year move "
     "together, so each log error is split into the year's shared part (the median over councils) and the "
     "council's deviation from it; the interval combines Student's t on the shared parts of the years known "
     "(as many degrees of freedom as years, grown with the horizon as the slope error of a local linear "
     "trend, the square root of 1 + 4 + ... + h squared) with the empirical quantiles of the deviations (with "
     "the conformal finite-sample correction), beyond the longest horizon seen scaled as a level error plus "
     "the horizon times a slope error: along a line through the spreads of the horizons seen, or as 1 + h "
     "with only one seen (the growth measured on the caseload from 2010). The "
     "coverage reported is prospective: each origin is scored on intervals from the errors known at that "
     "origin only, as the intervals shown are from the errors known now. With fewer than 20 errors at a "
     "horizon there is no interval. A primary need's intervals are the model's own (residual noise and the "
     "fitted line's uncertainty). (projection_backtest.calibrate, projection_backtest.rolling_backtest)"),
    ("Multiple comparisons",
     "The board summary says how many significance tests it shows and how many would come out significant by "
     "chance alone if nothing differed: 1 in 20 of the comparisons at 95%, 1 in 500 of the trends at 99.8%. "
     "(summary.multiple_comparisons_note)"),
    ("Assessment pathway",
     "Weeks from the request to each step of the EHC needs assessment (decision to assess, decision to "
     "issue, final plan) as Kaplan-Meier curves (statsmodels), with Greenwood's variance and 95% intervals on "
     "the log(-log) scale; requests still open on the census date, or withdrawn, are censored there. "
     "(pathway)"),
)


def methods_markdown() -> str:
    """The methods as the README holds them (one bullet each)."""
    return "\n".join(f"- **{h}.** {t}" for h, t in METHODS)
