"""The risk-adjusted comparison core: hand-worked sums on a tiny fixture, fit statistics, encoding, errors."""

from __future__ import annotations

import datetime as dt
import math
from itertools import product
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit
from statsmodels.discrete.discrete_model import Logit, NegativeBinomial, Poisson

from reoffend.compare.adjusted import AdjustedParams, compare_adjusted, shift_is_warned
from reoffend.compare.adjusted_models import (
    calibration_table,
    nb2_alpha_given_mean,
    nb2_log_likelihood,
    null_log_likelihood,
)
from reoffend.compare.design import LINEAR, design_matrix
from reoffend.errors import DataError, UsageError
from reoffend.intervals import rank_auc
from reoffend.report.views import adjusted_headlines, shift_sentence, shift_summary
from reoffend.runs.adjusted import national_shift_warnings

Z = NormalDist()

# (age, group, reoffended, reoffences): 12 baseline releases; group "x" (7) is the most common level
BASELINE = [
    (20, "x", 1, 3),
    (25, "x", 1, 1),
    (30, "x", 0, 0),
    (35, "x", 1, 2),
    (40, "x", 0, 0),
    (45, "x", 0, 0),
    (50, "x", 1, 1),
    (22, "y", 1, 4),
    (28, "y", 0, 0),
    (33, "y", 1, 2),
    (38, "y", 1, 1),
    (55, "y", 0, 0),
]
# (provider, age, group, reoffended, reoffences) in the current cohort
CURRENT = [
    ("P1", 24, "x", 1, 2),
    ("P1", 36, "y", 0, 0),
    ("P1", 48, "x", 0, 0),
    ("P2", 30, "y", 1, 3),
    ("P2", 42, "x", 1, 1),
]


def fixture_frame(current=CURRENT) -> pl.DataFrame:
    rows = []
    for i, (age, group, reoffended, reoffences) in enumerate(BASELINE):
        rows.append(("B", f"B{i:02d}", "P1" if i % 2 else "P2", age, group, reoffended, reoffences))
    for i, (provider, age, group, reoffended, reoffences) in enumerate(current):
        rows.append(("C", f"C{i:02d}", provider, age, group, reoffended, reoffences))
    return pl.DataFrame(
        {
            "offender_id": [r[1] for r in rows],
            "release_date": [dt.date(2022, 1, 1)] * len(rows),
            "cohort": [r[0] for r in rows],
            "establishment": [r[2] for r in rows],
            "age": [r[3] for r in rows],
            "group": [r[4] for r in rows],
            "reoffended": [bool(r[5]) for r in rows],
            "reoffences": [r[6] for r in rows],
        }
    )


def params(**kwargs) -> AdjustedParams:
    values = {
        "covariates": ("age", "group"),
        "baseline": ("B",),
        "count_model": "poisson",
        "sided": "two",
    }
    values.update(kwargs)
    if "age" in values["covariates"]:
        values.setdefault("covariate_forms", {"age": LINEAR})  # the hand-worked design: age as a straight line
    return AdjustedParams(**values)


def baseline_design() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.array([[1.0, age, 1.0 if group == "y" else 0.0] for age, group, _, _ in BASELINE])
    y_bin = np.array([float(r[2]) for r in BASELINE])
    y_cnt = np.array([float(r[3]) for r in BASELINE])
    return X, y_bin, y_cnt


def test_hand_worked_expected_values_variances_and_tests():
    result = compare_adjusted(fixture_frame(), params())
    X, y_bin, y_cnt = baseline_design()
    logit = Logit(y_bin, X).fit(disp=0)
    poisson = Poisson(y_cnt, X).fit(disp=0)
    b, g = logit.params, poisson.params
    assert result.models["design"]["terms"] == ["intercept", "age", "group=y"]
    np.testing.assert_allclose([c["estimate"] for c in result.models["binary"]["coefficients"]], b, rtol=1e-6)
    np.testing.assert_allclose([c["estimate"] for c in result.models["frequency"]["coefficients"]], g, rtol=1e-6)

    rows = {r["establishment"]: r for r in result.rows.iter_rows(named=True)}
    assert list(rows) == ["P1", "P2"]
    # P1: (24, x) reoffended with 2 offences, (36, y) did not, (48, x) did not
    p1 = [expit(b[0] + b[1] * 24), expit(b[0] + b[1] * 36 + b[2]), expit(b[0] + b[1] * 48)]
    mu1 = [math.exp(g[0] + g[1] * 24), math.exp(g[0] + g[1] * 36 + g[2]), math.exp(g[0] + g[1] * 48)]
    observed_bin, observed_cnt, n = 1, 2, 3
    expected_bin = p1[0] + p1[1] + p1[2]
    variance_bin = p1[0] * (1 - p1[0]) + p1[1] * (1 - p1[1]) + p1[2] * (1 - p1[2])
    expected_cnt = mu1[0] + mu1[1] + mu1[2]
    variance_cnt = expected_cnt  # Poisson: the variance of each count is its mean
    r = rows["P1"]
    assert r["cohort_size"] == 3 and r["reoffenders"] == 1 and r["reoffences"] == 2
    assert r["binary_actual"] == pytest.approx(1 / 3)
    assert r["binary_expected"] == pytest.approx(expected_bin / n, rel=1e-9)
    assert r["binary_difference_pp"] == pytest.approx(100 * (observed_bin - expected_bin) / n, rel=1e-9)
    assert r["binary_ratio"] == pytest.approx(observed_bin / expected_bin, rel=1e-9)
    z_bin = (observed_bin - expected_bin) / math.sqrt(variance_bin)
    assert r["binary_z"] == pytest.approx(z_bin, rel=1e-9)
    assert r["binary_difference_pp_se"] == pytest.approx(100 * math.sqrt(variance_bin) / n, rel=1e-9)
    assert r["binary_p_two_sided"] == pytest.approx(2 * (1 - Z.cdf(abs(z_bin))), rel=1e-7)
    assert r["binary_p_reduction"] == pytest.approx(Z.cdf(z_bin), rel=1e-7)
    half = 1.959963984540054 * math.sqrt(variance_bin) / n
    low = max((observed_bin - expected_bin) / n - half, -expected_bin / n)  # clipped: actual rate >= 0
    assert r["binary_difference_pp_low"] == pytest.approx(100 * low, rel=1e-9)
    assert r["binary_difference_pp_high"] == pytest.approx(
        100 * min((observed_bin - expected_bin) / n + half, 1 - expected_bin / n), rel=1e-9
    )
    assert r["binary_reduction_pp"] == pytest.approx(-100 * (observed_bin - expected_bin) / n, rel=1e-9)
    z_cnt = (observed_cnt - expected_cnt) / math.sqrt(variance_cnt)
    assert r["reoffences_per_offender_expected"] == pytest.approx(expected_cnt / n, rel=1e-9)
    assert r["reoffences_per_offender_actual"] == pytest.approx(2 / 3)
    assert r["reoffences_per_offender_z"] == pytest.approx(z_cnt, rel=1e-9)
    assert r["reoffences_per_offender_reduction_pct"] == pytest.approx(
        100 * (1 - observed_cnt / expected_cnt), rel=1e-9
    )
    assert r["reoffences_per_offender_p_reduction"] == pytest.approx(Z.cdf(z_cnt), rel=1e-7)
    # two-sided at alpha 0.05: a significant change exactly when |z| > 1.96, a reduction when also z < 0;
    # significant and beat_baseline are both "a significant reduction"
    for name, z in (("binary", z_bin), ("reoffences_per_offender", z_cnt)):
        expected_verdict = (
            "no significant change"
            if abs(z) <= 1.959963984540054
            else "significant reduction"
            if z < 0
            else "significant increase"
        )
        assert r[f"{name}_verdict"] == expected_verdict
        assert r[f"{name}_significant"] == r[f"{name}_beat_baseline"] == (expected_verdict == "significant reduction")

    # P2: (30, y) reoffended 3 times, (42, x) once
    p2 = [expit(b[0] + b[1] * 30 + b[2]), expit(b[0] + b[1] * 42)]
    r = rows["P2"]
    assert r["binary_expected"] == pytest.approx((p2[0] + p2[1]) / 2, rel=1e-9)
    assert r["binary_z"] == pytest.approx(
        (2 - p2[0] - p2[1]) / math.sqrt(p2[0] * (1 - p2[0]) + p2[1] * (1 - p2[1])), rel=1e-9
    )


