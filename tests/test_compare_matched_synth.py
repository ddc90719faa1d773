"""The matched comparison on synthetic data whose truth is known (synth's meta.json), seeded: not flaky."""

from __future__ import annotations

import polars as pl
import pytest

from reoffend.compare.matched import MatchedParams, compare_matched
from reoffend.measure import MeasureParams
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs

COVARIATES = ("age", "sex", "sentence_months", "prior_convictions", "index_offence")


def synth_inputs(params: SynthParams):
    releases, convictions, meta = generate(params)
    text_dates = [pl.col(c).cast(pl.String) for c in ("release_date",)]
    inputs = validate_inputs(
        Table("releases.parquet", RELEASES, releases.with_columns(text_dates).lazy()),
        Table(
            "convictions.parquet",
            CONVICTIONS,
            convictions.with_columns(pl.col("offence_date", "conviction_date").cast(pl.String)).lazy(),
        ),
        extract_date=None,
        dedupe=False,
    )
    return inputs, meta


def run(inputs, **overrides):
    values = dict(
        measure=MeasureParams(excluded_offences=frozenset({"BREACH"}), incomplete="exclude"),
        treated={"establishment": ("EST042",)},
        covariates=COVARIATES,
        bootstrap=1000,
        seed=1,
    )
    values.update(overrides)
    return compare_matched(inputs, MatchedParams(**values))


def test_planted_effect_is_covered_by_the_intervals():
    # repeat_share=0: each person is released once, so no offence generated for one release falls inside the
    # window of the same person's other release. With repeats, the measured outcome of a treated release also
    # counts offences generated for the person's untreated releases (and the noise offences around them), so
    # the measured effect is smaller than meta.json's per-release truth (20 seeds: mean -24.8% against -30%).
    inputs, meta = synth_inputs(SynthParams(releases=20_000, seed=1, repeat_share=0.0))
    truth = meta["planted_effect"]
    result = run(inputs)
    pooled = result.rows.row(-1, named=True)
    assert pooled["treated"] == pooled["matched"] > 250
    # meta's frequency truth is in offences per offender: compare the matched estimate of the same measure
    assert (
        pooled["reoffences_per_offender_change_low"]
        <= truth["expected_frequency_change_pct"]
        <= pooled["reoffences_per_offender_change_high"]
    )
    assert (
        pooled["binary_difference_pp_low"]
        <= truth["expected_binary_difference_pp"]
        <= pooled["binary_difference_pp_high"]
    )
    # the planted effect is large: the reduction in events per 100 (primary) is significant
    assert pooled["events_significant"] and pooled["events_reduction_pct"] > 10
    assert pooled["events_change_high"] < 0
    assert max(abs(v) for v in result.balance.get_column("smd_after").to_list()) <= 0.1
    assert not any("SMD" in w for w in result.warnings)


def test_no_planted_effect_finds_no_significant_reduction():
    # establishments differ only in offender mix (site_effect_sd=0) and EST042 has no effect
    inputs, meta = synth_inputs(
        SynthParams(releases=20_000, seed=2, effect_log_odds=0.0, effect_frequency=1.0, site_effect_sd=0.0)
    )
    assert meta["planted_effect"]["expected_frequency_change_pct"] == pytest.approx(0.0)
    result = run(inputs, seed=2)
    pooled = result.rows.row(-1, named=True)
    assert pooled["matched"] > 250
    assert pooled["events_significant"] is False
    assert pooled["binary_significant"] is False
    assert pooled["events_change_low"] < 0 < pooled["events_change_high"]
    assert pooled["binary_difference_pp_low"] < 0 < pooled["binary_difference_pp_high"]
    # and no cohort's verdict claims a significant reduction in events by more than chance would: 8 cohorts,
    # each a one-sided 5% test; at most one false alarm is allowed here (seeded)
    cohorts = result.rows.filter(pl.col("scope") == "cohort")
    assert cohorts.get_column("events_significant").sum() <= 1


def test_seed_reproduces_the_result_exactly():
    inputs, _ = synth_inputs(SynthParams(releases=4000, seed=5))
    a = run(inputs, bootstrap=300, seed=9)
    b = run(inputs, bootstrap=300, seed=9)
    assert a.rows.equals(b.rows) and a.balance.equals(b.balance) and a.matches.equals(b.matches)
