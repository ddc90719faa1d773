"""Doncaster-style comparison: hand-worked numbers, statsmodels agreement, edge cases, property, CLI."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from statsmodels.stats import proportion as smp

from reoffend.compare.baseline import (
    BaselineParams,
    Counts,
    ScheduleStep,
    compare_counts,
    measure_cohorts,
    parse_counts,
)
from reoffend.errors import DataError, UsageError
from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams
from reoffend.report.views import baseline_headlines

from .conftest import run, write_csv

Z95 = 1.959963984540054  # the 97.5% standard normal quantile


def phi(x: float) -> float:
    """The standard normal distribution function, written out: Φ(x) = erfc(-x/√2)/2."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def one(current: Counts, baseline: Counts, **params) -> dict:
    result = compare_counts([current], baseline, BaselineParams(**params))
    assert result.rows.height == 1
    return result.rows.row(0, named=True)


# ------------------------------------------------------------------------------------ hand-worked numbers
def test_480_of_1000_against_530_of_1000_by_hand():
    row = one(Counts("now", 480, 1000), Counts("then", 530, 1000), target_pp=5)
    # rates 0.48 and 0.53: difference 0.48 - 0.53 = -0.05 -> -5.0 points, a reduction of 5.0 points (exactly)
    assert row["current_rate"] == 0.48 and row["baseline_rate"] == 0.53
    assert row["difference_pp"] == -5.0 and row["reduction_pp"] == 5.0
    # pooled rate (480 + 530) / 2000 = 0.505; se = sqrt(0.505 * 0.495 * (1/1000 + 1/1000)) = sqrt(0.00049995)
    se = math.sqrt(0.505 * 0.495 * 0.002)
    assert se == pytest.approx(0.0223595, abs=1e-7)
    # z = -0.05 / 0.0223595 = -2.23618
    assert row["z"] == pytest.approx(-2.23618, abs=1e-5)
    assert row["z"] == pytest.approx(-0.05 / se, rel=1e-12)
    # two-sided p = 2 Φ(-2.23618) = 0.02534; one-sided p for a reduction = Φ(-2.23618) = 0.01267
    assert row["p_two_sided"] == pytest.approx(2 * phi(-0.05 / se), rel=1e-12)
    assert row["p_two_sided"] == pytest.approx(0.02534, abs=1e-5)
    assert row["p_reduction"] == pytest.approx(0.01267, abs=1e-5)
    assert row["significant"] is True  # 0.01267 < 0.05
    assert row["target_met"] is True  # a reduction of exactly 5 meets a target of 5
    # Wilson 480/1000: centre (480 + z²/2)/(1000 + z²), half z/(1000 + z²) * sqrt(480*520/1000 + z²/4)
    z2 = Z95**2
    centre = (480 + z2 / 2) / (1000 + z2)
    half = Z95 / (1000 + z2) * math.sqrt(480 * 520 / 1000 + z2 / 4)
    assert (centre, half) == (pytest.approx(0.480077, abs=1e-6), pytest.approx(0.030906, abs=1e-6))
    assert row["current_rate_low"] == pytest.approx(centre - half, rel=1e-12)
    assert row["current_rate_high"] == pytest.approx(centre + half, rel=1e-12)
    # Newcombe: d - sqrt((p1 - l1)² + (u0 - p0)²), d + sqrt((u1 - p1)² + (p0 - l0)²), in points
    l1, u1, l0, u0 = (
        row["current_rate_low"],
        row["current_rate_high"],
        row["baseline_rate_low"],
        row["baseline_rate_high"],
    )
    low = -0.05 - math.sqrt((0.48 - l1) ** 2 + (u0 - 0.53) ** 2)
    high = -0.05 + math.sqrt((u1 - 0.48) ** 2 + (0.53 - l0) ** 2)
    assert (row["reduction_pp_newcombe_low"], row["reduction_pp_newcombe_high"]) == (
        pytest.approx(-100 * high, rel=1e-12),
        pytest.approx(-100 * low, rel=1e-12),
    )
    assert (row["reduction_pp_newcombe_low"], row["reduction_pp_newcombe_high"]) == (
        pytest.approx(0.618, abs=1e-3),
        pytest.approx(9.355, abs=1e-3),
    )
    # the interval beside the verdict: one-sided test at 5% -> the 90% score interval that inverts the z test
    assert row["interval_confidence"] == pytest.approx(0.9)
    assert row["verdict"] == "significant reduction"
    assert row["difference_pp_high"] < 0  # agrees with the verdict: wholly below zero
    assert (row["reduction_pp_low"], row["reduction_pp_high"]) == (
        -row["difference_pp_high"],
        -row["difference_pp_low"],
    )


