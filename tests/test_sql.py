"""`reoffend sql`: the query computes what `measure` computes (docs/sql.md), checked by running it in DuckDB.

Every option combination of tests/sql_support.py runs on the committed sample (text dates, as CSV gives
them) and on `reoffend synth` data (typed dates), and the query's table must equal measure's cell by cell:
counts and labels exactly, ratios to 1e-12. Hand-worked month-end windows pin the calendar arithmetic; every
dialect's text must parse in that dialect. Spark runs in tests/test_sql_spark.py.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
import sqlglot
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reoffend.cli import cli
from reoffend.errors import UsageError
from reoffend.io import read_code_list
from reoffend.measure import MeasureParams
from reoffend.sql import DIALECTS, SqlSource, measure_query, period_label, render, validation_query
from reoffend.synth import SynthParams, generate
from reoffend.window import FollowUpWindow

from .sql_support import Case, assert_same_table, cases, engine_tables, python_rows

duckdb = pytest.importorskip("duckdb")

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
EXCLUDED = frozenset({"BREACH"})
CENSORED_EXTRACT = dt.date(2024, 6, 30)


@functools.cache
def dataset(name: str) -> tuple[pl.DataFrame, pl.DataFrame, dt.date]:
    """(releases, convictions, extract date): the sample as CSV text, synth typed, synth cut short."""
    if name == "sample":
        releases = pl.read_csv(SAMPLE / "releases.csv", infer_schema=False)
        convictions = pl.read_csv(SAMPLE / "convictions.csv", infer_schema=False)
        releases = releases.with_columns(pl.col("prior_convictions").cast(pl.Int64))
        return releases, convictions, dt.date.fromisoformat(convictions["conviction_date"].max())
    if name == "synth":
        releases, convictions, meta = generate(SynthParams(releases=3000, seed=11, establishments=20))
        return releases, convictions, dt.date.fromisoformat(meta["extract_date"])
    releases, convictions, _ = generate(SynthParams(releases=2000, seed=5, extract_date=CENSORED_EXTRACT))
    return releases, convictions, CENSORED_EXTRACT


def run_duckdb(frames, case: Case, dialect: str = "duckdb", query=None) -> pl.DataFrame:
    releases, convictions = engine_tables(frames, case.source)
    con = duckdb.connect()
    for table, frame in ((case.source.releases_table, releases), (case.source.convictions_table, convictions)):
        if "." in table:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
        con.unregister("frame")
    query = query if query is not None else measure_query(case.params, case.source)
    return con.sql(render(query, dialect)).pl()


def _case_ids(name: str) -> list[Case]:
    releases, _, extract = dataset(name)
    establishments = tuple(sorted(releases["establishment"].unique().to_list()))
    all_cases = cases(EXCLUDED, establishments, extract)
    if name == "synth-censored":  # follow-up is incomplete there: only the cases that exclude it can run
        return [c for c in all_cases if c.params.incomplete == "exclude"]
    return all_cases


@pytest.mark.parametrize(
    ("name", "case"),
    [(name, case) for name in ("sample", "synth", "synth-censored") for case in _case_ids(name)],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_query_equals_measure_cell_by_cell(name, case):
    releases, convictions, _ = dataset(name)
    frames = (releases, convictions)
    if case.prepare:
        frames = case.prepare(frames)
    ours = python_rows(*frames, case.params, extract_date=case.extract_date)
    theirs = run_duckdb(frames, case)
    assert ours.height > 0 and ours["cohort_size"].sum() > 0
    assert_same_table(ours, theirs, f"{name}/{case.name}")


def test_censored_data_has_incomplete_follow_up_to_exclude():
    """The exclusion cases above must exclude something, or they prove nothing."""
    releases, convictions, extract = dataset("synth-censored")
    everything = python_rows(releases, convictions, MeasureParams(by=(), index="all"), extract_date=dt.date(2030, 1, 1))
    kept = python_rows(releases, convictions, MeasureParams(by=(), index="all", incomplete="exclude"), extract)
    assert kept["cohort_size"][0] < everything["cohort_size"][0]


# ------------------------------------------------------------------------------- hand-worked month ends
MONTH_END = pl.DataFrame(
    {
        "offender_id": ["A", "B", "C", "D", "E"],
        "release_date": [dt.date(2024, 2, 29), dt.date(2023, 8, 31), dt.date(2024, 1, 31), dt.date(2023, 2, 28), None],
    }
)
# (follow-up, waiting) -> the window of each release, worked by hand from measures.md's clamping rule
MONTH_END_WINDOWS = {
    (12, 6): [
        ("2025-02-28", "2025-08-28"),  # 29 Feb + 12 = 28 Feb; then + 6 from that end, not 29 Aug
        ("2024-08-31", "2025-02-28"),
        ("2025-01-31", "2025-07-31"),
        ("2024-02-28", "2024-08-28"),
        (None, None),
    ],
    (6, 1): [
        ("2024-08-29", "2024-09-29"),
        ("2024-02-29", "2024-03-29"),  # 31 Aug + 6 = 29 Feb 2024 (leap year)
        ("2024-07-31", "2024-08-31"),
        ("2023-08-28", "2023-09-28"),
        (None, None),
    ],
    (1, 0): [
        ("2024-03-29", "2024-03-29"),
        ("2023-09-30", "2023-09-30"),  # 31 Aug + 1 = 30 Sep
        ("2024-02-29", "2024-02-29"),  # 31 Jan 2024 + 1 = 29 Feb
        ("2023-03-28", "2023-03-28"),
        (None, None),
    ],
}


def window_query(window: FollowUpWindow) -> sqlglot.exp.Select:
    release = sqlglot.exp.column("release_date", quoted=True)
    end, deadline = window.sql_bounds(release)
    return (
        sqlglot.select(sqlglot.exp.column("offender_id", quoted=True), end.as_("follow_up_end"))
        .select(deadline.as_("conviction_deadline"))
        .from_("month_ends")
        .order_by("offender_id")
    )


def engine_windows(rows) -> list[tuple[str | None, str | None]]:
    return [(None if e is None else str(e), None if d is None else str(d)) for _, e, d in rows]


@pytest.mark.parametrize(("follow_up", "waiting"), list(MONTH_END_WINDOWS))
def test_month_end_windows_in_duckdb_match_hand_worked_and_polars(follow_up, waiting):
    window = FollowUpWindow(follow_up, waiting)
    con = duckdb.connect()
    con.register("month_ends", MONTH_END.to_arrow())
    got = engine_windows(con.execute(render(window_query(window), "duckdb")).fetchall())
    assert got == MONTH_END_WINDOWS[(follow_up, waiting)]
    polars_side = window.with_window_columns(MONTH_END.lazy()).collect()
    assert got == [
        (None if e is None else str(e), None if d is None else str(d))
        for e, d in zip(polars_side["follow_up_end"], polars_side["conviction_deadline"], strict=True)
    ]


def test_month_end_boundary_offences_count_alike():
    """Offences on the last day in and the first day out of a clamped window, convictions on the deadline."""
    releases = pl.DataFrame(
        {
            "offender_id": ["A", "B", "C"],
            "release_date": ["2024-02-29", "2023-08-31", "2023-08-31"],
            "establishment": ["E1", "E1", "E2"],
        }
    )
    convictions = pl.DataFrame(
        {
            "offender_id": ["A", "A", "A", "B", "B", "C"],
            # A: end 2025-02-28 (exclusive), deadline 2025-08-28: 02-27 counts, 02-28 does not, a conviction
            # on 08-27 counts and on 08-28 does not. B: 2024-08-30 in, convicted 2025-02-27 (< 2025-02-28).
            # C: an offence on the release day counts.
            "offence_date": ["2025-02-27", "2025-02-28", "2024-06-01", "2024-08-30", "2024-08-31", "2023-08-31"],
            "conviction_date": ["2025-08-27", "2025-03-01", "2025-08-28", "2025-02-27", "2024-09-01", "2023-09-01"],
        }
    )
    params = MeasureParams(by=("establishment",))
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2026, 1, 1))
    theirs = run_duckdb((releases, convictions), Case("boundaries", params))
    assert_same_table(ours, theirs, "boundaries")
    # by hand: E1 has A (1 reoffence: 02-27) and B (1: 08-30); E2 has C (1, on day 0)
    assert ours["reoffences"].to_list() == [2, 1]
    assert ours["median_days_to_first"].to_list() == [(364 + 365) / 2, 0.0]


@pytest.mark.parametrize("period", ["month", "quarter", "year", "financial-year"])
def test_period_labels_match_polars(period):
    from reoffend.cohort import period_label as polars_label

    dates = pl.DataFrame({"d": [dt.date(2023, m, 1 + m) for m in range(1, 13)] + [dt.date(1999, 12, 31)]})
    expected = dates.select(polars_label(pl.col("d"), period)).to_series().to_list()
    query = sqlglot.select(period_label(sqlglot.exp.column("d"), period).as_("label")).from_("dates")
    con = duckdb.connect()
    con.register("dates", dates.to_arrow())
    assert [row[0] for row in con.execute(render(query, "duckdb")).fetchall()] == expected


# ---------------------------------------------------------------------------------- empty groups, nulls
def test_empty_tables_give_one_row_of_zeros_without_groups_and_no_rows_with():
    releases = pl.DataFrame(schema={"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String})
    convictions = pl.DataFrame(schema={"offender_id": pl.String, "offence_date": pl.Date, "conviction_date": pl.Date})
    for params in (MeasureParams(by=()), MeasureParams(by=("establishment",))):
        ours = python_rows(releases, convictions, params, extract_date=dt.date(2026, 1, 1))
        theirs = run_duckdb((releases, convictions), Case("empty", params))
        assert_same_table(ours, theirs, "empty")
    assert theirs.height == 0
    overall = run_duckdb((releases, convictions), Case("empty", MeasureParams(by=()))).row(0, named=True)
    assert overall["cohort_size"] == 0 and overall["reoffences"] == 0 and overall["binary_rate"] is None


def test_an_appearance_id_spelled_as_a_date_key_is_not_that_dates_appearance():
    # as measure: the row without an id is the appearance of 2023-03-01; the id "date:2023-03-01" is another one
    releases = pl.DataFrame({"offender_id": ["A"], "release_date": ["2023-01-05"], "establishment": ["E1"]})
    convictions = pl.DataFrame(
        {
            "offender_id": ["A", "A"],
            "offence_date": ["2023-02-01", "2023-02-02"],
            "conviction_date": ["2023-03-01", "2023-03-01"],
            "appearance_id": [None, "date:2023-03-01"],
        }
    )
    # and a third row with empty text for an id: no id, so the appearance of 2023-03-01 again (2 events of 3 rows)
    convictions = pl.concat([convictions, convictions.head(1).with_columns(appearance_id=pl.lit(""))])
    params = MeasureParams(by=())
    case = Case("marked events", params, source=SqlSource(appearance_ids=True))
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2026, 1, 1))
    theirs = run_duckdb((releases, convictions), case)
    assert ours["reconviction_events"].to_list() == [2]
    assert_same_table(ours, theirs, "marked events")


def test_null_group_values_form_their_own_group_sorted_last():
    releases = pl.DataFrame(
        {
            "offender_id": ["A", "B", "C", "D"],
            "release_date": ["2023-01-05", "2023-01-06", "2023-01-07", "2023-01-08"],
            "establishment": [None, "E2", None, "E1"],
        }
    )
    convictions = pl.DataFrame(
        {"offender_id": ["A", "C", "C"], "offence_date": ["2023-02-01", "2023-03-01", "2023-04-01"]}
    ).with_columns(conviction_date=pl.col("offence_date"))
    params = MeasureParams(by=("establishment",))
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2026, 1, 1))
    assert ours["establishment"].to_list() == ["E1", "E2", None]
    assert_same_table(ours, run_duckdb((releases, convictions), Case("nulls", params)), "nulls")


# ------------------------------------------------------------------------------------------- validation
def validation_fixture() -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Dates held as text, as in a CSV extract loaded into a warehouse, and the problems worked by hand.

    The extract date is the latest conviction, 2024-06-30, so a deadline after 2024-07-01 is incomplete:
    A 2023-01-05 (2024-07-05), "" 2023-02-01 and the null id 2023-02-02 (2024-08-01/02) and C 2025-12-01;
    B (no date), D (30 February) and E (empty) have no deadline: they are counted as missing or
    unparseable, not as incomplete. C's conviction date parses once its spaces are trimmed.
    """
    releases = pl.DataFrame(
        {
            "offender_id": ["A", "A", "", None, "B", "C", "D", "E"],
            "release_date": [
                *["2023-01-05", "2023-01-05", "2023-02-01", "2023-02-02"],
                *[None, "2025-12-01", "2023-02-30", ""],
            ],
        }
    )
    convictions = pl.DataFrame(
        {
            "offender_id": ["A", "B", None, "C", "F"],
            "offence_date": ["2023-03-01", "1899-12-31", "2023-05-01", "soon", "2023-03-01"],
            # F's 9999-12-31 (a placeholder) is not the extract date, which stays 2024-06-30: it is out of range
            "conviction_date": ["2023-02-01", "2024-06-30", None, " 2023-06-01 ", "9999-12-31"],
        }
    )
    expected = {
        ("releases", "missing-id", "offender_id"): 2,
        ("releases", "missing-date", "release_date"): 2,
        ("releases", "unparseable-date", "release_date"): 1,
        ("releases", "date-out-of-range", "release_date"): 1,
        ("convictions", "missing-id", "offender_id"): 1,
        ("convictions", "missing-date", "offence_date"): 0,
        ("convictions", "unparseable-date", "offence_date"): 1,
        ("convictions", "date-out-of-range", "offence_date"): 1,
        ("convictions", "missing-date", "conviction_date"): 1,
        ("convictions", "unparseable-date", "conviction_date"): 0,
        ("convictions", "date-out-of-range", "conviction_date"): 1,
        ("convictions", "conviction-before-offence", "conviction_date"): 1,
        ("releases", "duplicate-release", "offender_id"): 1,
        ("releases", "incomplete-follow-up", "release_date"): 4,
    }
    return releases, convictions, expected


