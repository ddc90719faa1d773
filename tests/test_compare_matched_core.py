"""The matched comparison's core, checked by hand on tiny fixtures, against brute force and against statsmodels."""

from __future__ import annotations

import datetime as dt
import statistics

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reoffend.compare.design import LINEAR, design_matrix, encode, term_names
from reoffend.compare.matched import MatchedParams, compare_units
from reoffend.compare.matching import (
    Matches,
    bootstrap_means,
    comparator_weights,
    kish_effective_size,
    matched_set_means,
    nearest_neighbours,
    standardised_differences,
)
from reoffend.compare.propensity import fit_propensity
from reoffend.errors import DataError, UsageError
from reoffend.synth import SynthParams, generate


# ------------------------------------------------------------------------------- hand-worked matching
def hand_units() -> pl.DataFrame:
    """Four treated (establishment T) and seven pool releases in two cohorts, one numeric covariate x.

    With a single covariate the logit score is a + b x, so nearness on the score is nearness on x and the
    caliper in SDs of the logit is the same number of SDs of x.
    """
    rows = [
        # id, cohort, establishment, x, reconviction events
        ("T1", "2022Q1", "T", 10.0, 0),
        ("T2", "2022Q1", "T", 20.0, 1),
        ("T3", "2022Q2", "T", 10.0, 2),
        ("T4", "2022Q2", "T", 25.0, 0),
        ("P1", "2022Q1", "P", 9.0, 2),
        ("P2", "2022Q1", "P", 12.0, 0),
        ("P3", "2022Q1", "P", 19.0, 1),
        ("P4", "2022Q1", "P", 20.5, 3),
        ("P5", "2022Q1", "P", 30.0, 5),
        ("P6", "2022Q2", "P", 40.0, 4),
        ("P7", "2022Q2", "P", 11.0, 1),
    ]
    return pl.DataFrame(
        {
            "offender_id": [r[0] for r in rows],
            "release_date": [dt.date(2022, 2, 1) if r[1] == "2022Q1" else dt.date(2022, 5, 1) for r in rows],
            "cohort": [r[1] for r in rows],
            "establishment": [r[2] for r in rows],
            "x": [r[3] for r in rows],
            "reconviction_events": [r[4] for r in rows],
            "reoffended": [r[4] > 0 for r in rows],
            "reoffences": [2 * r[4] for r in rows],
        }
    )


def hand_params(**overrides) -> MatchedParams:
    values = dict(treated={"establishment": ("T",)}, covariates=("x",), ratio=2, caliper=0.5, bootstrap=200)
    values.update(overrides)
    return MatchedParams(**values)