def test_the_national_shift_is_every_current_release_against_the_model_by_hand():
    # all five current releases together (P1 and P2): 3 reoffenders and 6 offences against the sums of p and mu
    result = compare_adjusted(fixture_frame(), params(alpha=0.05))
    X, y_bin, y_cnt = baseline_design()
    b = Logit(y_bin, X).fit(disp=0).params
    g = Poisson(y_cnt, X).fit(disp=0).params
    design = [(24, 0.0), (36, 1.0), (48, 0.0), (30, 1.0), (42, 0.0)]  # (age, group=y) of C00..C04
    p = [expit(b[0] + b[1] * age + b[2] * y) for age, y in design]
    mu = [math.exp(g[0] + g[1] * age + g[2] * y) for age, y in design]
    shift = result.metadata["national_shift"]
    assert shift["releases"] == 5 and shift["units"] == 2 and shift["confidence"] == 0.95
    z_bin = (3 - sum(p)) / math.sqrt(sum(q * (1 - q) for q in p))
    assert shift["binary_difference_pp"] == pytest.approx(100 * (3 - sum(p)) / 5, rel=1e-9)
    assert shift["binary_difference_pp_p_two_sided"] == pytest.approx(2 * (1 - Z.cdf(abs(z_bin))), rel=1e-7)
    half = 1.959963984540054 * math.sqrt(sum(q * (1 - q) for q in p)) / 5
    assert shift["binary_difference_pp_low"] == pytest.approx(100 * ((3 - sum(p)) / 5 - half), rel=1e-9)
    z_cnt = (6 - sum(mu)) / math.sqrt(sum(mu))  # Poisson: variance = mean
    assert shift["reoffences_per_offender_difference"] == pytest.approx((6 - sum(mu)) / 5, rel=1e-9)
    assert shift["reoffences_per_offender_difference_p_two_sided"] == pytest.approx(
        2 * (1 - Z.cdf(abs(z_cnt))), rel=1e-7
    )
    assert shift["binary_difference_pp_significant"] == (abs(z_bin) > 1.959963984540054)
    # the same as one unit holding every current release (no providers)
    pooled = compare_adjusted(fixture_frame(), params(by=("cohort",))).rows.row(0, named=True)
    assert pooled["binary_difference_pp"] == pytest.approx(shift["binary_difference_pp"], rel=1e-12)
    assert pooled["binary_p_two_sided"] == pytest.approx(shift["binary_difference_pp_p_two_sided"], rel=1e-12)


def test_a_significant_national_shift_is_a_warning_in_words():
    # everyone in the current cohort reoffends, several times: far above what the baseline model expects
    current = [("P1", 20 + i, "xy"[i % 2], 1, 4) for i in range(30)] + [
        ("P2", 21 + i, "xy"[i % 2], 1, 4) for i in range(30)
    ]
    result = compare_adjusted(fixture_frame(current), params())
    shift = result.metadata["national_shift"]
    assert shift["binary_difference_pp_significant"] and shift["binary_difference_pp"] > 0
    assert shift_is_warned(shift) and not [w for w in result.all_warnings() if "the shift they share" in w]
    (warning,) = national_shift_warnings(result)  # worded by the run, above the core and the rendering layer
    assert warning.code == "national-shift"
    assert not [w for w in result.warnings if "the shift they share" in w]  # the bulletin: published cells only
    assert "All 60 current releases of the 2 units together" in warning and "a significant rise" in warning
    assert "compare units with each other" in warning