def test_validation_query_counts_each_rule():
    """Bad dates held as text are counted, not fatal (TRY_CAST)."""
    releases, convictions, expected = validation_fixture()
    params = MeasureParams(by=())
    got = run_duckdb((releases, convictions), Case("v", params), query=validation_query(params, SqlSource()))
    assert {(t, r, c): n for t, r, c, n in got.iter_rows()} == expected
    assert list(got.columns) == ["table_name", "rule", "column_name", "problems"]


def test_validation_incomplete_count_is_measures():
    releases, convictions, extract = dataset("synth-censored")
    params = MeasureParams(by=("establishment",), where={"sex": ("F",)})
    got = run_duckdb(
        (releases, convictions), Case("v", params), query=validation_query(params, SqlSource(extract_date=extract))
    )
    incomplete = dict(zip(got["rule"], got["problems"], strict=True))["incomplete-follow-up"]
    everything = python_rows(releases, convictions, params, extract_date=dt.date(2030, 1, 1))
    kept = python_rows(releases, convictions, replace(params, incomplete="exclude"), extract)
    assert incomplete == everything["cohort_size"].sum() - kept["cohort_size"].sum() > 0


# ---------------------------------------------------------------------------------------- every dialect
DIALECT_CASES = [
    MeasureParams(),
    MeasureParams(by=(), index="all", period="financial-year", excluded_offences=EXCLUDED),
    MeasureParams(by=("establishment", "cohort"), period="month", where={"sex": ("F",)}, latest_cohort=True),
    MeasureParams(by=("cohort",), incomplete="exclude", window=FollowUpWindow(24, 0)),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("index", range(len(DIALECT_CASES)))
def test_every_dialect_parses_its_own_query(dialect, index):
    params = DIALECT_CASES[index]
    source = SqlSource(column_map={"release_date": "date out"}, appearance_ids=index % 2 == 0)
    for query in (measure_query(params, source), validation_query(params, source)):
        text = render(query, dialect)
        parsed = sqlglot.parse_one(text, read=dialect)
        assert isinstance(parsed, sqlglot.exp.Select)
        assert parsed.sql(dialect=dialect)  # and it generates again


@pytest.mark.parametrize(
    ("dialect", "spelling"),
    [
        ("duckdb", "+ INTERVAL 12 MONTH"),
        ("spark", "ADD_MONTHS("),
        ("trino", "DATE_ADD('MONTH', 12,"),
        ("bigquery", "INTERVAL 12 MONTH)"),
        ("postgres", "+ INTERVAL '12 MONTH'"),
    ],
)
def test_month_addition_uses_each_engines_clamping_function(dialect, spelling):
    """docs/sql.md names these functions as the ones that clamp to the month end; the query must use them."""
    assert spelling in render(measure_query(MeasureParams(), SqlSource()), dialect)


def test_duckdb_text_of_other_dialect_options_runs_unchanged_through_the_transpiler():
    """The Postgres and Trino renderings, read back by sqlglot and written as DuckDB, still agree."""
    releases, convictions, _ = dataset("synth")
    params = MeasureParams(by=("establishment", "cohort"), excluded_offences=EXCLUDED)
    ours = python_rows(releases, convictions, params)
    for dialect in ("postgres", "trino"):
        text = render(measure_query(params, SqlSource()), dialect)
        again = sqlglot.parse_one(text, read=dialect)
        assert_same_table(ours, run_duckdb((releases, convictions), Case("x", params), query=again), dialect)


def test_table_names_are_checked():
    with pytest.raises(UsageError, match="not a table name"):
        measure_query(MeasureParams(), SqlSource(releases_table="a..b"))


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_query_gives_measures_csv(tmp_path):
    """`reoffend sql` printed, run by DuckDB over the sample files, equals `reoffend measure --csv`."""
    runner = CliRunner()
    options = ["--by", "establishment,cohort", "--exclude-offences", str(SAMPLE / "excluded_offences.txt")]
    options += ["--where", "sex=F", "--period", "year"]
    measured = runner.invoke(
        cli, ["measure", str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv"), *options, "--csv"]
    )
    assert measured.exit_code == 0, measured.output
    printed = runner.invoke(cli, ["sql", "--dialect", "duckdb", *options, "--with-validation"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith("-- reoffend")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW releases AS SELECT * FROM read_csv('{SAMPLE / 'releases.csv'}', all_varchar = true)")
    con.execute(f"CREATE VIEW convictions AS SELECT * FROM read_csv('{SAMPLE / 'convictions.csv'}')")
    statements = [s for s in printed.stdout.split(";\n") if s.strip()]
    assert len(statements) == 2
    out = tmp_path / "sql.csv"
    con.execute(f"COPY ({statements[0]}) TO '{out}' (HEADER, DELIMITER ',')")
    assert_same_table(pl.read_csv(measured.stdout_bytes), pl.read_csv(out), "cli")
    problems = con.execute(statements[1]).fetchall()
    assert len(problems) == 14 and all(row[3] == 0 for row in problems)
    assert read_code_list(str(SAMPLE / "excluded_offences.txt")) == EXCLUDED


def test_cli_writes_file_and_rejects_unknown_dialect(tmp_path):
    runner = CliRunner()
    target = tmp_path / "q.sql"
    done = runner.invoke(cli, ["sql", "--dialect", "bigquery", "--by", "", "-o", str(target)])
    assert done.exit_code == 0 and done.output == ""
    assert "DATE_ADD(" in target.read_text() and "`releases`" in target.read_text()
    assert runner.invoke(cli, ["sql", "--dialect", "oracle"]).exit_code == 2
    assert runner.invoke(cli, ["sql"]).exit_code == 2


def test_cli_reads_files_in_duckdb_and_takes_a_config(tmp_path):
    """`sql --releases-file/--convictions-file` (issue 28): DuckDB reads the files in the query (read_csv with
    every column as text, read_parquet), and the result equals `measure --csv` cell by cell, from CSV and from
    Parquet; the options come from a config too; other dialects refuse files (2); a quote in a path stays data."""
    runner = CliRunner()
    options = ["--by", "establishment,cohort", "--period", "year", "--extract-date", "2025-12-31"]
    measured = runner.invoke(
        cli, ["measure", str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv"), *options, "--csv"]
    )
    assert measured.exit_code == 0, measured.output
    odd = tmp_path / "it's here"
    odd.mkdir()
    for name in ("releases", "convictions"):
        pl.read_csv(SAMPLE / f"{name}.csv", infer_schema_length=0).write_parquet(odd / f"{name}.parquet")
    sources = {
        "csv": [str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")],
        "parquet": [str(odd / "releases.parquet"), str(odd / "convictions.parquet")],
    }
    for kind, (releases, convictions) in sources.items():
        printed = runner.invoke(
            cli,
            ["sql", "--dialect", "duckdb", *options, "--releases-file", releases, "--convictions-file", convictions],
        )
        assert printed.exit_code == 0, printed.output
        out = tmp_path / f"{kind}.csv"
        duckdb.connect().execute(f"COPY ({printed.stdout.rstrip().rstrip(';')}) TO '{out}' (HEADER, DELIMITER ',')")
        assert_same_table(pl.read_csv(measured.stdout_bytes), pl.read_csv(out), kind)
    config = tmp_path / "job.toml"
    config.write_text(
        f'[sql]\ndialect = "duckdb"\nreleases-file = "{sources["csv"][0]}"\nconvictions-file = "{sources["csv"][1]}"\n',
        encoding="utf-8",
    )
    from_config = runner.invoke(cli, ["sql", "--config", str(config), *options])
    assert from_config.exit_code == 0, from_config.output
    assert "read_csv" in from_config.stdout.lower()
    refused = runner.invoke(cli, ["sql", "--dialect", "postgres", "--releases-file", sources["csv"][0]])
    assert isinstance(refused.exception, UsageError) and "only DuckDB reads files" in str(refused.exception)
    both = runner.invoke(
        cli, ["sql", "--dialect", "duckdb", "--releases-file", sources["csv"][0], "--releases-table", "r"]
    )
    assert isinstance(both.exception, UsageError) and "not both" in str(both.exception)
    wrong = runner.invoke(cli, ["sql", "--dialect", "duckdb", "--releases-file", "releases.xlsx"])
    assert isinstance(wrong.exception, UsageError) and "reads .parquet, .csv" in str(wrong.exception)


# ------------------------------------------------------------------------------------ property: any data
TRICKY_DAYS = [dt.date(2024, 2, 29), dt.date(2023, 8, 31), dt.date(2023, 1, 31), dt.date(2023, 2, 28)]
TRICKY_DAYS += [dt.date(2023, 3, 31), dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2023, 6, 30)]


@st.composite
def tables(draw):
    """Small tables of a few people around month ends: repeats, ties, nulls in the group column."""
    people = [f"P{i}" for i in range(draw(st.integers(1, 6)))]
    day = st.one_of(st.sampled_from(TRICKY_DAYS), st.dates(dt.date(2022, 1, 1), dt.date(2024, 12, 31)))
    keys = draw(st.sets(st.tuples(st.sampled_from(people), day), max_size=14))
    releases = pl.DataFrame(
        {
            "offender_id": [k[0] for k in keys],
            "release_date": [k[1] for k in keys],
            "establishment": [draw(st.sampled_from(["E1", "E2", None])) for _ in keys],
        },
        schema={"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String},
    )
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*people, "X"]), day, st.integers(0, 500), st.sampled_from(["THEFT", "BREACH", None])
            ),
            max_size=30,
        )
    )
    convictions = pl.DataFrame(
        {
            "offender_id": [r[0] for r in rows],
            "offence_date": [r[1] for r in rows],
            "conviction_date": [r[1] + dt.timedelta(days=r[2]) for r in rows],
            "offence_code": [r[3] for r in rows],
        },
        schema={
            "offender_id": pl.String,
            "offence_date": pl.Date,
            "conviction_date": pl.Date,
            "offence_code": pl.String,
        },
    )
    return releases, convictions


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=tables(),
    by=st.sampled_from([(), ("cohort",), ("establishment", "cohort"), ("establishment",)]),
    period=st.sampled_from(["month", "quarter", "year", "financial-year"]),
    index=st.sampled_from(["first", "all"]),
    window=st.sampled_from([(12, 6), (1, 0), (6, 3), (3, 1)]),
    excluded=st.sampled_from([frozenset(), EXCLUDED]),
)
def test_query_equals_measure_on_any_small_tables(frames, by, period, index, window, excluded):
    params = MeasureParams(
        by=by, period=period, index=index, window=FollowUpWindow(*window), excluded_offences=excluded
    )
    ours = python_rows(*frames, params, extract_date=dt.date(2030, 1, 1))
    assert_same_table(ours, run_duckdb(frames, Case("property", params)), "property")