def test_hand_worked_matching_weights_and_comparison_means():
    result = compare_units(hand_units(), hand_params())
    # SD of x over all 11 units (n - 1) = 9.8777; caliper 0.5 SD = 4.9388 in x units.
    assert statistics.stdev([10, 20, 10, 25, 9, 12, 19, 20.5, 30, 40, 11]) * 0.5 == pytest.approx(4.938830373)
    pairs = result.matches.select("treated_offender_id", "comparator_offender_id", "weight").rows()
    # T1 (x=10, 2022Q1): P1 at |9-10| = 1 and P2 at |12-10| = 2 are the two nearest (P3 at 9 is third).
    # T2 (x=20, 2022Q1): P4 at 0.5, P3 at 1.
    # T3 (x=10, 2022Q2): P7 at 1; P6 at 30 is beyond the caliper, so T3 has one comparator (weight 1).
    # T4 (x=25, 2022Q2): P7 at 14 and P6 at 15 are both beyond the caliper: unmatched.
    assert pairs == [
        ("T1", "P1", 0.5),
        ("T1", "P2", 0.5),
        ("T2", "P4", 0.5),
        ("T2", "P3", 0.5),
        ("T3", "P7", 1.0),
    ]
    rows = {r["cohort"]: r for r in result.rows.iter_rows(named=True)}
    q1, q2, pooled = rows["2022Q1"], rows["2022Q2"], rows["all"]
    # 2022Q1: treated T1, T2 events 0 and 1 -> 50 per 100; comparison (0.5*(2+0) + 0.5*(1+3)) / 2 = 1.5 -> 150
    assert (q1["treated"], q1["matched"], q1["unmatched"]) == (2, 2, 0)
    assert q1["events_per_100_treated"] == pytest.approx(50.0)
    assert q1["events_per_100_comparison"] == pytest.approx(150.0)
    assert q1["events_change_pct"] == pytest.approx(100 * (50 / 150 - 1))  # -66.7 %
    assert q1["events_reduction_pct"] == pytest.approx(100 * (1 - 50 / 150))
    # four comparators of weight 0.5: effective size (4 * 0.5)^2 / (4 * 0.25) = 4
    assert (q1["comparators"], q1["effective_comparison_size"]) == (4, pytest.approx(4.0))
    # 2022Q2: T3 (2 events) against P7 (1 event): +100 %; T4 unmatched (share 1/2)
    assert (q2["treated"], q2["matched"], q2["unmatched"], q2["unmatched_share"]) == (2, 1, 1, 0.5)
    assert q2["events_per_100_treated"] == pytest.approx(200.0)
    assert q2["events_per_100_comparison"] == pytest.approx(100.0)
    assert q2["events_change_pct"] == pytest.approx(100.0)
    # pooled: treated (0 + 1 + 2) / 3 = 1 -> 100; comparison: matched-set means 1, 2, 1 -> 4/3 -> 133.3
    assert pooled["events_per_100_treated"] == pytest.approx(100.0)
    assert pooled["events_per_100_comparison"] == pytest.approx(400 / 3)
    assert pooled["events_change_pct"] == pytest.approx(-25.0)
    # the same as the weighted mean over comparators, weights from the pairs: P1..P4 0.5, P7 1 (sum 3):
    # (0.5 * (2 + 0 + 1 + 3) + 1 * 1) / 3 = 4 / 3
    events = dict(
        zip(hand_units().get_column("offender_id"), hand_units().get_column("reconviction_events"), strict=True)
    )
    w = result.matches.group_by("comparator_offender_id").agg(pl.col("weight").sum()).rows()
    assert 100 * sum(weight * events[c] for c, weight in w) / sum(weight for _, weight in w) == pytest.approx(400 / 3)
    # effective size pooled: (0.5*4 + 1)^2 / (0.25*4 + 1) = 9 / 2
    assert pooled["effective_comparison_size"] == pytest.approx(4.5)
    # binary: treated T1 no, T2 yes, T3 yes = 2/3; matched-set rates 1/2, 1, 1 -> 5/6; difference -16.7 pp
    assert pooled["binary_rate_treated"] == pytest.approx(2 / 3)
    assert pooled["binary_rate_comparison"] == pytest.approx(5 / 6)
    assert pooled["binary_difference_pp"] == pytest.approx(100 * (2 / 3 - 5 / 6))
    # offences (2 per event here): the same ratio as events
    assert pooled["reoffences_per_offender_change_pct"] == pytest.approx(-25.0)
    assert result.diagnostics["unmatched_reasons"]["no_comparator_within_caliper"] == 1
    assert any("have no comparator" in w for w in result.warnings)  # 1 of 4 unmatched > 5 %


def test_distances_are_logit_differences():
    result = compare_units(hand_units(), hand_params(bootstrap=0))
    b = next(c["estimate"] for c in result.model["coefficients"] if c["term"] == "x")
    distances = result.matches.get_column("logit_distance").to_list()
    # |b| * |x difference| for the pairs listed above: 1, 2, 0.5, 1, 1
    assert distances == pytest.approx([abs(b) * d for d in (1, 2, 0.5, 1, 1)], rel=1e-6)
    assert result.diagnostics["caliper_logit"] == pytest.approx(0.5 * abs(b) * 9.877660746, rel=1e-6)


