"""The Python API (reoffend.api, docs/python.md): the commands' tables from frames, cell by cell as their CSV;
the same validation for a frame as for a file; errors as exceptions, never SystemExit; warnings as warnings."""

from __future__ import annotations

import datetime as dt
import io
import warnings

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reoffend
from reoffend import DataError, ReoffendWarning, UsageError

COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"

# a warning of a run that a test neither asserts (pytest.warns) nor filters by name fails it: the warnings are
# part of what the API promises (docs/python.md, "Errors and warnings")
pytestmark = pytest.mark.filterwarnings("error::reoffend.api.ReoffendWarning")
PARTIAL = "is a partial period"  # a cohort of a few days' releases: the partial-period warning (docs/cli.md)


@pytest.fixture(scope="module")
def frames():
    """The sample as a user would read it into a notebook: polars' own reading, dates parsed by polars."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "sample"
    releases = pl.read_csv(folder / "releases.csv", try_parse_dates=True)
    convictions = pl.read_csv(folder / "convictions.csv", try_parse_dates=True)
    return folder, releases, convictions, folder / "excluded_offences.txt"  # a code list is read from a path too


def cli_csv(cli, *args: str) -> pl.DataFrame:
    status, out, err = cli(*args, "--csv", "-q")
    assert status == 0, err
    return pl.read_csv(io.StringIO(out), infer_schema=False)


def as_text(table: pl.DataFrame) -> pl.DataFrame:
    """The table as its CSV holds it: every cell as the writer prints it (what "cell by cell" compares)."""
    buffer = io.BytesIO()
    table.write_csv(buffer)
    return pl.read_csv(io.BytesIO(buffer.getvalue()), infer_schema=False)


def assert_same_cells(api_table: pl.DataFrame, csv: pl.DataFrame) -> None:
    assert api_table.columns == csv.columns
    assert api_table.height == csv.height > 0
    assert as_text(api_table).equals(csv)


def test_measure_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    result = reoffend.measure(
        releases, convictions, exclude_offences=codes, by="cohort,establishment", where={"establishment": "EST042"}
    )
    csv = cli_csv(
        cli,
        "measure",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--by",
        "cohort,establishment",
        "--where",
        "establishment=EST042",
    )
    assert_same_cells(result.table, csv)
    assert result.metadata["extract_date"] == "2025-12-31"
    assert result.parameters["inputs"]["releases"] == "releases (DataFrame)"
    assert result.parameters["where"] == {"establishment": ["EST042"]}


def test_validate_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, _ = frames
    result = reoffend.validate(releases, convictions)
    csv = cli_csv(cli, "validate", folder / "releases.csv", folder / "convictions.csv")
    assert_same_cells(result.table, csv)
    assert result.headline == "valid: releases (DataFrame) (10,000 rows) and convictions (DataFrame) (41,702 rows)"


def test_nowcast_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    # as at 2024-09-30 the cohorts of 2023Q2 on are still in follow-up: provisional figures
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReoffendWarning)
        result = reoffend.nowcast(releases, convictions, exclude_offences=codes, as_at="2024-09-30")
    csv = cli_csv(
        cli,
        "nowcast",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--as-at",
        "2024-09-30",
    )
    assert_same_cells(result.table, csv)
    assert "provisional" in result.table["status"].to_list()


def test_compare_matched_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    result = reoffend.compare_matched(
        releases,
        convictions,
        exclude_offences=codes,
        treated={"establishment": "EST042"},
        covariates=COVARIATES,
        style="peterborough",
        bootstrap=200,
    )
    csv = cli_csv(
        cli,
        "compare",
        "matched",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--treated",
        "establishment=EST042",
        "--covariates",
        COVARIATES,
        "--style",
        "peterborough",
        "--bootstrap",
        "200",
    )
    assert_same_cells(result.table, csv)
    assert result.headline is not None and "All cohorts together" in result.headline
    assert result.balance.height > 0  # the core's result, read through
    assert "Balance: standardised mean differences" in result.summary()


# ------------------------------------------------------------------------------- a frame is validated as a file
def test_a_bad_date_in_a_frame_names_the_argument_the_row_and_the_column():
    # rows counted from 1, as a file's data rows: the second row (frame[1]) holds 2023-02-30
    releases = pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["2023-01-05", "2023-02-30"]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"]}
    )
    with pytest.raises(DataError) as raised:
        reoffend.measure(releases, convictions, extract_date="2025-01-01")
    problem = raised.value.problems.row(0, named=True)
    assert (problem["file"], problem["row"], problem["column"], problem["rule"]) == (
        "releases (DataFrame)",
        2,
        "release_date",
        "unparseable-date",
    )
    assert problem["value"] == "2023-02-30"


def test_column_map_renames_a_frame_as_it_renames_a_file():
    # one release 2023-01-05, reoffending 2023-03-01 (in the 12 months), convicted 2023-04-01: 1 of 1
    releases = pl.DataFrame({"id": ["A"], "date_out": [dt.date(2023, 1, 5)]}).lazy()
    convictions = pl.DataFrame(
        {"id": ["A"], "offence_date": [dt.date(2023, 3, 1)], "conviction_date": [dt.date(2023, 4, 1)]}
    )
    with pytest.warns(ReoffendWarning, match=PARTIAL):
        result = reoffend.measure(
            releases,
            convictions,
            by="",
            column_map={"offender_id": "id", "release_date": "date_out"},
            extract_date=dt.date(2025, 1, 1),
        )
    row = result.table.row(0, named=True)
    assert (row["cohort_size"], row["reoffenders"], row["binary_rate"]) == (1, 1, 1.0)
    assert result.parameters["inputs"]["releases"] == "releases (LazyFrame)"


def test_a_missing_column_in_a_frame_is_a_data_error_naming_it():
    releases = pl.DataFrame({"offender_id": ["A"]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"]}
    )
    with pytest.raises(DataError) as raised:
        reoffend.validate(releases, convictions)
    assert raised.value.problems.filter(pl.col("column") == "release_date")["file"].to_list() == [
        "releases (DataFrame)"
    ]


def test_bad_options_are_usage_errors_never_system_exit():
    releases = pl.DataFrame({"offender_id": ["A"], "release_date": ["2023-01-05"]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"]}
    )
    with pytest.raises(UsageError, match="min_count sets a threshold of disclosure control: it needs suppress"):
        reoffend.measure(releases, convictions, min_count=3)
    with pytest.raises(UsageError, match="releases: give a path"):
        reoffend.measure([1, 2], convictions)
    with pytest.raises(UsageError, match="extract_date"):
        reoffend.measure(releases, convictions, extract_date="31/12/2025")
    with pytest.raises(UsageError, match="encoding"):
        reoffend.measure(releases, convictions, encoding="cp1252")
    # the input options are one set of keywords (InputOptions): a misspelt one is refused by name, never ignored
    with pytest.raises(UsageError, match="unknown option extract_dat: the options of the inputs are as_at, "):
        reoffend.measure(releases, convictions, extract_dat="2025-01-01")  # type: ignore[call-arg]
    with pytest.raises(UsageError, match="unknown option byy"):
        reoffend.validate(releases, convictions, byy="cohort")  # type: ignore[call-arg]


def test_pyarrow_and_pandas_tables_are_converted(frames):
    pa = pytest.importorskip("pyarrow")
    releases = pl.DataFrame({"offender_id": ["A", "B"], "release_date": [dt.date(2023, 1, 5), dt.date(2023, 1, 9)]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": [dt.date(2023, 3, 1)], "conviction_date": [dt.date(2023, 4, 1)]}
    )
    # 2 released, A reoffended: 1 of 2 = 50%
    with pytest.warns(ReoffendWarning, match=PARTIAL):
        by_arrow = reoffend.measure(
            releases.to_arrow(), pa.table(convictions.to_arrow()), by="", extract_date="2025-01-01"
        )
    assert by_arrow.table["binary_rate"].to_list() == [0.5]
    pd = pytest.importorskip("pandas")
    with pytest.warns(ReoffendWarning, match=PARTIAL):
        by_pandas = reoffend.measure(
            pd.DataFrame({"offender_id": ["A", "B"], "release_date": ["2023-01-05", "2023-01-09"]}),
            convictions,
            by="",
            extract_date="2025-01-01",
        )
    assert by_pandas.table.equals(by_arrow.table)


# ------------------------------------------------------------------------------- results, warnings, display
def test_warnings_are_python_warnings_and_on_the_result():
    # one BREACH conviction and no exclusion list: the command's breach-codes-counted warning
    releases = pl.DataFrame({"offender_id": ["A"], "release_date": ["2023-01-05"]})
    convictions = pl.DataFrame(
        {
            "offender_id": ["A"],
            "offence_date": ["2023-03-01"],
            "conviction_date": ["2023-04-01"],
            "offence_code": ["BREACH01"],
        }
    )
    with pytest.warns(ReoffendWarning) as caught:
        result = reoffend.measure(releases, convictions, by="", extract_date="2025-01-01")
    assert "breach-codes-counted" in [w.message.code for w in caught]  # type: ignore[union-attr]
    assert "breach-codes-counted" in [w.code for w in result.warnings]


def test_html_view_escapes_values_from_the_data():
    releases = pl.DataFrame(
        {"offender_id": ["A"], "release_date": ["2023-01-05"], "establishment": ["<script>alert(1)</script>"]}
    )
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"]}
    )
    with pytest.warns(ReoffendWarning, match=PARTIAL):
        result = reoffend.measure(releases, convictions, by="establishment", extract_date="2025-01-01")
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<table><caption>Proven reoffending</caption>")
    assert "Proven reoffending" in result.summary() and "100.0%" in result.summary()


def test_the_package_top_exports_the_api():
    assert set(reoffend.__all__) >= {
        "measure",
        "validate",
        "compare_matched",
        "nowcast",
        "DataError",
        "UsageError",
        "ReoffendWarning",
    }
    for name in reoffend.__all__:
        assert getattr(reoffend, name) is not None
    with pytest.raises(AttributeError):
        _ = reoffend.no_such_function


def test_compare_baseline_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    result = reoffend.compare_baseline(
        releases,
        convictions,
        exclude_offences=codes,
        site="EST042",
        period="year",
        current="2023",
        baseline="2022",
        target=5,
    )
    csv = cli_csv(
        cli,
        "compare",
        "baseline",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--site",
        "EST042",
        "--period",
        "year",
        "--current",
        "2023",
        "--baseline",
        "2022",
        "--target",
        "5",
    )
    assert_same_cells(result.table, csv)
    assert result.headline is not None and result.headline.startswith("EST042 2023: 39.2% reoffended (31 of 79)")


def test_compare_baseline_from_published_counts_needs_no_tables(cli):
    # 480 of 1000 against 530 of 1000: a fall of 5.0 points (README's example)
    result = reoffend.compare_baseline(current_counts="480/1000", baseline_counts="530/1000", target=5)
    csv = cli_csv(
        cli, "compare", "baseline", "--current-counts", "480/1000", "--baseline-counts", "530/1000", "--target", "5"
    )
    assert_same_cells(result.table, csv)
    row = result.table.row(0, named=True)
    assert (row["reduction_pp"], row["verdict"], row["target_met"]) == (5.0, "significant reduction", True)
    with pytest.raises(UsageError, match="go together"):
        reoffend.compare_baseline(current_counts="480/1000")


def test_power_from_numbers_equals_the_command(cli):
    # README: a 46% baseline needs 1,215 releases to detect 5 points, 298 for 10 (one-sided, 5%, 80% power)
    result = reoffend.power(baseline_rate="46%", reduction=[5, 10])
    csv = cli_csv(cli, "power", "--baseline-rate", "46%", "--reduction", "5,10")
    assert_same_cells(result.table, csv)
    assert result.table["current_size"].to_list() == [1215, 298]
    with pytest.raises(UsageError, match="power is what is computed"):
        reoffend.power(baseline_rate=0.46, reduction=5, current_size=500, power=0.9)


def test_power_from_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    result = reoffend.power(
        releases, convictions, exclude_offences=codes, site="EST042", period="year", baseline="2022", measure="both"
    )
    csv = cli_csv(
        cli,
        "power",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--site",
        "EST042",
        "--period",
        "year",
        "--baseline",
        "2022",
        "--measure",
        "both",
    )
    assert_same_cells(result.table, csv)
    assert result.metadata["baseline_cohort"]["cohort_size"] == 69  # EST042's 2022 cohort (README: 37 of 69)


# an option that would do nothing is refused by the shared run (reoffend.runs.power.refuse_unused): the command
# line names the flag typed, Python the keyword given; both refuse the same runs
@pytest.mark.parametrize(
    ("flags", "keywords", "cli_message", "api_message"),
    [
        (
            ("--dispersion", "2"),
            {"dispersion": 2.0},
            "--dispersion: applies only to the frequency measure",
            "dispersion: applies only to the frequency measure; give measure frequency or both",
        ),
        (
            ("--baseline-events", "150", "--dispersion", "2"),
            {"baseline_events": 150.0, "dispersion": 2.0},
            "--baseline-events/--dispersion: applies only to the frequency measure",
            "baseline_events/dispersion: applies only to the frequency measure",
        ),
        (
            ("--site-column", "sex"),
            {"site_column": "sex"},
            "--site-column: goes with --site",
            "site_column: goes with site",
        ),
        (("--follow-up", "24"), {"follow_up": 24}, "--follow-up: measures records", "follow_up: measures records"),
        (
            ("--where", "sex=F", "--period", "year"),
            {"where": {"sex": "F"}, "period": "year"},
            "--period/--where: measures records",
            "period/where: measures records; give releases convictions baseline COHORT",
        ),
        (("--delimiter", ";"), {"delimiter": ";"}, "--delimiter: measures records", "delimiter: measures records"),
    ],
)
def test_power_refuses_what_would_do_nothing_from_the_api_as_from_the_command(
    cli, flags, keywords, cli_message, api_message
):
    status, _, err = cli("power", "--baseline-rate", "0.5", "--current-size", "100", *flags)
    assert status == 2 and cli_message in err
    with pytest.raises(UsageError) as raised:
        reoffend.power(baseline_rate=0.5, current_size=100, **keywords)
    assert api_message in str(raised.value)


def test_power_refuses_the_binary_rate_with_the_frequency_measure_alone(cli):
    status, _, err = cli(
        "power", "--measure", "frequency", "--baseline-events", "150", "--current-size", "100", "--baseline-rate", "0.5"
    )
    assert status == 2 and "--baseline-rate: applies only to the binary measure" in err
    with pytest.raises(UsageError, match="baseline_rate: applies only to the binary measure; give measure binary"):
        reoffend.power(measure="frequency", baseline_events=150, current_size=100, baseline_rate=0.5)
    # the same without the rate: 150 events per 100 against a current cohort of 100 (and a baseline of 100)
    assert reoffend.power(measure="frequency", baseline_events=150, current_size=100).table.height == 1


def test_compare_adjusted_on_frames_equals_the_command_on_files(cli, frames):
    folder, releases, convictions, codes = frames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReoffendWarning)
        result = reoffend.compare_adjusted(
            releases,
            convictions,
            exclude_offences=codes,
            period="year",
            baseline="2022",
            covariates=COVARIATES,
            current_filter={"establishment": "EST042"},
        )
    csv = cli_csv(
        cli,
        "compare",
        "adjusted",
        folder / "releases.csv",
        folder / "convictions.csv",
        "--exclude-offences",
        folder / "excluded_offences.txt",
        "--period",
        "year",
        "--baseline",
        "2022",
        "--covariates",
        COVARIATES,
        "--current-filter",
        "establishment=EST042",
    )
    assert_same_cells(result.table, csv)
    assert "Baseline models" in result.summary() and result.models["binary"]["n"] > 0


def test_write_bulletin_writes_the_folder_the_command_writes(cli, sample_dir, tmp_path):
    # the sample's job: the API's folder and the command's hold the same trend table, cell by cell
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReoffendWarning)
        result = reoffend.write_bulletin(sample_dir / "job.toml", tmp_path / "api")
    status, _, err = cli("bulletin", "--config", sample_dir / "job.toml", "-o", tmp_path / "cli", "-q")
    assert status == 0, err
    trend = pl.read_csv(tmp_path / "cli" / "tables" / "trend.csv", infer_schema=False)
    assert_same_cells(result.table, trend)
    assert (tmp_path / "api" / "index.html").is_file()
    assert (
        result.headline
        == f"bulletin for {result.metadata['latest_cohort']} written to {tmp_path / 'api'}/ (index.html, bulletin.md)"
    )
    with pytest.raises(UsageError, match="is the folder this run replaces"):
        reoffend.write_bulletin(sample_dir / "job.toml", tmp_path / "api", previous=tmp_path / "api")


def test_hostile_frames_are_data_or_usage_errors_never_a_traceback():
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"]}
    )
    with pytest.raises(DataError, match="holds List"):  # a column of lists is no date column
        reoffend.measure(pl.DataFrame({"offender_id": ["A"], "release_date": [[1, 2]]}), convictions)
    with pytest.raises(UsageError, match=r"releases \(LazyFrame\): the frame cannot be computed"):
        reoffend.measure(pl.DataFrame({"offender_id": ["A"]}).lazy().select(pl.col("nope")), convictions)
    with pytest.raises(DataError, match="whole numbers in releases"):  # ids typed alike in both, as for files
        reoffend.measure(pl.DataFrame({"offender_id": [1], "release_date": [dt.date(2023, 1, 5)]}), convictions)


# ------------------------------------------------------------------------------- a frame reads as its file
DAYS = st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2023, 12, 31))
DATE_TEXT = st.one_of(DAYS.map(dt.date.isoformat), st.sampled_from(["2023-02-30", "", "31/01/2023"]))


@settings(max_examples=40)
@given(
    release_rows=st.lists(st.tuples(st.sampled_from("ABCD"), DATE_TEXT), min_size=1, max_size=8),
    conviction_rows=st.lists(st.tuples(st.sampled_from("ABCDE"), DAYS, st.integers(0, 400)), max_size=8),
)
# found by hypothesis: a frame of two equal rows in another date form said its example was row 2 (polars'
# arg_max on a column it had flagged sorted), the same rows' CSV file row 1
@example(release_rows=[("A", "31/01/2023"), ("A", "31/01/2023")], conviction_rows=[])
def test_a_frame_gives_what_its_csv_file_gives(tmp_path_factory, release_rows, conviction_rows):
    """The same rows as a frame of text and as a CSV file: the same table, or the same problems (the file's
    name aside), since both go through one validation."""
    folder = tmp_path_factory.mktemp("same")
    releases = pl.DataFrame(release_rows, schema={"offender_id": pl.String, "release_date": pl.String}, orient="row")
    convictions = pl.DataFrame(
        [(who, day.isoformat(), (day + dt.timedelta(days=lag)).isoformat()) for who, day, lag in conviction_rows],
        schema={"offender_id": pl.String, "offence_date": pl.String, "conviction_date": pl.String},
        orient="row",
    )
    releases.write_csv(folder / "r.csv")
    convictions.write_csv(folder / "c.csv")

    def outcome(r, c):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ReoffendWarning)
                return reoffend.measure(r, c, by="", extract_date="2025-06-30").table
        except (DataError, UsageError) as error:
            problems = getattr(error, "problems", None)
            if problems is None:
                return type(error).__name__
            return problems.select("row", "column", "rule", "value")

    from_frames = outcome(releases, convictions)
    from_files = outcome(str(folder / "r.csv"), str(folder / "c.csv"))
    if isinstance(from_frames, pl.DataFrame) and isinstance(from_files, pl.DataFrame):
        assert from_frames.equals(from_files)
    else:
        assert from_frames == from_files


def test_a_where_value_that_is_one_number_or_several_is_read_as_the_command_reads_it(frames):
    """``where={"age": 30}`` is one value and ``{"establishment": ["EST042", "EST001"]}`` two; a float (or any
    value that is not a list, tuple or set) is one value too, never iterated (it raised a bare TypeError)."""
    _folder, releases, convictions, codes = frames
    one = reoffend.measure(releases, convictions, exclude_offences=codes, by="", where={"establishment": ["EST042"]})
    same = reoffend.measure(releases, convictions, exclude_offences=codes, by="", where={"establishment": "EST042"})
    assert one.table.equals(same.table)
    with pytest.raises(reoffend.ReoffendError):  # age 30.5: a value nobody has, said as the package's error
        reoffend.measure(releases, convictions, exclude_offences=codes, by="", where={"age": 30.5})


# ------------------------------------------------------------------------------- hostile tables from Python
# Issue 32: whatever table a notebook hands over, the answer is a result, a DataError naming the column or a
# UsageError naming the frame; never another error type, never SystemExit. The convictions: A offends on
# 2023-03-01 (within 12 months of a release on 2023-01-05), convicted 2023-04-01.
ONE_CONVICTION = pl.DataFrame(
    {"offender_id": ["A"], "offence_date": [dt.date(2023, 3, 1)], "conviction_date": [dt.date(2023, 4, 1)]}
)


def refused(releases, convictions=ONE_CONVICTION, **options) -> DataError | UsageError:
    """The error of a measure of these tables: one of the package's two, never another type."""
    with pytest.raises((DataError, UsageError)) as raised:
        reoffend.measure(releases, convictions, by="", extract_date="2025-01-01", **options)
    return raised.value


