"""The spark dialect's query, run by Spark in local mode, gives measure's table (docs/sql.md).

One SparkSession for the whole test session, small data, few queries: these tests take well under a
minute. They skip, with the reason, when pyspark or a Java runtime is missing (`make test` installs
Debian's default-jre-headless when it can).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import polars as pl
import pytest

from reoffend.measure import MeasureParams
from reoffend.sql import SqlSource, measure_query, render, validation_query
from reoffend.synth import SynthParams, generate
from reoffend.window import FollowUpWindow

from .sql_support import Case, assert_same_table, cases, engine_tables, python_rows, with_appearances
from .test_sql import MONTH_END, MONTH_END_WINDOWS, engine_windows, validation_fixture, window_query

pytestmark = pytest.mark.spark


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[dev]')")
    if _java() is None:
        pytest.skip("no Java runtime for Spark (make test installs default-jre-headless when it runs as root)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("reoffend-sql-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.codegen.wholeStage", "false")  # small data: compiling costs more than it saves
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    assert pyspark.__version__
    yield session
    session.stop()


def spark_table(spark, frame: pl.DataFrame, name: str, folder) -> None:
    path = folder / f"{name.replace('.', '_')}.parquet"
    frame.write_parquet(path)
    if "." in name:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.split('.')[0]}")
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{path}'")
    else:
        spark.read.parquet(str(path)).createOrReplaceTempView(name)


def run_spark(spark, frames, case: Case, folder) -> pl.DataFrame:
    releases, convictions = engine_tables(frames, case.source)
    spark_table(spark, releases, case.source.releases_table, folder)
    spark_table(spark, convictions, case.source.convictions_table, folder)
    result = spark.sql(render(measure_query(case.params, case.source), "spark"))
    rows = [row.asDict() for row in result.collect()]
    return pl.DataFrame(rows, schema=dict.fromkeys(result.columns), orient="row") if rows else pl.DataFrame()


SYNTH = generate(SynthParams(releases=800, seed=23, establishments=12))


def test_spark_query_equals_measure_on_synth(spark, tmp_path):
    releases, convictions, meta = SYNTH
    extract = dt.date.fromisoformat(meta["extract_date"])
    chosen = {"by-establishment-excluded", "mapped-columns-and-tables"}  # the rest run in DuckDB; time is short
    establishments = tuple(sorted(releases["establishment"].unique().to_list()))
    for case in [c for c in cases(frozenset({"BREACH"}), establishments, extract) if c.name in chosen]:
        ours = python_rows(releases, convictions, case.params)
        assert_same_table(ours, run_spark(spark, (releases, convictions), case, tmp_path), f"spark/{case.name}")


def test_spark_query_with_appearances_where_and_latest_cohort(spark, tmp_path):
    releases, convictions, _ = SYNTH
    frames = with_appearances((releases, convictions))
    params = MeasureParams(
        by=("establishment",),
        period="month",
        index="all",
        where={"sex": ("F", "M")},
        latest_cohort=True,
        confidence=0.9,
        window=FollowUpWindow(6, 3),
    )
    case = Case("appearances", params, SqlSource(appearance_ids=True))
    assert_same_table(python_rows(*frames, params), run_spark(spark, frames, case, tmp_path), "spark/appearances")


def test_spark_month_end_windows_match_hand_worked(spark, tmp_path):
    path = tmp_path / "month_ends.parquet"
    MONTH_END.write_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("month_ends")
    for (follow_up, waiting), expected in MONTH_END_WINDOWS.items():
        query = render(window_query(FollowUpWindow(follow_up, waiting)), "spark")
        got = engine_windows([tuple(row) for row in spark.sql(query).collect()])
        assert got == expected, (follow_up, waiting)


def test_spark_validation_query_counts_bad_text_dates(spark, tmp_path):
    releases, convictions, expected = validation_fixture()
    spark_table(spark, releases, "releases", tmp_path)
    spark_table(spark, convictions, "convictions", tmp_path)
    params = MeasureParams(by=())
    rows = spark.sql(render(validation_query(params, SqlSource()), "spark")).collect()
    assert {(r.table_name, r.rule, r.column_name): r.problems for r in rows} == expected
