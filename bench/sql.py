"""`reoffend sql` at scale: the DuckDB and Spark queries agree with `reoffend measure`. Prints a Markdown section.

Usage: python bench/sql.py [--releases 1000000] [--engines duckdb,spark]

On `reoffend synth --seed 1` data (Parquet, the benchmark's own files under bench/data/r<N>/parquet,
generated if missing), runs `reoffend measure --by establishment,cohort --exclude-offences X` and the
query printed by `reoffend sql --dialect D` with the same options, in DuckDB and in Spark local mode (all
cores, default settings but for the UI), and compares the tables cell by cell (counts and labels exactly,
ratios to a relative 1e-12, nulls in the same places). Wall times are of each whole step, for orientation
only (Spark's includes starting its JVM). Exits 1 if a table differs; an engine that is not installed is
reported as skipped.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("reoffend")
OPTIONS = ["--by", "establishment,cohort"]


def ensure_data(releases: int) -> tuple[Path, Path, Path]:
    folder = ROOT / "bench" / "data" / f"r{releases}" / "parquet"
    excluded = ROOT / "bench" / "data" / "excluded_offences.txt"
    if not excluded.exists():
        excluded.parent.mkdir(parents=True, exist_ok=True)
        excluded.write_text("# breach of licence is a recall matter, not a new offence\nBREACH\n", encoding="utf-8")
    if not (folder / "releases.parquet").exists() or not (folder / "convictions.parquet").exists():
        partial = folder.with_name("parquet.partial")
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [str(BIN), "synth", "--releases", str(releases), "--seed", "1", "--format", "parquet"]
        subprocess.run([*cmd, "--out", str(partial), "-q"], check=True)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder / "releases.parquet", folder / "convictions.parquet", excluded


def differences(ours: pl.DataFrame, theirs: pl.DataFrame) -> list[str]:
    """Cells that differ: counts and text exactly, doubles to a relative 1e-12 (absolute near 0)."""
    if ours.columns != theirs.columns:
        return [f"columns differ: {ours.columns} != {theirs.columns}"]
    if ours.height != theirs.height:
        return [f"{ours.height} rows != {theirs.height} rows"]
    found = []
    for column in ours.columns:
        for row, (a, b) in enumerate(zip(ours[column].to_list(), theirs[column].to_list(), strict=True)):
            if (a is None) != (b is None):
                found.append(f"{column}[{row}]: {a} != {b}")
            elif isinstance(a, float) and isinstance(b, float | int):
                if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12):
                    found.append(f"{column}[{row}]: {a!r} != {b!r}")
            elif a is not None and str(a) != str(b):
                found.append(f"{column}[{row}]: {a!r} != {b!r}")
    return found


def query(dialect: str, excluded: Path) -> str:
    done = subprocess.run(
        [str(BIN), "sql", "--dialect", dialect, *OPTIONS, "--exclude-offences", str(excluded)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().rstrip(";")


def run_duckdb(releases: Path, convictions: Path, sql: str, schema) -> tuple[pl.DataFrame, str]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW releases AS SELECT * FROM read_parquet('{releases}')")
    con.execute(f"CREATE VIEW convictions AS SELECT * FROM read_parquet('{convictions}')")
    return pl.DataFrame(con.execute(sql).fetchall(), schema=schema, orient="row"), f"DuckDB {duckdb.__version__}"


def run_spark(releases: Path, convictions: Path, sql: str, schema) -> tuple[pl.DataFrame, str]:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .appName("reoffend-bench-sql")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        spark.read.parquet(str(releases)).createOrReplaceTempView("releases")
        spark.read.parquet(str(convictions)).createOrReplaceTempView("convictions")
        rows = [tuple(row) for row in spark.sql(sql).collect()]
        version = spark.version
    finally:
        spark.stop()
    return pl.DataFrame(rows, schema=schema, orient="row"), f"Spark {version}, local mode"


def available(engine: str) -> str | None:
    """None if the engine can run here, else why not."""
    module = "duckdb" if engine == "duckdb" else "pyspark"
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed"
    if engine == "spark" and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java runtime"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--engines", default="duckdb,spark")
    args = parser.parse_args(argv)
    releases, convictions, excluded = ensure_data(args.releases)
    with tempfile.TemporaryDirectory(prefix="reoffend-bench-sql-") as tmp:
        out = Path(tmp) / "measure.csv"
        started = time.perf_counter()
        cmd = [str(BIN), "measure", str(releases), str(convictions), *OPTIONS, "--exclude-offences", str(excluded)]
        subprocess.run([*cmd, "--format", "csv", "-o", str(out), "-q"], check=True)
        measure_wall = time.perf_counter() - started
        ours = pl.read_csv(out, schema_overrides={"cohort": pl.String})
    lines = [
        f"## `reoffend sql` at {args.releases:,} releases",
        "",
        f"`reoffend measure {' '.join(OPTIONS)} --exclude-offences X` against the query of "
        "`reoffend sql --dialect D` with the same options, on the same Parquet files; compared cell by cell "
        f"(counts exactly, ratios to a relative 1e-12). {ours.height} rows. Python {platform.python_version()}.",
        "",
        "| engine | agreement with measure | wall time (s) |",
        "|---|---|---|",
        f"| `reoffend measure` (polars) | - | {measure_wall:.1f} |",
    ]
    failed = False
    for engine in args.engines.split(","):
        reason = available(engine)
        if reason:
            lines.append(f"| {engine} | skipped: {reason} | - |")
            continue
        sql = query(engine, excluded)
        started = time.perf_counter()
        runner = run_duckdb if engine == "duckdb" else run_spark
        theirs, name = runner(releases, convictions, sql, ours.schema)
        wall = time.perf_counter() - started
        found = differences(ours, theirs)
        if found:
            failed = True
            lines.append(f"| {name} | **differs** in {len(found)} cells, e.g. {'; '.join(found[:3])} | {wall:.1f} |")
        else:
            lines.append(f"| {name} | every cell agrees | {wall:.1f} |")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