def problem_of(error: DataError | UsageError) -> tuple[str, str | None, str]:
    assert isinstance(error, DataError), error
    first = error.problems.row(0, named=True)
    return first["file"], first["column"], first["rule"]


def test_pandas_frames_with_their_own_index_and_object_dates_are_read_as_polars_frames():
    pd = pytest.importorskip("pandas")
    # A and B released on 5 and 9 January 2023 (object column of datetime.date), A reoffends: 1 of 2 = 50%
    frame = pd.DataFrame({"offender_id": ["A", "B"], "release_date": [dt.date(2023, 1, 5), dt.date(2023, 1, 9)]})
    for releases in (frame, frame.set_index(pd.Index([10, 20])), frame.set_index(pd.Index(["x", "x"]))):
        with pytest.warns(ReoffendWarning, match=PARTIAL):
            result = reoffend.measure(releases, ONE_CONVICTION, by="", extract_date="2025-01-01")
        assert result.table.select("cohort_size", "reoffenders", "binary_rate").row(0) == (2, 1, 0.5)
    # an index is not a column: offender_id held as the index is missing, as a file without the column
    assert problem_of(refused(frame.set_index("offender_id"))) == (
        "releases (DataFrame)",
        "offender_id",
        "missing-column",
    )


def test_hostile_pandas_frames_are_data_errors_naming_the_column():
    pd = pytest.importorskip("pandas")
    ids = pd.DataFrame({"offender_id": pd.Categorical(["A"]), "release_date": [dt.date(2023, 1, 5)]})
    assert problem_of(refused(ids)) == ("releases (DataFrame)", "offender_id", "column-type")
    mixed = pd.DataFrame({"offender_id": ["A", "B"], "release_date": [dt.date(2023, 1, 5), "2023-01-09"]})
    assert problem_of(refused(mixed)) == ("releases (pandas DataFrame)", "release_date", "column-type")
    twice = pd.DataFrame([["A", dt.date(2023, 1, 5), "B"]], columns=["offender_id", "release_date", "offender_id"])
    error = refused(twice)
    assert problem_of(error) == ("releases (pandas DataFrame)", "offender_id", "duplicate-column")
    assert "names the column 'offender_id' more than once" in str(error)


