"""``--as-at DATE`` (issue 27): measure as an extract taken on that date would have (docs/measures.md,
"Measuring as at a date")."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.cli import cli as click_cli
from reoffend.errors import UsageError
from reoffend.inputs import cut_as_at
from reoffend.measure import MeasureParams, measure

from .conftest import convictions_frame, releases_frame, validated, write_csv
from .test_measure_properties import EXTRACT, SETTINGS, populations


def _measure(*args: str) -> tuple[pl.DataFrame, dict]:
    result = CliRunner().invoke(click_cli, ["measure", *args, "--json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return pl.DataFrame(document["rows"]), document["metadata"]


@pytest.mark.parametrize("as_at", ["2023-09-30", "2024-12-31"])
def test_as_at_on_the_full_sample_equals_the_sample_cut_at_that_date(sample_dir, tmp_path, as_at):
    """The cut is made here independently, with polars on the files as text: a release dated after the date,
    and a conviction whose offence or conviction is, was not in an extract taken on that date."""
    date = dt.date.fromisoformat(as_at)
    releases = pl.read_csv(sample_dir / "releases.csv", infer_schema=False)
    convictions = pl.read_csv(sample_dir / "convictions.csv", infer_schema=False)
    day = lambda column: pl.col(column).str.to_date()  # noqa: E731
    cut_releases = releases.filter(day("release_date") <= date)
    cut_convictions = convictions.filter((day("conviction_date") <= date) & (day("offence_date") <= date))
    assert 0 < cut_releases.height <= releases.height and 0 < cut_convictions.height < convictions.height
    cut_releases.write_csv(tmp_path / "releases.csv")
    cut_convictions.write_csv(tmp_path / "convictions.csv")
    codes = str(sample_dir / "excluded_offences.txt")
    common = ["--exclude-offences", codes, "--by", "cohort,establishment", "--incomplete", "exclude"]

    as_at_rows, as_at_meta = _measure(
        str(sample_dir / "releases.csv"), str(sample_dir / "convictions.csv"), "--as-at", as_at, *common
    )
    cut_rows, cut_meta = _measure(
        str(tmp_path / "releases.csv"), str(tmp_path / "convictions.csv"), "--extract-date", as_at, *common
    )
    assert as_at_rows.height > 0
    assert_frame_equal(as_at_rows, cut_rows)  # cell by cell, same order
    assert as_at_meta["extract_date"] == cut_meta["extract_date"] == as_at
    assert as_at_meta["incomplete_releases_excluded"] == cut_meta["incomplete_releases_excluded"]
    assert as_at_meta["extract_date_source"] == "--as-at"
    assert as_at_meta["as_at"] == {
        "date": as_at,
        "extract_date_of_data": "2025-12-31",  # the sample's latest conviction_date
        "releases_after": releases.height - cut_releases.height,
        "convictions_after": convictions.height - cut_convictions.height,
    }
    assert {role: value["rows"] for role, value in as_at_meta["inputs"].items()} == {
        "releases": cut_releases.height,
        "convictions": cut_convictions.height,
    }
    assert cut_meta["as_at"] is None


RELEASES = [
    {"offender_id": "A", "release_date": "2022-01-10", "establishment": "E1"},
    {"offender_id": "B", "release_date": "2022-03-01", "establishment": "E1"},
    {"offender_id": "C", "release_date": "2023-08-01", "establishment": "E1"},  # after 2023-07-31: dropped
]
CONVICTIONS = [
    {"offender_id": "A", "offence_date": "2022-05-01", "conviction_date": "2022-09-01"},
    # an offence in A's window convicted 2023-07-01: before A's deadline (2023-07-10) and on or before the as-at
    {"offender_id": "B", "offence_date": "2022-12-01", "conviction_date": "2023-07-01"},
    # convicted after the as-at date (2023-08-15): an extract of 2023-07-31 had not seen it (nor would it count
    # for A: it is after A's deadline 2023-07-10)
    {"offender_id": "A", "offence_date": "2022-06-01", "conviction_date": "2023-08-15"},
    {"offender_id": "C", "offence_date": "2023-09-01", "conviction_date": "2023-10-01"},
]


def test_a_hand_worked_cut():
    """As at 2023-07-31, 12 + 6 months: A (deadline 2022-01-10 + 18 months = 2023-07-10 <= 2023-08-01) is
    complete and B (deadline 2023-09-01 > 2023-08-01) is not. C was released after the date. A reoffended once
    in time (offence 2022-05-01, convicted 2022-09-01). Without --as-at the extract date is 2023-10-01 (the
    latest conviction) and B is complete too, with its conviction of 2023-07-01: 2 released, 2 reoffenders,
    2 reoffences. A complete release never loses a counted conviction to the cut (each is before its deadline,
    so on or before the as-at date): the cut shows in completeness."""
    inputs = validated(releases_frame(RELEASES), convictions_frame(CONVICTIONS))
    assert inputs.extract_date == dt.date(2023, 10, 1)
    params = MeasureParams(by=(), incomplete="exclude")
    whole = measure(inputs, params).rows.row(0, named=True)
    cut = cut_as_at(inputs, dt.date(2023, 7, 31))
    assert cut.extract_date == dt.date(2023, 7, 31)
    assert cut.as_at == {
        "date": "2023-07-31",
        "extract_date_of_data": "2023-10-01",
        "releases_after": 1,  # C
        "convictions_after": 2,  # A's of 2023-08-15, C's
    }
    result = measure(cut, params)
    row = result.rows.row(0, named=True)
    assert (row["cohort_size"], row["reoffenders"], row["reoffences"]) == (1, 1, 1)
    assert result.metadata["incomplete_releases_excluded"] == 1  # B
    # at 2023-10-01 both A and B are complete (B: 2023-09-01 <= 2023-10-02); A has 1 reoffence, B 1
    assert (whole["cohort_size"], whole["reoffenders"], whole["reoffences"]) == (2, 2, 2)


def test_an_as_at_date_after_the_extract_date_keeps_the_extract_date():
    """Convictions between the extract date and a later date were never seen: follow-up is not judged there."""
    inputs = validated(releases_frame(RELEASES), convictions_frame(CONVICTIONS))
    cut = cut_as_at(inputs, dt.date(2024, 1, 1))
    assert cut.extract_date == dt.date(2023, 10, 1)
    assert cut.extract_date_source == "latest conviction_date in the data (--as-at 2024-01-01 is later)"
    assert (cut.as_at or {})["releases_after"] == (cut.as_at or {})["convictions_after"] == 0


@SETTINGS
@given(populations(), st.integers(0, 3000))
def test_as_at_a_date_after_every_conviction_equals_no_as_at(population, days_later):
    """The extract date is the latest conviction_date (no --extract-date); an as-at date on or after it cuts
    nothing, and the extract date stays: the same measure, cell by cell."""
    releases, convictions = population
    latest = max((dt.date.fromisoformat(c["conviction_date"]) for c in convictions), default=None)
    assume(latest is not None and all(dt.date.fromisoformat(r["release_date"]) <= latest for r in releases))
    assert latest is not None
    inputs = validated(releases_frame(releases), convictions_frame(convictions))
    params = MeasureParams(by=("cohort", "establishment"), incomplete="exclude")
    cut = measure(cut_as_at(inputs, latest + dt.timedelta(days=days_later)), params)
    whole = measure(inputs, params)
    assert_frame_equal(cut.rows, whole.rows)
    assert cut.metadata["extract_date"] == whole.metadata["extract_date"] == latest.isoformat()
    assert cut.metadata["incomplete_releases_excluded"] == whole.metadata["incomplete_releases_excluded"]


@SETTINGS
@given(populations(), st.integers(0, 4000))
def test_as_at_equals_the_records_cut_at_the_date(population, day):
    """The core twin of the sample test: cutting the valid inputs equals validating the cut records."""
    releases, convictions = population
    as_at = dt.date(2021, 1, 1) + dt.timedelta(days=day)
    kept_releases = [r for r in releases if dt.date.fromisoformat(r["release_date"]) <= as_at]
    kept_convictions = [
        c
        for c in convictions
        if dt.date.fromisoformat(c["conviction_date"]) <= as_at and dt.date.fromisoformat(c["offence_date"]) <= as_at
    ]
    params = MeasureParams(by=("cohort",), incomplete="exclude")
    inputs = validated(releases_frame(releases), convictions_frame(convictions), extract_date=EXTRACT)
    if releases and not kept_releases:  # before every release: refused, not an empty answer
        with pytest.raises(UsageError, match="before every release"):
            cut_as_at(inputs, as_at)
        return
    cut = measure(cut_as_at(inputs, as_at), params)
    expected = measure(
        validated(releases_frame(kept_releases), convictions_frame(kept_convictions), extract_date=as_at), params
    )
    assert_frame_equal(cut.rows, expected.rows)
    assert cut.metadata["incomplete_releases_excluded"] == expected.metadata["incomplete_releases_excluded"]


def test_as_at_is_an_option_of_every_command_that_reads_records(tmp_path, cli):
    releases = write_csv(tmp_path / "r.csv", RELEASES)
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    commands = (["measure"], ["compare", "baseline"], ["compare", "matched"], ["compare", "adjusted"], ["nowcast"])
    for command in (*commands, ["power"], ["bulletin"]):
        status, out, _ = cli(*command, "--help")
        assert status == 0 and "--as-at" in out, command
    status, _, err = cli("measure", releases, convictions, "--as-at", "9999-12-31")
    assert status == 2 and "--as-at 9999-12-31 is too late" in err
    status, _, err = cli("measure", releases, convictions, "--as-at", "31/07/2023")
    assert status == 2 and "--as-at" in err


def test_the_measure_json_records_as_at(tmp_path):
    releases = write_csv(tmp_path / "r.csv", RELEASES)
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    rows, metadata = _measure(releases, convictions, "--as-at", "2023-07-31", "--incomplete", "exclude", "--by", "")
    assert rows.select("cohort_size", "reoffenders", "reoffences").row(0) == (1, 1, 1)  # test_a_hand_worked_cut
    assert metadata["as_at"]["date"] == "2023-07-31"