def test_rates_of_zero_and_one_by_hand():
    row = one(Counts("now", 0, 10), Counts("then", 10, 10))
    # pooled 10/20 = 0.5; se = sqrt(0.25 * (1/10 + 1/10)) = sqrt(0.05); z = (0 - 1)/sqrt(0.05) = -4.4721
    assert row["z"] == pytest.approx(-1 / math.sqrt(0.05), rel=1e-12)
    assert row["p_two_sided"] == pytest.approx(2 * phi(-4.472136), rel=1e-5)
    assert row["reduction_pp"] == 100.0 and row["significant"] is True
    # Wilson 0/10: [0, z²/(10 + z²)] = [0, 0.27753]; 10/10: [10/(10 + z²), 1] = [0.72247, 1]
    z2 = Z95**2
    assert row["current_rate_low"] == pytest.approx(0.0, abs=1e-15) and row["current_rate_high"] == pytest.approx(
        z2 / (10 + z2)
    )
    assert row["baseline_rate_low"] == pytest.approx(10 / (10 + z2)) and row["baseline_rate_high"] == pytest.approx(1.0)
    # Newcombe: -1 - sqrt(0 + 0) = -1; -1 + sqrt(0.27753² + 0.27753²) = -0.60751 (a reduction of 60.751)
    assert row["reduction_pp_newcombe_high"] == pytest.approx(100.0)
    assert row["reduction_pp_newcombe_low"] == pytest.approx(-100 * (-1 + math.sqrt(2) * z2 / (10 + z2)))
    assert row["reduction_pp_newcombe_low"] == pytest.approx(60.751, abs=1e-3)
    assert row["verdict"] == "significant reduction" and row["difference_pp_high"] < 0


def test_cohorts_of_one_person():
    row = one(Counts("now", 1, 1), Counts("then", 0, 1))
    # pooled 1/2; se = sqrt(0.25 * 2) = 0.70711; z = 1/0.70711 = 1.41421: an increase of 100 points
    assert row["z"] == pytest.approx(math.sqrt(2))
    assert row["p_two_sided"] == pytest.approx(2 * phi(-math.sqrt(2)))  # 0.1573
    assert row["p_reduction"] == pytest.approx(phi(math.sqrt(2)))  # 0.9214
    assert row["reduction_pp"] == -100.0 and row["significant"] is False


def test_identical_cohorts():
    row = one(Counts("a", 30, 100), Counts("a", 30, 100), target_pp=0)
    assert row["difference_pp"] == 0.0 and math.copysign(1, row["difference_pp"]) == 1  # not -0.0
    assert row["z"] == 0.0 and row["p_two_sided"] == 1.0 and row["p_reduction"] == 0.5
    assert row["significant"] is False and row["target_met"] is True  # 0 >= 0
    assert row["difference_pp_low"] == pytest.approx(-row["difference_pp_high"])


def test_nobody_reoffended_in_either_cohort_has_no_z_and_p_of_one():
    result = compare_counts([Counts("now", 0, 5)], Counts("then", 0, 7), BaselineParams())
    row = result.rows.row(0, named=True)
    # pooled rate 0 -> se 0 -> z = 0/0: null, and p = 1 as Fisher's exact test gives for this table
    assert row["z"] is None and row["p_two_sided"] == 1.0 and row["p_reduction"] == 1.0
    assert row["difference_pp"] == 0.0 and row["significant"] is False
    everybody = one(Counts("now", 4, 4), Counts("then", 9, 9))
    assert everybody["z"] is None and everybody["p_two_sided"] == 1.0


def test_an_empty_cohort_gives_nulls_not_nan():
    result = compare_counts([Counts("now", 0, 0), Counts("later", 3, 10)], Counts("then", 5, 10), BaselineParams())
    empty, full = result.rows.row(0, named=True), result.rows.row(1, named=True)
    for column in ("current_rate", "difference_pp", "difference_pp_low", "z", "p_two_sided", "p_reduction"):
        assert empty[column] is None, column
    assert empty["significant"] is None and not result.all_significant()
    assert full["reduction_pp"] == 20.0  # 5/10 - 3/10 = 0.2
    assert not any(result.rows.select(pl.col(pl.Float64).is_nan().any()).row(0))
    assert any("empty current cohort" in w for w in result.warnings)
    assert "too few to test, because a cohort is empty" in baseline_headlines(result).splitlines()[0]
    empty_baseline = compare_counts([Counts("now", 1, 2)], Counts("then", 0, 0), BaselineParams())
    assert empty_baseline.rows["p_two_sided"].to_list() == [None]


def test_several_current_cohorts_equal_one_at_a_time():
    base = Counts("2022", 140, 260)
    # without the multiple-testing adjustment (which depends on how many cohorts are tested together)
    params = BaselineParams(multiple_testing="none")
    many = compare_counts([Counts("2023Q1", 100, 230), Counts("2023Q2", 80, 240)], base, params).rows
    for i, current in enumerate([Counts("2023Q1", 100, 230), Counts("2023Q2", 80, 240)]):
        assert many.row(i, named=True) == compare_counts([current], base, params).rows.row(0, named=True)


