"""The synthetic population: seeded, realistic, and holding every kind of row the rules must ignore."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
from reoffend.window import FollowUpWindow
from tests.helpers import (
    snapshot,
    unchanged,
)

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


def test_synth_into_a_folder_it_cannot_create_is_73_naming_it(cli, tmp_path, monkeypatch):
    """`synth --out ro/s` under a read-only (immutable) folder was exit 74 "writing the output: operation not
    permitted", after generating, naming no path. A parent that is a file fails the same way without root
    tricks: exit 73 naming the folder, before any work, and the file is untouched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    status, out, err = cli("synth", "--out", "notes.txt/s", "--releases", "50", "-q")
    assert status == 73, err
    assert "notes.txt/s: cannot create the folder: not a directory" in err
    assert out == "" and unchanged(before, tmp_path) and sorted(snapshot(tmp_path)) == ["notes.txt"]


def test_synth_removes_the_data_it_wrote_before_in_the_other_format(cli, tmp_path):
    """synth --format csv, then --format parquet with another seed: releases.csv of the first seed stayed
    beside the parquet files and meta.json listed both, as if it described them."""
    import json

    out = tmp_path / "s"
    assert cli("synth", "--releases", "200", "--seed", "1", "--format", "csv", "--out", out, "-q")[0] == 0
    (out / "notes.txt").write_text("mine")
    assert cli("synth", "--releases", "200", "--seed", "2", "--format", "parquet", "--out", out, "-q")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "convictions.parquet",
        "meta.json",
        "notes.txt",
        "releases.parquet",
    ]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["files"] == ["convictions.parquet", "releases.parquet"] and meta["parameters"]["seed"] == 2


@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (("--start", "9999-12-01"), "--start", "9997-12-31"),  # was exit 70: year 10001 is out of range
        (("--start", "1800-01-01"), "--start", "1905-01-01"),  # was data that fails validate (dates before 1900)
        (("--cohorts", "100000000"), "--cohorts", "1<=x<=400"),  # was exit 70
        (("--effect-frequency", "1e308"), "--effect-frequency", "0<x<=100"),  # was exit 70 and numpy warnings
        (("--effect-frequency", "nan"), "--effect-frequency", "0<x<=100"),  # was exit 70
        (("--seed", "-1"), "--seed", "x>=0"),  # was exit 70
        (("--effect-log-odds", "nan"), "--effect-log-odds", "-10<=x<=10"),  # was NaN in meta.json, exit 0
        (("--effect-log-odds", "inf"), "--effect-log-odds", "-10<=x<=10"),
        (("--lag-multiplier", "1e308", "--lag-change-from", "2022-06-01"), "--lag-multiplier", "0<x<=100"),
        (("--site-effect-sd", "1e308"), "--site-effect-sd", "0<=x<=10"),  # was raw numpy warnings
        (("--site-effect-sd", "nan"), "--site-effect-sd", "0<=x<=10"),
        (("--level-trend", "1e308"), "--level-trend", "-100<=x<=100"),
        (("--establishments", "1000000000"), "--establishments", "1<=x<=10000"),  # was a hang
        (("--releases", "100000000000"), "--releases", "10000000"),  # was a MemoryError, exit 70
        (("--releases", "0"), "--releases", "1<=x<=10000000"),  # was an IndexError, exit 70
        (("--extract-date", "0001-01-01"), "--extract-date", "2023-12-31"),  # was data that fails validate
        (("--extract-date", "9999-12-31"), "--extract-date", "9999-12-30"),
    ],
)
def test_a_synth_option_out_of_its_range_is_a_usage_error_before_any_work(cli, tmp_path, args, option, allowed):
    status, _out, err = cli("synth", "--releases", "200", "--out", tmp_path / "s", *args)
    assert status == 2, err
    assert option in err and allowed in err
    assert "Traceback" not in err and "Warning" not in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--start", "1905-01-01", "--extract-date", "9999-12-30", "--lag-multiplier", "100", "--lag-change-from",
         "1905-01-01"),
        ("--start", "9995-10-01",),  # the last cohort ends 9997-10-01, the default extract date 9999-09-30
        ("--site-effect-sd", "10", "--effect-log-odds", "-10", "--effect-frequency", "100"),
        ("--level-trend", "-100", "--level-shift", "100", "--level-shift-from", "2022-06-01"),
        ("--extract-date", "2023-12-31",),  # the last day of the eighth cohort from 2022-01-01
    ],
)  # fmt: skip
def test_synth_at_the_ends_of_its_ranges_writes_data_that_validates(cli, tmp_path, args):
    status, _out, err = cli("synth", "--releases", "500", "--format", "csv", "-q", "--out", tmp_path / "s", *args)
    assert status == 0, err
    assert err == ""  # no numpy warning (overflow of exp at a log-odds of -800 is a chance of 0, said nowhere)
    status, _out, err = cli(
        "validate", tmp_path / "s" / "releases.csv", tmp_path / "s" / "convictions.csv", "-q", "--incomplete",
        "exclude", "--extract-date", json.loads((tmp_path / "s" / "meta.json").read_text())["extract_date"],
    )  # fmt: skip
    assert status == 0, err


# --------------------------------------------------------------------------------- synth replaces only its own files
def test_synth_refuses_to_replace_files_it_did_not_write(cli, tmp_path):
    out = tmp_path / "drop"
    out.mkdir()
    (out / "releases.csv").write_text("the real extract\n")
    (out / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    status, _out, err = cli("synth", "--releases", "50", "--out", out, "--format", "csv", "-q")
    assert status == 2 and "releases.csv" in err and "not written by reoffend synth" in err
    assert snapshot(tmp_path) == before and not (out / "convictions.csv").exists()
    (out / "releases.csv").unlink()
    (out / "meta.json").write_text('{"source": "the data team"}')  # someone else's meta.json
    before = snapshot(tmp_path)
    status, _out, err = cli("synth", "--releases", "50", "--out", out, "--format", "csv", "-q")
    assert status == 2 and "meta.json" in err and snapshot(tmp_path) == before


def test_synth_replaces_what_it_wrote_and_lists_it(cli, tmp_path):
    out = tmp_path / "s"
    assert cli("synth", "--releases", "50", "--out", out, "--format", "csv", "-q")[0] == 0
    (out / "notes.txt").write_text("mine")
    assert cli("synth", "--releases", "60", "--out", out, "--format", "parquet", "-q")[0] == 0
    assert cli("synth", "--releases", "70", "--out", out, "--format", "csv", "-q")[0] == 0
    meta = json.loads((out / "meta.json").read_text())
    # the Parquet files of the second run are synth's and of other options: removed, not left beside these
    # (issue 24: files of another seed stood beside the new ones)
    assert meta["files"] == ["convictions.csv", "releases.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["convictions.csv", "meta.json", "notes.txt", "releases.csv"]
    assert meta["rows"]["releases"] == 70 and (out / "notes.txt").read_text() == "mine"


def test_synth_accepts_a_folder_from_before_meta_listed_its_files(cli, tmp_path, sample_dir):
    for name in ("releases.csv", "convictions.csv", "meta.json", "excluded_offences.txt"):
        shutil.copy(sample_dir / name, tmp_path / name)
    assert "files" not in json.loads((tmp_path / "meta.json").read_text())
    status, _out, err = cli("synth", "--releases", "50", "--out", tmp_path, "--format", "csv", "-q")
    assert status == 0, err
    assert (tmp_path / "excluded_offences.txt").read_bytes() == (sample_dir / "excluded_offences.txt").read_bytes()
