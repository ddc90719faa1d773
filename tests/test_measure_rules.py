"""Hand-made fixtures, one per rule of docs/measures.md, with the arithmetic written out."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from reoffend.cohort import period_label
from reoffend.window import FollowUpWindow, add_months_to_date

from .conftest import D, one_row, run

REL = "2023-03-15"  # a mid-month release: follow_up_end 2024-03-15, conviction_deadline 2024-09-15


def release(offender="A", date=REL, establishment="E1", **extra):
    return {"offender_id": offender, "release_date": date, "establishment": establishment, **extra}


def offence(offender="A", offence_date="2023-06-01", conviction_date="2023-08-01", **extra):
    return {"offender_id": offender, "offence_date": offence_date, "conviction_date": conviction_date, **extra}


# ---------------------------------------------------------------------------------------------- window
@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-02-29", 12, "2025-02-28"),  # 29 February + 12 months: no 29th in Feb 2025, clamp to the 28th
        ("2023-08-31", 6, "2024-02-29"),  # 31 August + 6 months: February 2024 has 29 days
        ("2023-01-31", 1, "2023-02-28"),
        ("2023-03-15", 12, "2024-03-15"),  # an ordinary day keeps its number
        ("2023-12-31", 3, "2024-03-31"),
    ],
)
def test_month_arithmetic_clamps_to_month_end(start, months, expected):
    assert add_months_to_date(D(start), months) == D(expected)


def test_window_of_29_february_release():
    # release 2024-02-29: follow_up_end = 2025-02-28 (clamped); conviction_deadline = 2025-02-28 + 6 months = 2025-08-28
    result = run([release(date="2024-02-29")], [])
    row = result.per_release.row(0, named=True)
    assert row["follow_up_end"] == D("2025-02-28")
    assert row["conviction_deadline"] == D("2025-08-28")


def test_window_of_31_august_release():
    # release 2023-08-31: follow_up_end 2024-08-31; conviction_deadline = 2024-08-31 + 6 months = 2025-02-28
    row = run([release(date="2023-08-31")], []).per_release.row(0, named=True)
    assert (row["follow_up_end"], row["conviction_deadline"]) == (D("2024-08-31"), D("2025-02-28"))


# ------------------------------------------------------------------------------------------ boundaries
def reoffences_of(offence_date, conviction_date, release_date=REL):
    result = run([release(date=release_date)], [offence(offence_date=offence_date, conviction_date=conviction_date)])
    return result.per_release["reoffences"][0]


def test_offence_on_release_day_counts():
    # follow_up_start is inclusive: offence_date == release_date counts
    assert reoffences_of("2023-03-15", "2023-04-01") == 1


def test_offence_the_day_before_release_does_not_count():
    assert reoffences_of("2023-03-14", "2023-04-01") == 0


def test_offence_on_follow_up_end_does_not_count():
    # follow_up_end = 2023-03-15 + 12 months = 2024-03-15, exclusive
    assert reoffences_of("2024-03-15", "2024-04-01") == 0
    assert reoffences_of("2024-03-14", "2024-04-01") == 1


def test_conviction_on_deadline_does_not_count_and_day_before_does():
    # conviction_deadline = 2024-03-15 + 6 months = 2024-09-15, exclusive
    assert reoffences_of("2024-01-10", "2024-09-15") == 0
    assert reoffences_of("2024-01-10", "2024-09-14") == 1


def test_offence_before_release_convicted_after_it_does_not_count():
    assert reoffences_of("2023-01-01", "2023-05-01") == 0


# ------------------------------------------------------------------------------------- events, counts
def test_two_offences_convicted_on_one_day_are_one_event_and_two_reoffences():
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-07-01"),
        offence(offence_date="2023-06-01", conviction_date="2023-07-01"),
        offence(offence_date="2023-08-01", conviction_date="2023-10-01"),
    ]
    row = run([release()], convictions).per_release.row(0, named=True)
    # 3 offences in the window; conviction dates {2023-07-01, 2023-10-01}: 2 distinct court appearances
    assert row["reoffences"] == 3
    assert row["reconviction_events"] == 2
    # first reoffence 2023-05-01 - 2023-03-15 = 16 (rest of March) + 30 (April) = 47 days
    assert row["days_to_first_reoffence"] == 47


def test_appearance_id_defines_events_instead_of_dates():
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-07-01", appearance_id="H1"),
        offence(offence_date="2023-05-02", conviction_date="2023-07-01", appearance_id="H2"),
        offence(offence_date="2023-06-01", conviction_date="2023-08-01", appearance_id="H2"),
    ]
    row = run([release()], convictions).per_release.row(0, named=True)
    # appearances {H1, H2}: 2 events although the conviction dates are {07-01, 08-01} and H1/H2 share a date
    assert (row["reoffences"], row["reconviction_events"]) == (3, 2)


def test_two_releases_in_one_cohort_the_earlier_is_the_index():
    releases = [release(date="2023-01-10"), release(date="2023-03-20", establishment="E2")]
    convictions = [offence(offence_date="2023-01-20", conviction_date="2023-02-01")]
    first = run(releases, convictions, by=("cohort", "establishment"))
    # both releases are in 2023Q1; the index release is 2023-01-10 at E1 and its window holds the offence
    assert first.rows.select("cohort", "establishment", "cohort_size", "reoffenders").rows() == [("2023Q1", "E1", 1, 1)]
    every = run(releases, convictions, by=("cohort", "establishment"), index="all")
    # --index all: each release has its own window; the offence (2023-01-20) precedes the second release
    assert every.rows.select("establishment", "cohort_size", "reoffenders").rows() == [("E1", 1, 1), ("E2", 1, 0)]


def test_overlapping_windows_of_releases_in_two_cohorts_count_the_same_offence_twice():
    releases = [release(date="2023-02-01"), release(date="2023-05-01")]  # 2023Q1 and 2023Q2
    convictions = [offence(offence_date="2023-06-01", conviction_date="2023-07-01")]
    result = run(releases, convictions)
    assert result.rows.select("cohort", "reoffences").rows() == [("2023Q1", 1), ("2023Q2", 1)]


def test_group_measures_by_hand():
    releases = [release("A"), release("B"), release("C"), release("D")]
    convictions = [
        offence("A", "2023-04-01", "2023-05-01"),
        offence("A", "2023-04-02", "2023-05-01"),  # same day as the row above: one event
        offence("A", "2023-09-01", "2023-11-01"),
        offence("B", "2023-12-01", "2024-02-01"),
    ]
    row = one_row(run(releases, convictions))
    # A: 3 reoffences, 2 events, first after 17 days; B: 1 reoffence, 1 event, first after 261 days; C, D: none
    assert row["cohort_size"] == 4
    assert row["reoffenders"] == 2
    assert row["binary_rate"] == 2 / 4
    assert row["reoffences"] == 4
    assert row["reoffences_per_offender"] == 4 / 4
    assert row["reoffences_per_reoffender"] == 4 / 2
    assert row["reconviction_events"] == 3
    assert row["events_per_100"] == 100 * 3 / 4
    assert row["events_per_reoffender"] == 3 / 2
    # days: 2023-04-01 - 2023-03-15 = 17; 2023-12-01 - 2023-03-15 = 16+30+31+30+31+31+30+31+30+1 = 261
    assert row["mean_days_to_first"] == (17 + 261) / 2
    assert row["median_days_to_first"] == (17 + 261) / 2


def test_group_with_no_reoffenders_has_null_per_reoffender_measures():
    row = one_row(run([release("A"), release("B")], [offence("A", "2020-01-01", "2020-02-01")]))
    assert (row["cohort_size"], row["reoffenders"], row["binary_rate"]) == (2, 0, 0.0)
    assert row["reoffences_per_reoffender"] is None
    assert row["events_per_reoffender"] is None
    assert row["mean_days_to_first"] is None
    assert row["binary_rate_low"] == 0.0 and 0 < row["binary_rate_high"] < 1


def test_empty_input_overall_row_has_zero_counts_and_null_rates():
    row = one_row(run([], [], by=()))
    assert (row["cohort_size"], row["reoffenders"], row["reoffences"], row["reconviction_events"]) == (0, 0, 0, 0)
    for rate in ("binary_rate", "binary_rate_low", "binary_rate_high", "reoffences_per_offender", "events_per_100"):
        assert row[rate] is None


def test_empty_input_grouped_has_no_rows():
    assert run([], [], by=("cohort",)).rows.height == 0


def test_excluded_offence_codes_do_not_count():
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-06-01", offence_code="BREACH"),
        offence(offence_date="2023-07-01", conviction_date="2023-08-01", offence_code="THEFT"),
    ]
    counted = run([release()], convictions).per_release["reoffences"][0]
    excluded = run([release()], convictions, excluded_offences=frozenset({"BREACH"})).per_release
    assert counted == 2
    assert excluded["reoffences"][0] == 1
    # the first reoffence is now the theft: 2023-07-01 - 2023-03-15 = 16+30+31+30+1 = 108 days
    assert excluded["days_to_first_reoffence"][0] == 108


@pytest.mark.parametrize(
    ("period", "date", "label"),
    [
        ("month", "2024-01-31", "2024-01"),
        ("quarter", "2024-03-31", "2024Q1"),
        ("quarter", "2024-04-01", "2024Q2"),
        ("year", "2024-12-31", "2024"),
        ("financial-year", "2024-03-31", "2023-24"),  # April 2023 .. March 2024
        ("financial-year", "2024-04-01", "2024-25"),
        ("financial-year", "2000-01-15", "1999-00"),
        ("financial-year", "2009-06-30", "2009-10"),
    ],
)
def test_period_labels(period, date, label):
    frame = pl.DataFrame({"d": [D(date)]})
    assert frame.select(period_label(pl.col("d"), period)).item() == label


def test_cohort_column_in_the_file_beats_the_period():
    releases = [release("A", cohort="pilot-1"), release("B", date="2023-09-01", cohort="pilot-1")]
    assert run(releases, []).rows["cohort"].to_list() == ["pilot-1"]


def test_where_filters_after_the_index_release_is_chosen():
    # A's index release in 2023Q1 is at E1; filtering to E2 must not make the E2 release an index release
    releases = [release("A", "2023-01-10", "E1"), release("A", "2023-02-10", "E2"), release("B", "2023-02-01", "E2")]
    result = run(releases, [], by=("establishment",), where={"establishment": ("E2",)})
    assert result.rows.select("establishment", "cohort_size").rows() == [("E2", 1)]


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (480, 1000), (1, 1), (57, 113)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_statsmodels(x, n, confidence):
    releases = [release(f"P{i}") for i in range(n)]
    convictions = [offence(f"P{i}") for i in range(x)]
    row = one_row(run(releases, convictions, confidence=confidence))
    low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    assert row["binary_rate_low"] == pytest.approx(low, abs=1e-12)
    assert row["binary_rate_high"] == pytest.approx(high, abs=1e-12)


def test_wilson_bounds_are_exact_at_zero_and_all():
    none = one_row(run([release(f"P{i}") for i in range(7)], []))
    every = one_row(run([release(f"P{i}") for i in range(7)], [offence(f"P{i}") for i in range(7)]))
    assert none["binary_rate_low"] == 0.0
    assert every["binary_rate_high"] == 1.0


def test_follow_up_and_waiting_period_are_parameters():
    # 6-month follow-up, no waiting period: end 2023-09-15, deadline 2023-09-15
    window = FollowUpWindow(follow_up_months=6, waiting_period_months=0)
    convictions = [
        offence(offence_date="2023-09-01", conviction_date="2023-09-14"),  # counts
        offence(offence_date="2023-09-02", conviction_date="2023-09-15"),  # convicted on the deadline
        offence(offence_date="2023-09-15", conviction_date="2023-09-16"),  # offence on follow_up_end
    ]
    assert run([release()], convictions, window=window).per_release["reoffences"][0] == 1


def test_latest_complete_release_is_exact():
    window = FollowUpWindow()
    extract = D("2025-09-14")
    latest = window.latest_complete_release(extract)
    # release 2024-03-15 -> deadline 2025-09-15 <= extract + 1 day: complete; 2024-03-16 -> 2025-09-16: not
    assert latest == D("2024-03-15")
    assert add_months_to_date(add_months_to_date(latest, 12), 6) <= extract + dt.timedelta(days=1)


# ------------------------------------------------------------------------ edges found by mutation testing (issue 33)
def test_the_parameters_are_checked_and_recorded():
    from reoffend.errors import UsageError
    from reoffend.measure import MeasureParams

    for bad in (0.0, 1.0, -0.5, 1.5):  # a confidence strictly between 0 and 1
        with pytest.raises(UsageError, match="confidence must be between 0 and 1"):
            MeasureParams(confidence=bad)
    MeasureParams(confidence=0.5)
    for taken in ("binary_rate", "follow_up_end", "conviction_deadline"):
        with pytest.raises(UsageError, match=f"cannot group by '{taken}'"):
            MeasureParams(by=("cohort", taken))
    with pytest.raises(UsageError, match="incomplete must be"):
        MeasureParams(incomplete="maybe")  # type: ignore[arg-type]
    recorded = MeasureParams(
        by=("cohort", "sex"), excluded_offences=frozenset({"b", "a"}), where={"sex": ("F",), "age": ("18", "21")}
    ).as_dict()
    assert recorded["by"] == ["cohort", "sex"] and recorded["excluded_offences"] == ["a", "b"]
    assert recorded["where"] == {"age": ["18", "21"], "sex": ["F"]}  # sorted by column
    assert recorded["window"]["follow_up_end"] == "release_date + 12 calendar months (exclusive)"


def test_a_result_checks_its_rows_against_the_declared_columns():
    from reoffend.measure import MeasureResult
    from reoffend.report.schema import ResultSchemaError

    result = run([{"offender_id": "a", "release_date": "2020-01-15"}], [])
    with pytest.raises(ResultSchemaError, match="missing"):
        MeasureResult(result.rows.drop("binary_rate"), None, result.params, {})


def test_the_policy_and_engine_types_name_what_the_code_accepts():
    from typing import get_args

    from reoffend.errors import UsageError
    from reoffend.measure import Engine, IncompletePolicy, MeasureParams

    # the CLI's choices are these types (cli/options.py, cli/measure.py): each policy is accepted, nothing else
    assert get_args(IncompletePolicy) == ("error", "exclude")
    assert get_args(Engine) == ("auto", "in-memory", "streaming")
    for policy in get_args(IncompletePolicy):
        MeasureParams(incomplete=policy)
    with pytest.raises(UsageError):
        MeasureParams(incomplete="skip")  # type: ignore[arg-type]


def test_an_unknown_group_column_is_named_with_the_reserved_hint_only_for_a_reserved_name():
    from reoffend.errors import UsageError
    from reoffend.io import RESERVED_HINT

    with pytest.raises(UsageError, match=r"no column 'wing' to group or filter by") as plain:
        run([release()], [], by=("cohort", "wing"))
    assert RESERVED_HINT not in str(plain.value)
    with pytest.raises(UsageError, match=r"no column '_wing'") as reserved:
        run([release()], [], by=("cohort", "_wing"))
    assert RESERVED_HINT in str(reserved.value)


def test_a_where_value_no_release_has_is_invalid_data():
    from reoffend.errors import DataError

    # E1 is the only establishment: --where establishment=E9 matches nobody, an error (exit 65), not 0 rows
    with pytest.raises(DataError, match="E9"):
        run([release()], [], where={"establishment": ("E9",)})


def test_partial_periods_are_recorded_only_for_period_cohorts():
    # releases from 2023-02-10 to 2023-04-20 by quarter: 2023Q1 runs January to March but the data begins in
    # February (partial), 2023Q2 runs April to June but the data ends in April (partial)
    releases = [release("A", "2023-02-10"), release("B", "2023-04-20")]
    facts = run(releases, []).metadata
    assert facts["partial_period"] is True
    assert [p["cohort"] for p in facts["partial_periods"]] == ["2023Q1", "2023Q2"]
    # the same dates over whole quarters: 2023-01-05 (Q1 begins in January) to 2023-06-20 (Q2 ends in June)
    whole = run([release("A", "2023-01-05"), release("B", "2023-06-20")], []).metadata
    assert whole["partial_period"] is False and "partial_periods" not in whole
    # a file's own cohort column is never partial, whatever its dates
    own = run([release("A", "2023-02-10", cohort="pilot"), release("B", "2023-04-20", cohort="pilot")], []).metadata
    assert own["partial_period"] is False and "partial_periods" not in own


def test_latest_cohort_keeps_only_the_latest_and_records_it():
    # A in 2023Q1, B and C in 2023Q2: the latest cohort is 2023Q2, of 2 releases
    releases = [release("A", "2023-01-10"), release("B", "2023-04-10"), release("C", "2023-05-10")]
    result = run(releases, [], latest_cohort=True)
    assert result.rows.select("cohort", "cohort_size").rows() == [("2023Q2", 2)]
    assert result.metadata["latest_cohort"] == "2023Q2"


def test_incomplete_follow_up_is_an_error_or_excluded_by_policy():
    from reoffend.errors import DataError

    # default window 12 + 6 months: release 2023-03-15 has deadline 2024-09-15, complete at extract 2024-09-14
    # (the day after the extract is the deadline); release 2023-03-16 (deadline 2024-09-16) is not
    releases = [release("A", "2023-03-15"), release("B", "2023-03-16"), release("C", "2023-03-17")]
    extract = D("2024-09-14")
    with pytest.raises(DataError, match=r"2 releases have follow-up not yet complete") as error:
        run(releases, [], extract_date=extract)
    assert "(their conviction deadline is later)" in error.value.problems["message"][0]
    # the earliest incomplete is B's 2023-03-16, and 2023-03-15 is the latest complete release
    assert "earliest is dated 2023-03-16" in str(error.value.problems["message"][0])
    assert "Releases on or before 2023-03-15 are complete" in error.value.problems["message"][0]
    assert error.value.total_by_rule == {"incomplete-follow-up": 2}
    excluded = run(releases, [], extract_date=extract, incomplete="exclude")
    assert excluded.rows.select("cohort", "cohort_size").rows() == [("2023Q1", 1)]
    assert excluded.metadata["incomplete_releases_excluded"] == 2
    # one day later (extract 2024-09-15) B is complete too: 1 excluded
    assert (
        run(releases, [], extract_date=D("2024-09-15"), incomplete="exclude").metadata["incomplete_releases_excluded"]
        == 1
    )
    # and the message says so in the singular: C alone (deadline 2024-09-17) is incomplete at 2024-09-15
    with pytest.raises(DataError, match=r"1 release has follow-up not yet complete") as error:
        run(releases, [], extract_date=D("2024-09-15"))
    assert "(its conviction deadline is later); the earliest is dated 2023-03-17" in error.value.problems["message"][0]
    # when every release is complete nothing is counted
    assert run(releases, [], extract_date=D("2024-09-16")).metadata["incomplete_releases_excluded"] == 0


def test_a_result_keeps_its_warnings():
    from reoffend.measure import MeasureResult

    result = run([release()], [])
    assert result.warnings == []
    assert MeasureResult(result.rows, None, result.params, {}, ["w"]).warnings == ["w"]


def test_each_prefetch_query_has_a_name_of_its_own():
    from reoffend.measure import RELEASE_DAYS, MeasureParams, release_queries

    # a name stands for one query (validate.prefetched): the shared-key query depends on the period, so a
    # prefetch made for quarters must never be taken for years; index "all" needs no shared keys at all
    quarter, year = release_queries(MeasureParams(period="quarter")), release_queries(MeasureParams(period="year"))
    assert RELEASE_DAYS in quarter and RELEASE_DAYS in year
    assert len(quarter) == len(year) == 2 and set(quarter) != set(year)
    assert all(isinstance(name, str) for name in (*quarter, *year))
    assert list(release_queries(MeasureParams(index="all"))) == [RELEASE_DAYS]


def test_exclusions_need_an_offence_code_column_and_keep_rows_without_a_code():
    from reoffend.errors import UsageError

    with pytest.raises(UsageError, match="--exclude-offences needs an offence_code column"):
        run([release()], [offence()], excluded_offences=frozenset({"BREACH"}))
    # a conviction without an offence code is never excluded: it counts (1 of the 2 rows; BREACH is dropped)
    convictions = [offence(offence_code=None), offence(offence_date="2023-06-02", offence_code="BREACH")]
    kept = run([release()], convictions, excluded_offences=frozenset({"BREACH"})).per_release
    assert kept["reoffences"][0] == 1


def test_a_row_without_an_appearance_id_is_its_own_appearance_on_its_conviction_date():
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-07-01", appearance_id="H1"),
        offence(offence_date="2023-05-02", conviction_date="2023-07-01", appearance_id=None),
        offence(offence_date="2023-05-03", conviction_date="2023-07-01", appearance_id=None),
        offence(offence_date="2023-05-04", conviction_date="2023-08-01", appearance_id=None),
    ]
    row = run([release()], convictions).per_release.row(0, named=True)
    # events: H1, "date:2023-07-01" (the two rows without an id on that date) and "date:2023-08-01": 3 of 4 rows
    assert (row["reoffences"], row["reconviction_events"]) == (4, 3)


def test_an_appearance_id_that_reads_like_a_date_key_is_its_own_appearance():
    # hostile data stays data: the rows without an id are keyed by their conviction date; an id spelled as that
    # key ("date:2023-07-01") is a different appearance, not merged with them
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-07-01", appearance_id=None),
        offence(offence_date="2023-05-02", conviction_date="2023-07-01", appearance_id="date:2023-07-01"),
        offence(offence_date="2023-05-03", conviction_date="2023-09-01", appearance_id="date:2023-07-01"),
    ]
    row = run([release()], convictions).per_release.row(0, named=True)
    # events: the day 2023-07-01 without an id, and the id "date:2023-07-01" (2 rows): 2 events of 3 rows
    assert (row["reoffences"], row["reconviction_events"]) == (3, 2)


def test_an_empty_appearance_id_is_no_id():
    # a CSV's quoted "" reads as empty text, which SQL engines read as NULL: both are rows without an id, one
    # appearance per conviction date with the missing ids, whatever the reader
    convictions = [
        offence(offence_date="2023-05-01", conviction_date="2023-07-01", appearance_id=""),
        offence(offence_date="2023-05-02", conviction_date="2023-07-01", appearance_id=None),
        offence(offence_date="2023-05-03", conviction_date="2023-08-01", appearance_id=""),
        offence(offence_date="2023-05-04", conviction_date="2023-08-01", appearance_id=" "),
    ]
    row = run([release()], convictions).per_release.row(0, named=True)
    # events: the day 2023-07-01 (2 rows), the day 2023-08-01 (1 row) and the id " " (text, not empty): 3 of 4
    assert (row["reoffences"], row["reconviction_events"]) == (4, 3)


def test_a_quoted_empty_appearance_id_in_a_csv_is_no_id(cli, tmp_path):
    # found by review: the CSV reader reads a quoted "" as empty text (an unquoted blank as missing), so the rows
    # below were 2 appearances (the id "" and the day 2023-03-01) where DuckDB's reader of the same file saw 1
    (tmp_path / "r.csv").write_text("offender_id,release_date,establishment\nA,2023-01-05,E1\n")
    (tmp_path / "c.csv").write_text(
        'offender_id,offence_date,conviction_date,appearance_id\nA,2023-02-01,2023-03-01,""\nA,2023-02-02,2023-03-01,\n'
    )
    status, out, _ = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2030-01-01", "--format", "json"
    )
    row = json.loads(out)["rows"][0]
    assert status == 0 and (row["reoffences"], row["reconviction_events"]) == (2, 1)


def test_the_run_metadata_records_the_inputs_and_what_was_dropped():
    from reoffend.measure import MeasureParams, measure

    from .conftest import convictions_frame, releases_frame, validated

    releases = releases_frame([release("A"), release("A"), release("B")])  # A's row twice: one dropped
    inputs = validated(releases, convictions_frame([offence("A")]), extract_date=D("2030-01-01"), dedupe=True)
    metadata = measure(inputs, MeasureParams()).metadata
    assert metadata["duplicate_rows_dropped"]
    assert metadata["extract_date"] == "2030-01-01"
    assert metadata["inputs"]["releases"]["file"] == "releases.csv"
    assert metadata["inputs"]["convictions"]["rows"] == 1
    assert metadata["window"] == FollowUpWindow().as_dict()
    # the facts of measured_releases come along: releases of March 2023 only cover part of 2023Q1
    assert "as_at" in metadata and metadata["partial_period"] is True
    # the per-release table only when asked for (audit_table)
    assert measure(inputs, MeasureParams()).per_release is None
    # without duplicates nothing is said of them
    once = validated(releases_frame([release("B")]), convictions_frame([]), extract_date=D("2030-01-01"))
    assert "duplicate_rows_dropped" not in measure(once, MeasureParams()).metadata


def test_an_incomplete_release_filtered_out_is_not_counted():
    # at extract 2024-09-14 A (2023-03-15, deadline 2024-09-15) is complete and B (2023-03-16, deadline
    # 2024-09-16) is not; --where establishment=E1 leaves A alone: nothing incomplete is measured, so no error
    # and 0 excluded (the quick answer, from the latest release of all, cannot say so: B is incomplete)
    releases = [release("A", "2023-03-15", "E1"), release("B", "2023-03-16", "E2")]
    result = run(releases, [], extract_date=D("2024-09-14"), where={"establishment": ("E1",)})
    assert result.rows.select("cohort", "cohort_size").rows() == [("2023Q1", 1)]
    assert result.metadata["incomplete_releases_excluded"] == 0


def test_grouping_by_offender_id_keeps_one_offender_id_column_in_the_audit_table():
    # by offender_id (any release column may group): the audit table already starts with offender_id and
    # release_date, so the group columns must not repeat them. A: 1 release, 1 reoffence; B: none
    result = run([release("A"), release("B")], [offence("A")], by=("offender_id",))
    assert result.rows.select("offender_id", "cohort_size", "reoffenders").rows() == [("A", 1, 1), ("B", 1, 0)]
    assert result.per_release.columns.count("offender_id") == 1
    assert result.per_release["reoffended"].to_list() == [True, False]


def test_the_audit_table_puts_a_release_without_a_group_value_last():
    # by establishment, with B's establishment missing: the groups and the audit rows both sort nulls last
    releases = [release("B", establishment=None), release("A", establishment="E2"), release("C", establishment="E1")]
    result = run(releases, [], by=("establishment",))
    assert result.rows["establishment"].to_list() == ["E1", "E2", None]
    assert result.per_release.select("establishment", "offender_id").rows() == [("E1", "C"), ("E2", "A"), (None, "B")]
