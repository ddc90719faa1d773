"""The user's names and reoffend's apart: input columns named like working columns are not read, grouping by a
column reoffend computes is a usage error saying why, and a group named like a column of a table is told apart,
in ``measure``, ``sql`` and the bulletin alike.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_csv
from tests.helpers import CONVICTIONS, EXTRACT, RELEASES, snapshot

RESERVED = "_release,_input_order,_person,_event"


@pytest.mark.parametrize(
    "command",
    [
        ("measure", "--by", "cohort,establishment"),
        ("nowcast",),
        ("compare", "baseline", "--site", "E1", "--current", "2022Q2", "--baseline", "2022Q1"),
    ],
)
def test_input_columns_named_like_working_columns_are_not_read(tmp_path, cli, command):
    """A releases file with columns named like reoffend's working columns (``_release``, ``_input_order``...)
    crashed nowcast and compare with exit 70 (a duplicate column). Names starting with '_' are reserved: such a
    column is not read, and the output is the same as without it."""
    releases = (
        "offender_id,release_date,establishment,age\nA,2022-03-01,E1,30\nB,2022-04-01,E1,40\nC,2022-05-01,E2,50\n"
    )
    convictions = "offender_id,offence_date,conviction_date,offence_code\nA,2022-05-01,2022-06-01,T\n"
    (tmp_path / "plain.csv").write_text(releases)
    lines = releases.splitlines()
    with_reserved = [f"{lines[0]},{RESERVED}"] + [f"{line},1,2,3,4" for line in lines[1:]]
    (tmp_path / "reserved.csv").write_text("\n".join(with_reserved) + "\n")
    (tmp_path / "c.csv").write_text(convictions)
    name, *options = command
    extract = ["--extract-date", "2024-06-30"]
    outputs = []
    for releases_file in ("plain.csv", "reserved.csv"):
        status, out, err = cli(
            name, *options[:1] if name == "compare" else (), tmp_path / releases_file, tmp_path / "c.csv",
            *(options[1:] if name == "compare" else options), *extract, "--format", "json",
        )  # fmt: skip
        assert status == 0, err
        outputs.append(json.loads(out)["rows"])
    assert outputs[0] == outputs[1]


def test_grouping_by_a_reserved_column_is_a_usage_error_saying_why(tmp_path, cli):
    (tmp_path / "r.csv").write_text("offender_id,release_date,_release\nA,2022-03-01,x\n")
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nA,2022-05-01,2022-06-01\n")
    status, _out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2024-06-30",
                            "--by", "_release")  # fmt: skip
    assert status == 2 and "no column '_release'" in err and "reserved for reoffend's working columns" in err


RELEASES_WITH = (
    "offender_id,release_date,establishment,{column}\nA,2022-01-10,EST1,x\nB,2022-02-10,EST2,y\nC,2022-03-10,EST1,x\n"
)


@pytest.mark.parametrize("name", ["follow_up_end", "conviction_deadline"])
def test_a_release_column_named_like_a_window_column_filters_alike_in_sql_and_measure(name):
    """A date column called follow_up_end (or conviction_deadline) used in --where: the query carried it
    beside the window's own column of that name and counted 22 (or 15) reoffenders where measure counted 26.
    The query now takes the --where column no further than the filter."""
    import datetime as dt

    import duckdb
    import polars as pl

    from reoffend.measure import MeasureParams
    from reoffend.sql import SqlSource, measure_query, render
    from tests.sql_support import assert_same_table, python_rows
    from tests.test_sql import dataset

    releases, convictions, extract = dataset("sample")
    # a decoy date: a year before release, for every release of an odd-numbered person
    decoy = pl.col("release_date").str.to_date().dt.offset_by("-1y").cast(pl.String)
    releases = releases.with_columns(
        pl.when(pl.col("offender_id").str.slice(-1).is_in(list("13579"))).then(decoy).otherwise(None).alias(name)
    )
    chosen = tuple(releases[name].drop_nulls().unique().sort().to_list()[:400])
    params = MeasureParams(by=("cohort",), where={name: chosen}, incomplete="exclude")
    ours = python_rows(releases, convictions, params, extract_date=extract)
    con = duckdb.connect()
    for table, frame in (("releases", releases), ("convictions", convictions)):
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
        con.unregister("frame")
    theirs = con.sql(render(measure_query(params, SqlSource(extract_date=extract)), "duckdb")).pl()
    assert ours["reoffenders"].sum() > 0 and isinstance(extract, dt.date)
    assert_same_table(ours, theirs, f"--where {name}")


@pytest.mark.parametrize("name", ["follow_up_end", "reoffences", "cohort_size", "binary_rate", "reoffended"])
@pytest.mark.parametrize("command", ["measure", "sql"])
def test_grouping_by_a_column_reoffend_computes_is_a_usage_error(cli, folder, name, command):
    """measure --by follow_up_end grouped by the computed date, not the input's column, and --by reoffences
    exited 70 (two columns of one name). Both are 2 now, saying how to rename the input column."""
    write_csv(
        folder / "named.csv",
        RELEASES_WITH.format(column=name).replace(",x\n", ",2022-01-01\n").replace(",y\n", ",2023-01-01\n"),
    )
    inputs = (
        ("named.csv", "c.csv", *EXTRACT) if command == "measure" else ("--dialect", "duckdb", "--release-columns", name)
    )
    before = snapshot(folder)
    status, out, err = cli(
        command, *[folder / a if str(a).endswith(".csv") else a for a in inputs], "--by", f"cohort,{name}"
    )
    assert status == 2, err
    assert f"cannot group by {name!r}" in err and f"--map input_{name}={name}" in err and out == ""
    assert snapshot(folder) == before


def test_sql_refuses_a_reserved_working_column_name_as_measure_does(cli):
    status, out, err = cli("sql", "--dialect", "duckdb", "--release-columns", "_index_rank", "--where", "_index_rank=2")
    assert status == 2 and "no column '_index_rank'" in err and "reserved" in err and out == ""


RELEASES_NAMED = (
    "offender_id,release_date,Rate,p_adjusted,Compared\nA,2022-01-10,x,1,y\nB,2022-02-10,x,2,y\nC,2022-03-10,z,1,y\n"
)


@pytest.mark.parametrize(
    ("by", "header"),
    [
        ("Rate", "Rate (group)"),  # the measures' "Rate" header: was exit 70, "a table spec names a key ... twice"
        ("Compared", "Compared (group)"),
        ("p_adjusted", "p adjusted"),  # the key of the bulletin's adjusted p: was exit 70 too
    ],
)
def test_a_group_named_like_a_column_of_the_terminal_table_is_told_apart(cli, tmp_path, monkeypatch, by, header):
    monkeypatch.setenv("COLUMNS", "150")
    files = (write_csv(tmp_path / "r.csv", RELEASES_NAMED), write_csv(tmp_path / "c.csv", CONVICTIONS))
    status, out, err = cli("measure", *files, "--extract-date", "2030-01-01", "--by", by, "--format", "table")
    assert status == 0, err
    assert f"┃ {header} " in out and "┃ Released ┃" in out and "Rate ┃" in out


def test_with_groups_keeps_keys_and_headers_distinct():
    from reoffend.report.tables import Column, TableSpec, with_groups

    def cell(_row: object) -> str:
        return ""

    fixed = [Column("expected", "Expected", cell), Column("measure", "Measure", cell)]
    groups = [Column("expected", "Expected", cell), Column("Unit a", "Unit a", cell), Column("unit_a", "Unit a", cell)]
    spec = TableSpec(with_groups(groups, fixed))  # raised ValueError (exit 70) before
    assert spec.keys() == ["expected (group)", "Unit a", "unit_a", "expected", "measure"]
    assert spec.headers() == ["Expected (group)", "Unit a", "Unit a (group)", "Expected", "Measure"]


@pytest.mark.parametrize("name", ["p_value", "p_adjusted", "compared_unadjusted", "compared_with_all"])
def test_a_bulletin_establishment_column_named_like_a_computed_test_is_a_usage_error(cli, tmp_path, name):
    """Before: the release column was dropped for the computed one of that name: exit 70, "reconviction_events is
    18 in one table and 27 in establishments.csv" (an internal consistency check caught the mix-up)."""
    write_csv(tmp_path / "r.csv", RELEASES.replace("establishment", name))
    write_csv(tmp_path / "c.csv", CONVICTIONS)
    job = tmp_path / "job.toml"
    job.write_text(
        f'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[measure]\nestablishment = "{name}"\n'
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 2, err
    assert f"[measure] establishment: {name!r} is a column the bulletin computes for each establishment" in err
    assert f"[columns] establishment_{name} = {name!r}" in err and not (tmp_path / "b").exists()