def test_the_shift_sentence_words_a_bound_that_rounds_to_zero_as_every_number_is_worded():
    """The sentence is the rendering layer's (report.views, report.format.number): a bound of -0.04 points
    rounds to 0.0 at one decimal and reads "+0.0" (the core's own f"{-0.04:+.1f}" said "-0.0"); -0.004 per
    offender at two decimals likewise. Hand-made shift: 1,234 releases of 3 units, two-sided."""
    shift = {
        "units": 3,
        "releases": 1234,
        "confidence": 0.95,
        "sided": "two",
        "binary_difference_pp": 1.25,  # 1.2 at one decimal (1.25 is 1.2499... in binary)
        "binary_difference_pp_low": -0.04,  # -> +0.0
        "binary_difference_pp_high": 2.54,  # -> +2.5
        "binary_difference_pp_p_two_sided": 0.0612,
        "binary_difference_pp_significant": False,
        "reoffences_per_offender_difference": -0.1,
        "reoffences_per_offender_difference_low": -0.196,  # -> -0.20
        "reoffences_per_offender_difference_high": -0.004,  # -> +0.00
        "reoffences_per_offender_difference_p_two_sided": 0.0004,
        "reoffences_per_offender_difference_significant": True,
    }
    assert shift_sentence(shift) == (
        "All 1,234 current releases of the 3 units together (the shift they share): the binary rate 1.2 percentage "
        "points above the baseline model's expectation (95% interval +0.0 to +2.5; two-sided p = 0.061: no "
        "significant change); reoffences per offender 0.10 below the baseline model's expectation (95% interval "
        "-0.20 to +0.00; two-sided p < 0.001: a significant fall)."
    )
    assert shift_is_warned(shift) and not shift_is_warned(shift, "others")
    assert shift_sentence({**shift, "units": 1}) == "" and not shift_is_warned({**shift, "units": 1})


CURRENT_DESIGN = {"P1": [(24, 0.0), (36, 1.0), (48, 0.0)], "P2": [(30, 1.0), (42, 0.0)]}  # (age, group=y)


def test_relative_to_others_is_the_units_shift_less_the_rests_by_hand():
    """--relative-to others, with two units the rest of P1 is P2: d = (O1 - E1)/n1 - (O2 - E2)/n2, variance
    V1/n1^2 + V2/n2^2 (different releases: independent), and P2's comparison is exactly P1's, negated."""
    result = compare_adjusted(fixture_frame(), params(relative_to="others"))
    X, y_bin, y_cnt = baseline_design()
    b = Logit(y_bin, X).fit(disp=0).params
    g = Poisson(y_cnt, X).fit(disp=0).params
    p = {u: [expit(b[0] + b[1] * age + b[2] * y) for age, y in rows] for u, rows in CURRENT_DESIGN.items()}
    mu = {u: [math.exp(g[0] + g[1] * age + g[2] * y) for age, y in rows] for u, rows in CURRENT_DESIGN.items()}
    # P1: 1 reoffender of 3 (2 offences); P2: 2 of 2 (4 offences)
    shift_p1 = (1 - sum(p["P1"])) / 3
    shift_p2 = (2 - sum(p["P2"])) / 2
    difference = shift_p1 - shift_p2
    variance = sum(q * (1 - q) for q in p["P1"]) / 3**2 + sum(q * (1 - q) for q in p["P2"]) / 2**2
    z = difference / math.sqrt(variance)
    rows = {r["establishment"]: r for r in result.rows.iter_rows(named=True)}
    r1, r2 = rows["P1"], rows["P2"]
    assert result.rows.columns[-4:] == [
        "reference",
        "rest_size",
        "binary_rest_difference_pp",
        "reoffences_per_offender_rest_difference",
    ]
    assert r1["reference"] == "others" and r1["rest_size"] == 2 and r2["rest_size"] == 3
    assert r1["binary_rest_difference_pp"] == pytest.approx(100 * shift_p2, rel=1e-9)
    assert r1["binary_difference_pp"] == pytest.approx(100 * difference, rel=1e-9)
    assert r1["binary_difference_pp_se"] == pytest.approx(100 * math.sqrt(variance), rel=1e-9)
    # the expectation moved by the rest's shift: actual - expected is the difference
    assert r1["binary_expected"] == pytest.approx(sum(p["P1"]) / 3 + shift_p2, rel=1e-9)
    assert r1["binary_z"] == pytest.approx(z, rel=1e-9)
    assert r1["binary_p_two_sided"] == pytest.approx(2 * (1 - Z.cdf(abs(z))), rel=1e-7)
    half = 1.959963984540054 * math.sqrt(variance)
    assert r1["binary_difference_pp_low"] == pytest.approx(100 * (difference - half), rel=1e-9)
    assert r1["binary_difference_pp_high"] == pytest.approx(100 * (difference + half), rel=1e-9)
    # the ratio: actual over the moved expectation, its interval from the same standard error (so it agrees)
    moved = sum(p["P1"]) + 3 * shift_p2
    assert r1["binary_ratio"] == pytest.approx(1 / moved, rel=1e-9)
    assert r1["binary_ratio_high"] == pytest.approx(1 / moved + 1.959963984540054 * 3 * math.sqrt(variance) / moved)
    # frequency, Poisson: variance = mean
    difference_cnt = (2 - sum(mu["P1"])) / 3 - (4 - sum(mu["P2"])) / 2
    variance_cnt = sum(mu["P1"]) / 9 + sum(mu["P2"]) / 4
    assert r1["reoffences_per_offender_difference"] == pytest.approx(difference_cnt, rel=1e-9)
    assert r1["reoffences_per_offender_z"] == pytest.approx(difference_cnt / math.sqrt(variance_cnt), rel=1e-9)
    # two units: each is the other's rest, so P2's comparison is P1's negated
    assert r2["binary_difference_pp"] == pytest.approx(-r1["binary_difference_pp"], rel=1e-12)
    assert r2["binary_z"] == pytest.approx(-r1["binary_z"], rel=1e-12)
    assert r2["reoffences_per_offender_z"] == pytest.approx(-r1["reoffences_per_offender_z"], rel=1e-12)
    assert "reference" in result.metadata and "payment mechanism used the baseline" in result.metadata["reference"]
    assert result.params.as_dict()["relative_to"] == "others"


def test_relative_to_others_with_three_units_pools_the_other_two_and_adjusts_like_the_units():
    current = [*CURRENT, ("P3", 26, "x", 0, 0), ("P3", 52, "y", 1, 1)]
    result = compare_adjusted(fixture_frame(current), params(relative_to="others", multiple_testing="holm"))
    against_baseline = compare_adjusted(fixture_frame(current), params())
    base = {r["establishment"]: r for r in against_baseline.rows.iter_rows(named=True)}
    rows = {r["establishment"]: r for r in result.rows.iter_rows(named=True)}
    for unit, others in (("P1", ("P2", "P3")), ("P3", ("P1", "P2"))):
        n_rest = sum(base[o]["cohort_size"] for o in others)
        # the rest's actual and expected sums from the baseline comparison's per-unit rows
        rest_actual = sum(base[o]["reoffenders"] for o in others)
        rest_expected = sum(base[o]["binary_expected"] * base[o]["cohort_size"] for o in others)
        rest_variance = sum((base[o]["binary_difference_pp_se"] / 100 * base[o]["cohort_size"]) ** 2 for o in others)
        rest_shift = (rest_actual - rest_expected) / n_rest
        own = base[unit]
        difference = own["binary_difference_pp"] / 100 - rest_shift
        se = math.sqrt((own["binary_difference_pp_se"] / 100) ** 2 + rest_variance / n_rest**2)
        assert rows[unit]["rest_size"] == n_rest
        assert rows[unit]["binary_difference_pp"] == pytest.approx(100 * difference, rel=1e-9)
        assert rows[unit]["binary_difference_pp_se"] == pytest.approx(100 * se, rel=1e-9)
    # Holm over the three units, on the p the verdicts rest on (two-sided here), as for the baseline comparison
    from statsmodels.stats.multitest import multipletests

    raw = result.rows["binary_p_two_sided"].to_numpy()
    np.testing.assert_allclose(result.rows["binary_p_adjusted"].to_numpy(), multipletests(raw, method="holm")[1])


