"""The synthetic population: seeded, realistic, and holding every kind of row the rules must ignore."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from polars.testing import assert_frame_equal

from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
from reoffend.window import FollowUpWindow

PARAMS = SynthParams(releases=20_000, seed=3)


def test_same_seed_same_population_and_other_seed_differs():
    first, second, other = generate(PARAMS), generate(PARAMS), generate(SynthParams(releases=20_000, seed=4))
    assert_frame_equal(first[0], second[0])
    assert_frame_equal(first[1], second[1])
    assert first[2] == second[2]
    assert not first[0].equals(other[0])


def test_shape_of_the_population():
    releases, convictions, meta = generate(PARAMS)
    assert releases.height == 20_000
    people = releases["offender_id"].n_unique()
    repeat_share = releases.group_by("offender_id").len().filter(pl.col("len") > 1).height / people
    assert 0.17 < repeat_share < 0.23  # about 20% of people released more than once
    assert releases["establishment"].n_unique() == 110
    assert 3 < convictions.height / releases.height < 5  # about 4 conviction rows per release, history included
    assert set(releases.columns) >= {"age", "sex", "sentence_months", "prior_convictions", "index_offence"}
    assert meta["planted_effect"]["establishment"] == "EST042"


def test_noise_rows_exist_and_the_rates_are_realistic():
    releases, convictions, _ = generate(PARAMS)
    inputs = validate_inputs(Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()))
    window = FollowUpWindow()
    result = measure(inputs, MeasureParams(by=("cohort",), index="all"), audit_table=True)
    assert result.rows.height == 8  # eight quarterly cohorts
    assert result.rows["binary_rate"].is_between(0.45, 0.62).all()
    joined = (
        window.with_window_columns(releases.lazy())
        .join(convictions.lazy(), on="offender_id")
        .select(
            (pl.col("offence_date") < pl.col("release_date")).sum().alias("before_release"),
            (pl.col("offence_date") >= pl.col("follow_up_end")).sum().alias("after_window"),
            (
                (pl.col("offence_date") >= pl.col("release_date"))
                & (pl.col("offence_date") < pl.col("follow_up_end"))
                & (pl.col("conviction_date") >= pl.col("conviction_deadline"))
            )
            .sum()
            .alias("convicted_too_late"),
        )
        .collect()
        .row(0, named=True)
    )
    assert all(count > 100 for count in joined.values()), joined
    assert (convictions["offence_code"] == "BREACH").sum() > 100


def test_planted_effect_lowers_the_treated_establishments_rate():
    """Same seed with and without the effect: same people and releases, EST042 reoffends less with it."""

    def treated_rate(params: SynthParams) -> float:
        releases, convictions, _ = generate(params)
        inputs = validate_inputs(Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()))
        rows = measure(inputs, MeasureParams(by=("establishment",), index="all")).rows
        return rows.filter(pl.col("establishment") == "EST042")["binary_rate"][0]

    with_effect = treated_rate(SynthParams(releases=60_000, seed=5))
    without = treated_rate(SynthParams(releases=60_000, seed=5, effect_log_odds=0.0, effect_frequency=1.0))
    # expected difference about -8 points (meta.json); the two draws' standard error is about 2.2 points
    assert with_effect < without - 0.03


def test_synth_command_writes_files_and_meta(cli, tmp_path):
    status, _, err = cli("synth", "--releases", "500", "--seed", "9", "--out", tmp_path, "--format", "csv")
    assert status == 0, err
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["rows"]["releases"] == 500
    assert pl.read_csv(tmp_path / "releases.csv").height == 500
    status, _out, err = cli("measure", tmp_path / "releases.csv", tmp_path / "convictions.csv", "--csv")
    assert status == 0, err


def test_the_extract_date_bounds_the_convictions_and_completes_every_cohort_by_default():
    releases, convictions, meta = generate(SynthParams(releases=2_000, seed=11))
    # 8 quarters from 2022-01-01 end on 2024-01-01; the extract is two years later, less a day
    assert meta["extract_date"] == "2025-12-31"
    assert convictions["conviction_date"].max() <= dt.date(2025, 12, 31)
    # the last release (2023-12-31 at the latest) has its deadline on 2025-06-30: complete
    inputs = validate_inputs(Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()))
    assert measure(inputs, MeasureParams()).metadata["incomplete_releases_excluded"] == 0
    early = generate(SynthParams(releases=2_000, seed=11, extract_date=dt.date(2025, 3, 31)))
    assert early[1]["conviction_date"].max() <= dt.date(2025, 3, 31)
    assert early[0].equals(releases)  # the same releases; only what had been convicted by then


def test_a_short_period_still_gives_every_release_asked_for():
    """Two quarterly cohorts of 300 releases from 3 prisons: most people drawn are released before the period,
    so synth draws more (it stopped with an internal error, exit 70)."""
    from reoffend.synth import SynthParams, generate

    releases, _convictions, _meta = generate(SynthParams(releases=300, establishments=3, cohorts=2, seed=0))
    assert releases.height == 300


# ------------------------------------------------------------------- a moving level (for the nowcast's tests)
def _binary_by_cohort(releases: pl.DataFrame, convictions: pl.DataFrame) -> list[float]:
    inputs = validate_inputs(
        Table("releases.parquet", RELEASES, releases.lazy()),
        Table("convictions.parquet", CONVICTIONS, convictions.lazy()),
    )
    rows = measure(inputs, MeasureParams(by=("cohort",), excluded_offences=frozenset({"BREACH"}))).rows
    return rows["binary_rate"].to_list()


def test_level_options_move_only_the_outcomes_and_by_about_the_points_asked():
    base = generate(SynthParams(releases=12_000, seed=6))
    trend = generate(SynthParams(releases=12_000, seed=6, level_trend=-4.0))
    shift = generate(SynthParams(releases=12_000, seed=6, level_shift=5.0, level_shift_from=dt.date(2023, 1, 1)))
    assert base[0].equals(trend[0]) and base[0].equals(shift[0])  # the same people and releases
    rates = {
        name: _binary_by_cohort(*frame[:2]) for name, frame in (("base", base), ("trend", trend), ("shift", shift))
    }
    # a trend of -4 points a year: the difference from the base grows by about 7 points over 7 quarters
    gap = [100 * (t - b) for t, b in zip(rates["trend"], rates["base"], strict=True)]
    assert -2.5 < gap[0] < 0.5 and -9.5 < gap[-1] < -4.5 and gap[-1] < gap[3] < gap[0]
    # a shift of +5 points from 2023: 2022's cohorts barely move (only overlapping windows), 2023's by about 5
    gap = [100 * (s - b) for s, b in zip(rates["shift"], rates["base"], strict=True)]
    assert all(abs(g) < 1.0 for g in gap[:4]) and all(3.0 < g < 7.0 for g in gap[4:])
    assert trend[2]["parameters"]["level_trend"] == -4.0


def test_truncated_repeats_drop_the_later_offences_of_the_last_cohorts():
    base = generate(SynthParams(releases=12_000, seed=6))
    cut = generate(SynthParams(releases=12_000, seed=6, truncate_repeats=True))
    assert base[0].equals(cut[0])
    assert cut[1].join(base[1], on=list(base[1].columns), how="anti").is_empty()  # rows only removed
    rates = [100 * (c - b) for c, b in zip(_binary_by_cohort(*cut[:2]), _binary_by_cohort(*base[:2]), strict=True)]
    assert all(r == 0 for r in rates[:4]) and rates[-1] < rates[-3] < 0 and rates[-1] < -2.0


def test_level_options_are_checked_on_the_command_line(cli, tmp_path):
    status, _, err = cli("synth", "--releases", "100", "--out", tmp_path / "a", "--level-shift", "3")
    assert status == 2 and "--level-shift-from" in err
    status, _, err = cli("synth", "--releases", "100", "--out", tmp_path / "b", "--level-shift-from", "2023-01-01")
    assert status == 2 and "--level-shift" in err
    status, _, err = cli(
        "synth", "--releases", "200", "--out", tmp_path / "c", "--level-trend", "-3", "--truncate-repeats", "-q"
    )
    assert status == 0, err
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["parameters"]["level_trend"] == -3.0 and meta["parameters"]["truncate_repeats"] is True
