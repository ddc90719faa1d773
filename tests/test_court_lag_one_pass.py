"""The bulletin's court-lag curve, counted in one pass, equals the measure run once per waiting period.

`court_lag` joins once under the longest window and counts, for each waiting period m, the pairs and releases
whose shortest proving waiting period is at most m. The reference here is the definition itself: the full
measure (reoffend.measure.measure) run with each window FollowUpWindow(12, m), m = 0..longest, over the same
cohorts. Checked on synthetic data and on month ends, where the deadline clamps (a day missing from the
target month becomes its last day), with convictions on the day before, on and after each deadline.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.bulletin.stats import CohortMeasures, cohort_completeness, court_lag, lag_cohorts, restrict_cohorts
from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
from reoffend.window import FollowUpWindow, add_months_to_date


def _inputs(releases: pl.DataFrame, convictions: pl.DataFrame, extract: dt.date):
    return validate_inputs(
        Table("releases.csv", RELEASES, releases.lazy()),
        Table("convictions.csv", CONVICTIONS, convictions.lazy()),
        extract_date=extract,
    )


def _one_measure_per_waiting_period(inputs, params, cohorts, longest):
    rows = []
    for months in range(longest + 1):
        window = FollowUpWindow(params.window.follow_up_months, months)
        result = measure(inputs, restrict_cohorts(params, cohorts, by=(), window=window)).rows
        rows.append(result.select(pl.lit(months, dtype=pl.Int64).alias("waiting_period_months"), pl.all()))
    return pl.concat(rows).select("waiting_period_months", "cohort_size", "reoffenders", "binary_rate", "reoffences")


def _check(inputs, params, cohorts, longest):
    lag = court_lag(inputs, params, cohorts, longest)
    expected = _one_measure_per_waiting_period(inputs, params, cohorts, longest)
    assert lag.drop("share_of_reoffences", "share_of_reoffenders").equals(expected)
    return lag


def test_one_pass_equals_one_measure_per_waiting_period_on_synth():
    releases, convictions, _ = generate(SynthParams(releases=4000, seed=3, establishments=12, cohorts=4))
    inputs = _inputs(releases, convictions, dt.date(2026, 1, 1))
    params = MeasureParams(excluded_offences=frozenset({"BREACH"}))
    lag = _check(inputs, params, ["2022Q1", "2022Q2", "2022Q3"], 12)
    assert lag["reoffences"].to_list() != sorted(set(lag["reoffences"].to_list()))[:1] * 13  # the curve rises
    assert lag["reoffences"][0] < lag["reoffences"][-1]


def test_month_end_deadlines_day_before_on_and_after():
    releases = [("A", dt.date(2022, 1, 31)), ("B", dt.date(2022, 2, 28)), ("C", dt.date(2022, 3, 31))]
    release_rows, conviction_rows = [], []
    for person, released in releases:
        release_rows.append({"offender_id": person, "release_date": released, "establishment": "E1"})
        end = add_months_to_date(released, 12)
        for months in (0, 1, 6, 11):
            deadline = add_months_to_date(end, months)  # the clamped deadline under a waiting period of `months`
            for offset in (-1, 0, 1):
                conviction_rows.append(
                    {
                        "offender_id": person,
                        "offence_date": end - dt.timedelta(days=1),
                        "conviction_date": deadline + dt.timedelta(days=offset),
                    }
                )
    inputs = _inputs(pl.DataFrame(release_rows), pl.DataFrame(conviction_rows), dt.date(2025, 6, 1))
    lag = _check(inputs, MeasureParams(), ["2022Q1"], 12)
    assert lag["reoffences"][-1] == 3 * 4 * 3  # every conviction is within 12 months of the follow-up's end


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 800), st.integers(0, 500)),
        min_size=0,
        max_size=30,
    ),
    st.integers(0, 4),
)
def test_one_pass_equals_per_window_measure_on_random_lags(offences, longest):
    start = dt.date(2022, 1, 28)
    release_rows = [
        {"offender_id": f"P{p}", "release_date": start + dt.timedelta(days=3 * p), "establishment": "E1"}
        for p in range(4)
    ]
    conviction_rows = [
        {
            "offender_id": f"P{p}",
            "offence_date": start + dt.timedelta(days=offence_day),
            "conviction_date": start + dt.timedelta(days=offence_day + lag),
        }
        for p, offence_day, lag in offences
    ]
    convictions = pl.DataFrame(
        conviction_rows, schema={"offender_id": pl.String, "offence_date": pl.Date, "conviction_date": pl.Date}
    )
    inputs = _inputs(pl.DataFrame(release_rows), convictions, dt.date(2026, 1, 1))
    _check(inputs, MeasureParams(), ["2022Q1"], longest)


def test_one_join_for_trend_establishments_and_court_lag_equals_separate_measures():
    # the bulletin's CohortMeasures: measured once over the complete cohorts with the configured window
    # (12 + 6), joined once under 12 + 12; its tables equal a measure per table and per waiting period
    extract = dt.date(2024, 6, 30)
    synth = SynthParams(releases=3000, seed=11, establishments=6, cohorts=4, extract_date=extract)
    releases, convictions, _ = generate(synth)
    inputs = _inputs(releases, convictions, extract)
    params = MeasureParams(excluded_offences=frozenset({"BREACH"}), incomplete="exclude")
    complete = cohort_completeness(inputs, params).filter(pl.col("complete"))["cohort"].to_list()
    lag_set = lag_cohorts(cohort_completeness(inputs, params, FollowUpWindow(12, 12)))
    assert complete == ["2022Q1", "2022Q2", "2022Q3", "2022Q4"] and lag_set == ["2022Q1", "2022Q2"]
    measured = CohortMeasures(inputs, restrict_cohorts(params, complete), ("establishment",), 12)
    assert measured.rows(("cohort",)).equals(measure(inputs, restrict_cohorts(params, complete)).rows)
    # the establishments of each cohort come from one table of every cohort (issue 30): each is its own measure
    for cohort in complete:
        by_site = measure(inputs, restrict_cohorts(params, [cohort], by=("cohort", "establishment"))).rows
        assert measured.rows(("cohort", "establishment"), cohort).equals(by_site), cohort
    assert measured.rows(("establishment",), "2022Q4").equals(by_site.drop("cohort"))  # no cohort column
    lag = measured.court_lag(lag_set)
    expected = _one_measure_per_waiting_period(inputs, params, lag_set, 12)
    assert lag.drop("share_of_reoffences", "share_of_reoffenders").equals(expected)
    assert lag["reoffences"][0] < lag["reoffences"][-1]
    # each cohort's reoffenders per waiting period, from one pass, are court_lag's of that cohort alone
    per_cohort = measured.court_lag_reoffenders(lag_set)
    for cohort in lag_set:
        own = measured.court_lag([cohort]).select("waiting_period_months", "cohort_size", "reoffenders")
        mine = per_cohort.filter(pl.col("cohort") == cohort).drop("cohort")
        assert mine.equals(own), cohort


def test_lag_counts_by_position_are_those_of_a_join_with_the_releases():
    # CohortMeasures.lag_counts finds each pair's and release's cohort at its RELEASE_KEY's position in the keyed
    # releases (a gather): the same counts as joining on the key, per cohort and least waiting period
    from reoffend.bulletin.stats import NEEDED
    from reoffend.measure import RELEASE_KEY

    releases, convictions, _ = generate(SynthParams(releases=3000, seed=5, establishments=6, cohorts=4))
    inputs = _inputs(releases, convictions, dt.date(2026, 1, 1))
    measured = CohortMeasures(inputs, MeasureParams(excluded_offences=frozenset({"BREACH"})), ("establishment",), 12)
    cohorts = measured.keyed.select(RELEASE_KEY, "cohort")
    assert cohorts[RELEASE_KEY].to_list() == list(range(cohorts.height))  # the key is the row number

    def joined(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(cohorts, on=RELEASE_KEY, how="inner").group_by("cohort", NEEDED).len()

    sizes, pairs, first = measured.lag_counts()
    order = ["cohort", NEEDED]
    assert pairs.sort(order).equals(joined(measured.pairs).sort(order))
    assert first.sort(order).equals(joined(measured.first_needed()).sort(order))
    assert pairs.height > 10 and pairs["cohort"].n_unique() > 1
    assert sizes.sort("cohort").equals(cohorts.group_by("cohort").len().sort("cohort"))