# ----------------------------------------------------------------------------------- target and schedule
def test_target_and_schedule_steps():
    schedule = (ScheduleStep(2, 100_000), ScheduleStep(5, 250_000), ScheduleStep(10, 500_000))
    params = {"target_pp": 5, "schedule": schedule}
    exactly_five = one(Counts("now", 480, 1000), Counts("then", 530, 1000), **params)
    assert (exactly_five["schedule_step_pp"], exactly_five["schedule_payment"]) == (5.0, 250_000.0)
    # 519/1000: a reduction of 1.1 points: below every step, target not met
    small = one(Counts("now", 519, 1000), Counts("then", 530, 1000), **params)
    assert small["reduction_pp"] == pytest.approx(1.1)
    assert small["schedule_step_pp"] is None and small["schedule_payment"] is None and small["target_met"] is False
    big = one(Counts("now", 400, 1000), Counts("then", 530, 1000), **params)  # 13 points: the top step
    assert (big["schedule_step_pp"], big["schedule_payment"]) == (10.0, 500_000.0)
    just_below = one(Counts("now", 480, 1000), Counts("then", 530, 1000), target_pp=5.0001)
    assert just_below["target_met"] is False


def test_significance_side_is_a_parameter():
    # one-sided p 0.01267 < 0.02 but two-sided p 0.02534 > 0.02
    assert one(Counts("n", 480, 1000), Counts("b", 530, 1000), alpha=0.02)["significant"] is True
    assert one(Counts("n", 480, 1000), Counts("b", 530, 1000), alpha=0.02, sided="two")["significant"] is False
    # a significant increase is never a significant reduction, whichever side
    assert one(Counts("n", 580, 1000), Counts("b", 480, 1000), sided="two")["significant"] is False


# ------------------------------------------------------------------------------------------- statsmodels
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels divides by zero for its ratio measures
@settings(max_examples=60, deadline=None)
@given(
    n1=st.integers(1, 400),
    n0=st.integers(1, 400),
    f1=st.floats(0, 1),
    f0=st.floats(0, 1),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_agrees_with_statsmodels(n1, n0, f1, f0, confidence):
    x1, x0 = round(f1 * n1), round(f0 * n0)
    row = one(Counts("c", x1, n1), Counts("b", x0, n0), confidence=confidence)
    alpha = 1 - confidence
    low, high = smp.proportion_confint(x1, n1, alpha=alpha, method="wilson")
    assert (row["current_rate_low"], row["current_rate_high"]) == (pytest.approx(low, abs=1e-12), pytest.approx(high))
    low, high = smp.confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=alpha)
    assert row["reduction_pp_newcombe_high"] == pytest.approx(-100 * low, abs=1e-9)
    assert row["reduction_pp_newcombe_low"] == pytest.approx(-100 * high, abs=1e-9)
    if 0 < x1 + x0 < n1 + n0:
        # the pooled z test is statsmodels' score test without the small-sample correction, and proportions_ztest
        score = smp.test_proportions_2indep(x1, n1, x0, n0, method="score", correction=False)
        z, p = smp.proportions_ztest([x1, x0], [n1, n0])
        assert row["z"] == pytest.approx(score.statistic, rel=1e-9, abs=1e-12) == pytest.approx(z)
        assert row["p_two_sided"] == pytest.approx(score.pvalue, rel=1e-9) == pytest.approx(p)
        smaller = smp.test_proportions_2indep(x1, n1, x0, n0, method="score", correction=False, alternative="smaller")
        assert row["p_reduction"] == pytest.approx(smaller.pvalue, rel=1e-9, abs=1e-300)


@settings(max_examples=80, deadline=None)
@given(n1=st.integers(1, 300), n0=st.integers(1, 300), f1=st.floats(0, 1), f0=st.floats(0, 1))
@example(n1=1, n0=291, f1=0.0, f0=0.9921875)  # the cubic's rounding: the bounds mirror to 1.5e-9 points, not 1e-9
def test_swapping_current_and_baseline_flips_the_sign_and_keeps_the_two_sided_p(n1, n0, f1, f0):
    # (an empty cohort has no difference: test_an_empty_cohort_gives_nulls_not_nan)
    x1, x0 = round(f1 * n1), round(f0 * n0)
    forward = one(Counts("a", x1, n1), Counts("b", x0, n0))
    backward = one(Counts("b", x0, n0), Counts("a", x1, n1))
    assert backward["difference_pp"] == pytest.approx(-forward["difference_pp"], abs=1e-12)
    assert backward["p_two_sided"] == pytest.approx(forward["p_two_sided"], rel=1e-12)
    # the bounds are roots of Miettinen and Nurminen's cubic, evaluated in floating point from either side: they
    # mirror to the cubic's rounding (1.5e-9 points at 1/1 against 289/291), well inside the 3e-8 points by which
    # they equal R ratesci::scoreci (issue 29), so 1e-8 points
    assert backward["difference_pp_low"] == pytest.approx(-forward["difference_pp_high"], abs=1e-8)
    assert backward["difference_pp_high"] == pytest.approx(-forward["difference_pp_low"], abs=1e-8)
    if forward["z"] is not None:
        assert backward["z"] == pytest.approx(-forward["z"], abs=1e-12)
        assert backward["p_reduction"] == pytest.approx(1 - forward["p_reduction"], abs=1e-12)
    assert forward["difference_pp_low"] <= forward["difference_pp"] <= forward["difference_pp_high"]


