"""E-values and the Rosenbaum bound (reoffend.compare.sensitivity) against closed forms and published examples."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reoffend.compare.sensitivity import (
    MatchedSets,
    e_value,
    e_value_interval,
    poisson_binomial_cdf,
    rosenbaum_gamma,
    rosenbaum_p,
)
from reoffend.report.sensitivity import e_value_sentence, rosenbaum_sentence


# ------------------------------------------------------------------------------------------------ E-values
def test_e_value_closed_form_by_hand():
    assert e_value(1.0) == 1.0
    assert e_value(2.0) == pytest.approx(2 + math.sqrt(2))  # 3.414
    assert e_value(0.5) == pytest.approx(2 + math.sqrt(2))  # a protective ratio: its reciprocal
    assert e_value(1.25) == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))  # 1.809
    assert e_value(0.0) is None and e_value(None) is None and e_value(float("nan")) is None


def test_vanderweele_ding_2017_worked_example():
    # VanderWeele & Ding (2017), Ann Intern Med 167:268, breastfeeding and infant death from respiratory
    # infection (Victora et al.): RR 3.9, 95% CI 1.8 to 8.7; E-values 7.2 (printed; 7.26 to two decimals) and 3.0
    assert e_value(3.9) == pytest.approx(7.263, abs=5e-4)
    assert e_value_interval(3.9, 1.8, 8.7) == pytest.approx(3.0)


def test_interval_e_value_uses_the_limit_nearest_one_and_is_one_across_it():
    assert e_value_interval(0.78, 0.65, 0.93) == pytest.approx(e_value(0.93))
    assert e_value_interval(1.4, 1.1, 1.8) == pytest.approx(e_value(1.1))
    assert e_value_interval(0.9, 0.7, 1.1) == 1.0
    assert "already includes no difference" in e_value_sentence("Binary rate", e_value(0.9), 1.0)
    # the interval is named with its level: the verdict's, 90% for a one-sided test at 5% (the literature: 95%)
    assert "would move the 90% interval to include" in e_value_sentence("Binary rate", 2.0, 1.5, 0.90)
    assert "the 95% interval already includes" in e_value_sentence("Binary rate", 2.0, 1.0)


def test_data_lab_published_example_e_value():
    # 18% against 23%: risk ratio 0.18/0.23 = 0.7826, reciprocal 1.2778; E = 1.2778 + sqrt(1.2778 x 0.2778) = 1.874
    assert e_value(0.18 / 0.23) == pytest.approx(1.2778 + math.sqrt(1.2778 * 0.2778), abs=1e-3)


@given(st.floats(min_value=1e-3, max_value=1e3))
def test_e_value_is_symmetric_in_the_ratio_and_at_least_it(rr):
    assert e_value(rr) == pytest.approx(e_value(1 / rr))
    assert e_value(rr) >= max(rr, 1 / rr) - 1e-9


# --------------------------------------------------------------------------------------------- Rosenbaum
def pairs(treated_only: int, comparator_only: int, both: int = 0, neither: int = 0) -> MatchedSets:
    """1:1 pairs from the counts of a McNemar table."""
    y = np.r_[np.ones(treated_only), np.zeros(comparator_only), np.ones(both), np.zeros(neither)]
    events = np.r_[np.ones(treated_only + comparator_only), np.full(both, 2.0), np.zeros(neither)]
    return MatchedSets(y, events, np.full(y.size, 2.0))


def test_pairs_reduce_to_mcnemar_binomial_and_concordant_pairs_do_not_count():
    sets = pairs(12, 110, both=300, neither=5000)
    for gamma in (1.0, 2.0, 5.5):
        assert rosenbaum_p(sets, gamma) == pytest.approx(stats.binom.cdf(12, 122, 1 / (1 + gamma)), rel=1e-9)


def test_hammond_smoking_and_lung_cancer_as_in_rosenbaum():
    # Rosenbaum (2002), Observational Studies, section 4.3.2: Hammond's 1964 pairs, 122 discordant, in 110 of them
    # only the smoker died of lung cancer. Here the 'treated' are the non-smokers (a reduction): 12 of 122.
    # Rosenbaum's table (large-sample approximation): upper bounds 0.0036 at Gamma 4, 0.03 at 5, 0.10 at 6.
    sets = pairs(12, 110)

    def approx(gamma: float) -> float:
        return poisson_binomial_cdf(12, np.full(122, 1 / (1 + gamma)), exact=False)

    assert approx(4) == pytest.approx(0.0036, abs=1e-4)
    assert approx(5) == pytest.approx(0.03, abs=0.003)
    assert approx(6) == pytest.approx(0.10, abs=0.003)
    bound = rosenbaum_gamma(sets, 0.05)
    assert 5 < bound.gamma < 6  # exact binomial: p = 0.023 at 5, 0.097 at 6
    assert rosenbaum_p(sets, bound.gamma) < 0.05 < rosenbaum_p(sets, bound.gamma * 1.01)
    assert "more than 5.4" in rosenbaum_sentence(bound.p_at_1, bound.gamma, bound.alpha)


def test_sets_of_one_treated_and_two_comparators_by_hand():
    # set size 3 with one reoffender: the treated person is that one with probability 1 / (1 + 2 Gamma) at worst
    sets = MatchedSets(np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0]), np.array([3.0, 3.0, 3.0]))
    gamma = 2.0
    p = np.array([1 / (1 + 2 * gamma), 2 / (2 + gamma), 1 / (1 + 2 * gamma)])
    # T = 1 observed; P(T <= 1) = 1 - P(all three) - ... by enumeration over the 8 outcomes
    total = sum(
        np.prod([q if x else 1 - q for q, x in zip(p, xs, strict=True)])
        for xs in itertools.product([0, 1], repeat=3)
        if sum(xs) <= 1
    )
    assert rosenbaum_p(sets, gamma) == pytest.approx(total)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=0.99), min_size=1, max_size=8), st.integers(0, 8))
def test_poisson_binomial_recursion_against_enumeration(probabilities, k):
    p = np.array(probabilities)
    exact = sum(
        np.prod([q if x else 1 - q for q, x in zip(p, xs, strict=True)])
        for xs in itertools.product([0, 1], repeat=p.size)
        if sum(xs) <= k
    )
    assert poisson_binomial_cdf(k, p) == pytest.approx(exact, abs=1e-12)


def test_no_reduction_has_no_gamma_and_says_so():
    bound = rosenbaum_gamma(pairs(60, 55), 0.05)
    assert bound.gamma is None and "no significant reduction" in rosenbaum_sentence(
        bound.p_at_1, bound.gamma, bound.alpha
    )


def test_sets_from_matched_pairs():
    # units 0 and 1 treated; 0 served by 2 and 3, 1 served by 3 (reused); outcomes 1, 0, 1, 1
    sets = MatchedSets.from_matches(np.array([0, 0, 1]), np.array([2, 3, 3]), np.array([1.0, 0.0, 1.0, 1.0]))
    assert sets.treated_event.tolist() == [1.0, 0.0]
    assert sets.events.tolist() == [3.0, 1.0] and sets.size.tolist() == [3, 2]


# ------------------------------------------------------------------------------------- in the comparisons
README_COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"


def test_matched_output_carries_e_values_and_the_rosenbaum_bound(cli, sample_dir, tmp_path):
    out = tmp_path / "m.json"
    code, _, stderr = cli(
        "compare", "matched", sample_dir / "releases.csv", sample_dir / "convictions.csv",
        "--treated", "establishment=EST042", "--covariates", README_COVARIATES, "--bootstrap", "300", "-o", out,
    )  # fmt: skip
    assert code == 0, stderr
    document = json.loads(out.read_text())
    pooled = document["rows"][-1]
    ratio = pooled["binary_rate_treated"] / pooled["binary_rate_comparison"]
    assert pooled["binary_risk_ratio"] == pytest.approx(ratio)
    assert pooled["binary_e_value"] == pytest.approx(e_value(ratio))
    assert pooled["binary_risk_ratio_low"] < ratio < pooled["binary_risk_ratio_high"]
    assert pooled["binary_e_value_interval"] == pytest.approx(
        e_value_interval(ratio, pooled["binary_risk_ratio_low"], pooled["binary_risk_ratio_high"])
    )
    events = 1 + pooled["events_change_pct"] / 100
    assert pooled["events_e_value"] == pytest.approx(e_value(events))
    rosenbaum = document["sensitivity"]["rosenbaum"][-1]
    assert rosenbaum["cohort"] == "all" and rosenbaum["matched_sets"] == pooled["matched"]
    assert pooled["binary_rosenbaum_gamma"] == rosenbaum["gamma"]
    if rosenbaum["gamma"] is not None:
        assert rosenbaum["gamma"] > 1 and rosenbaum["p_no_hidden_bias"] < 0.05
    assert any("risk ratio of at least" in s for s in document["sensitivity"]["summary"])


def test_adjusted_rows_carry_e_values_of_both_ratios(cli, sample_dir, tmp_path):
    out = tmp_path / "a.json"
    code, _, stderr = cli(
        "compare", "adjusted", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--period", "year",
        "--baseline", "2022", "--covariates", README_COVARIATES, "--current-filter", "establishment=EST042",
        "-o", out,
    )  # fmt: skip
    assert code == 0, stderr
    row = json.loads(out.read_text())["rows"][0]
    for name in ("binary", "reoffences_per_offender"):
        assert row[f"{name}_e_value"] == pytest.approx(e_value(row[f"{name}_ratio"]))
        assert row[f"{name}_e_value_interval"] == pytest.approx(
            e_value_interval(row[f"{name}_ratio"], row[f"{name}_ratio_low"], row[f"{name}_ratio_high"])
        )
    assert row["binary_ratio_high"] < 1 and row["binary_e_value_interval"] > 1  # EST042's planted reduction