def test_a_wider_caliper_matches_t4_and_a_larger_ratio_takes_more():
    result = compare_units(hand_units(), hand_params(caliper=2.0, ratio=3, bootstrap=0))
    pairs = result.matches.select("treated_offender_id", "comparator_offender_id").rows()
    # caliper 2 SD = 19.76 x units. T1: P1 (1), P2 (2), P3 (9). T2: P4 (.5), P3 (1), P2 (8).
    # T3: P7 (1) only (P6 at 30). T4: P7 (14), P6 (15).
    assert pairs == [
        ("T1", "P1"),
        ("T1", "P2"),
        ("T1", "P3"),
        ("T2", "P4"),
        ("T2", "P3"),
        ("T2", "P2"),
        ("T3", "P7"),
        ("T4", "P7"),
        ("T4", "P6"),
    ]
    weights = dict(
        result.matches.group_by("comparator_offender_id")
        .agg(pl.col("weight").sum())
        .sort("comparator_offender_id")
        .rows()
    )
    # P2 and P3 serve T1 and T2 (1/3 each): 2/3; P7 serves T3 (1) and T4 (1/2): 1.5
    assert weights == pytest.approx({"P1": 1 / 3, "P2": 2 / 3, "P3": 2 / 3, "P4": 1 / 3, "P6": 0.5, "P7": 1.5})


# ------------------------------------------------------------------------- nearest neighbours directly
def test_ties_broken_by_the_tie_key_and_strata_respected():
    stratum = np.array([0, 0, 0, 0, 0, 1, 1])
    score = np.array([0.0, -1.0, 1.0, 1.0, 5.0, 0.0, 0.1])
    treated = np.array([True, False, False, False, False, True, False])
    tie = np.array([0, 3, 2, 1, 0, 0, 9])
    m = nearest_neighbours(stratum, score, treated, tie, ratio=2, caliper=10.0)
    # unit 0: units 1, 2, 3 are all at distance 1; the smaller tie keys win: unit 3 (key 1), unit 2 (key 2)
    # unit 5 (stratum 1): only unit 6, at 0.1
    assert list(zip(m.treated, m.comparator, strict=True)) == [(0, 3), (0, 2), (5, 6)]
    assert m.distance.tolist() == pytest.approx([1.0, 1.0, 0.1])
    assert m.ratio.tolist() == [2, 0, 0, 0, 0, 1, 0]
    assert m.pair_weight.tolist() == [0.5, 0.5, 1.0]


def brute_force(stratum, score, treated, tie, ratio, caliper):
    pairs = []
    for t in np.flatnonzero(treated):
        pool = [j for j in range(score.size) if not treated[j] and stratum[j] == stratum[t]]
        pool.sort(key=lambda j: (abs(score[j] - score[t]), tie[j]))
        pairs += [(int(t), j) for j in pool[:ratio] if abs(score[j] - score[t]) <= caliper]
    return pairs


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 2), st.integers(-6, 6), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    ratio=st.integers(1, 4),
    caliper=st.sampled_from([0.5, 1.0, 2.5, 100.0]),
    seed=st.integers(0, 10),
)
def test_nearest_neighbours_agree_with_brute_force(data, ratio, caliper, seed):
    stratum = np.array([d[0] for d in data])
    score = np.array([d[1] / 2 for d in data], dtype=float)  # many exact ties
    treated = np.array([d[2] for d in data])
    tie = np.random.default_rng(seed).permutation(len(data))
    m = nearest_neighbours(stratum, score, treated, tie, ratio, caliper)
    assert list(zip(m.treated.tolist(), m.comparator.tolist(), strict=True)) == brute_force(
        stratum, score, treated, tie, ratio, caliper
    )
    weights = comparator_weights(m, len(data))
    # the weights sum to the number of matched treated units
    assert weights.sum() == pytest.approx(float((m.ratio > 0).sum()))