# ------------------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("600/500", "600 reoffenders is more than the cohort of 500"),
        ("-1/10", "cannot be negative"),
        ("5/-10", "cannot be negative"),
        ("abc", "REOFFENDERS/COHORT_SIZE"),
        ("4.5/10", "REOFFENDERS/COHORT_SIZE"),
        ("", "REOFFENDERS/COHORT_SIZE"),
    ],
)
def test_bad_counts_are_usage_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_counts(text, "current")


def test_counts_with_a_label():
    assert parse_counts(" 2023Q4 = 480 / 1000 ", "x") == Counts("2023Q4", 480, 1000)
    assert parse_counts("480/1000", "current") == Counts("current", 480, 1000)


# ------------------------------------------------------------------------------------------- from records
RELEASES = [
    # site E1: 2022Q1 cohort A, B, C, D; 2023Q1 cohort E, F, G; site E2 distractors in both
    {"offender_id": "A", "release_date": "2022-01-10", "establishment": "E1", "sex": "M"},
    {"offender_id": "B", "release_date": "2022-02-01", "establishment": "E1", "sex": "F"},
    {"offender_id": "C", "release_date": "2022-03-01", "establishment": "E1", "sex": "M"},
    {"offender_id": "D", "release_date": "2022-03-20", "establishment": "E1", "sex": "M"},
    {"offender_id": "E", "release_date": "2023-01-05", "establishment": "E1", "sex": "M"},
    {"offender_id": "F", "release_date": "2023-02-05", "establishment": "E1", "sex": "F"},
    {"offender_id": "G", "release_date": "2023-03-05", "establishment": "E1", "sex": "M"},
    {"offender_id": "H", "release_date": "2022-01-15", "establishment": "E2", "sex": "M"},
    {"offender_id": "I", "release_date": "2023-01-15", "establishment": "E2", "sex": "M"},
]
CONVICTIONS = [
    {"offender_id": "A", "offence_date": "2022-06-01", "conviction_date": "2022-08-01"},  # in window
    {"offender_id": "B", "offence_date": "2022-12-01", "conviction_date": "2023-07-01"},  # in window, by deadline
    {"offender_id": "C", "offence_date": "2023-03-02", "conviction_date": "2023-04-01"},  # offence after window
    {"offender_id": "D", "offence_date": "2022-05-01", "conviction_date": "2023-10-01"},  # convicted after deadline
    {"offender_id": "F", "offence_date": "2023-05-01", "conviction_date": "2023-06-01"},  # in window
    {"offender_id": "H", "offence_date": "2022-05-01", "conviction_date": "2022-06-01"},  # E2
    {"offender_id": "I", "offence_date": "2023-05-01", "conviction_date": "2023-06-01"},  # E2
]


FAR = dt.date(2030, 1, 1)  # every window in the fixture complete


@pytest.fixture
def record_files(tmp_path):
    return write_csv(tmp_path / "releases.csv", RELEASES), write_csv(tmp_path / "convictions.csv", CONVICTIONS)


def test_records_are_measured_with_the_measure_core(record_files):
    inputs = load_inputs(InputSpec(*record_files, extract_date=FAR))
    params = MeasureParams(where={"establishment": ("E1",)})
    frame, base, _ = measure_cohorts(inputs, params, ["2023Q1"], "2022Q1")
    # 2022Q1 at E1: A and B reoffended (C's offence is after its window, D convicted after the deadline): 2 of 4
    assert base == Counts("2022Q1", 2, 4)
    # 2023Q1 at E1: F only: 1 of 3
    assert frame.to_dicts() == [{"label": "2023Q1", "reoffenders": 1, "cohort_size": 3}]
    measured = run(RELEASES, CONVICTIONS, where={"establishment": ("E1",)}).rows
    assert measured.select("cohort", "reoffenders", "cohort_size").rows() == [("2022Q1", 2, 4), ("2023Q1", 1, 3)]


def test_a_cohort_the_site_lacks_is_empty_and_an_unknown_label_is_an_error(record_files):
    inputs = load_inputs(InputSpec(*record_files, extract_date=FAR))
    frame, _, _ = measure_cohorts(inputs, MeasureParams(where={"sex": ("F",)}), ["2023Q1", "2022Q1"], "2022Q1")
    assert frame.rows() == [("2023Q1", 1, 1), ("2022Q1", 1, 1)]
    with pytest.raises(DataError, match=r"--current 2023q1: no release has this value.*2022Q1, 2023Q1.*did you mean"):
        measure_cohorts(inputs, MeasureParams(), ["2023q1"], "2022Q1")