def test_relative_to_others_takes_the_rest_within_the_units_cohort():
    """Two current cohorts: a unit's rest is the other units of its own cohort, never those of the other cohort."""
    current = [*CURRENT, ("P3", 26, "x", 0, 0), ("P3", 52, "y", 1, 1)]
    frame = fixture_frame(current)
    # a second current cohort D: the same five releases of P1 and P2 again, under new ids
    second = frame.filter(pl.col("cohort") == "C", pl.col("establishment") != "P3").with_columns(
        pl.lit("D").alias("cohort"), (pl.col("offender_id") + "d").alias("offender_id")
    )
    both = pl.concat([frame, second])
    result = compare_adjusted(both, params(relative_to="others", current=("C", "D")))
    rows = {(r["establishment"], r["cohort"]): r for r in result.rows.iter_rows(named=True)}
    assert rows[("P1", "C")]["rest_size"] == 4 and rows[("P1", "D")]["rest_size"] == 2
    # in D the rest of P1 is P2 alone, so (as with two units) P1's and P2's comparisons mirror each other
    assert rows[("P2", "D")]["binary_z"] == pytest.approx(-rows[("P1", "D")]["binary_z"], rel=1e-12)
    alone = compare_adjusted(fixture_frame(), params(relative_to="others"))
    assert rows[("P1", "D")]["binary_difference_pp"] == pytest.approx(alone.rows["binary_difference_pp"][0], rel=1e-9)


def test_relative_to_others_parameter_uncertainty_is_the_delta_method_of_the_moved_expectation():
    """E* = E1 - (n1/n2) E2 + n1 (O2/n2): its gradient in the coefficients is g1 - (n1/n2) g2."""
    row = compare_adjusted(fixture_frame(), params(relative_to="others")).rows.row(0, named=True)
    X, y_bin, _ = baseline_design()
    logit = Logit(y_bin, X).fit(disp=0)
    X1 = np.array([[1.0, 24, 0.0], [1.0, 36, 1.0], [1.0, 48, 0.0]])
    X2 = np.array([[1.0, 30, 1.0], [1.0, 42, 0.0]])
    p1, p2 = expit(X1 @ logit.params), expit(X2 @ logit.params)
    gradient = (X1 * (p1 * (1 - p1))[:, None]).sum(axis=0) - 3 / 2 * (X2 * (p2 * (1 - p2))[:, None]).sum(axis=0)
    variance = gradient @ logit.cov_params() @ gradient
    assert row["binary_expected_se_parameters"] == pytest.approx(math.sqrt(variance) / 3, rel=1e-6)


def test_relative_to_others_needs_another_unit_in_the_cohort():
    with pytest.raises(UsageError, match="current cohort C has releases of one unit only"):
        compare_adjusted(fixture_frame(), params(relative_to="others", current_filter={"establishment": ("P1",)}))
    with pytest.raises(UsageError, match="--relative-to must be one of baseline, others"):
        params(relative_to="rest")


def test_against_the_others_a_shared_shift_is_a_sentence_not_a_warning():
    current = [("P1", 20 + i, "xy"[i % 2], 1, 4) for i in range(30)] + [
        ("P2", 21 + i, "xy"[i % 2], 1, 4) for i in range(30)
    ]
    baseline = compare_adjusted(fixture_frame(current), params())
    others = compare_adjusted(fixture_frame(current), params(relative_to="others"))
    # said once: as the warning when significant (the sentence under the results is then left out)
    assert national_shift_warnings(baseline) and shift_summary(baseline) == ""
    assert not national_shift_warnings(others)
    assert shift_summary(others).startswith("All 60 current releases of the 2 units together")


@pytest.mark.parametrize("parameter_uncertainty", [False, True])
@pytest.mark.parametrize("sided", ["one", "two"])
def test_the_shift_from_the_units_rows_is_the_national_shift(parameter_uncertainty, sided):
    """The bulletin says the shift of the units it publishes from their rows alone, on the outcome variance (the
    rows hold each unit's parameter variance, not the cross terms of the pooled expectation's): with every unit of
    the one current cohort it is metadata.national_shift without --parameter-uncertainty, whether or not the
    option widened the rows."""
    from reoffend.compare.adjusted import shift_of_rows

    current = [*CURRENT, ("P3", 26, "x", 0, 0), ("P3", 52, "y", 1, 1)]
    result = compare_adjusted(fixture_frame(current), params(parameter_uncertainty=parameter_uncertainty, sided=sided))
    (row,) = shift_of_rows(result.rows, result.params).iter_rows(named=True)
    shift = compare_adjusted(fixture_frame(current), params(sided=sided)).metadata["national_shift"]
    assert row["units"] == 3 and row["releases"] == shift["releases"] == 7
    for prefix, column in (
        ("binary_shift_pp", "binary_difference_pp"),
        ("reoffences_per_offender_shift", "reoffences_per_offender_difference"),
    ):
        for part in ("", "_low", "_high"):
            assert row[f"{prefix}{part}"] == pytest.approx(shift[f"{column}{part}"], rel=1e-9, abs=1e-12)
        assert row[f"{prefix}_p"] == pytest.approx(shift[f"{column}_p"], rel=1e-9)
        assert row[f"{prefix}_significant"] == shift[f"{column}_significant"]


