"""Every validation rule of docs/data.md: exit 65, a message naming file, row and column, nothing written."""

from __future__ import annotations

import pytest

from .conftest import write_csv

GOOD_RELEASES = "offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-01,E2\n"
GOOD_CONVICTIONS = "offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\nB,2023-06-01,2023-09-01\n"


@pytest.fixture
def files(tmp_path):
    def make(releases=GOOD_RELEASES, convictions=GOOD_CONVICTIONS):
        return write_csv(tmp_path / "releases.csv", releases), write_csv(tmp_path / "convictions.csv", convictions)

    return make


@pytest.mark.parametrize(
    ("releases", "convictions", "expected"),
    [
        # a required column is missing, with a --map suggestion for a close name
        (
            "id,release_date\nA,2022-01-10\n",
            GOOD_CONVICTIONS,
            "releases.csv, column offender_id: required column 'offender_id' is missing (found: id, release_date); "
            "if it is 'id', add --map offender_id=id",
        ),
        # an unparseable date: row 2 (1-based, header excluded)
        (
            "offender_id,release_date\nA,2022-01-10\nB,2022-02-30\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 2, column release_date: release_date is not a date in the form YYYY-MM-DD "
            "(value '2022-02-30')",
        ),
        # every release_date in another form: one line naming the first, saying what to type (issue 27); with no
        # day above 12 both orders are named and neither is guessed
        (
            "offender_id,release_date\nA,10/01/2022\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 1, column release_date: every release_date looks like DD/MM/YYYY or MM/DD/YYYY, "
            "and no day is above 12 to tell which",
        ),
        # a date before 1900
        (
            "offender_id,release_date\nA,1899-12-31\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 1, column release_date: release_date is outside 1900-01-01 .. 2023-09-01",
        ),
        # a release after the extract date (the latest conviction date, 2023-09-01)
        (
            "offender_id,release_date\nA,2023-09-02\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 1, column release_date: release_date is outside",
        ),
        # conviction before offence
        (
            GOOD_RELEASES,
            "offender_id,offence_date,conviction_date\nA,2022-02-01,2022-01-31\n",
            "convictions.csv, row 1, column conviction_date: conviction_date is before offence_date",
        ),
        # empty offender_id
        (
            "offender_id,release_date\nA,2022-01-10\n,2022-01-11\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 2, column offender_id: offender_id is empty",
        ),
        # an empty date
        (
            GOOD_RELEASES,
            "offender_id,offence_date,conviction_date\nA,,2022-01-31\n",
            "convictions.csv, row 1, column offence_date: offence_date is empty",
        ),
        # an exact duplicate release (row 3 repeats row 1)
        (
            "offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-01,E1\nA,2022-01-10,E1\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 3, column offender_id: exact repeat of row 1 (use --dedupe to drop repeats)",
        ),
        # same key, different attributes
        (
            "offender_id,release_date,establishment\nA,2022-01-10,E1\nA,2022-01-10,E2\n",
            GOOD_CONVICTIONS,
            "releases.csv, row 1, column offender_id: rows 1, 2 have the same offender_id and release_date",
        ),
    ],
)
def test_each_rule_fails_with_65_and_names_file_row_column(cli, files, tmp_path, releases, convictions, expected):
    out_file = tmp_path / "out.csv"
    status, out, err = cli("measure", *files(releases, convictions), "-o", out_file)
    assert status == 65, err
    assert expected in err
    assert "Traceback" not in err
    assert out == ""
    assert not out_file.exists()


def test_id_type_mismatch_between_files(cli, tmp_path):
    import polars as pl

    releases = tmp_path / "releases.parquet"
    pl.DataFrame({"offender_id": [1, 2], "release_date": ["2022-01-10", "2022-02-01"]}).write_parquet(releases)
    convictions = write_csv(tmp_path / "convictions.csv", GOOD_CONVICTIONS)
    status, _, err = cli("measure", releases, convictions)
    assert status == 65
    assert "convictions.csv, column offender_id: offender_id is text here but whole numbers in" in err


def test_numeric_ids_in_two_csv_files_are_both_text_and_keep_leading_zeros(cli, files):
    releases = "offender_id,release_date\n007,2022-01-10\n7,2022-01-11\n"
    convictions = "offender_id,offence_date,conviction_date\n007,2022-02-01,2022-03-01\n"
    status, out, err = cli(
        "measure", *files(releases, convictions), "--extract-date", "2024-01-01", "--by", "", "--csv"
    )
    assert status == 0, err
    assert out.splitlines()[1].startswith("2,1,0.5,")  # '007' reoffended, '7' is another person


def test_dedupe_drops_exact_repeats_but_not_conflicts(cli, files):
    repeated = "offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-01,E1\nA,2022-01-10,E1\n"
    status, out, err = cli("measure", *files(repeated), "--dedupe", "--by", "", "--csv")
    assert status == 0, err
    assert out.splitlines()[1].startswith("2,")  # cohort_size 2 after dropping the repeat
    conflicting = "offender_id,release_date,establishment\nA,2022-01-10,E1\nA,2022-01-10,E2\n"
    status, _, err = cli("measure", *files(conflicting), "--dedupe")
    assert status == 65 and "conflicting-release" in err