# ---------------------------------------------------------------------------------------------------- CLI
COUNTS = ("compare", "baseline", "--current-counts", "480/1000", "--baseline-counts", "530/1000")


def test_cli_csv_from_counts(cli):
    status, out, err = cli(*COUNTS, "--csv", "--target", "5")
    assert status == 0, err
    rows = pl.read_csv(out.encode())
    assert rows.columns[:4] == ["current", "baseline", "current_size", "current_reoffenders"]
    row = rows.row(0, named=True)
    assert (row["current"], row["baseline"], row["difference_pp"], row["reduction_pp"]) == (
        "current",
        "baseline",
        -5.0,
        5.0,
    )
    assert row["p_two_sided"] == pytest.approx(0.02534, abs=1e-5)
    assert row["significant"] is True and row["target_met"] is True
    # the summary for people goes to standard error
    err = " ".join(err.split())  # rich wraps long lines
    assert "a fall of 5.0 percentage points" in err
    assert ": significant reduction (one-sided p for a fall = 0.013)" in err
    assert "90% interval, one-sided test at 5%: -8.7 to -1.3" in err
    assert "the target of 5 points is met" in err


def test_cli_json_ndjson_parquet_and_table(cli, tmp_path):
    status, out, _ = cli(*COUNTS, "--json", "--alpha", "0.01")
    assert status == 0
    document = json.loads(out)
    assert list(document) == ["parameters", "metadata", "headline", "rows"]
    assert document["parameters"]["alpha"] == 0.01
    assert document["parameters"]["significance_test"] == "one-sided p for a reduction"
    assert document["rows"][0]["significant"] is False  # 0.01267 >= 0.01
    assert "98% interval, one-sided test at 1%: -10.2 to +0.2): no significant change" in document["headline"][0]
    status, out, _ = cli(*COUNTS, "--current-counts", "2023=450/1000", "--nl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["current"] for line in lines] == ["current 1", "2023"]
    assert lines[1]["reduction_pp"] == pytest.approx(8.0)  # 53.0% - 45.0%
    target = tmp_path / "baseline.parquet"
    assert cli(*COUNTS, "-o", target)[0] == 0
    assert pl.read_parquet(target)["reduction_pp"].to_list() == [5.0]
    status, out, _ = cli(*COUNTS, "--format", "table", "--target", "5")
    assert status == 0
    assert "Reduction (points)" in out and "5.0" in out and "Newcombe" in out and "Target (5 points) met" in out


def test_cli_json_empty_cohort_is_null(cli):
    status, out, _ = cli("compare", "baseline", "--current-counts", "0/0", "--baseline-counts", "5/10", "--json", "-q")
    assert status == 0
    row = json.loads(out)["rows"][0]
    assert row["current_rate"] is None and row["p_two_sided"] is None and row["significant"] is None


def test_cli_fail_unless_significant_exits_1_after_writing(cli, tmp_path):
    assert cli(*COUNTS, "--fail-unless-significant", "--csv")[0] == 0
    target = tmp_path / "out.csv"
    status, _, _ = cli(*COUNTS, "--fail-unless-significant", "--alpha", "0.01", "-o", target)
    assert status == 1
    assert pl.read_csv(target)["significant"].to_list() == [False]
    status, out, _ = cli(*COUNTS, "--fail-unless-significant", "--alpha", "0.01", "--csv")
    assert status == 1 and out.startswith("current,baseline,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--current-counts", "600/500", "--baseline-counts", "530/1000"), "more than the cohort"),
        (("--current-counts", "-3/500", "--baseline-counts", "530/1000"), "negative"),
        (("--current-counts", "lots", "--baseline-counts", "530/1000"), "REOFFENDERS/COHORT_SIZE"),
        (("--current-counts", "480/1000"), "go together"),
        ((), "nothing to compare"),
        (("r.csv", "c.csv", "--current-counts", "1/2", "--baseline-counts", "1/2"), "not both"),
        (("r.csv", "c.csv", "--current", "2023Q1"), "--baseline COHORT is required"),
        (("--current-counts", "1/2", "--baseline-counts", "1/2", "--alpha", "2"), "alpha"),
    ],
)
def test_cli_usage_errors_exit_2(cli, args, message):
    status, _, err = cli("compare", "baseline", *args)
    assert status == 2
    assert message in err and "Traceback" not in err