def test_the_shift_is_clipped_as_the_units_are_and_the_rows_shift_with_it():
    # every one of the 60 current releases reoffends: the actual rate is 1, so the binary shift is (60 - E)/60 and
    # no interval can put the rate above 1: the upper bound is the shift itself, from the metadata and the rows
    from reoffend.compare.adjusted import shift_of_rows

    current = [("P1", 20 + i, "xy"[i % 2], 1, 4) for i in range(30)] + [
        ("P2", 21 + i, "xy"[i % 2], 1, 4) for i in range(30)
    ]
    result = compare_adjusted(fixture_frame(current), params())
    shift = result.metadata["national_shift"]
    assert shift["binary_difference_pp_high"] == pytest.approx(shift["binary_difference_pp"], rel=1e-12)
    (row,) = shift_of_rows(result.rows, result.params).iter_rows(named=True)
    assert row["binary_shift_pp_high"] == pytest.approx(shift["binary_difference_pp_high"], rel=1e-9)
    assert row["binary_shift_pp_low"] == pytest.approx(shift["binary_difference_pp_low"], rel=1e-9)


@pytest.mark.parametrize("sided", ["one", "two"])
def test_with_parameter_uncertainty_the_shift_is_the_one_unit_rows_test(sided):
    """--parameter-uncertainty widens the national shift as it widens the units: the delta-method variance of the
    pooled expected sum, g' cov g with g = sum over all five current releases of p(1-p) x (the review found the
    shift significant while the one-unit row beside it was not: the shift had left it out)."""
    result = compare_adjusted(fixture_frame(), params(parameter_uncertainty=True, sided=sided))
    shift = result.metadata["national_shift"]
    X, y_bin, _ = baseline_design()
    logit = Logit(y_bin, X).fit(disp=0)
    Xc = np.array([[1.0, age, y] for age, y in [(24, 0.0), (36, 1.0), (48, 0.0), (30, 1.0), (42, 0.0)]])
    p = expit(Xc @ logit.params)
    gradient = (Xc * (p * (1 - p))[:, None]).sum(axis=0)
    variance = (p * (1 - p)).sum() + gradient @ logit.cov_params() @ gradient
    z = (3 - p.sum()) / math.sqrt(variance)  # 3 of the 5 reoffended
    assert shift["binary_difference_pp_p_two_sided"] == pytest.approx(2 * (1 - Z.cdf(abs(z))), rel=1e-6)
    crit = Z.inv_cdf(0.95) if sided == "one" else Z.inv_cdf(0.975)
    # the interval at the verdict's level, clipped as each unit's is to a rate of at most 1: (5 - sum p) / 5
    half = crit * math.sqrt(variance)
    assert shift["binary_difference_pp_low"] == pytest.approx(100 * max(3 - p.sum() - half, -p.sum()) / 5)
    assert shift["binary_difference_pp_high"] == pytest.approx(100 * min(3 - p.sum() + half, 5 - p.sum()) / 5)
    # exactly the test of the one unit holding every current release (--by "")
    (pooled,) = compare_adjusted(
        fixture_frame(), params(by=("cohort",), parameter_uncertainty=True, sided=sided)
    ).rows.iter_rows(named=True)
    for name, column in (
        ("binary", "binary_difference_pp"),
        ("reoffences_per_offender", "reoffences_per_offender_difference"),
    ):
        for part in ("", "_low", "_high"):
            assert shift[f"{column}{part}"] == pytest.approx(pooled[f"{column}{part}"], rel=1e-9)
        assert shift[f"{column}_p_two_sided"] == pytest.approx(pooled[f"{name}_p_two_sided"], rel=1e-9)
        p_verdict = min(pooled[f"{name}_p_reduction"], pooled[f"{name}_p_increase"])
        assert shift[f"{column}_p"] == pytest.approx(p_verdict if sided == "one" else 2 * p_verdict, rel=1e-9)
    # without the option the shift is narrower: it leaves the model's uncertainty out, as the units do
    plain = compare_adjusted(fixture_frame(), params(sided=sided)).metadata["national_shift"]
    assert plain["binary_difference_pp_p_two_sided"] < shift["binary_difference_pp_p_two_sided"]


def test_parameter_uncertainty_is_the_delta_method_variance_of_the_expected_sum():
    frame = fixture_frame()
    plain = compare_adjusted(frame, params()).rows.row(0, named=True)
    widened = compare_adjusted(frame, params(parameter_uncertainty=True)).rows.row(0, named=True)
    X, y_bin, _ = baseline_design()
    logit = Logit(y_bin, X).fit(disp=0)
    # P1's current releases: d(sum p)/d(beta) = sum p(1-p) x
    Xc = np.array([[1.0, 24, 0.0], [1.0, 36, 1.0], [1.0, 48, 0.0]])
    p = expit(Xc @ logit.params)
    gradient = (Xc * (p * (1 - p))[:, None]).sum(axis=0)
    parameter_variance = gradient @ logit.cov_params() @ gradient
    assert plain["binary_expected_se_parameters"] == pytest.approx(math.sqrt(parameter_variance) / 3, rel=1e-6)
    assert widened["binary_expected_se_parameters"] == plain["binary_expected_se_parameters"]
    outcome_variance = (p * (1 - p)).sum()
    assert plain["binary_difference_pp_se"] == pytest.approx(100 * math.sqrt(outcome_variance) / 3, rel=1e-9)
    assert widened["binary_difference_pp_se"] == pytest.approx(
        100 * math.sqrt(outcome_variance + parameter_variance) / 3, rel=1e-6
    )
    assert abs(widened["binary_z"]) < abs(plain["binary_z"])