def test_cli_output_dash_is_standard_output_and_an_input_is_never_overwritten(tmp_path):
    runner = CliRunner()
    printed = runner.invoke(cli, ["sql", "--dialect", "spark", "-o", "-"])
    assert printed.exit_code == 0 and "ADD_MONTHS(" in printed.stdout
    codes = tmp_path / "breach.txt"
    codes.write_text("BREACH\n", encoding="utf-8")
    clobber = runner.invoke(cli, ["sql", "--dialect", "spark", "--exclude-offences", str(codes), "-o", str(codes)])
    assert isinstance(clobber.exception, UsageError)  # exit 2 through reoffend.cli.main
    assert codes.read_text(encoding="utf-8") == "BREACH\n"


@pytest.mark.parametrize("name", ["a b; DROP TABLE x", "releases; --", "1abc", "a\nb", "x.\ty", "sch.ta ble"])
def test_an_unquoted_table_name_must_be_a_plain_name(name):
    """`sql --releases-table "a b; DROP TABLE x"` was accepted (issue 28); it was quoted, so harmless, but surely
    a mistake. An unquoted part is letters, digits, _, $ and - (BigQuery's project ids), not starting with a digit;
    a control character is refused even quoted (it would also break the header comment's line)."""
    with pytest.raises(UsageError, match="not a table name"):
        measure_query(MeasureParams(), SqlSource(releases_table=name))