def test_report_lists_first_20_and_counts_per_rule_and_errors_file_has_all(cli, files, tmp_path):
    import polars as pl

    rows = "offender_id,release_date\n" + "".join(f"P{i},2022-13-{i % 28 + 1:02d}\n" for i in range(30))
    errors = tmp_path / "errors.csv"
    status, _, err = cli("validate", *files(rows), "--errors", errors)
    assert status == 65
    assert err.count("column release_date: release_date is not a date") == 20
    assert "... and 10 more" in err
    assert "unparseable-date: 30" in err
    report = pl.read_csv(errors)
    assert report.height == 30
    assert report.columns == ["file", "row", "column", "rule", "value", "message"]
    assert report["row"].to_list() == list(range(1, 31))


def test_incomplete_follow_up_is_an_error_by_default_and_can_be_excluded(cli, files):
    # A released 2022-01-10: deadline 2023-07-10, complete at extract 2023-09-01.
    # B released 2023-06-01: deadline 2024-12-01, not complete.
    releases = "offender_id,release_date\nA,2022-01-10\nB,2023-06-01\n"
    status, _, err = cli("measure", *files(releases))
    assert status == 65
    assert "1 release has follow-up not yet complete at the extract date 2023-09-01" in err
    assert "the earliest is dated 2023-06-01" in err
    # releases on or before 2022-03-01 complete: 2022-03-01 + 18 months = 2023-09-01 <= 2023-09-02
    assert "Releases on or before 2022-03-02 are complete" in err
    status, out, err = cli("measure", *files(releases), "--incomplete", "exclude", "--by", "", "--csv")
    assert status == 0
    assert "1 release with incomplete follow-up excluded" in err
    assert out.splitlines()[1].startswith("1,1,")  # only A: cohort_size 1, reoffenders 1


def test_extract_date_option_moves_the_completeness_line(cli, files):
    releases = "offender_id,release_date\nA,2022-01-10\n"
    convictions = "offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n"
    # deadline 2023-07-10: complete at 2023-07-09 (the last day that counts), not at 2023-07-08
    status, _, err = cli("measure", *files(releases, convictions), "--extract-date", "2023-07-09", "--csv")
    assert status == 0, err
    status, _, err = cli("measure", *files(releases, convictions), "--extract-date", "2023-07-08")
    assert status == 65 and "incomplete-follow-up: 1" in err


def test_empty_inputs_are_not_an_error(cli, files):
    status, out, err = cli(
        "measure",
        *files("offender_id,release_date\n", "offender_id,offence_date,conviction_date\n"),
        "--by",
        "",
        "--csv",
    )
    assert status == 0, err
    header, row = out.splitlines()
    assert header.startswith("cohort_size,reoffenders,binary_rate,")
    assert row.startswith("0,0,,,,0,,,0,,,,")


def test_a_file_with_no_header_is_a_data_error(cli, files):
    status, _, err = cli("measure", *files("", GOOD_CONVICTIONS))
    assert status == 65 and "releases.csv" in err and "empty" in err


def test_missing_file_exits_66(cli, files, tmp_path):
    releases, _ = files()
    status, _, err = cli("measure", releases, tmp_path / "nope.csv")
    assert status == 66
    assert "nope.csv: no such file" in err


def test_validate_prints_a_summary_for_good_data(cli, files):
    status, out, err = cli("validate", *files(), "--csv")
    assert status == 0, err
    assert "valid:" in err
    assert "releases,rows,2" in out
    assert "run,extract date,2023-09-01" in out


def test_validate_period_counts_releases_by_that_cohort_period(cli, files):
    """--period once did nothing visible (issue 28). Releases on 2022-01-10 (A) and 2022-02-01 (B): one cohort
    2022Q1 holding both by quarter; 2022-01 and 2022-02 holding one each by month."""
    status, out, err = cli("validate", *files(), "--csv", "--period", "quarter")
    assert status == 0, err
    assert "releases by quarter,2022Q1,2" in out
    status, out, err = cli("validate", *files(), "--csv", "--period", "month")
    assert status == 0, err
    assert "releases by month,2022-01,1\nreleases by month,2022-02,1" in out


def test_validate_advises_only_what_it_can_be_told(cli, files):
    """Release B (2023-06-01) has follow-up to 2024-06-01 plus 6 months, after the extract date (2023-09-01):
    incomplete. validate has --incomplete but no --where, so it must not advise typing --where to it."""
    releases = "offender_id,release_date\nA,2022-01-10\nB,2023-06-01\n"
    status, _, err = cli("validate", *files(releases, GOOD_CONVICTIONS))
    assert status == 65 and "--incomplete exclude" in err
    assert "or --where" not in err and "(in measure and compare, which filter) --where" in err
    status, _, err = cli("validate", *files(releases, GOOD_CONVICTIONS), "--where", "cohort=2022Q1")
    assert status == 2