@pytest.mark.parametrize(("sided", "alpha"), [("one", 0.05), ("one", 0.3), ("two", 0.05), ("two", 0.4)])
def test_verdict_and_interval_agree_and_several_units_are_adjusted(sided, alpha):
    """The interval beside the verdict is at 1 - 2 alpha (one-sided) or 1 - alpha (two-sided): a significant
    reduction <=> it lies wholly below zero, an increase <=> wholly above. Holm over the two providers."""
    result = compare_adjusted(fixture_frame(), params(sided=sided, alpha=alpha, multiple_testing="holm"))
    crit = Z.inv_cdf(1 - alpha) if sided == "one" else Z.inv_cdf(1 - alpha / 2)
    rows = result.rows
    names = {"binary": "binary_difference_pp", "reoffences_per_offender": "reoffences_per_offender_difference"}
    for r in rows.iter_rows(named=True):
        for name, d in names.items():
            half = crit * r[f"{d}_se"]  # the unclipped half-width at the verdict's level
            assert r[f"{d}_high"] <= r[d] + half * (1 + 1e-12)
            assert r[f"{d}_low"] >= r[d] - half * (1 + 1e-12)
            assert r[f"{d}_high"] == pytest.approx(r[d] + half) or name == "binary"
            verdict = r[f"{name}_verdict"]
            assert (verdict == "significant reduction") == (r[f"{d}_high"] < 0)
            assert (verdict == "significant increase") == (r[f"{d}_low"] > 0)
            assert (r[f"{name}_ratio_high"] < 1) == (r[f"{d}_high"] < 0)
    for name, d in names.items():
        smaller = rows.select(pl.min_horizontal(f"{name}_p_reduction", f"{name}_p_increase")).to_series().to_list()
        p = smaller if sided == "one" else [min(1.0, 2 * v) for v in smaller]
        # Holm with two tests: the smaller p doubled, the larger max(itself, the smaller doubled)
        lo, hi = sorted(p)
        holm = {lo: min(1.0, 2 * lo), hi: max(min(1.0, 2 * lo), hi)}
        assert rows[f"{name}_p_adjusted"].to_list() == [pytest.approx(holm[v]) for v in p]
        adjusted_reduction = [
            q < alpha and diff < 0 for q, diff in zip(rows[f"{name}_p_adjusted"], rows[d], strict=True)
        ]
        assert rows[f"{name}_significant_adjusted"].to_list() == adjusted_reduction
    assert result.all_significant() == bool(
        (rows["binary_significant_adjusted"] & rows["reoffences_per_offender_significant_adjusted"]).all()
    )


def test_one_sided_significance_uses_the_reduction_p():
    result = compare_adjusted(fixture_frame(), params(sided="one", alpha=0.4))
    for r in result.rows.iter_rows(named=True):
        for name in ("binary", "reoffences_per_offender"):
            assert r[f"{name}_significant"] == (r[f"{name}_p_reduction"] < 0.4)
            assert r[f"{name}_beat_baseline"] is r[f"{name}_significant"]


def nb_data(n=600, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    level = rng.integers(0, 3, n)
    X = np.column_stack([np.ones(n), x, level == 1, level == 2]).astype(float)
    mu = np.exp(0.3 + 0.4 * x - 0.3 * (level == 1) + 0.2 * (level == 2))
    y = rng.poisson(rng.gamma(1 / 0.7, 0.7 * mu)).astype(float)
    return x, level, X, y


def test_negative_binomial_fit_is_statsmodels_joint_mle_and_variance_is_mu_plus_alpha_mu2():
    x, level, X, y = nb_data()
    n = y.size
    frame = pl.DataFrame(
        {
            "offender_id": [f"O{i:04d}" for i in range(2 * n)],
            "release_date": [dt.date(2022, 1, 1)] * (2 * n),
            "cohort": ["B"] * n + ["C"] * n,
            "establishment": ["E"] * (2 * n),
            "x": np.r_[x, x],
            "level": np.array(["a", "b", "c"])[np.r_[level, level]],
            "reoffended": np.r_[y, y] > 0,
            "reoffences": np.r_[y, y].astype(np.int64),
        }
    )
    result = compare_adjusted(
        frame, AdjustedParams(covariates=("x", "level"), baseline=("B",), covariate_forms={"x": LINEAR})
    )
    # levels by baseline count, the most common the reference: order X's indicator columns the same way
    counts = np.bincount(level)
    order = sorted(range(3), key=lambda v: (-counts[v], "abc"[v]))
    assert result.models["design"]["terms"] == ["intercept", "x", *(f"level={'abc'[v]}" for v in order[1:])]
    X = np.column_stack([np.ones(n), x, *((level == v).astype(float) for v in order[1:])])
    reference = NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, method="newton", maxiter=100)
    model = result.models["frequency"]
    np.testing.assert_allclose(
        [c["estimate"] for c in model["coefficients"]], reference.params[:-1], rtol=1e-4, atol=1e-5
    )
    assert model["alpha"] == pytest.approx(reference.params[-1], rel=1e-4)
    np.testing.assert_allclose([c["se"] for c in model["coefficients"]], reference.bse[:-1], rtol=1e-3)
    assert model["log_likelihood"] == pytest.approx(reference.llf, rel=1e-8)
    assert model["null_log_likelihood"] == pytest.approx(reference.llnull, rel=1e-6)
    assert model["pseudo_r_squared"] == pytest.approx(reference.prsquared, rel=1e-4)
    # scored on the same releases: the variance of the sum is sum(mu + alpha mu^2)
    mu = np.exp(X @ np.array([c["estimate"] for c in model["coefficients"]]))
    row = result.rows.row(0, named=True)
    assert row["reoffences_per_offender_expected"] == pytest.approx(mu.mean(), rel=1e-9)
    variance = (mu + model["alpha"] * mu**2).sum()
    assert row["reoffences_per_offender_z"] == pytest.approx((y.sum() - mu.sum()) / math.sqrt(variance), rel=1e-9)


def test_nb2_log_likelihood_and_null_log_likelihoods_agree_with_statsmodels():
    _, _, X, y = nb_data(n=300, seed=9)
    for params_ in (np.array([0.2, 0.3, -0.1, 0.1, 0.5]), np.array([0.0, 0.0, 0.0, 0.0, 2.0])):
        mu, alpha = np.exp(X @ params_[:-1]), params_[-1]
        # NB2 is the negative binomial with size 1/alpha and success probability 1 / (1 + alpha mu)
        reference = stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * mu)).sum()
        assert nb2_log_likelihood(y, mu, alpha) == pytest.approx(reference, rel=1e-10)
    const = np.ones((y.size, 1))
    assert null_log_likelihood(y, "negbin") == pytest.approx(
        NegativeBinomial(y, const, loglike_method="nb2").fit(disp=0).llf, rel=1e-7
    )
    assert null_log_likelihood(y, "poisson") == pytest.approx(Poisson(y, const).fit(disp=0).llf, rel=1e-10)
    binary = (y > 1).astype(float)
    assert null_log_likelihood(binary, "logit") == pytest.approx(Logit(binary, const).fit(disp=0).llf, rel=1e-10)
    # hand: 3 ones of 10 -> 3 log 0.3 + 7 log 0.7
    assert null_log_likelihood(np.array([1.0] * 3 + [0.0] * 7), "logit") == pytest.approx(
        3 * math.log(0.3) + 7 * math.log(0.7)
    )
    alpha, llf = nb2_alpha_given_mean(y, np.full(y.size, y.mean()))
    size = 1 / alpha
    assert llf == pytest.approx(stats.nbinom.logpmf(y, size, size / (size + y.mean())).sum(), rel=1e-12)


