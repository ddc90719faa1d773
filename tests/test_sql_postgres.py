"""The postgres dialect's query, run by a throwaway PostgreSQL server, gives measure's table (docs/sql.md).

The server is started once per test session in a temporary folder (initdb, pg_ctl; a Unix socket only, no
TCP) and stopped at the end. The tables are loaded as text, as from a CSV extract, so the query's casts are
exercised too. Skipped, with the reason, when PostgreSQL's programs are not installed.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from reoffend.measure import MeasureParams
from reoffend.sql import SqlSource, measure_query, render, validation_query
from reoffend.window import FollowUpWindow

from .sql_support import Case, assert_same_table, cases, engine_tables, python_rows
from .test_sql import EXCLUDED, MONTH_END, MONTH_END_WINDOWS, dataset, engine_windows, window_query

PORT = "54329"
PSQL_SCRIPT = ["-v", "ON_ERROR_STOP=1", "-f", "-"]


def _program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


class Postgres:
    def __init__(self, folder: Path, psql: str, as_user: list[str]):
        self.folder, self.psql, self.as_user = folder, psql, as_user

    def run(self, sql: str) -> str:
        done = subprocess.run(
            [self.psql, "-h", str(self.folder), "-p", PORT, "-U", "postgres", "-X", "-q", "--csv", *PSQL_SCRIPT],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def load(self, name: str, frame: pl.DataFrame, types: dict[str, str] | None = None) -> None:
        """A table of text columns (or ``types``), loaded from CSV (empty fields are nulls)."""
        path = self.folder / f"{name}.csv"
        frame.write_csv(path)
        columns = ", ".join(f'"{c}" {(types or {}).get(c, "TEXT")}' for c in frame.columns)
        schema = f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]};\n" if "." in name else ""
        self.run(
            f"{schema}DROP TABLE IF EXISTS {name};\nCREATE TABLE {name} ({columns});\n"
            f"\\copy {name} FROM '{path}' WITH (FORMAT csv, HEADER true)\n"
        )

    def table(self, sql: str, schema: dict) -> pl.DataFrame:
        out = self.run(sql)
        return pl.read_csv(out.encode(), schema_overrides=schema) if out.strip() else pl.DataFrame(schema=schema)


@pytest.fixture(scope="session")
def postgres():
    initdb, pg_ctl, psql = _program("initdb"), _program("pg_ctl"), _program("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL's initdb, pg_ctl and psql are not installed: the postgres dialect is parsed only")
    # not under pytest's temporary folder, which only root may enter: the server may run as another account
    folder = Path(tempfile.mkdtemp(prefix="reoffend-postgres-"))

    def give_up(reason: str):
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(reason)

    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres account, if there is one
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            give_up("running as root and there is no postgres account to run the server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            give_up("running as root without runuser to start the server as postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        os.chmod(folder, 0o777)
        as_user = [runuser, "-u", "postgres", "--"]
    data = folder / "data"
    init = subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-locale", "-E", "UTF8"],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        give_up(f"initdb failed: {init.stderr.strip()[-200:]}")
    options = f"-k {folder} -p {PORT} -c listen_addresses='' -c fsync=off"
    start = [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]
    started = subprocess.run(start, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        give_up(f"the PostgreSQL server did not start: {started.stderr.strip()[-200:]}")
    try:
        yield Postgres(folder, psql, as_user)
    finally:
        stop = [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def run_postgres(postgres: Postgres, frames, case: Case, schema: dict) -> pl.DataFrame:
    releases, convictions = engine_tables(frames, case.source)
    postgres.load(case.source.releases_table, releases)
    postgres.load(case.source.convictions_table, convictions)
    return postgres.table(render(measure_query(case.params, case.source), "postgres") + ";", schema)


def test_postgres_query_equals_measure_for_every_case(postgres):
    releases, convictions, extract = dataset("synth")
    establishments = tuple(sorted(releases["establishment"].unique().to_list()))
    for case in cases(EXCLUDED, establishments, extract):
        frames = case.prepare((releases, convictions)) if case.prepare else (releases, convictions)
        ours = python_rows(*frames, case.params, extract_date=case.extract_date)
        theirs = run_postgres(postgres, frames, case, ours.schema)
        assert_same_table(ours, theirs, f"postgres/{case.name}")


def test_postgres_excludes_incomplete_follow_up_alike(postgres):
    releases, convictions, extract = dataset("synth-censored")
    for case in [c for c in cases(EXCLUDED, ("EST001",), extract) if c.params.incomplete == "exclude"]:
        ours = python_rows(releases, convictions, case.params, extract_date=case.extract_date)
        assert_same_table(ours, run_postgres(postgres, (releases, convictions), case, ours.schema), case.name)


def test_postgres_month_end_windows_match_hand_worked(postgres):
    postgres.load("month_ends", MONTH_END, {"release_date": "DATE"})
    for (follow_up, waiting), expected in MONTH_END_WINDOWS.items():
        text = render(window_query(FollowUpWindow(follow_up, waiting)), "postgres") + ";"
        rows = postgres.table(
            text, {"offender_id": pl.String, "follow_up_end": pl.Date, "conviction_deadline": pl.Date}
        )
        assert engine_windows(rows.iter_rows()) == expected, (follow_up, waiting)


def test_postgres_validation_query_runs_on_valid_text_tables(postgres):
    """Postgres has no TRY_CAST: valid dates held as text are read; every count of the synth data is 0."""
    releases, convictions, _ = dataset("synth")
    postgres.load("releases", releases)
    postgres.load("convictions", convictions)
    text = render(validation_query(MeasureParams(), SqlSource()), "postgres") + ";"
    problems = postgres.table(text, {"problems": pl.Int64})
    assert problems.height == 14 and problems["problems"].to_list() == [0] * 14


# ------------------------------------------------------------------------------ literals under any setting
INJECTED = "NOSUCH\\') OR TRUE --"  # a --where value (or a line of an exclusion list) closing the quote early
ODD = "back\\slash 'quoted'\nnext line"


def tiny_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Releases at EST1, EST2, EST1 and one whose establishment holds a backslash and a line break; A reoffends
    (THEFT), B only by BREACH (which does not count when excluded)."""
    releases = pl.DataFrame(
        {"offender_id": ["A", "B", "C", "D"], "release_date": ["2022-01-10", "2022-02-10", "2022-03-10", "2022-03-11"],
         "establishment": ["EST1", "EST2", "EST1", ODD]}
    )  # fmt: skip
    convictions = pl.DataFrame(
        {"offender_id": ["A", "B"], "offence_date": ["2022-02-01", "2022-03-01"],
         "conviction_date": ["2022-03-01", "2022-04-01"], "offence_code": ["THEFT", "BREACH"]}
    )  # fmt: skip
    return releases, convictions