def test_matched_set_means_and_kish():
    m = Matches(
        treated=np.array([0, 0, 1]),
        comparator=np.array([2, 3, 3]),
        distance=np.zeros(3),
        ratio=np.array([2, 1, 0, 0, 0]),
    )
    y = np.array([9.0, 9.0, 1.0, 4.0, 7.0])
    means = matched_set_means(m, y, 5)
    assert means[0] == pytest.approx((1 + 4) / 2) and means[1] == pytest.approx(4.0)
    assert np.isnan(means[2:]).all()
    w = comparator_weights(m, 5)
    assert w.tolist() == pytest.approx([0, 0, 0.5, 1.5, 0])
    # Kish: (0.5 + 1.5)^2 / (0.25 + 2.25) = 4 / 2.5
    assert kish_effective_size(w[w > 0]) == pytest.approx(1.6)
    assert kish_effective_size(np.ones(7)) == pytest.approx(7.0)


# ----------------------------------------------------------------------------------------- bootstrap
def test_bootstrap_resamples_within_groups_and_is_seeded():
    t = np.array([[1.0], [1.0], [5.0], [5.0], [5.0]])
    c = np.array([[2.0], [2.0], [3.0], [3.0], [3.0]])
    group = np.array([0, 0, 1, 1, 1])
    tg, cg, ta, ca = bootstrap_means(t, c, group, 2, 50, np.random.default_rng(3), chunk=7)
    # constant within a group: every replicate reproduces the group means exactly, and the pooled means
    # keep the group sizes: (2*1 + 3*5)/5 = 3.4 and (2*2 + 3*3)/5 = 2.6
    assert np.allclose(tg[:, 0, 0], 1.0) and np.allclose(tg[:, 1, 0], 5.0)
    assert np.allclose(cg[:, 0, 0], 2.0) and np.allclose(cg[:, 1, 0], 3.0)
    assert np.allclose(ta[:, 0], 3.4) and np.allclose(ca[:, 0], 2.6)
    again = bootstrap_means(t, c, group, 2, 50, np.random.default_rng(3), chunk=7)
    assert all(np.array_equal(a, b) for a, b in zip((tg, cg, ta, ca), again, strict=True))


def test_bootstrap_pairs_travel_together():
    # treated value always equals its comparison mean: every replicate's difference is exactly 0
    rng = np.random.default_rng(0)
    v = rng.normal(size=(200, 1))
    _, _, ta, ca = bootstrap_means(v, v.copy(), np.zeros(200, dtype=int), 1, 300, np.random.default_rng(1))
    assert np.allclose(ta, ca)
    # and the replicate means spread like a mean of 200 draws: SD about sd(v)/sqrt(200)
    assert np.std(ta) == pytest.approx(np.std(v) / np.sqrt(200), rel=0.2)


# ------------------------------------------------------------------------ propensity and balance vs direct
@pytest.fixture(scope="module")
def synth_units() -> pl.DataFrame:
    releases, _, _ = generate(SynthParams(releases=6000, seed=11))
    rng = np.random.default_rng(5)
    return releases.with_columns(
        pl.format("{}Q{}", pl.col("release_date").dt.year(), pl.col("release_date").dt.quarter()).alias("cohort"),
        pl.Series("reconviction_events", rng.poisson(1.5, releases.height)),
        pl.Series("reoffences", rng.poisson(2.0, releases.height)),
    ).with_columns((pl.col("reoffences") > 0).alias("reoffended"))


COVARIATES = ("age", "sex", "sentence_months", "prior_convictions", "index_offence")


