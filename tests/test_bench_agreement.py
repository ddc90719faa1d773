"""The benchmark's DuckDB reference (bench/duckdb_measure.py) agrees with `reoffend measure` cell by cell.

The benchmark checks this at every size before timing; here it is checked quickly on a small synthetic
population and on a hand-made one built around the month-end rule, so a change to either side that breaks
the agreement fails the normal test suite rather than the next `make bench`. No timing is asserted.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate

duckdb = pytest.importorskip("duckdb")

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


duckdb_measure = _load("duckdb_measure")
run = _load("run")


def _both(tmp_path: Path, releases: pl.DataFrame, convictions: pl.DataFrame, fmt: str) -> tuple:
    paths = {}
    for name, frame in (("releases", releases), ("convictions", convictions)):
        paths[name] = tmp_path / f"{name}.{fmt}"
        frame.write_parquet(paths[name]) if fmt == "parquet" else frame.write_csv(paths[name])
    excluded = tmp_path / "excluded.txt"
    excluded.write_text("BREACH\n", encoding="utf-8")
    ours = measure(
        load_inputs(InputSpec(str(paths["releases"]), str(paths["convictions"]))),
        MeasureParams(by=("establishment", "cohort"), excluded_offences=frozenset({"BREACH"})),
    ).rows
    out = tmp_path / "duckdb.csv"
    assert duckdb_measure.main(["x", str(paths["releases"]), str(paths["convictions"]), str(excluded), str(out)]) == 0
    reference = pl.read_csv(out)
    # both as they would be written and read back by the benchmark
    ours_csv = tmp_path / "ours.csv"
    ours.write_csv(ours_csv)
    return pl.read_csv(ours_csv), reference


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_duckdb_reference_agrees_with_measure_on_synth(tmp_path, fmt):
    releases, convictions, _ = generate(SynthParams(releases=3000, seed=7, establishments=25))
    ours, reference = _both(tmp_path, releases, convictions, fmt)
    assert ours.height == 25 * 8
    assert run.compare_tables(ours, reference) is None
    assert ours["reoffenders"].sum() > 0


def test_duckdb_reference_agrees_on_month_ends_and_empty_groups(tmp_path):
    d = dt.date
    releases = pl.DataFrame(
        {
            "offender_id": ["A", "A", "B", "C", "D"],
            "release_date": [d(2024, 2, 29), d(2024, 3, 15), d(2023, 8, 31), d(2023, 8, 31), d(2024, 1, 10)],
            "establishment": ["E1", "E2", "E1", "E2", "E3"],
        }
    )
    convictions = pl.DataFrame(
        {
            "offender_id": ["A", "A", "A", "B", "B", "C", "D", "A"],
            # A: 2025-02-27 is in (end 2025-02-28, exclusive), 2025-02-28 is out; B: a conviction on the
            # deadline day (2025-02-28 from 2023-08-31 + 12 + 6 months) is out; C: a breach never counts;
            # D: nothing; the last row only sets the extract date
            "offence_date": [
                d(2025, 2, 27),
                d(2025, 2, 28),
                d(2024, 2, 29),
                d(2024, 8, 30),
                d(2024, 1, 1),
                d(2023, 9, 1),
                d(2020, 1, 1),
                d(2025, 12, 1),
            ],
            "conviction_date": [
                d(2025, 3, 1),
                d(2025, 3, 1),
                d(2024, 3, 1),
                d(2025, 2, 28),
                d(2024, 1, 1),
                d(2023, 9, 2),
                d(2020, 2, 1),
                d(2026, 1, 1),
            ],
            "offence_code": ["THEFT", "THEFT", "THEFT", "THEFT", "THEFT", "BREACH", "THEFT", "THEFT"],
        }
    )
    ours, reference = _both(tmp_path, releases, convictions, "csv")
    assert run.compare_tables(ours, reference) is None
    # A's index release in 2024Q1 is 2024-02-29 (2024-03-15 is the same cohort, later): two reoffences, events
    # on two conviction dates (2025-03-01 and 2024-03-01)
    a = ours.filter(pl.col("establishment") == "E1", pl.col("cohort") == "2024Q1").row(0, named=True)
    assert (a["cohort_size"], a["reoffences"], a["reconviction_events"]) == (1, 2, 2)
    # B: only the 2024-01-01 offence counts (the 2024-08-30 one is convicted on the deadline day)
    b = ours.filter(pl.col("establishment") == "E1", pl.col("cohort") == "2023Q3").row(0, named=True)
    assert (b["reoffences"], b["median_days_to_first"]) == (1, 123.0)
    # C and D: no reoffenders, so the per-reoffender ratios are null on both sides
    assert ours.filter(pl.col("reoffenders") == 0)["reoffences_per_reoffender"].null_count() == 2


def test_compare_tables_reports_a_difference():
    ours = pl.DataFrame({"g": ["a", "b"], "n": [1, 2], "rate": [0.5, None]})
    assert run.compare_tables(ours, ours.clone()) is None
    assert run.compare_tables(ours, ours.with_columns(pl.col("n") + pl.Series([0, 1]))).height == 1
    off = ours.with_columns(pl.col("rate") * (1 + 1e-9))
    assert run.compare_tables(ours, off).height == 1
    near = ours.with_columns(pl.col("rate") * (1 + 1e-15))
    assert run.compare_tables(ours, near) is None
    assert run.compare_tables(ours, ours.with_columns(pl.lit(0.5).alias("rate"))).height == 1


bare = _load("bare")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("ids", [("A", "B", "C"), ("P0000001", "P0000002", "P0000003")])  # text; 8 bytes: UInt64
def test_bare_plan_counts_by_hand(tmp_path, fmt, ids, capsys):
    """bench/bare.py, the bound's plan (no rules), counts what docs/measures.md's window says on a hand-made case.
    A released 2023-01-10 (offences from 2023-01-10 to before 2024-01-10, convicted before 2024-07-10): offences
    on 2023-03-01 and 2023-04-01 convicted 2023-05-01 and one on the release day itself (in: 3 pairs); a BREACH
    (excluded), one on 2024-01-10 (the window's end: out), one convicted on 2024-07-10 (the deadline: out). B
    released 2023-02-01: an offence on 2024-03-01 (after its 12 months: out). C released 2023-02-02: an offence on
    its release day (in: 1 pair)."""
    d = dt.date
    a, b, c = ids
    releases = pl.DataFrame(
        {
            "offender_id": [a, b, c],
            "release_date": [d(2023, 1, 10), d(2023, 2, 1), d(2023, 2, 2)],
            "establishment": ["E1", "E1", "E2"],
        }
    )
    convictions = pl.DataFrame(
        {
            "offender_id": [a, a, a, a, a, a, b, c],
            "offence_date": [
                d(2023, 3, 1), d(2023, 4, 1), d(2023, 1, 10), d(2023, 5, 1), d(2024, 1, 10), d(2023, 12, 1),
                d(2024, 3, 1), d(2023, 2, 2),
            ],
            "conviction_date": [
                d(2023, 5, 1), d(2023, 5, 1), d(2023, 2, 1), d(2023, 6, 1), d(2024, 2, 1), d(2024, 7, 10),
                d(2024, 4, 1), d(2023, 3, 1),
            ],
            "offence_code": ["THEFT", "THEFT", "THEFT", "BREACH", "THEFT", "THEFT", "THEFT", "THEFT"],
        }
    )  # fmt: skip
    paths = []
    for name, frame in (("releases", releases), ("convictions", convictions)):
        path = tmp_path / f"{name}.{fmt}"
        frame.write_parquet(path) if fmt == "parquet" else frame.write_csv(path)
        paths.append(str(path))
    excluded = tmp_path / "excluded.txt"
    excluded.write_text("# a comment line is no code\nBREACH\n", encoding="utf-8")
    assert bare.main(["bare", *paths, str(excluded), "--join-only"]) == 0
    assert capsys.readouterr().out.split() == ["4"]  # A's 3 and C's 1
    assert bare.main(["bare", *paths, str(excluded)]) == 0
    # groups (E1, 2023Q1) of A and B, (E2, 2023Q1) of C; 3 releases; 2 reoffenders (A, C)
    assert capsys.readouterr().out.split() == ["2", "3", "2"]


def test_bound_table_ratios():
    """The bound table divides what it says: 0.9 / 0.3 = 3.00 x the floor, 0.9 / 1.8 = 0.50 x DuckDB."""
    summary = {
        "size": 1_000_000, "format": "parquet", "floor_wall": 0.3, "floor_cpu": 0.4, "duckdb_wall": 1.8,
        "duckdb_mib": 500.0, "measure_wall": 1.2, "measure_cpu": 1.6, "bare_wall": 0.9, "bare_cpu": 1.2,
        "bare_mib": 250.0, "join_wall": 0.6, "join_cpu": 0.8,
    }  # fmt: skip
    row = run.bound([summary]).splitlines()[2]
    # join 0.6/0.3, bare 0.9/0.3, measure 1.2/0.3, bare/DuckDB 0.9/1.8, measure/DuckDB 1.2/1.8, memory 250/500,
    # join CPU 0.8/0.4, bare CPU 1.2/0.4, measure/bare CPU 1.6/1.2
    assert row == "| 1,000,000 | parquet | 2.00 | 3.00 | 4.00 | 0.50 | 0.67 | 0.50 | 2.00 | 3.00 | 1.33 |"


bare_nowcast = _load("bare_nowcast")


def test_bare_nowcast_at_an_origin_by_hand():
    """bench/bare_nowcast.py's chain-ladder step at 2024-06-30. The reference (complete by then, released
    2022-01-01): R0 convicted on day 40 (2 offences, 1 event) and day 100 (1 offence, 1 event), R1 never, R2 on day
    100 (3 offences, 1 event). In follow-up: R3, 30 days observed (released 2024-06-01), nothing seen: unseen at day
    30 are R0, R1 and R2, of whom 2 reoffended with 3 + 3 = 6 offences and 2 + 1 = 3 events, so q = 2/3, 6/3
    offences, 3/3 events. R4, 100 days observed (released 2024-03-23), convicted on the origin itself (day 99, 1
    offence, 1 event: seen): seen before day 100 is R0 alone (R2's first day, 100, is not before it), whose
    further offences are 3 - 2 (those before day 100) = 1 and events 2 - 1 = 1: 1 + 1 offences, 1 + 1 events."""
    d = dt.date
    release_dates = [d(2022, 1, 1), d(2022, 1, 1), d(2022, 1, 1), d(2024, 6, 1), d(2024, 3, 23)]
    releases = (
        pl.DataFrame({"release_date": release_dates})
        .with_row_index("_release")
        .with_columns(
            cohort=pl.col("release_date").dt.truncate("3mo"), deadline=pl.col("release_date").dt.offset_by("18mo")
        )
    )
    events = pl.DataFrame(
        {
            "_release": [0, 0, 2, 4],
            "_day": [40, 100, 100, 99],
            "conviction_date": [d(2022, 2, 10), d(2022, 4, 11), d(2022, 4, 11), d(2024, 6, 30)],
            "offences": [2, 1, 3, 1],
        },
        schema_overrides={"_release": pl.UInt32, "offences": pl.UInt32},
    )
    columns = ("cohort", "releases", "reoffenders", "reoffences", "events")
    figures = bare_nowcast.at_origin(releases, events, d(2024, 6, 30)).sort("cohort").select(columns)
    assert figures.rows() == [(d(2024, 1, 1), 1, 1.0, 2.0, 2.0), (d(2024, 4, 1), 1, pytest.approx(2 / 3), 2.0, 1.0)]
    # on 2024-06-14, before R4's conviction: R3 is 14 days observed, q(14) = 2/3 (R0, R1, R2 all unseen at 14); R4 is
    # 84 days observed and unseen, q(84) = 1 / (1 + 1) (R2, first seen on day 100, and R1; R0 was seen before 84)
    earlier = bare_nowcast.at_origin(releases, events, d(2024, 6, 14)).sort("cohort")
    assert earlier.select("releases", "reoffenders").rows() == [(1, 0.5), (1, pytest.approx(2 / 3))]
    # on 2024-07-10: R3 is 40 days observed, unseen: R0 (first seen on day 40 itself) is not yet seen at 40, so q(40)
    # = 2/3 with 6/3 offences and 3/3 events; R4 (110 days) is seen, and R0 and R2 were seen before day 110 with
    # every one of their 6 offences and 3 events before it: nothing further
    later = bare_nowcast.at_origin(releases, events, d(2024, 7, 10)).sort("cohort").select(columns)
    assert later.rows() == [(d(2024, 1, 1), 1, 1.0, 1.0, 1.0), (d(2024, 4, 1), 1, pytest.approx(2 / 3), 2.0, 1.0)]


def test_bare_nowcast_reaches_the_longest_follow_up():
    """Released 2023-07-31, a release's deadline is 2025-01-31 (18 months, 550 days): on 2025-01-30 it is still in
    follow-up, observed for 550 days, the longest any release can be; its day's row must be in the table (a table of
    549 days failed to gather it). Unseen, and the reference's one reoffender first seen on day 300 < 550: q = 0."""
    d = dt.date
    releases = (
        pl.DataFrame({"release_date": [d(2022, 1, 1), d(2022, 1, 1), d(2023, 7, 31)]})
        .with_row_index("_release")
        .with_columns(
            cohort=pl.col("release_date").dt.truncate("3mo"), deadline=pl.col("release_date").dt.offset_by("18mo")
        )
    )
    events = pl.DataFrame(
        {"_release": [0], "_day": [300], "conviction_date": [d(2022, 10, 28)], "offences": [1]},
        schema_overrides={"_release": pl.UInt32, "offences": pl.UInt32},
    )
    figures = bare_nowcast.at_origin(releases, events, d(2025, 1, 30))
    assert figures.select("releases", "reoffenders").rows() == [(1, 0.0)]