def test_hostile_arrow_tables_are_data_errors_naming_the_column():
    pa = pytest.importorskip("pyarrow")
    dictionary = pa.table(
        {
            "offender_id": pa.array(["A", "B"]).dictionary_encode(),  # polars reads it as Categorical
            "release_date": pa.array([dt.date(2023, 1, 5), dt.date(2023, 1, 9)]),
        }
    )
    assert problem_of(refused(dictionary)) == ("releases (DataFrame)", "offender_id", "column-type")
    assert problem_of(refused(dictionary.to_batches()[0])) == ("releases (DataFrame)", "offender_id", "column-type")
    twice = pa.Table.from_arrays(
        [pa.array(["A"]), pa.array([dt.date(2023, 1, 5)]), pa.array(["B"])],
        names=["offender_id", "release_date", "offender_id"],
    )
    assert problem_of(refused(twice)) == ("releases (pyarrow Table)", "offender_id", "duplicate-column")


def test_wrong_types_and_empty_frames_are_data_errors():
    assert problem_of(refused(pl.DataFrame({"offender_id": ["A"], "release_date": [True]}))) == (
        "releases (DataFrame)",
        "release_date",
        "column-type",
    )
    floats = pl.DataFrame({"offender_id": [1.5], "release_date": [dt.date(2023, 1, 5)]})
    assert problem_of(refused(floats)) == ("releases (DataFrame)", "offender_id", "column-type")
    empty = refused(pl.DataFrame())  # no column at all: both required columns missing
    assert isinstance(empty, DataError)
    assert sorted(empty.problems["column"].to_list()) == ["offender_id", "release_date"]
    assert set(empty.problems["rule"]) == {"missing-column"}


def test_a_lazy_frame_that_cannot_be_computed_is_a_usage_error_naming_it(tmp_path):
    def fails(_: pl.Series) -> pl.Series:
        raise RuntimeError("the user's function failed")

    plan = pl.DataFrame({"offender_id": ["A"], "release_date": [dt.date(2023, 1, 5)]}).lazy()
    raising = plan.with_columns(pl.col("offender_id").map_batches(fails, return_dtype=pl.String))
    error = refused(raising)
    assert isinstance(error, UsageError)
    assert str(error) == "releases (LazyFrame): the frame cannot be computed: the user's function failed"
    # streamed, the frame is computed only as the run goes: its failure is still said of the frame
    streamed = refused(raising, streaming=True)
    assert isinstance(streamed, UsageError)
    assert str(streamed).startswith("releases (LazyFrame): the frame cannot be computed as it is streamed: Runtime")
    missing = refused(pl.scan_csv(tmp_path / "gone.csv"))
    assert isinstance(missing, UsageError) and "releases (LazyFrame): the frame cannot be computed" in str(missing)
    casts = plan.with_columns(pl.lit("5/1/2023").str.to_date("%Y-%m-%d").alias("release_date"))
    assert isinstance(refused(casts), UsageError)