# ---------------------------------------------------------------------------------------- AUC, calibration
def test_auc_hand_examples():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: pairs won 1, 0, 1, 1 -> 3/4
    assert rank_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    # a tie between a positive and a negative counts one half: (0.5 + 1 + 1 + 1) / 4
    assert rank_auc(np.array([0.5, 0.5, 0.2, 0.9]), np.array([1, 0, 0, 1])) == 0.875
    assert rank_auc(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 1])) == 1.0
    assert math.isnan(rank_auc(np.array([0.1, 0.2]), np.array([1, 1])))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6).map(lambda v: v / 6), st.booleans()),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: 0 < sum(b for _, b in rows) < len(rows))
)
def test_auc_is_the_share_of_positive_negative_pairs_ordered_correctly(rows):
    scores = np.array([s for s, _ in rows])
    labels = np.array([b for _, b in rows])
    pairs = [
        1.0 if sp > sn else 0.5 if sp == sn else 0.0 for (sp, lp), (sn, ln) in product(rows, rows) if lp and not ln
    ]
    assert rank_auc(scores, labels) == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)


def test_calibration_table_by_hand():
    predicted = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0])
    observed = np.array([1, 0, 1, 0, 1, 0, 0, 1, 0, 1])
    table = calibration_table(predicted, observed, groups=5)
    # sorted: (0.1,0) (0.2,0) | (0.3,0) (0.4,1) | (0.5,1) (0.6,0) | (0.7,1) (0.8,0) | (0.9,1) (1.0,1)
    assert [row["releases"] for row in table] == [2, 2, 2, 2, 2]
    assert [row["predicted_mean"] for row in table] == pytest.approx([0.15, 0.35, 0.55, 0.75, 0.95])
    assert [row["observed_mean"] for row in table] == pytest.approx([0.0, 0.5, 0.5, 0.5, 1.0])
    assert table[0]["predicted_low"] == 0.1 and table[4]["predicted_high"] == 1.0
    # 7 releases in 3 groups: positions 0-2, 3-4, 5-6 (floor(i * 3 / 7))
    assert [row["releases"] for row in calibration_table(np.arange(7.0), np.zeros(7), groups=3)] == [3, 2, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60), st.integers(1, 12))
def test_calibration_groups_partition_the_releases_and_keep_the_totals(values, groups):
    predicted = np.array(values)
    observed = (predicted > 0.5).astype(float)
    table = calibration_table(predicted, observed, groups=groups)
    assert sum(row["releases"] for row in table) == predicted.size
    sizes = [row["releases"] for row in table]
    assert max(sizes) - min(sizes) <= 1
    assert sum(row["predicted_mean"] * row["releases"] for row in table) == pytest.approx(predicted.sum())
    assert sum(row["observed_mean"] * row["releases"] for row in table) == pytest.approx(observed.sum())


def test_model_summaries_carry_fit_statistics():
    result = compare_adjusted(fixture_frame(), params())
    X, y_bin, _ = baseline_design()
    logit = Logit(y_bin, X).fit(disp=0)
    binary = result.models["binary"]
    assert binary["n"] == 12 and binary["reoffenders"] == 7
    assert binary["pseudo_r_squared"] == pytest.approx(logit.prsquared, rel=1e-6)
    assert binary["auc"] == pytest.approx(rank_auc(logit.predict(X), y_bin))
    assert [c["se"] for c in binary["coefficients"]] == pytest.approx(list(logit.bse), rel=1e-6)
    assert sum(row["releases"] for row in binary["calibration"]) == 12
    assert result.models["frequency"]["alpha"] is None  # Poisson
    assert result.models["design"]["covariates"][1]["reference"] == "x"
    assert "2 provider" not in adjusted_headlines(result)
    assert adjusted_headlines(result).count("\n") == 1  # one sentence per row


# ------------------------------------------------------------------------------------------- encoding
def test_design_matrix_numeric_as_given_categories_as_indicators_of_non_reference_levels():
    frame = fixture_frame()
    result = compare_adjusted(frame, params())
    from reoffend.compare.design import Covariate

    encoded = [Covariate("age", "numeric"), Covariate("group", "categorical", ("x", "y"), "x", (7 / 12, 5 / 12))]
    X = design_matrix(frame.head(3), encoded)
    assert X.tolist() == [[1.0, 20.0, 0.0], [1.0, 25.0, 0.0], [1.0, 30.0, 0.0]]
    assert result.models["design"]["covariates"][1]["baseline_shares"] == pytest.approx({"x": 7 / 12, "y": 5 / 12})


def test_unseen_category_is_an_error_naming_column_and_value():
    current = [*CURRENT, ("P2", 31, "z", 0, 0)]
    with pytest.raises(DataError) as error:
        compare_adjusted(fixture_frame(current), params())
    assert error.value.exit_status == 65
    assert "group" in str(error.value) and "'z'" in str(error.value) and "--unseen pool" in str(error.value)


def test_unseen_pooled_at_the_baseline_average_when_no_other_level():
    current = [*CURRENT, ("P2", 31, "z", 0, 0)]
    result = compare_adjusted(fixture_frame(current), params(unseen="pool"))
    assert result.unseen == [
        {
            "column": "group",
            "value": "z",
            "current_releases": 1,
            "scored_as": "'other': the baseline average of group (levels weighted by baseline share)",
        }
    ]
    assert any("pooled" in w for w in result.warnings)
    X, y_bin, _ = baseline_design()
    b = Logit(y_bin, X).fit(disp=0).params
    # P2 now: (30, y), (42, x), (31, z scored with group=y indicator at the baseline share 5/12)
    p = [expit(b[0] + b[1] * 30 + b[2]), expit(b[0] + b[1] * 42), expit(b[0] + b[1] * 31 + b[2] * 5 / 12)]
    row = result.rows.filter(pl.col("establishment") == "P2").row(0, named=True)
    assert row["binary_expected"] == pytest.approx(sum(p) / 3, rel=1e-9)


