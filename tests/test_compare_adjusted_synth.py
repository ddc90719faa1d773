"""The risk adjustment on synthetic populations: offender mix alone is adjusted away; a planted effect is found.

Synthetic data (reoffend.synth): 50,000 releases over 2022-2023, 110 establishments whose intake differs in
offender mix. The baseline is 2022 (``--period year``), the current cohort 2023: one comparison per
establishment. Repeat releases are switched off (``repeat_share=0``): in the generator a person's second
release carries extra risk and earlier releases' offences spill into later windows, which raises later
cohorts' rates for everyone -- a national trend, not a provider effect, that would shift every provider alike.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from reoffend.compare.adjusted import AdjustedParams, run_adjusted
from reoffend.measure import MeasureParams, measure
from reoffend.report.views import adjusted_headlines
from reoffend.synth import SynthParams, generate

from .conftest import validated

COVARIATES = ("age", "sex", "sentence_months", "prior_convictions", "index_offence")
SEED = 3
FAMILYWISE = 0.05


def population(**effect):
    releases, convictions, meta = generate(
        SynthParams(releases=50_000, seed=SEED, repeat_share=0.0, site_effect_sd=0.0, **effect)
    )
    return validated(releases, convictions), meta


def adjusted(inputs, **kwargs):
    values = {
        "covariates": COVARIATES,
        "baseline": ("2022",),
        "measure": MeasureParams(period="year"),
        "sided": "two",
    }
    values.update(kwargs)
    return run_adjusted(inputs, AdjustedParams(**values))


@pytest.fixture(scope="module")
def no_effect():
    inputs, _ = population(effect_log_odds=0.0, effect_frequency=1.0)
    return inputs, adjusted(inputs)


@pytest.fixture(scope="module")
def planted():
    inputs, meta = population()  # the default planted effect at EST042: log-odds -0.4, frequency x0.8
    return inputs, meta, adjusted(inputs, sided="one")


def test_raw_rates_differ_between_providers(no_effect):
    _, result = no_effect
    rows = result.rows
    assert rows.height == 110 and rows["cohort"].unique().to_list() == ["2023"]
    # chi-square test of independence of reoffending and establishment on the raw 2023 counts
    table = np.column_stack([rows["reoffenders"], rows["cohort_size"] - rows["reoffenders"]])
    _chi2, p, dof, _ = stats.chi2_contingency(table)
    assert dof == 109 and p < 0.001
    spread = rows["binary_actual"]
    assert spread.max() - spread.min() > 0.2
    # the same question after adjustment: sum of squared z-scores over providers, chi-square with 110 df
    # under the baseline model (no parameters estimated from the current data)
    adjusted_chi2 = float((rows["binary_z"] ** 2).sum())
    assert stats.chi2.sf(adjusted_chi2, rows.height) > 0.05


def test_offender_mix_alone_gives_no_significant_provider(no_effect):
    _, result = no_effect
    rows = result.rows
    # Bonferroni: 110 providers, two-sided, familywise 5% -> each test at 0.05 / 110 (for each measure)
    level = FAMILYWISE / rows.height
    assert rows["binary_p_two_sided"].min() > level
    assert rows["reoffences_per_offender_p_two_sided"].min() > level
    # the adjustment removes the mix: expected rates spread like the actual ones and the z-scores look N(0, 1)
    assert np.corrcoef(rows["binary_actual"], rows["binary_expected"])[0, 1] > 0.5
    z = rows["binary_z"].to_numpy()
    # the mean z moves with errors common to every provider (the baseline model's intercept, the current
    # year's national sampling noise): about 0.1 each on z here, so its SD is about 0.17; allow 3 SD
    assert abs(z.mean()) < 0.5 and 0.7 < z.std() < 1.3
    # at an unadjusted 5% about 5 of 110 fall below by chance; far fewer than the raw rates would suggest
    assert (rows["binary_p_two_sided"] < 0.05).sum() <= 11
    again = adjusted(no_effect[0], alpha=level)
    assert (
        not again.rows["binary_beat_baseline"].any() and not again.rows["reoffences_per_offender_beat_baseline"].any()
    )


def test_planted_effect_is_found_on_both_measures(planted):
    _, meta, result = planted
    rows = result.rows
    level = FAMILYWISE / rows.height
    treated = rows.filter(pl.col("establishment") == meta["planted_effect"]["establishment"]).row(0, named=True)
    assert treated["cohort_size"] > 400
    assert treated["binary_p_reduction"] < level and treated["reoffences_per_offender_p_reduction"] < level
    assert treated["binary_beat_baseline"] and treated["reoffences_per_offender_beat_baseline"]
    assert treated["binary_reduction_pp"] > 0 and treated["reoffences_per_offender_reduction_pct"] > 0
    # the planted shift (-0.4 log-odds, about -9 pp over the site's releases) lies inside the interval
    truth = meta["planted_effect"]["expected_binary_difference_pp"]
    assert treated["binary_difference_pp_low"] < truth < treated["binary_difference_pp_high"]
    # nobody else beats the baseline at the Bonferroni level
    strict = adjusted(planted[0], sided="one", alpha=level).rows
    beat = strict.filter(pl.col("binary_beat_baseline") | pl.col("reoffences_per_offender_beat_baseline"))[
        "establishment"
    ]
    assert beat.to_list() == ["EST042"]
    assert "EST042, 2023" in adjusted_headlines(result)


def test_outcomes_are_the_measure_cores(planted):
    inputs, _, result = planted
    measured = measure(inputs, MeasureParams(period="year", by=("cohort", "establishment"))).rows
    current = measured.filter(pl.col("cohort") == "2023").sort("establishment")
    assert current["cohort_size"].to_list() == result.rows["cohort_size"].to_list()
    assert current["reoffenders"].to_list() == result.rows["reoffenders"].to_list()
    assert current["reoffences"].to_list() == result.rows["reoffences"].to_list()
    baseline = measured.filter(pl.col("cohort") == "2022")
    assert result.models["binary"]["n"] == baseline["cohort_size"].sum()
    assert result.models["binary"]["reoffenders"] == baseline["reoffenders"].sum()
    assert result.models["frequency"]["reoffences"] == baseline["reoffences"].sum()
    # the binary model discriminates and is calibrated in the large (logit: mean prediction = observed rate)
    binary = result.models["binary"]
    assert 0.6 < binary["auc"] < 0.8
    calibration = binary["calibration"]
    predicted = sum(g["predicted_mean"] * g["releases"] for g in calibration) / binary["n"]
    assert predicted == pytest.approx(binary["observed_rate"], abs=1e-6)


# ------------------------------------------------------------------ a shift every unit shares (issue 29)
SHIFT_SEED = 4  # of seeds 1-6 (docs/comparisons-adjusted.md): the one where the shared shift misleads most


@pytest.fixture(scope="module")
def shared_shift():
    """Reoffending 1.5 points lower everywhere in 2023 (``level_shift``), no unit with an effect of its own."""
    releases, convictions, _ = generate(
        SynthParams(
            releases=50_000,
            seed=SHIFT_SEED,
            repeat_share=0.0,
            site_effect_sd=0.0,
            effect_log_odds=0.0,
            effect_frequency=1.0,
            level_shift=-1.5,
            level_shift_from=dt.date(2023, 1, 1),
        )
    )
    return validated(releases, convictions)


def test_a_shared_shift_makes_units_beat_the_baseline_but_not_the_others(shared_shift):
    baseline = adjusted(shared_shift, sided="one")
    others = adjusted(shared_shift, sided="one", relative_to="others")
    shift = baseline.metadata["national_shift"]
    assert shift["binary_difference_pp"] < -2 and shift["binary_difference_pp_significant"]
    # against the baseline, 25 of 110 units with no effect "beat" it (2 after Holm); at a 5% one-sided test
    # about 5.5 would by chance
    assert int(baseline.rows["binary_significant"].sum()) >= 20
    assert int(baseline.rows["binary_significant_adjusted"].sum()) >= 1
    # against the other units the shared shift cancels: a chance count, and none after Holm
    assert int(others.rows["binary_significant"].sum()) <= 11
    assert not others.rows["binary_significant_adjusted"].any()
    assert not others.rows["reoffences_per_offender_significant_adjusted"].any()
    # z against the others: mean 0 (the shift gone), spread about 1
    z = others.rows["binary_z"].to_numpy()
    assert abs(z.mean()) < 0.2 and 0.7 < z.std() < 1.3


def test_against_the_others_a_planted_effect_is_still_found():
    releases, convictions, meta = generate(
        SynthParams(
            releases=50_000,
            seed=SHIFT_SEED,
            repeat_share=0.0,
            site_effect_sd=0.0,
            level_shift=-1.5,
            level_shift_from=dt.date(2023, 1, 1),
        )
    )
    rows = adjusted(validated(releases, convictions), sided="one", relative_to="others").rows
    found = rows.filter(pl.col("binary_significant_adjusted") | pl.col("reoffences_per_offender_significant_adjusted"))
    assert found["establishment"].to_list() == [meta["planted_effect"]["establishment"]]