@pytest.mark.parametrize("name", ['"my table"', "cat.sch.rel", "my-project.ds.releases", '"a;b".c', "_t$1"])
def test_a_quoted_or_plain_table_name_is_accepted(name):
    measure_query(MeasureParams(), SqlSource(releases_table=name))


@pytest.mark.parametrize(
    ("name", "schema", "table"),
    [('"a.b".c', "a.b", "c"), ('a."b.c"', "a", "b.c"), ('"we""ird".t', 'we"ird', "t"), ("`a.b`.c", "a.b", "c")],
)
def test_a_quoted_part_of_a_table_name_keeps_its_dots(name, schema, table):
    """--releases-table '"a.b".c' was split at every dot: the table c of the schema "a.b" became a three-part
    name a.b.c. Quoted parts are kept whole; the query runs on DuckDB against that very table."""
    import datetime as dt

    import duckdb
    import polars as pl

    from reoffend.measure import MeasureParams
    from reoffend.sql import SqlSource, measure_query, render
    from tests.sql_support import python_rows

    releases = pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["2022-01-10", "2022-02-10"]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2022-02-01"], "conviction_date": ["2022-03-01"]}
    )
    con = duckdb.connect()
    quoted = '"' + schema.replace('"', '""') + '"'
    con.execute(f"CREATE SCHEMA {quoted}")
    con.register("frame", releases.to_arrow())
    con.execute(f'CREATE TABLE {quoted}."{table}" AS SELECT * FROM frame')
    con.register("conv", convictions.to_arrow())
    con.execute("CREATE TABLE convictions AS SELECT * FROM conv")
    source = SqlSource(releases_table=name, extract_date=dt.date(2030, 1, 1))
    params = MeasureParams(by=())
    row = con.sql(render(measure_query(params, source), "duckdb")).pl().row(0, named=True)
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2030, 1, 1)).row(0, named=True)
    assert (row["cohort_size"], row["reoffenders"]) == (ours["cohort_size"], ours["reoffenders"]) == (2, 1)