def test_propensity_scores_agree_with_statsmodels_fitted_directly(synth_units):
    frame = synth_units.unique(["offender_id", "cohort"], keep="first").sort("offender_id", "release_date")
    treated = (frame.get_column("establishment") == "EST042").to_numpy()
    covariates = encode(frame, COVARIATES, default=LINEAR)
    design, terms = design_matrix(frame, covariates), term_names(covariates)
    model = fit_propensity(design, terms, treated)
    # statsmodels directly on a hand-built design: constant, numeric columns, indicators but the most common level
    counts = (
        frame.get_column("index_offence").value_counts(name="n").sort(["n", "index_offence"], descending=[True, False])
    )
    offences = counts.get_column("index_offence").to_list()
    sexes = frame.get_column("sex").value_counts(name="n").sort(["n", "sex"], descending=[True, False])
    other_sex = sexes.get_column("sex")[1]
    direct = np.column_stack(
        [
            np.ones(frame.height),
            frame.get_column("age").to_numpy(),
            (frame.get_column("sex") == other_sex).to_numpy(),
            frame.get_column("sentence_months").to_numpy(),
            frame.get_column("prior_convictions").to_numpy(),
            *[(frame.get_column("index_offence") == o).to_numpy() for o in offences[1:]],
        ]
    ).astype(float)
    fitted = sm.Logit(treated.astype(float), direct).fit(disp=0)
    assert terms == ["intercept", "age", f"sex={other_sex}", "sentence_months", "prior_convictions"] + [
        f"index_offence={o}" for o in offences[1:]
    ]
    assert model.params == pytest.approx(np.asarray(fitted.params), rel=1e-6, abs=1e-8)
    assert model.bse == pytest.approx(np.asarray(fitted.bse), rel=1e-6)
    assert model.logit == pytest.approx(direct @ np.asarray(fitted.params), abs=1e-8)
    propensity = 1 / (1 + np.exp(-model.logit))
    assert propensity == pytest.approx(fitted.predict(direct), abs=1e-9)
    assert model.pseudo_r2 == pytest.approx(fitted.prsquared)


def test_smds_agree_with_a_direct_computation(synth_units):
    units = synth_units.unique(["offender_id", "cohort"], keep="first")
    result = compare_units(
        units, MatchedParams(treated={"establishment": ("EST042",)}, covariates=COVARIATES, bootstrap=0)
    )
    treated = units.filter(pl.col("establishment") == "EST042")
    treated_people = treated.get_column("offender_id").unique()
    pool = units.filter(
        (pl.col("establishment") != "EST042")
        & pl.col("cohort").is_in(treated.get_column("cohort").unique().to_list())
        & ~pl.col("offender_id").is_in(treated_people.implode())
    )
    age_t, age_p = treated.get_column("age").to_numpy(), pool.get_column("age").to_numpy()
    sd = np.sqrt((age_t.var(ddof=1) + age_p.var(ddof=1)) / 2)
    row = result.balance.filter(pl.col("covariate") == "age").row(0, named=True)
    assert row["smd_before"] == pytest.approx((age_t.mean() - age_p.mean()) / sd)
    # after: matched treated vs comparators weighted by the sum of 1/ratio_i over the treated they serve
    pairs = result.matches.join(
        units.select(
            pl.col("offender_id").alias("comparator_offender_id"),
            pl.col("release_date").alias("comparator_release_date"),
            "age",
        ),
        on=["comparator_offender_id", "comparator_release_date"],
    )
    comparison = (pairs.get_column("age") * pairs.get_column("weight")).sum() / pairs.get_column("weight").sum()
    matched = result.matches.select("treated_offender_id", "treated_release_date").unique()
    treated_after = treated.join(
        matched,
        left_on=["offender_id", "release_date"],
        right_on=["treated_offender_id", "treated_release_date"],
    ).get_column("age")
    assert row["treated_mean_after"] == pytest.approx(treated_after.mean())
    assert row["comparison_mean_after"] == pytest.approx(comparison)
    assert row["smd_after"] == pytest.approx((treated_after.mean() - comparison) / sd)
    # a category level: sex=F as a 0/1 column, the same formula
    f_t = (treated.get_column("sex") == "F").to_numpy().astype(float)
    f_p = (pool.get_column("sex") == "F").to_numpy().astype(float)
    sd_f = np.sqrt((f_t.var(ddof=1) + f_p.var(ddof=1)) / 2)
    level = result.balance.filter((pl.col("covariate") == "sex") & (pl.col("level") == "F")).row(0, named=True)
    assert level["smd_before"] == pytest.approx((f_t.mean() - f_p.mean()) / sd_f)
    # matching improves balance here: every |SMD| after is at most 0.1
    assert result.balance.get_column("smd_after").abs().max() <= 0.1


