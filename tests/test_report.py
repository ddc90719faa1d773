"""The report layer: one verdict rule, its interval, the multiple-testing adjustment, the formatters."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reoffend.compare.baseline import BaselineParams, Counts, compare_counts
from reoffend.intervals import score_difference_interval
from reoffend.report.format import count, interval, level, number, p_value, pct, signed_pct, yes_no
from reoffend.report.multiple import adjust
from reoffend.report.verdict import Verdict, interval_confidence, interval_label, verdict_of
from reoffend.report.views import baseline_headlines

ALPHAS = (0.01, 0.05, 0.1)


# ------------------------------------------------------------------------------------------ the verdict rule
def test_interval_level_and_label_follow_the_test():
    assert interval_confidence(0.05, "one") == pytest.approx(0.90)
    assert interval_confidence(0.05, "two") == pytest.approx(0.95)
    assert interval_label(0.05, "one") == "90% interval, one-sided test at 5%"
    assert interval_label(0.01, "two") == "99% interval, two-sided test at 1%"


def test_verdict_names_the_direction():
    assert verdict_of(0.01, -3.0, 0.05) is Verdict.REDUCTION
    assert verdict_of(0.01, 3.0, 0.05) is Verdict.INCREASE
    assert verdict_of(0.2, -3.0, 0.05) is Verdict.NO_CHANGE
    assert verdict_of(None, None, 0.05) is Verdict.TOO_FEW
    assert str(Verdict.INCREASE) == "significant increase"


@pytest.mark.parametrize(("sided", "alpha"), list(itertools.product(("one", "two"), ALPHAS)))
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_verdict_and_interval_agree_on_a_grid_of_counts(sided, alpha, confidence):
    """significant <=> the interval printed beside it excludes zero on the verdict's side (every cohort pair
    of sizes 1 to 13 and every count), whatever --confidence (which only sets the rates' intervals)."""
    sizes = (1, 2, 3, 5, 8, 13)
    current, baselines = [], []
    for n1, n0 in itertools.product(sizes, sizes):
        for x1, x0 in itertools.product(range(n1 + 1), range(n0 + 1)):
            current.append((x1, n1))
            baselines.append((x0, n0))
    params = BaselineParams(confidence=confidence, alpha=alpha, sided=sided, multiple_testing="none")
    checked = 0
    for base in set(baselines):
        pairs = enumerate(zip(current, baselines, strict=True))
        cohorts = [Counts(f"c{i}", x, n) for i, ((x, n), b) in pairs if b == base]
        rows = compare_counts(cohorts, Counts("b", *base), params).rows
        for row in rows.iter_rows(named=True):
            low, high, verdict = row["difference_pp_low"], row["difference_pp_high"], row["verdict"]
            assert row["interval_confidence"] == pytest.approx(interval_confidence(alpha, sided))
            assert low <= row["difference_pp"] <= high
            assert (verdict == Verdict.REDUCTION) == (high < 0), row
            assert (verdict == Verdict.INCREASE) == (low > 0), row
            assert (verdict == Verdict.NO_CHANGE) == (low <= 0 <= high), row
            assert row["significant"] == (verdict == Verdict.REDUCTION)
            checked += 1
    assert checked == len(current)


def test_the_issues_example_45_of_100_against_57_of_100():
    """One-sided p 0.045 is a significant reduction; the 95% Newcombe interval includes zero, but the interval
    printed beside the verdict is the 90% score interval, which excludes it."""
    rows = compare_counts([Counts("now", 45, 100)], Counts("then", 57, 100), BaselineParams()).rows
    row = rows.row(0, named=True)
    assert row["p_reduction"] == pytest.approx(0.0448, abs=1e-4)
    assert row["verdict"] == "significant reduction"
    assert row["reduction_pp_newcombe_low"] < 0  # -1.8: the old, disagreeing interval
    assert (row["reduction_pp_low"], row["reduction_pp_high"]) == (
        pytest.approx(0.3715, abs=1e-4),
        pytest.approx(23.3084, abs=1e-4),
    )


def test_a_significant_increase_is_called_an_increase_under_a_one_sided_test():
    row = compare_counts([Counts("now", 70, 100)], Counts("then", 50, 100), BaselineParams()).rows.row(0, named=True)
    assert row["verdict"] == "significant increase" and row["significant"] is False
    assert row["difference_pp_low"] > 0


def test_empty_cohort_is_too_few_to_test():
    row = compare_counts([Counts("now", 0, 0)], Counts("then", 5, 10), BaselineParams()).rows.row(0, named=True)
    assert row["verdict"] == "too few to test" and row["p_adjusted"] is None


# --------------------------------------------------------------------------------------- the score interval
def _restricted_score(x1, n1, x0, n0, delta):
    """The score statistic at ``delta`` with the restricted MLE found numerically (no closed form)."""
    from scipy.optimize import minimize_scalar

    def minus_loglik(p0):
        p1 = p0 + delta
        return -(x1 * math.log(p1) + (n1 - x1) * math.log(1 - p1) + x0 * math.log(p0) + (n0 - x0) * math.log(1 - p0))

    bounds = (max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12)
    r0 = minimize_scalar(minus_loglik, bounds=bounds, method="bounded", options={"xatol": 1e-13}).x
    r1 = r0 + delta
    return (x1 / n1 - x0 / n0 - delta) / math.sqrt(r1 * (1 - r1) / n1 + r0 * (1 - r0) / n0)


def test_score_interval_bounds_are_where_the_score_statistic_reaches_the_critical_value():
    """At each bound the score statistic, with the restricted MLE maximised numerically, is -z or +z."""
    from statistics import NormalDist

    rng = np.random.default_rng(7)
    for _ in range(40):
        n1, n0 = (int(v) for v in rng.integers(5, 300, 2))
        x1, x0 = int(rng.integers(1, n1)), int(rng.integers(1, n0))
        confidence = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        low, high = score_difference_interval([x1], [n1], [x0], [n0], confidence)
        assert _restricted_score(x1, n1, x0, n0, low[0]) == pytest.approx(z, abs=1e-5)
        assert _restricted_score(x1, n1, x0, n0, high[0]) == pytest.approx(-z, abs=1e-5)


def test_score_interval_is_statsmodels_score_interval_with_its_cubic_corrected():
    """statsmodels 0.14's cubic has count0 where nobs0 belongs (statsmodels#10269): equal cohorts get an
    asymmetric interval there; ours is symmetric, and both agree where the coefficient does not matter."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = score_difference_interval([30], [100], [30], [100], 0.9)
    assert low[0] == pytest.approx(-high[0], abs=1e-12)
    theirs = confint_proportions_2indep(30, 100, 30, 100, method="score", correction=False, alpha=0.1)
    assert abs(theirs[0] + theirs[1]) > 1e-4  # their asymmetry
    assert (low[0], high[0]) == (pytest.approx(theirs[0], abs=1e-3), pytest.approx(theirs[1], abs=1e-3))


def test_score_interval_excludes_zero_exactly_when_the_pooled_z_test_rejects():
    # 45/100 against 57/100: pooled z = -1.6974 -> two-sided p 0.0896: rejected at 10%, not at 5%
    _, high90 = score_difference_interval([45], [100], [57], [100], 0.90)
    _, high95 = score_difference_interval([45], [100], [57], [100], 0.95)
    assert high90[0] < 0 < high95[0]
    pooled = 102 / 200
    z = (0.45 - 0.57) / math.sqrt(pooled * (1 - pooled) * 2 / 100)
    assert z == pytest.approx(-1.6974, abs=1e-4)


@given(
    st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_score_interval_contains_the_estimate_and_nests(current, baseline, confidence):
    (x1, n1), (x0, n0) = current, baseline
    low, high = score_difference_interval([x1], [n1], [x0], [n0], confidence)
    wider_low, wider_high = score_difference_interval([x1], [n1], [x0], [n0], min(confidence + 0.005, 0.999))
    d = x1 / n1 - x0 / n0
    assert -1 <= low[0] <= d + 1e-12 and d - 1e-12 <= high[0] <= 1
    assert wider_low[0] <= low[0] + 1e-12 and wider_high[0] >= high[0] - 1e-12


# ----------------------------------------------------------------------------------------- multiple testing
def test_holm_and_bh_by_hand_and_nulls_left_out():
    p = pl.Series("p", [0.01, None, 0.04, 0.03])
    # Holm on (0.01, 0.03, 0.04): 3 x 0.01 = 0.03, max(0.03, 2 x 0.03) = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert adjust(p, "holm").to_list() == [pytest.approx(0.03), None, pytest.approx(0.06), pytest.approx(0.06)]
    # BH: 0.04 x 3/3 = 0.04, min(0.04, 0.03 x 3/2 = 0.045) = 0.04, 0.01 x 3/1 = 0.03
    assert adjust(p, "bh").to_list() == [pytest.approx(0.03), None, pytest.approx(0.04), pytest.approx(0.04)]
    assert adjust(p, "none").to_list() == [0.01, None, 0.04, 0.03]


def test_several_cohorts_are_adjusted_and_the_headline_says_so():
    result = compare_counts(
        [Counts("a", 45, 100), Counts("b", 50, 100)], Counts("base", 57, 100), BaselineParams(multiple_testing="holm")
    )
    a, b = result.rows.iter_rows(named=True)
    # verdict p-values (one-sided): 0.0448 and 0.1605; Holm: 2 x 0.0448 = 0.0896, max(0.0896, 0.1605)
    assert a["p_adjusted"] == pytest.approx(2 * a["p_reduction"])
    assert b["p_adjusted"] == pytest.approx(b["p_reduction"])
    assert a["verdict"] == "significant reduction" and a["verdict_adjusted"] == "no significant change"
    assert a["significant"] is True and a["significant_adjusted"] is False
    assert not result.all_significant()
    assert "adjusted for 2 cohorts tested (holm), no significant change" in baseline_headlines(result)


# ------------------------------------------------------------------------------------------------ formatters
def test_formatters():
    assert pct(0.45) == "45.0%" and pct(None) == "–"
    assert signed_pct(-0.245) == "-24.5%"
    assert number(1234.56) == "1,234.6" and number(-0.04, signed=True) == "+0.0" and number(2.5, signed=True) == "+2.5"
    assert number(float("nan")) == "–"
    assert count(12345) == "12,345"
    assert p_value(0.0449) == "0.045" and p_value(0.0004) == "< 0.001"
    assert yes_no(True) == "yes" and yes_no(None) == "–"
    assert level(0.95) == "95%"
    assert interval(-1.0, 2.0) == "-1.0 to 2.0"
    # an interval with an end that could not be computed (an empty baseline) is one dash, not "– to –"
    assert interval(None, None, pct) == "–" and interval(0.1, float("nan"), pct) == "–"


def test_a_table_spec_picks_renders_and_transposes():
    from reoffend.compare.rows import BaselineRow
    from reoffend.report.tables import Column, TableSpec, baseline_keys, baseline_table

    params = BaselineParams(target_pp=5)
    result = compare_counts([Counts("2023", 45, 100)], Counts("2022", 57, 100), params)
    rows = BaselineRow.of(result.rows)
    spec = baseline_table(params)
    bulletin = spec.pick(baseline_keys(params, 1, bulletin=True))
    assert bulletin.headers() == [
        "Cohort", "Rate", "Baseline", "Baseline rate", "Change (points)",
        "Change, 90% interval, one-sided test at 5%", "p (one-sided, in the direction of the change)",
        "Significant (one-sided test at 5%)", "Target (5 points) met",
    ]  # fmt: skip
    # 45/100 against 57/100: the hand-worked figures of the issue, formatted once; the change in one sign
    # convention (current minus baseline), as the sentence gives it
    assert bulletin.cells(rows) == [
        [
            "2023",
            "45.0% (45 of 100)",
            "2022",
            "57.0% (57 of 100)",
            "-12.0",
            "-23.3 to -0.4",
            "0.045",
            "reduction",
            "yes",
        ]
    ]
    assert bulletin.numeric() == [False, True, False, True, True, True, True, False, False]
    assert spec.pick(["p_two_sided"]).cells(rows) == [["0.090"]]  # two-sided p = 2 x 0.045
    terminal = spec.pick(baseline_keys(params, 1, bulletin=False)).transposed(rows, ["2023"])
    assert terminal.columns == ["", "2023"] and "Reduction (points)" in terminal[""].to_list()
    assert "p_adjusted" not in baseline_keys(params, 1, bulletin=False)  # one cohort: nothing to adjust
    assert "verdict_adjusted" in baseline_keys(params, 2, bulletin=True)
    with pytest.raises(KeyError, match="no column"):
        spec.pick(["reduction"])
    with pytest.raises(ValueError, match="twice"):
        TableSpec((Column("a", "A", str), Column("b", "A", str)))


def test_column_formatters_are_the_scalar_formatters_and_keep_nulls():
    from reoffend.report.format import number_column, pct_column

    frame = pl.DataFrame({"rate": [0.4567, None], "value": [1234.567, -0.004]})
    shown = frame.select(pct_column("rate"), number_column("value", 2).alias("two"), number_column("value", 0))
    assert shown["rate"].to_list() == [pct(0.4567), None] == ["45.7%", None]
    assert shown["two"].to_list() == ["1,234.57", "0.00"]  # a value that rounds to zero is never -0.00
    assert shown["value"].to_list() == ["1,235", "0"]


def test_expression_formatters_have_the_scalar_null_rule_and_so_do_their_composites():
    """One rule (reoffend/report/format.py): a value that could not be computed (None or NaN) is one dash, never
    a half-formatted cell. Before, a NaN end printed its own dash inside the interval ("45.0%––") and a NaN
    estimate read "≈–"."""
    from reoffend.report.format import DASH, dash_nulls, formatted, interval_column, marked_column

    nan = float("nan")
    frame = pl.DataFrame(
        {
            "label": ["both", "no low", "nan high", "nan rate"],
            "rate": [0.4567, 0.5, 0.5, nan],
            "low": [0.45, None, 0.45, 0.4],
            "high": [0.5, 0.55, nan, 0.6],
        }
    )
    shown = frame.select(
        "label",
        formatted("rate", pct).alias("rate"),
        marked_column("rate", pct, "≈").alias("estimate"),
        interval_column("low", "high", pct).alias("interval"),
    ).with_columns(dash_nulls("label"))
    # 0.4567 -> 45.7%; 0.45 and 0.5 -> 45.0% and 50.0%, joined by an en dash
    assert shown["rate"].to_list() == ["45.7%", "50.0%", "50.0%", DASH]
    assert shown["estimate"].to_list() == ["≈45.7%", "≈50.0%", "≈50.0%", DASH]
    assert shown["interval"].to_list() == ["45.0%–50.0%", DASH, DASH, "40.0%–60.0%"]
    assert shown["label"].to_list() == frame["label"].to_list()  # a kept column is shown as it is
    assert pct(nan) == pct(None) == DASH  # the scalar rule the expressions follow


def test_the_measure_table_marks_withheld_figures_and_formats_once():
    from reoffend.report.tables import group_column, measure_table

    spec = measure_table(0.95, [group_column("cohort", "Cohort")]).pick(
        ["cohort", "cohort_size", "reoffenders", "binary_rate", "binary_rate_interval", "reoffences_per_offender"]
    )
    published = {
        "cohort": "2023Q4",
        "cohort_size": 1274,
        "reoffenders": 639,
        "binary_rate": 639 / 1274,
        "binary_rate_low": 0.474,
        "binary_rate_high": 0.529,
        "reoffences_per_offender": 2.1,
        "suppressed": None,
    }
    withheld = {**published, "cohort": "2024Q1", "cohort_size": 8, "reoffenders": None, "binary_rate": None,
                "binary_rate_low": None, "binary_rate_high": None, "reoffences_per_offender": None,
                "suppressed": "min_cohort"}  # fmt: skip
    assert spec.headers() == [
        "Cohort", "Released", "Reoffenders", "Rate", "95% confidence interval", "Reoffences per offender"
    ]  # fmt: skip
    assert spec.cells([published, withheld]) == [
        ["2023Q4", "1,274", "639", "50.2%", "47.4% to 52.9%", "2.10"],
        ["2024Q1", "8", "[c]", "[c]", "[c]", "[c]"],
    ]