@pytest.mark.parametrize("setting", ["on", "off"])
def test_postgres_string_literals_mean_the_same_whatever_standard_conforming_strings_says(postgres, setting):
    """With standard_conforming_strings = off a backslash escapes a quote in '...': the value
    ``NOSUCH\\') OR TRUE --`` ended the literal and made the filter true for every release (3 measured where
    no release has the value), and the same line in an exclusion list counted BREACH again. Literals are
    escape strings (E'...', backslashes doubled), whose meaning no setting changes."""
    releases, convictions = tiny_tables()
    postgres.load("releases", releases)
    postgres.load("convictions", convictions)
    prefix = f"SET standard_conforming_strings = {setting};\n"
    schema = {"cohort_size": pl.Int64, "reoffenders": pl.Int64, "reoffences": pl.Int64}
    source = SqlSource(extract_date=dt.date(2030, 1, 1))

    def counts(params: MeasureParams) -> list[int]:
        text = render(measure_query(replace(params, by=()), source), "postgres")
        row = postgres.table(prefix + text + ";", schema).row(0, named=True)
        return [row["cohort_size"], row["reoffenders"], row["reoffences"]]

    assert counts(MeasureParams(where={"establishment": ("EST1",)})) == [2, 1, 1]
    assert counts(MeasureParams(where={"establishment": (INJECTED,)})) == [0, 0, 0]
    assert counts(MeasureParams(where={"establishment": ("EST1", INJECTED)})) == [2, 1, 1]
    assert counts(MeasureParams(where={"establishment": (ODD,)})) == [1, 0, 0]  # found: the value read as it is
    assert counts(MeasureParams(excluded_offences=frozenset({"BREACH"}))) == [4, 1, 1]
    assert counts(MeasureParams(excluded_offences=frozenset({"BREACH", INJECTED}))) == [4, 1, 1]
    assert counts(MeasureParams(excluded_offences=frozenset({"A\\", "BREACH"}))) == [4, 1, 1]  # a trailing backslash


def test_postgres_literals_with_a_backslash_are_escape_strings_in_the_text():
    """Without a server: the value is E'...' with its backslash doubled, and a plain value stays '...'."""
    params = MeasureParams(by=(), where={"establishment": (INJECTED, "EST1")})
    text = render(measure_query(params, SqlSource()), "postgres")
    assert "IN (E'NOSUCH\\\\'') OR TRUE --', 'EST1')" in text, text


def test_postgres_latest_cohort_is_measures_under_a_linguistic_collation(postgres):
    """MAX(cohort) follows the column's collation: under ICU's English order 'Z-early' comes after 'b-late',
    where measure (polars, code points) takes 'b-late'. The query compares cohorts COLLATE "C" now."""
    icu = postgres.run("SELECT collname FROM pg_collation WHERE collname = 'en-x-icu';\n").strip()
    if "en-x-icu" not in icu:
        pytest.skip("this PostgreSQL has no ICU collation en-x-icu")
    releases = pl.DataFrame(
        {"offender_id": ["A", "B", "C"], "release_date": ["2022-01-10", "2022-02-10", "2022-03-10"],
         "cohort": ["b-late", "Z-early", "Z-early"]}
    )  # fmt: skip
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2022-02-01"], "conviction_date": ["2022-03-01"]}
    )
    postgres.load("releases", releases, {"cohort": 'TEXT COLLATE "en-x-icu"'})
    postgres.load("convictions", convictions)
    params = MeasureParams(latest_cohort=True)
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2030, 1, 1))
    assert ours["cohort"].to_list() == ["b-late"]
    source = SqlSource(cohort_column=True, extract_date=dt.date(2030, 1, 1))
    theirs = postgres.table(render(measure_query(params, source), "postgres") + ";", ours.schema)
    assert_same_table(ours, theirs, "latest cohort under en-x-icu")