def test_standardised_differences_constant_column_is_null():
    columns = np.array([[1.0, 3.0], [1.0, 5.0], [1.0, 4.0], [1.0, 6.0]])
    treated = np.array([True, True, False, False])
    b = standardised_differences(columns, treated, treated, np.array([0, 0, 1.0, 3.0]))
    assert np.isnan(b.smd_before[0]) and np.isnan(b.smd_after[0])
    # column 2: treated mean 4, pool mean 5, variances 2 and 2 -> SD 1.4142; before (4 - 5)/1.4142
    assert b.smd_before[1] == pytest.approx(-1 / np.sqrt(2))
    # after: weighted pool mean (1*4 + 3*6)/4 = 5.5 -> (4 - 5.5)/1.4142
    assert b.smd_after[1] == pytest.approx(-1.5 / np.sqrt(2))


def test_a_column_constant_up_to_rounding_is_null_not_a_large_smd():
    # a logit score the model left at its intercept, log(0.3 / 0.7) = -0.8473, computed four ways that differ in
    # the last bit: treated -0.8473 + 2e-16 and -0.8473, pool -0.8473 - 2e-16 twice. Exactly: difference 3e-16,
    # SD about 1.4e-16, SMD about 2.1 -- a "+2.1" balance warning about a column that does not vary.
    score = np.log(0.3 / 0.7)
    columns = np.array([[score + 2e-16], [score], [score - 2e-16], [score - 2e-16]])
    assert np.ptp(columns) > 0  # not exactly constant
    treated = np.array([True, True, False, False])
    b = standardised_differences(columns, treated, treated, np.array([0, 0, 1.0, 1.0]))
    assert np.isnan(b.smd_before[0]) and np.isnan(b.smd_after[0])
    # a real difference of 2e-8 of the scale still counts: treated 1000 and 1000 + 2e-5 (variance 2e-10), pool
    # constant -> SD sqrt(2e-10 / 2) = 1e-5, above the tolerance 1e-9 x 1000 = 1e-6
    varied = np.array([[1000.0], [1000.0 + 2e-5], [1000.0], [1000.0]])
    assert np.isfinite(standardised_differences(varied, treated, treated, np.array([0, 0, 1.0, 1.0])).smd_before[0])


# ----------------------------------------------------------------------------------------- bad input
def test_separation_is_a_data_error():
    units = hand_units().with_columns(pl.Series("x", [1.0, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16]))
    with pytest.raises(DataError, match="cannot be fitted"):
        compare_units(units, hand_params())


def test_category_levels_without_overlap_are_left_out_not_diverging():
    # a level only in the pool (sex=F) cannot serve; a level only among the treated (offence=z) cannot be matched
    units = hand_units().with_columns(
        pl.Series("sex", ["M", "M", "M", "M", "M", "F", "M", "M", "F", "M", "M"]),
        pl.Series("offence", ["a", "a", "a", "z", "a", "a", "a", "a", "a", "a", "a"]),
    )
    result = compare_units(units, hand_params(covariates=("x", "sex", "offence"), caliper=2.0, bootstrap=0))
    overlap = result.diagnostics["no_common_level"]
    assert overlap == {"pool_units": 2, "pool_levels": ["sex=F"], "treated_units": 1, "treated_levels": ["offence=z"]}
    assert "P2" not in result.matches.get_column("comparator_offender_id").to_list()
    assert "T4" not in result.matches.get_column("treated_offender_id").to_list()
    assert result.diagnostics["unmatched_reasons"]["category_level_absent_from_pool"] == 1


