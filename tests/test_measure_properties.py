"""Properties that must hold for any input (hypothesis)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.window import add_months_to_date

from .conftest import run

PEOPLE = ["A", "B", "C", "D", "E"]
FIRST = dt.date(2021, 1, 1)
EXTRACT = dt.date(2030, 1, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def populations(draw, day_of_month_max: int = 28):
    """Releases and convictions on days 1..28 of a month (away from month ends, where shifting is not neutral)."""

    def day(low_month: int, high_month: int) -> dt.date:
        month = draw(st.integers(low_month, high_month))
        return dt.date(2021 + month // 12, month % 12 + 1, draw(st.integers(1, day_of_month_max)))

    people = draw(st.lists(st.sampled_from(PEOPLE), min_size=0, max_size=8))
    releases, seen = [], set()
    for person in people:
        date = day(0, 23)
        if (person, date) not in seen:
            seen.add((person, date))
            releases.append(
                {
                    "offender_id": person,
                    "release_date": date.isoformat(),
                    "establishment": draw(st.sampled_from(["E1", "E2"])),
                }
            )
    convictions = []
    for _ in range(draw(st.integers(0, 15))):
        offence = day(0, 40)
        lag = draw(st.integers(0, 400))
        convictions.append(
            {
                "offender_id": draw(st.sampled_from(PEOPLE)),
                "offence_date": offence.isoformat(),
                "conviction_date": (offence + dt.timedelta(days=lag)).isoformat(),
            }
        )
    return releases, convictions


def measured(releases, convictions, **params):
    return run(releases, convictions, extract_date=EXTRACT, **params)


@SETTINGS
@given(populations())
def test_rates_are_proportions_and_counts_are_consistent(population):
    rows = measured(*population, by=("cohort", "establishment")).rows
    for row in rows.iter_rows(named=True):
        assert 0 <= row["binary_rate_low"] <= row["binary_rate"] <= row["binary_rate_high"] <= 1
        assert 0 <= row["reoffenders"] <= row["cohort_size"]
        assert row["reoffenders"] <= row["reconviction_events"] <= row["reoffences"]


@SETTINGS
@given(populations(), st.integers(-5, 5).filter(bool))
def test_shifting_every_date_by_whole_leap_cycles_changes_nothing(population, cycles):
    """Shifting by 4-year cycles keeps the day of the month and the leap days, so windows shift exactly.

    (A shift of N days in general does not: a 12-month window is 365 or 366 days long.)
    """
    releases, convictions = population
    years = 4 * cycles

    def shift(text: str) -> str:
        day = dt.date.fromisoformat(text)
        return day.replace(year=day.year + years).isoformat()

    moved_releases = [{**r, "release_date": shift(r["release_date"])} for r in releases]
    moved_convictions = [
        {**c, "offence_date": shift(c["offence_date"]), "conviction_date": shift(c["conviction_date"])}
        for c in convictions
    ]
    before = measured(releases, convictions, by=("establishment",)).rows
    after = run(
        moved_releases,
        moved_convictions,
        by=("establishment",),
        extract_date=EXTRACT.replace(year=EXTRACT.year + years),
    ).rows
    assert_frame_equal(before, after)


@SETTINGS
@given(populations(day_of_month_max=28), st.data())
def test_shifting_every_date_by_days_within_the_month_changes_nothing(population, data):
    """A shift of whole days that keeps every date inside its month (days 1..28 stay within 1..28).

    The shift is drawn from the range the population allows, never 0 (a shift of 0 would test nothing).
    """
    releases, convictions = population
    dates = [r["release_date"] for r in releases] + [c["offence_date"] for c in convictions]
    days_of_month = [dt.date.fromisoformat(d).day for d in dates] or [14]
    low, high = 1 - min(days_of_month), 28 - max(days_of_month)
    assume(low < 0 or high > 0)
    days = data.draw(st.integers(low, high).filter(bool), label="days")

    def shift(text: str) -> str:
        return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()

    moved_releases = [{**r, "release_date": shift(r["release_date"])} for r in releases]
    moved_convictions = [
        {**c, "offence_date": shift(c["offence_date"]), "conviction_date": shift(c["conviction_date"])}
        for c in convictions
    ]
    # cohorts are labelled by quarter, so compare by establishment, where labels do not move
    before = measured(releases, convictions, by=("establishment",)).rows
    after = measured(moved_releases, moved_convictions, by=("establishment",)).rows
    assert_frame_equal(before, after)


@SETTINGS
@given(populations(), st.sampled_from(PEOPLE), st.integers(0, 400))
def test_a_conviction_after_the_deadline_changes_nothing(population, person, extra_days):
    releases, convictions = population
    before = measured(releases, convictions, by=("cohort",))
    # an offence of `person` convicted after the latest conviction deadline of any of their releases
    deadlines = before.per_release.filter(pl.col("offender_id") == person)["conviction_deadline"].to_list()
    latest = max(deadlines, default=dt.date(2021, 6, 1))
    late = {
        "offender_id": person,
        "offence_date": add_months_to_date(latest, -7).isoformat(),
        "conviction_date": (latest + dt.timedelta(days=extra_days)).isoformat(),
    }
    after = measured(releases, [*convictions, late], by=("cohort",))
    assert_frame_equal(before.rows, after.rows)


@SETTINGS
@given(populations())
def test_measuring_each_cohort_separately_gives_the_same_rows(population):
    releases, convictions = population
    whole = measured(releases, convictions, by=("cohort", "establishment")).rows
    cohorts = whole["cohort"].unique().sort().to_list()
    parts = [
        measured(releases, convictions, by=("cohort", "establishment"), where={"cohort": (c,)}).rows for c in cohorts
    ]
    combined = pl.concat(parts) if parts else whole.clear()
    assert_frame_equal(whole, combined)


@SETTINGS
@given(populations(), st.randoms(use_true_random=False))
def test_row_order_of_the_inputs_does_not_matter(population, random):
    releases, convictions = population
    shuffled_releases, shuffled_convictions = list(releases), list(convictions)
    random.shuffle(shuffled_releases)
    random.shuffle(shuffled_convictions)
    before = measured(releases, convictions, by=("cohort", "establishment"))
    after = measured(shuffled_releases, shuffled_convictions, by=("cohort", "establishment"))
    assert_frame_equal(before.rows, after.rows)
    assert_frame_equal(before.per_release, after.per_release)


@SETTINGS
@given(populations())
def test_splitting_the_files_and_concatenating_gives_the_same_result(population):
    releases, convictions = population
    half_r, half_c = len(releases) // 2, len(convictions) // 2
    rejoined_releases = releases[:half_r] + releases[half_r:]
    rejoined_convictions = convictions[half_c:] + convictions[:half_c]
    a = measured(releases, convictions, by=("cohort",)).rows
    b = measured(rejoined_releases, rejoined_convictions, by=("cohort",)).rows
    assert_frame_equal(a, b)