@pytest.mark.parametrize("name", ['"a.b', "a..b", "a.b.c.d", '""'])
def test_a_table_name_that_is_not_one_is_a_usage_error(cli, name):
    status, out, err = cli("sql", "--dialect", "duckdb", "--releases-table", name)
    assert status == 2 and "not a table name" in err and out == ""


# ----------------------------------------------------------------------------- sql --by names a column the table has
def test_sql_by_a_column_the_table_has_not_is_a_usage_error_with_the_nearest(cli, tmp_path):
    status, out, err = cli("sql", "--dialect", "duckdb", "--by", "cohort,establishmnt")
    assert status == 2 and "--by: no column 'establishmnt' (did you mean establishment?)" in err and out == ""
    assert "--release-columns" in err
    status, _out, err = cli("sql", "--dialect", "duckdb", "--where", "nonsense=1", "-o", tmp_path / "q.sql")
    assert status == 2 and "--where: no column 'nonsense'" in err and not (tmp_path / "q.sql").exists()
    status, out, _err = cli("sql", "--dialect", "duckdb", "--by", "cohort,risk_band", "--release-columns", "risk_band")
    assert status == 0 and '"risk_band"' in out
    status, out, _err = cli("sql", "--dialect", "duckdb", "--by", "area", "--map", "area=region_code")
    assert status == 0 and '"region_code"' in out
