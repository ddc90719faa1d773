"""Values in the records that are no ordinary values (docs/data.md): dates out of any range (year -1, beyond 9999,
placeholders, Parquet day numbers polars cannot write), ids beyond 64 bits, a late value of another type, a
column of lists, a header with no rows. Each is invalid data (65) or a usage error (2) naming its row, never an
internal error (70).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.conftest import write_csv, write_parquet_dates
from tests.helpers import EVERYONE, EXTRACT, RELEASES, snapshot, unchanged


def test_releases_without_any_conviction_need_an_extract_date(cli, folder):
    write_csv(folder / "none.csv", "offender_id,offence_date,conviction_date\n")
    write_csv(folder / "late.csv", RELEASES + "D,2099-01-01,EST1,20,M\n")
    status, _out, err = cli("measure", folder / "late.csv", folder / "none.csv")
    assert status == 65 and "none.csv" in err and "give --extract-date" in err
    status, _out, err = cli("measure", folder / "late.csv", folder / "none.csv", "--extract-date", "2024-01-01")
    assert status == 65 and "date-out-of-range: 1" in err  # with the date, the 2099 release is found


def test_unparseable_dates_are_not_also_conflicting_releases_and_totals_add_up(cli, folder):
    rows = "".join(f"P{i % 1000},not-a-date-{i},EST1,30,M\n" for i in range(2000))
    write_csv(folder / "bad_dates.csv", "offender_id,release_date,establishment,age,sex\n" + rows)
    status, _out, err = cli("measure", folder / "bad_dates.csv", folder / "c.csv", *EXTRACT)
    assert status == 65
    assert "conflicting-release" not in err and "unparseable-date: 2000" in err
    shown = [line for line in err.splitlines() if line.startswith("  bad_dates.csv") or "bad_dates.csv, row" in line]
    more = int(err.split("... and ", 1)[1].split(" more", 1)[0])
    assert "invalid data: 2,000 problems" in err and len(shown) + more == 2000


def test_a_long_bad_value_is_cut_to_about_100_characters(cli, folder):
    write_csv(folder / "long.csv", RELEASES + f"D,{'9' * 5000},EST1,20,M\n")
    status, _out, err = cli("measure", folder / "long.csv", folder / "c.csv", *EXTRACT)
    line = next(line for line in err.splitlines() if "long.csv, row 4" in line)
    assert status == 65 and len(line) < 300 and "…" in line


@pytest.mark.parametrize(
    "days, shown",
    [
        (2**31 - 10, "day 2147483638 after 1970-01-01"),
        (-(2**31) + 5, "day -2147483643 after 1970-01-01"),
        (95_026_237, "day 95026237 after 1970-01-01"),
        (-96_465_293, "day -96465293 after 1970-01-01"),
        (95_026_236, "+262142-12-31"),  # the edge of what polars can write is still shown as a date
    ],
)
def test_a_parquet_date_polars_cannot_write_is_reported_not_a_panic(cli, tmp_path, days, shown):
    """A Parquet Date column holds any 32-bit day number; polars panics when it writes one outside
    -262143-01-01 .. +262142-12-31 as text. The date-out-of-range problem reports the day number instead
    (exit 65 with the row and column), where it used to be a Rust panic and exit 70."""
    errors = tmp_path / "errors.csv"
    releases, convictions = write_parquet_dates(tmp_path, [18_000, days])
    status, _out, err = cli("measure", releases, convictions, "--format", "csv", "--errors", errors)
    assert status == 65, err
    assert "row 2, column release_date: release_date is outside 1900-01-01 .. 2020-02-01" in err
    assert f"(value '{shown}')" in err
    assert f"r.parquet,2,release_date,date-out-of-range,{shown}," in errors.read_text()


def test_a_placeholder_conviction_date_is_out_of_range_not_the_extract_date(cli, tmp_path):
    """9999-12-31, a common placeholder for an unknown date, was taken as the extract date (the latest
    conviction_date) and the window's 'day after the extract date' overflowed: exit 70. The extract date is
    now the latest conviction_date in 1900-01-01 .. 9999-12-30, so the placeholder is after it and reported
    (65, naming the row), as it was when --extract-date was given. An --extract-date of 9999-12-31 is refused (2)."""
    (tmp_path / "r.csv").write_text("offender_id,release_date\nA1,2022-01-05\nB2,2022-02-01\n")
    (tmp_path / "c.csv").write_text(
        "offender_id,offence_date,conviction_date\nA1,2022-02-01,9999-12-31\nB2,2022-03-01,2022-04-01\n"
    )
    status, _out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv")
    assert status == 65, err
    assert "c.csv, row 1, column conviction_date: conviction_date is outside 1900-01-01 .. 2022-04-01" in err
    status, _out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv", "--extract-date", "9999-12-31"
    )
    assert status == 2 and "the extract date 9999-12-31 is too late: the latest is 9999-12-30" in err
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nB2,2022-03-01,2022-04-01\n")
    status, out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv", "--extract-date", "9999-12-30"
    )
    assert status == 0, err  # the latest extract date still works: every follow-up is complete
    assert out.splitlines()[1].startswith("2022Q1,2,1,")


def test_a_parquet_conviction_date_beyond_year_9999_is_out_of_range_without_an_extract_date(cli, tmp_path):
    """A Parquet Date in year 10183 is no Python date; as the latest conviction_date it became the extract
    date and failed with exit 70. It is now after the extract date and reported as date-out-of-range (65)."""
    import datetime as dt

    import polars as pl

    pl.DataFrame({"offender_id": ["A"], "release_date": [dt.date(2020, 1, 1)]}).write_parquet(tmp_path / "r.parquet")
    conviction_dates = pl.Series([18_300, 3_000_000], dtype=pl.Int32).cast(pl.Date)
    pl.DataFrame(
        {"offender_id": ["A", "A"], "offence_date": [dt.date(2020, 1, 5)] * 2, "conviction_date": conviction_dates}
    ).write_parquet(tmp_path / "c.parquet")
    status, _out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", "--format", "csv")
    assert status == 65, err
    assert "row 2, column conviction_date: conviction_date is outside 1900-01-01 .. 2020-02-08" in err


def test_releases_with_a_header_and_no_row_is_said_not_blamed_on_the_ids(cli, sample, monkeypatch):
    """An empty releases file (header only) printed an empty table, exit 0, with only the warning "no offender_id
    in convictions.csv matches one ...; check that the ids are written alike": the wrong cause. Empty inputs
    stay valid (tests/test_validate.py::test_empty_inputs_are_not_an_error); the warning names the real one."""
    monkeypatch.chdir(sample)
    header = (sample / "releases.csv").read_text().splitlines()[0]
    (sample / "none.csv").write_text(header + "\n")
    before = snapshot(sample)
    for command in ("measure", "nowcast"):
        status, out, err = cli(command, "none.csv", "convictions.csv", "--csv")
        err = " ".join(err.split())
        assert status == 0, (command, err)
        assert "warning: none.csv has a header but no release rows: there is nobody to measure" in err
        assert "written alike" not in err and "Traceback" not in err
        assert out.startswith("cohort,")
    assert unchanged(before, sample)


def test_parquet_ids_beyond_the_64_bit_signed_range_are_a_column_type_problem_not_an_internal_error(cli, tmp_path):
    """A Parquet UInt64 offender_id (hashed ids) above 2**63 - 1 cannot be joined as the Int64 ids are typed:
    65 naming file, column and value, not exit 70. Smaller UInt64 ids are measured as whole numbers."""
    big = 2**63 + 5
    schema = {"offender_id": pl.UInt64, "release_date": pl.Date}
    pl.DataFrame({"offender_id": [big, 7], "release_date": [dt.date(2022, 1, 5)] * 2}, schema=schema).write_parquet(
        tmp_path / "r.parquet"
    )
    conviction_schema = {"offender_id": pl.UInt64, "offence_date": pl.Date, "conviction_date": pl.Date}
    pl.DataFrame(
        {"offender_id": [7], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2022, 3, 1)]},
        schema=conviction_schema,
    ).write_parquet(tmp_path / "c.parquet")
    before = snapshot(tmp_path)
    status, out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", *EXTRACT)
    assert status == 65, err
    assert "r.parquet, column offender_id: offender_id holds whole numbers beyond the 64-bit signed range" in err
    assert str(big) in err and "column-type: 1" in err and out == ""
    assert snapshot(tmp_path) == before
    pl.DataFrame(
        {"offender_id": [2**63 - 1, 7], "release_date": [dt.date(2022, 1, 5)] * 2}, schema=schema
    ).write_parquet(tmp_path / "r.parquet")
    status, out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", *EXTRACT, "--by", "")
    assert status == 0, err
    assert out.splitlines()[1].startswith("2,1,0.5,")  # 2 released, the one with id 7 reoffended


@pytest.mark.parametrize("streaming", [False, True])
def test_a_late_value_of_another_type_names_its_row(tmp_path, cli, streaming):
    """polars types a CSV column from its first 10,000 rows: 'abc' in a column of whole numbers at data row
    10,006 stopped the read with "could not parse `abc` as dtype `i64`", naming no row. The row (10,006, line
    10,007: the header is line 1), column and value are now named, as a column-type problem (exit 65)."""
    lines = ["offender_id,release_date,establishment,age"]
    lines += [f"P{i:06d},2022-03-01,EST1,{20 + i % 40}" for i in range(10_005)]
    lines.append("P999999,2022-03-01,EST1,abc")
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.csv").write_text(
        "offender_id,offence_date,conviction_date,offence_code,appearance_id\nP000001,2022-05-01,2022-06-01,T,A1\n"
    )
    before = snapshot(tmp_path)
    args = ["measure", tmp_path / "r.csv", tmp_path / "c.csv", *EXTRACT, "--errors", tmp_path / "problems.csv"]
    status, _out, err = cli(*args, *(["--streaming"] if streaming else []))
    assert status == 65, err
    assert "row 10006, column age" in err and "line 10007" in err and "'abc' is not a whole number" in err
    problems = pl.read_csv(tmp_path / "problems.csv", infer_schema=False)
    assert problems.select("row", "column", "rule", "value").row(0) == ("10006", "age", "column-type", "abc")
    assert {k: v for k, v in snapshot(tmp_path).items() if k != "problems.csv"} == before


@pytest.mark.parametrize("command", ["power", "measure", "validate"])
@pytest.mark.parametrize(
    ("extract_date", "says"),
    [
        ("0001-01-01", "the extract date 0001-01-01 is before 1900-01-01, the earliest date a record may hold"),
        ("2021-12-31", "the extract date 2021-12-31 is before every release (all 3 release dates in "),
    ],
)
def test_an_extract_date_before_every_release_is_one_usage_error(cli, tmp_path, command, extract_date, says):
    """Before: 65 and a problem for every row (27,202 of them for power on the sample data)."""
    options = ("--baseline", "2022Q1") if command == "power" else ()
    status, out, err = cli(
        command, write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", EVERYONE), *options,
        "--extract-date", extract_date,
    )  # fmt: skip
    assert status == 2, err
    assert says in err and len(err.strip().splitlines()) == 1 and out == ""


ONE_CONVICTION = "offender_id,offence_date,conviction_date\nP1,2022-02-01,2022-03-01\n"


def test_a_release_date_in_year_minus_one_is_invalid_data_not_an_internal_error(cli, tmp_path):
    # every release out of range and --extract-date given: the earliest date was pulled into Python (year -1)
    releases = write_csv(tmp_path / "r.csv", "offender_id,release_date\nA,-0001-01-01\n")
    convictions = write_csv(tmp_path / "c.csv", ONE_CONVICTION)
    for command in ("validate", "measure"):
        status, _, err = cli(command, releases, convictions, "--extract-date", "2024-01-01")
        assert status == 65 and "date-out-of-range" in err and "internal error" not in err


def test_a_column_of_lists_is_a_column_type_problem_when_used(cli, tmp_path):
    rows = '{"offender_id":"P%d","release_date":"2022-01-1%d","%s":["x"]}\n'
    listed = tmp_path / "e.ndjson"
    listed.write_text("".join(rows % (i, i, "establishment") for i in (1, 2)))
    convictions = write_csv(tmp_path / "c.csv", ONE_CONVICTION)
    status, _, err = cli("measure", listed, convictions, "--extract-date", "2024-01-01")
    assert status == 65 and "column 'establishment' holds List(String)" in err
    unused = tmp_path / "s.ndjson"
    unused.write_text("".join(rows % (i, i, "sex") for i in (1, 2)))
    assert cli("measure", unused, convictions, "--extract-date", "2024-01-01")[0] == 0  # not used: no matter
    status, _, err = cli("measure", unused, convictions, "--by", "sex", "--extract-date", "2024-01-01")
    assert status == 65 and "column 'sex' holds List(String)" in err