def test_params_are_checked():
    with pytest.raises(UsageError, match="either"):
        MatchedParams(covariates=("x",))
    with pytest.raises(UsageError, match="--covariates is required"):
        MatchedParams(treated={"a": ("b",)})
    p = MatchedParams(treated={"a": ("b",)}, covariates=("x",), style="peterborough")
    assert (p.target, p.pooled_target) == (10.0, 7.5)
    p = MatchedParams(treated={"a": ("b",)}, covariates=("x",), style="peterborough", target=5.0)
    assert (p.target, p.pooled_target) == (5.0, 7.5)


# ------------------------------------------------------------------------------------ the pool, by rule
def test_pool_filter_narrows_the_comparators():
    # --pool establishment=Q: P4 moves to establishment Q, the others to R; only P4 may serve
    units = hand_units().with_columns(
        pl.when(pl.col("offender_id") == "P4")
        .then(pl.lit("Q"))
        .otherwise(pl.col("establishment"))
        .alias("establishment")
    )
    result = compare_units(units, hand_params(pool={"establishment": ("Q",)}, caliper=5.0, bootstrap=0))
    assert result.diagnostics["pool_units"] == 1
    pairs = result.matches.select("treated_offender_id", "comparator_offender_id").rows()
    # 2022Q1 has only P4 (x=20.5) in the pool: T1 at 10.5 and T2 at 0.5, within 5 SD; 2022Q2 has none
    assert pairs == [("T1", "P4"), ("T2", "P4")]
    assert result.rows.row(-1, named=True)["unmatched"] == 2


def test_treated_people_are_never_comparators():
    # T1 has another index release in 2022Q2 at another establishment, right next to T3 on x: still excluded
    extra = pl.DataFrame(
        {
            "offender_id": ["T1"],
            "release_date": [dt.date(2022, 5, 2)],
            "cohort": ["2022Q2"],
            "establishment": ["P"],
            "x": [10.0],
            "reconviction_events": [9],
            "reoffended": [True],
            "reoffences": [18],
        }
    )
    units = pl.concat([hand_units(), extra])
    result = compare_units(units, hand_params(bootstrap=0))
    assert "T1" not in result.matches.get_column("comparator_offender_id").to_list()
    assert result.diagnostics["pool_units"] == 7


def test_integer_offender_ids_and_an_id_list_given_as_text():
    units = hand_units().with_columns(
        pl.col("offender_id").str.slice(1).cast(pl.Int64)
        + pl.when(pl.col("offender_id").str.starts_with("T")).then(100).otherwise(0)
    )
    # T1..T4 are now 101..104, P1..P7 are 1..7
    result = compare_units(units, hand_params(treated={}, treated_ids=("101", "102", "103", "104"), bootstrap=0))
    assert result.matches.select("treated_offender_id", "comparator_offender_id").rows() == [
        (101, 1),
        (101, 2),
        (102, 4),
        (102, 3),
        (103, 7),
    ]


@settings(max_examples=60, deadline=None)
@given(
    x=st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=30),
    treated=st.lists(st.booleans(), min_size=30, max_size=30),
    y=st.lists(st.integers(0, 5), min_size=30, max_size=30),
    ratio=st.integers(1, 5),
)
def test_comparison_mean_is_the_weighted_mean_of_comparators(x, treated, y, ratio):
    n = len(x)
    is_treated = np.array(treated[:n])
    values = np.array(y[:n], dtype=float)
    m = nearest_neighbours(np.zeros(n, dtype=int), np.array(x), is_treated, np.arange(n), ratio, 1.0)
    matched = np.flatnonzero(m.ratio > 0)
    assume(matched.size > 0)
    set_means = matched_set_means(m, values, n)
    w = comparator_weights(m, n)
    assert set_means[matched].mean() == pytest.approx((w * values).sum() / w.sum())
    assert w.sum() == pytest.approx(matched.size)