def test_cli_schedule_file(cli, tmp_path):
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        "[[step]]\nreduction_pp = 2\npayment = 100000\n\n[[step]]\nreduction_pp = 5\npayment = 250000\n"
    )
    status, out, err = cli(*COUNTS, "--schedule", schedule, "--json")
    assert status == 0, err
    document = json.loads(out)
    assert document["rows"][0]["schedule_step_pp"] == 5.0 and document["rows"][0]["schedule_payment"] == 250000.0
    assert document["parameters"]["schedule"] == [
        {"reduction_pp": 2.0, "payment": 100000.0},
        {"reduction_pp": 5.0, "payment": 250000.0},
    ]
    assert "the 5-point step (payment 250,000) is reached" in " ".join(document["headline"])  # JSON only
    bad = tmp_path / "bad.toml"
    for text, message in [
        ("[[step]]\nreduction_pp = 2\n", "exactly the keys"),
        ("[[step]]\nreduction_pp = 2\npayment = 'lots'\n", "must be numbers"),
        ("[[step]]\nreduction_pp = 2\npayment = 1\n[[step]]\nreduction_pp = 2\npayment = 3\n", "same reduction_pp"),
        ("steps = 3\n", "non-empty list"),
        ("payment = [\n", "not valid TOML"),
    ]:
        bad.write_text(text)
        status, _, err = cli(*COUNTS, "--schedule", bad)
        assert status == 2 and message in err, (text, err)
    assert cli(*COUNTS, "--schedule", tmp_path / "none.toml")[0] == 66


def test_cli_from_records_matches_measure(cli, record_files):
    status, out, err = cli(
        "compare", "baseline", *record_files, "--site", "E1", "--current", "2023Q1", "--baseline", "2022Q1", "--json",
        "--extract-date", "2030-01-01",
    )  # fmt: skip
    assert status == 0, err
    document = json.loads(out)
    row = document["rows"][0]
    # 1 of 3 against 2 of 4: 33.3% - 50.0% = -16.7 points
    assert (row["current_reoffenders"], row["current_size"], row["baseline_reoffenders"], row["baseline_size"]) == (
        1,
        3,
        2,
        4,
    )
    assert row["difference_pp"] == pytest.approx(100 * (1 / 3 - 1 / 2))
    assert document["parameters"]["where"] == {"establishment": ["E1"]}
    assert (document["parameters"]["current"], document["parameters"]["baseline"]) == (["2023Q1"], "2022Q1")
    assert document["metadata"]["window"]["follow_up_months"] == 12
    assert "E1 2023Q1:" in " ".join(document["headline"]) and "fewer than 5 expected" in err  # verdict: JSON only
    # --where narrows both cohorts: men only -> 2023Q1: E, G (0 of 2); 2022Q1: A, C, D (1 of 3)
    status, out, _ = cli(
        "compare", "baseline", *record_files, "--site", "E1", "--where", "sex=M",
        "--current", "2023Q1", "--baseline", "2022Q1", "--csv", "--extract-date", "2030-01-01",
    )  # fmt: skip
    row = pl.read_csv(out.encode()).row(0, named=True)
    assert (row["current_reoffenders"], row["current_size"], row["baseline_reoffenders"], row["baseline_size"]) == (
        0,
        2,
        1,
        3,
    )
    # --latest-cohort instead of --current
    status, out, _ = cli(
        "compare", "baseline", *record_files, "--site", "E1", "--latest-cohort", "--baseline", "2022Q1",
        "--extract-date", "2030-01-01",
    )  # fmt: skip
    assert status == 0 and pl.read_csv(out.encode())["current"].to_list() == ["2023Q1"]


def test_cli_records_errors(cli, record_files, tmp_path):
    status, _, err = cli(
        "compare", "baseline", *record_files, "--current", "2024Q1", "--baseline", "2022Q1",
        "--extract-date", "2030-01-01",
    )  # fmt: skip
    assert status == 65 and "--current 2024Q1: no release has this value" in err and "value-not-found" in err
    status, _, err = cli("compare", "baseline", record_files[0], tmp_path / "none.csv", "--current", "2023Q1",
                         "--baseline", "2022Q1")  # fmt: skip
    assert status == 66
    # an extract date before the 2023Q1 cohort's deadlines: its follow-up is incomplete -> invalid data (65)
    status, _, err = cli(
        "compare", "baseline", *record_files, "--current", "2023Q1", "--baseline", "2022Q1",
        "--extract-date", "2023-12-31",
    )  # fmt: skip
    assert status == 65 and "incomplete" in err


