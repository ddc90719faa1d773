"""Where does `reoffend measure` spend its time? An in-process stage breakdown (not a timed test).

Usage: python bench/profile_measure.py RELEASES CONVICTIONS [EXCLUDED_OFFENCES_FILE]

Runs the same calls as ``reoffend measure --by establishment,cohort`` (load_inputs, then measure), timing
each stage, then a few stand-alone variants of the expensive steps so alternatives can be compared on the
same data in the same process. Prints Markdown.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import polars as pl

from reoffend.inputs import InputSpec
from reoffend.io import TableSource, read_code_list, read_table
from reoffend.measure import MeasureParams, measure, measured_releases, per_release, proven_reoffences
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs

TIMES: list[tuple[str, float, float]] = []


@contextmanager
def stage(name: str):
    start, cpu = time.perf_counter(), time.process_time()
    yield
    TIMES.append((name, time.perf_counter() - start, time.process_time() - cpu))


def main(argv: list[str]) -> int:
    releases_path, convictions_path = argv[1], argv[2]
    excluded = read_code_list(argv[3]) if len(argv) > 3 else frozenset()
    spec = InputSpec(releases_path, convictions_path)
    params = MeasureParams(by=("establishment", "cohort"), excluded_offences=excluded)

    total_start = time.perf_counter()
    # as load_inputs does: Parquet is scanned at each pass, CSV parsed once into memory
    lazy = releases_path.endswith(".parquet")
    with stage("open both files (CSV: parse into memory; Parquet: schema only, read by each pass)"):
        releases = Table(spec.releases, RELEASES, read_table(TableSource(spec.releases), lazy=lazy), in_memory=not lazy)
        convictions = Table(
            spec.convictions, CONVICTIONS, read_table(TableSource(spec.convictions), lazy=lazy), in_memory=not lazy
        )
    with stage("validate (typed frames, extract date, rule counts; Parquet: reading the columns it checks)"):
        inputs = validate_inputs(releases, convictions)
    with stage("measure (index releases, window, join, group-by)"):
        result = measure(inputs, params)
    total = time.perf_counter() - total_start
    rows = result.rows

    print(f"### Stage breakdown: {releases_path}\n")
    total_cpu = sum(cpu for _, _, cpu in TIMES)
    print("| stage | wall s | share of wall | CPU s (all threads) | share of CPU |\n|---|---:|---:|---:|---:|")
    for name, seconds, cpu in TIMES:
        print(f"| {name} | {seconds:.2f} | {100 * seconds / total:.0f}% | {cpu:.2f} | {100 * cpu / total_cpu:.0f}% |")
    print(f"| total (in-process, no start-up or output) | {total:.2f} | 100% | {total_cpu:.2f} | 100% |\n")

    # ---- the parts of the measure, each collected alone (they overlap in the real plan)
    parts: list[tuple[str, float]] = []

    def timed(name, fn):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        parts.append((name, time.perf_counter() - start, time.process_time() - cpu))
        return out

    measured, _ = measured_releases(inputs, params)
    index = timed("index releases + window + completeness check (collect)", lambda: measured.collect())
    convs = proven_reoffences(inputs.convictions, excluded)
    timed("proven_reoffences (exclusion filter, collect)", lambda: convs.collect())
    index_lazy = index.lazy()
    audit = per_release(index_lazy, convs, params.by)
    timed("per_release from materialised index releases (join, filter, group-by)", lambda: audit.collect())
    joined = index_lazy.select("offender_id", "release_date", "follow_up_end", "conviction_deadline").join(
        convs, on="offender_id"
    )
    timed("  the join alone (rows kept)", lambda: joined.select(pl.len()).collect())
    print("| part (each collected alone) | wall s | CPU s |\n|---|---:|---:|")
    for name, seconds, cpu in parts:
        print(f"| {name} | {seconds:.2f} | {cpu:.2f} |")
    print(f"\n{rows.height} output rows\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
