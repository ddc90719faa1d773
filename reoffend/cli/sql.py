"""``reoffend sql``: print the measure as one SQL query for a warehouse (docs/sql.md); a thin wrapper."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace

import click

from .. import __version__
from ..errors import OutputClosed, UsageError
from ..io import RESERVED_HINT, RESERVED_PREFIX, STDOUT, atomic_write, by_name
from ..sql import DIALECTS, SqlSource, header, known_release_columns, measure_query, render, validation_query
from .config import config_option
from .options import by_option, cohort_options, refuse_unused, window_options
from .output import check_output_options
from .parsing import parse_columns, parse_pairs
from .tables import check_names


@click.command()
@click.option("--dialect", type=click.Choice(DIALECTS), required=True, help="SQL dialect of the engine.")
@window_options
@cohort_options
@by_option
@click.option("--releases-table", default="releases", show_default=True, help="Table of releases ([schema.]table).")
@click.option(
    "--convictions-table", default="convictions", show_default=True, help="Table of convictions ([schema.]table)."
)
@click.option(
    "--releases-file",
    metavar="FILE",
    help="DuckDB: read the releases from FILE (.parquet, .csv, .tsv, .ndjson) in the query, not from a table.",
)
@click.option(
    "--convictions-file",
    metavar="FILE",
    help="DuckDB: read the convictions from FILE in the query, not from a table.",
)
@click.option(
    "--map",
    "column_map",
    multiple=True,
    metavar="NAME=COLUMN",
    help="Read COLUMN of the tables as NAME (e.g. release_date=date_out). Repeatable.",
)
@click.option(
    "--cohort-column",
    is_flag=True,
    help="The releases table has a cohort column: use it (measure does when its file has one), not --period.",
)
@click.option(
    "--appearance-ids",
    is_flag=True,
    help="The convictions table has appearance_id: reconviction events are distinct appearances, not dates.",
)
@click.option(
    "--extract-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date the data was extracted (default: the latest conviction_date in the table).",
)
@click.option(
    "--release-columns",
    metavar="COLS",
    help="Other columns of the releases table that --by and --where may name (the query cannot see the table; "
    "the columns of reoffend docs data and --map names need no declaring).",
)
@click.option(
    "--with-validation",
    is_flag=True,
    help="Also print a second query counting the problems per validation rule that SQL can check.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the SQL to FILE (atomically).")
@config_option
def sql(
    dialect,
    measurement,
    by,
    releases_table,
    convictions_table,
    releases_file,
    convictions_file,
    column_map,
    cohort_column,
    appearance_ids,
    extract_date,
    release_columns,
    with_validation,
    output,
    config,
):
    """Print the measure as one SQL query computing what `measure` computes with the same options.

    The query reads the tables where they are (Athena/Trino, Spark, BigQuery, DuckDB, Postgres) and returns
    the same columns and rows as `reoffend measure` (reoffend docs sql). Validation does not run in the
    query: --with-validation prints a second query that counts the problems per rule.
    """
    check_output_options(click.get_current_context().params)  # -o: creatable, not an input (as every command)
    params = replace(measurement, by=parse_columns(by, "--by"))
    if (releases_file or convictions_file) and dialect != "duckdb":
        raise UsageError(
            "--releases-file/--convictions-file: only DuckDB reads files in a query; load the files into tables "
            f"for {dialect} and name them with --releases-table/--convictions-table"
        )
    if releases_file:
        refuse_unused({"releases_table": "--releases-table"}, "give --releases-file or --releases-table, not both")
    if convictions_file:
        refuse_unused(
            {"convictions_table": "--convictions-table"}, "give --convictions-file or --convictions-table, not both"
        )
    source = SqlSource(
        releases_file=releases_file,
        convictions_file=convictions_file,
        releases_table=releases_table,
        convictions_table=convictions_table,
        column_map=parse_pairs(column_map, "--map"),
        cohort_column=cohort_column,
        appearance_ids=appearance_ids,
        extract_date=extract_date.date() if isinstance(extract_date, dt.datetime) else None,
    )
    if source.has_cohort:  # the table's cohort column gives the cohorts: a --period would change nothing
        refuse_unused({"period": "--period"}, "the table's cohort column gives the cohorts (--cohort-column, --map)")
    # a name the table may not have would exit 0 here and fail in the database: refused now, with the nearest
    known = known_release_columns(source, parse_columns(release_columns, "--release-columns"))
    after = "; declare another column of the releases table with --release-columns"
    reserved = [c for c in [*params.by, *params.where] if c.startswith(RESERVED_PREFIX)]
    if reserved:  # the query's own working columns start so, as measure's do
        raise UsageError(f"no column {reserved[0]!r} to group or filter by: {RESERVED_HINT}")
    check_names(params.by, known, "--by", after)
    check_names(list(params.where), known, "--where", after)
    if output == STDOUT:
        output = None  # `-o -`: standard output, as without -o
    text = header(params, source, dialect, __version__) + render(measure_query(params, source), dialect) + ";\n"
    if with_validation:
        text += (
            "\n-- validation: problems per rule (docs/data.md); every count should be 0\n"
            + render(validation_query(params, source), dialect)
            + ";\n"
        )
    if output:
        atomic_write(output, by_name(output, lambda handle: handle.write(text.encode())))  # q.sql.gz: gzip
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed("standard output was closed") from None