def test_cli_sample_data_agrees_with_measure(cli, sample_dir, tmp_path):
    files = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    status, out, _ = cli("measure", *files, "--where", "establishment=EST042", "--csv")
    assert status == 0
    measured = {r["cohort"]: (r["reoffenders"], r["cohort_size"]) for r in pl.read_csv(out.encode()).to_dicts()}
    status, out, err = cli(
        "compare", "baseline", *files, "--site", "EST042", "--current", "2023Q4,2023Q3", "--baseline", "2022Q4",
        "--json", "--config", _config(tmp_path),
    )  # fmt: skip
    assert status == 0, err
    document = json.loads(out)
    # the config's [compare.baseline] table applies
    assert document["parameters"]["alpha"] == 0.01 and document["parameters"]["significance_test"] == "two-sided p"
    rows = document["rows"]
    assert [r["current"] for r in rows] == ["2023Q4", "2023Q3"]
    for r in rows:
        assert (r["current_reoffenders"], r["current_size"]) == measured[r["current"]]
        assert (r["baseline_reoffenders"], r["baseline_size"]) == measured["2022Q4"]


def _config(folder):
    path = folder / "job.toml"
    path.write_text('[compare.baseline]\nalpha = 0.01\nsided = "two"\n')
    return path


def test_cli_counts_ignore_record_files_named_in_a_shared_config(cli, tmp_path, record_files):
    config = tmp_path / "job.toml"
    config.write_text(f'releases = "{record_files[0]}"\nconvictions = "{record_files[1]}"\n')
    status, out, err = cli(*COUNTS, "--config", config, "--csv")
    assert status == 0, err
    assert pl.read_csv(out.encode())["reduction_pp"].to_list() == [5.0]
    status, _, err = cli(*COUNTS, *record_files, "--csv")
    assert status == 2 and "not both" in err


# ------------------------------------------------------------------------ edges found by mutation testing (issue 33)
def test_the_payment_gate_fails_a_comparison_that_cannot_be_tested():
    # 100/1000 against 530/1000: a reduction of 43 points, z = -0.43 / sqrt(0.315 * 0.685 * 0.002) = -19.6, a
    # significant reduction by any standard. Beside it an empty cohort (0/0): "too few to test", significant null.
    # Every comparison must be a significant reduction to pay; the empty one is not, so the gate is shut.
    result = compare_counts(
        [Counts("paid", 100, 1000), Counts("empty", 0, 0)], Counts("then", 530, 1000), BaselineParams()
    )
    assert result.rows["significant_adjusted"].to_list() == [True, None]
    assert result.all_significant() is False
    alone = compare_counts([Counts("paid", 100, 1000)], Counts("then", 530, 1000), BaselineParams())
    assert alone.all_significant() is True
    # no comparison at all pays nothing
    assert compare_counts([], Counts("then", 530, 1000), BaselineParams()).all_significant() is False


def test_cli_payment_gate_exits_1_when_one_cohort_is_empty(cli):
    args = ("compare", "baseline", "--current-counts", "100/1000", "--baseline-counts", "530/1000", "--csv")
    assert cli(*args, "--fail-unless-significant")[0] == 0  # 43 points, z = -19.6: significant, the gate opens
    status, out, _ = cli(*args, "--current-counts", "0/0", "--fail-unless-significant")
    assert status == 1  # the empty cohort is too few to test: not a significant reduction
    assert out.startswith("current,baseline,")  # the result is still written


def test_a_cohort_missing_from_the_sizes_is_empty():
    from reoffend.compare.baseline import cohort_counts

    sizes = pl.DataFrame({"cohort": ["2022", "2023"], "reoffenders": [53, 48], "cohort_size": [100, 100]})
    frame, base = cohort_counts(sizes, ["2023", "2024"], "2022")
    assert frame.rows() == [("2023", 48, 100), ("2024", 0, 0)]  # 2024 was never measured: 0 of 0
    assert base == Counts("2022", 53, 100)
    _, missing = cohort_counts(sizes, ["2023"], "2021")
    assert missing == Counts("2021", 0, 0)
    # a cohort whose counts are null (nothing measured) is empty too: 0 of 0, not 0 of 1
    unknown = pl.DataFrame(
        {"cohort": ["2022", "2025"], "reoffenders": [53, None], "cohort_size": [100, None]},
        schema={"cohort": pl.String, "reoffenders": pl.Int64, "cohort_size": pl.Int64},
    )
    frame, _ = cohort_counts(unknown, ["2025"], "2022")
    assert frame.rows() == [("2025", 0, 0)]


def test_p_increase_is_one_when_nobody_or_everybody_reoffended():
    # pooled rate 0 (or 1): se = 0, z = 0/0 has no value; all three p-values are 1 (Fisher's exact test's)
    for current, baseline in ((Counts("now", 0, 5), Counts("then", 0, 7)), (Counts("now", 4, 4), Counts("then", 9, 9))):
        row = one(current, baseline)
        assert (row["p_two_sided"], row["p_reduction"], row["p_increase"]) == (1.0, 1.0, 1.0)
        assert row["z"] is None and row["verdict"] == "no significant change"
    # and one that is not degenerate: 1/2 against 0/2, pooled 1/4, se = sqrt(3/16 * (1/2 + 1/2)) = 0.43301,
    # z = 0.5 / 0.43301 = 1.1547; p_increase = Φ(-1.1547) = 0.12410, p_reduction = Φ(1.1547) = 0.87590
    row = one(Counts("now", 1, 2), Counts("then", 0, 2))
    assert row["p_increase"] == pytest.approx(phi(-0.5 / math.sqrt(3 / 16)), rel=1e-12)
    assert row["p_increase"] == pytest.approx(0.12410, abs=1e-5)
    assert row["p_reduction"] + row["p_increase"] == pytest.approx(1.0)