def test_unseen_pooled_into_an_existing_other_level():
    frame = fixture_frame([*CURRENT, ("P2", 31, "z", 0, 0)]).with_columns(
        pl.when(pl.col("group") == "y").then(pl.lit("other")).otherwise(pl.col("group")).alias("group")
    )
    result = compare_adjusted(frame, params(unseen="pool"))
    assert result.unseen[0]["scored_as"] == "the baseline level 'other'"
    X, y_bin, _ = baseline_design()
    b = Logit(y_bin, X).fit(disp=0).params
    p = [expit(b[0] + b[1] * 30 + b[2]), expit(b[0] + b[1] * 42), expit(b[0] + b[1] * 31 + b[2])]
    row = result.rows.filter(pl.col("establishment") == "P2").row(0, named=True)
    assert row["binary_expected"] == pytest.approx(sum(p) / 3, rel=1e-9)


# --------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (
            pl.when(pl.col("offender_id") == "C01").then(None).otherwise(pl.col("age")).alias("age"),
            "empty in 1 current",
        ),
        (pl.lit(7).alias("age"), "takes the single value 7"),
    ],
)
def test_bad_covariates_are_data_errors(change, rule):
    with pytest.raises(DataError) as error:
        compare_adjusted(fixture_frame().with_columns(change), params())
    assert rule in str(error.value) and error.value.exit_status == 65


def test_a_date_covariate_is_a_usage_error():
    frame = fixture_frame().with_columns(pl.lit(dt.date(2020, 1, 1)).alias("admitted"))
    with pytest.raises(UsageError, match="admitted has type Date; a covariate must be numeric, boolean or text"):
        compare_adjusted(frame, params(covariates=("age", "admitted")))


def test_collinear_covariates_are_named():
    frame = fixture_frame().with_columns((2 * pl.col("age")).alias("twice"))
    with pytest.raises(DataError) as error:
        compare_adjusted(frame, params(covariates=("age", "twice")))
    assert "collinear" in str(error.value) and "twice" in str(error.value)


def test_cohort_errors():
    with pytest.raises(DataError, match=r"--baseline A: no release has this value"):
        compare_adjusted(fixture_frame(), params(baseline=("A",)))
    with pytest.raises(DataError, match="satisfy --baseline-filter establishment=P9"):
        compare_adjusted(fixture_frame(), params(baseline_filter={"establishment": ("P9",)}))
    with pytest.raises(UsageError, match="no cohort after the baseline"):
        compare_adjusted(fixture_frame(), params(baseline=("C",)))
    with pytest.raises(DataError, match=r"--current D: no release has this value"):
        compare_adjusted(fixture_frame(), params(current=("D",)))
    with pytest.raises(UsageError, match="in both --baseline and --current"):
        params(current=("B",))
    with pytest.raises(UsageError, match="at least one"):
        params(covariates=())


def test_separation_is_reported_once_not_a_crash_and_small_groups_are_flagged():
    # every baseline release of group y reoffends: the group=y log-odds run off to infinity
    frame = fixture_frame().with_columns(
        pl.when((pl.col("cohort") == "B") & (pl.col("group") == "y"))
        .then(True)
        .otherwise(pl.col("reoffended"))
        .alias("reoffended"),
        pl.when((pl.col("cohort") == "B") & (pl.col("group") == "y"))
        .then(pl.max_horizontal("reoffences", 1))
        .otherwise(pl.col("reoffences"))
        .alias("reoffences"),
    )
    result = compare_adjusted(frame, params())
    assert result.models["binary"]["converged"] is False
    assert len(result.warnings) == len(set(result.warnings))
    assert any("did not converge" in w for w in result.warnings)
    assert "2 of 2 comparisons have fewer than 30 releases" in " ".join(result.warnings)


def test_a_baseline_where_everybody_reoffended_cannot_be_modelled():
    frame = fixture_frame().with_columns(
        pl.when(pl.col("cohort") == "B").then(True).otherwise(pl.col("reoffended")).alias("reoffended"),
        pl.when(pl.col("cohort") == "B").then(1).otherwise(pl.col("reoffences")).alias("reoffences"),
    )
    with pytest.raises(DataError, match="every baseline release has reoffended = True"):
        compare_adjusted(frame, params())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scoring_the_baseline_itself_gives_no_difference_for_logit_and_poisson(seed):
    # with an intercept, the logit and Poisson score equations make sum(prediction) = sum(outcome) on the
    # data fitted, so the baseline scored against itself (one provider) has actual = expected exactly
    x, level, _, y = nb_data(n=400, seed=seed)
    n = y.size
    frame = pl.DataFrame(
        {
            "offender_id": [f"O{i:04d}" for i in range(2 * n)],
            "release_date": [dt.date(2022, 1, 1)] * (2 * n),
            "cohort": ["B"] * n + ["C"] * n,
            "establishment": ["E"] * (2 * n),
            "x": np.r_[x, x],
            "level": np.array(["a", "b", "c"])[np.r_[level, level]],
            "reoffended": np.r_[y, y] > 0,
            "reoffences": np.r_[y, y].astype(np.int64),
        }
    )
    row = compare_adjusted(frame, params(covariates=("x", "level"))).rows.row(0, named=True)
    assert row["binary_difference_pp"] == pytest.approx(0, abs=1e-6)
    assert row["reoffences_per_offender_difference"] == pytest.approx(0, abs=1e-8)
    assert row["binary_z"] == pytest.approx(0, abs=1e-6)


def test_row_order_does_not_change_a_single_bit():
    frame = fixture_frame()
    first = compare_adjusted(frame, params(count_model="negbin"))
    shuffled = compare_adjusted(frame.sample(fraction=1.0, shuffle=True, seed=5), params(count_model="negbin"))
    assert first.rows.equals(shuffled.rows)
    assert first.models == shuffled.models


def test_negbin_without_over_dispersion_is_its_poisson_limit():
    # the 12 fixture counts are under-dispersed: the NB2 likelihood peaks at alpha = 0, i.e. Poisson
    result = compare_adjusted(fixture_frame(), params(count_model="negbin"))
    X, _, y_cnt = baseline_design()
    poisson = Poisson(y_cnt, X).fit(disp=0)
    model = result.models["frequency"]
    assert model["alpha"] == 0.0 and model["model"].startswith("negative binomial NB2 at alpha = 0")
    np.testing.assert_allclose([c["estimate"] for c in model["coefficients"]], poisson.params, rtol=1e-6)
    assert any("no over-dispersion" in w for w in result.warnings)