def test_a_difference_of_exactly_zero_is_never_negative_zero(cli):
    row = one(Counts("a", 30, 100), Counts("b", 30, 100))
    # 30/100 - 30/100 = 0 exactly; the reduction is -0 = -0.0 in floating point unless normalised to 0.0
    for column in ("difference_pp", "reduction_pp"):
        assert row[column] == 0.0 and math.copysign(1, row[column]) == 1, column
    status, out, _ = cli("compare", "baseline", "--current-counts", "30/100", "--baseline-counts", "30/100", "--csv")
    assert status == 0 and "-0.0" not in out and ",-0," not in out


def test_the_warnings_say_which_cohorts_are_empty_small_or_the_same():
    result = compare_counts([Counts("q1", 0, 0), Counts("q2", 0, 0)], Counts("then", 5, 10), BaselineParams())
    assert result.warnings == ["empty current cohorts: q1, q2: no comparison"]  # the noun agrees: 2 cohorts
    empty_baseline = compare_counts([Counts("now", 1, 2)], Counts("then", 0, 0), BaselineParams())
    assert empty_baseline.warnings == ["the baseline cohort then is empty: nothing to compare"]
    # 2/10 against 4/10: pooled 6/20 = 0.3, expected reoffenders 0.3 * 10 = 3 < 5: the approximation is rough
    small = compare_counts([Counts("now", 2, 10)], Counts("then", 4, 10), BaselineParams())
    assert len(small.warnings) == 1 and small.warnings[0].startswith("fewer than 5 expected reoffenders")
    assert "(now against the baseline)" in small.warnings[0]
    # 50/100 against 50/100: pooled 0.5, expected 0.5 * 100 = 50 each side: no warning; 5 exactly is enough
    assert compare_counts([Counts("now", 50, 100)], Counts("then", 50, 100), BaselineParams()).warnings == []
    # 5/20 against 5/20: pooled 0.25, expected reoffenders 0.25 * 20 = 5, not fewer than 5
    assert compare_counts([Counts("now", 5, 20)], Counts("then", 5, 20), BaselineParams()).warnings == []
    same = compare_counts([Counts("then", 50, 100)], Counts("then", 50, 100), BaselineParams())
    assert same.warnings == ["cohort then is compared with itself"]


def test_a_result_checks_its_rows_against_the_declared_columns():
    from reoffend.compare.baseline import BaselineResult
    from reoffend.report.schema import ResultSchemaError

    result = compare_counts([Counts("now", 48, 100)], Counts("then", 53, 100), BaselineParams())
    with pytest.raises(ResultSchemaError, match="missing \\['z'\\]"):
        BaselineResult(result.rows.drop("z"), result.params)


def test_an_empty_cohort_has_no_statistic_at_all():
    # 0/0 against 53/100, and 48/100 against an empty baseline: nothing to compare, so every statistic is null,
    # the interval's level included (there is no interval to have a level)
    for current, baseline in (
        (Counts("empty", 0, 0), Counts("then", 53, 100)),
        (Counts("now", 48, 100), Counts("e", 0, 0)),
    ):
        row = one(current, baseline)
        for column in ("difference_pp", "difference_pp_low", "reduction_pp_high", "interval_confidence", "z"):
            assert row[column] is None, column
        assert (row["p_two_sided"], row["p_reduction"], row["p_increase"], row["p_adjusted"]) == (None,) * 4
        assert row["verdict"] == "too few to test"


def test_the_rough_approximation_warning_counts_both_reoffenders_and_non_reoffenders():
    # 18/20 against 18/20: pooled 36/40 = 0.9; expected reoffenders 0.9 * 20 = 18, but expected non-reoffenders
    # (1 - 0.9) * 20 = 2, fewer than 5: rough
    rough = compare_counts([Counts("now", 18, 20)], Counts("then", 18, 20), BaselineParams())
    assert len(rough.warnings) == 1 and rough.warnings[0].startswith("fewer than 5 expected")
    # a cohort of one person (1/1 against 50/100, and the other way round): pooled 51/101, min(0.505, 0.495) * 1
    # = 0.495 expected, fewer than 5: warned, however small
    for current, baseline in (
        (Counts("one", 1, 1), Counts("then", 50, 100)),
        (Counts("now", 50, 100), Counts("one", 1, 1)),
    ):
        warned = compare_counts([current], baseline, BaselineParams()).warnings
        assert len(warned) == 1 and warned[0].startswith("fewer than 5 expected"), warned
