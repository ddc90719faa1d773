"""Where does `reoffend measure` spend its time? An in-process stage breakdown (not a timed test).

Usage: python bench/profile_measure.py RELEASES CONVICTIONS [EXCLUDED_OFFENCES_FILE]

Runs the same calls as ``reoffend measure --by establishment,cohort`` (load_inputs, then measure), timing
each stage, then a few stand-alone variants of the expensive steps so alternatives can be compared on the
same data in the same process. Prints Markdown.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from reoffend.inputs import InputSpec, _table, load_inputs
from reoffend.io import read_code_list
from reoffend.measure import (
    RELEASE_KEY,
    MeasureParams,
    cohort_period,
    grouped_measures,
    measure,
    measured_releases,
    per_release,
    person_key,
    proven_pairs,
    proven_reoffences,
)
from reoffend.validate import CONVICTIONS, RELEASES, _typed_in_memory, input_warnings
from reoffend.window import CONVICTION_DEADLINE, FOLLOW_UP_END

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/timing.py
from timing import compile_package, run_timed

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

    compile_package()  # the start-up row timed as installed
    total_start = time.perf_counter()
    # as reoffend measure does: Parquet is scanned at each pass, CSV typed as it is read into memory
    with stage("read and validate (load_inputs; CSV: typed as read; Parquet: reading the columns it checks)"):
        inputs = load_inputs(spec)
    with stage("input warnings (an id that matches, the excluded codes present)"):
        input_warnings(inputs, excluded)
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
    audit = per_release(index_lazy, convs, params.by, person_key(inputs))
    timed("per_release from materialised index releases (join, filter, group-by)", lambda: audit.collect())
    joined = proven_pairs(index_lazy.with_row_index(RELEASE_KEY), convs, person_key(inputs))
    timed("  the join alone, with the window test (rows kept)", lambda: joined.select(pl.len()).collect())
    print("| part (each collected alone) | wall s | CPU s |\n|---|---:|---:|")
    for name, seconds, cpu in parts:
        print(f"| {name} | {seconds:.2f} | {cpu:.2f} |")
    print(f"\n{rows.height} output rows\n")
    print(stage_breakdown(releases_path, convictions_path, inputs, params, argv[3] if len(argv) > 3 else None))
    return 0


# ------------------------------------------------------------------------------ breakdown by stage, both sides
def best_cpu(fn, repeat: int = 3) -> float:
    """The least CPU time (all threads) of ``repeat`` runs of ``fn``: the load of a shared machine only adds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def startup_cpu(cmd: list[str], repeat: int = 3) -> float:
    return min(run_timed(cmd).cpu for _ in range(repeat))


def stage_breakdown(releases_path: str, convictions_path: str, inputs, params: MeasureParams, excluded) -> str:
    """CPU seconds of each stage of `reoffend measure` and of the DuckDB query, side by side.

    reoffend: each stage is a prefix of the real plan collected alone (best of 3), less the prefix before it
    and less the reading of the inputs (the read row), so the stages add up to the whole; the plan's stages
    overlap when run together, so this is the work each adds, not its wall time. DuckDB: its own profiler's
    operator timings (summed over threads), grouped by operator type and scaled to the CPU time of an
    unprofiled run of the same query.
    """
    parquet = releases_path.endswith(".parquet")
    fmt = "parquet" if parquet else "csv"
    release_columns = ["offender_id", "release_date", *[c for c in params.by if c != "cohort"]]

    conviction_columns = ["offender_id", "offence_date", "conviction_date", "offence_code"]

    spec = InputSpec(releases_path, convictions_path)

    def read_releases():
        if parquet:
            return pl.scan_parquet(releases_path).select(release_columns).collect()
        return _typed_in_memory(_table(releases_path, RELEASES, spec))  # CSV: scanned and typed as read

    def read_convictions():
        if parquet:
            return pl.scan_parquet(convictions_path).select(conviction_columns).collect()
        return _typed_in_memory(_table(convictions_path, CONVICTIONS, spec))

    measured, _ = measured_releases(inputs, params)
    convictions = proven_reoffences(inputs.convictions, params.excluded_offences)
    keyed = measured.with_row_index(RELEASE_KEY)
    person = person_key(inputs)
    result = grouped_measures(
        measured, convictions, params.by, params.confidence, person, cohort_period(inputs, params)
    )
    rows = result.collect()
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/out.csv"
        read_r, read_c = best_cpu(read_releases), best_cpu(read_convictions)
        # CSV: validation works on the frames parsed in memory (the read row); Parquet: it reads the columns
        # it checks itself, a reading the measure does again in its own passes (the read row)
        validated = best_cpu(lambda: load_inputs(spec)) - (0.0 if parquet else read_r + read_c)
        codes = read_code_list(excluded) if excluded else frozenset()
        ours = {
            "start-up (`import reoffend.cli` and the measure command)": startup_cpu(
                [sys.executable, "-c", "import reoffend.cli, reoffend.cli.measure"]
            ),
            "read (CSV: parse both files and type them in memory; Parquet: the measure's columns)": read_r + read_c,
            "validate (Parquet: with its own reading of the columns it checks)": max(validated, 0.0),
            "input warnings (an id that matches, the excluded codes present)": best_cpu(
                lambda: input_warnings(inputs, codes)
            ),
        }
        scanned = 0.0 if not parquet else read_r  # the measure's passes below include their Parquet reading
        # only the columns the measure's plan reads of the index releases: collecting the frame whole would also
        # make the cohort label of every release, which the plan never computes (0.45 CPU s at 5,000,000)
        used = [*release_columns, FOLLOW_UP_END, CONVICTION_DEADLINE]
        index = best_cpu(lambda: measured.select(used).collect())
        convicted = best_cpu(lambda: convictions.collect())
        joined = best_cpu(lambda: proven_pairs(keyed, convictions, person).select(pl.len()).collect())
        whole = best_cpu(lambda: result.collect())
        ours["index releases (cohort, earliest release, window columns)"] = max(index - scanned, 0.0)
        ours["conviction filter (excluded offences)"] = max(convicted - (read_c if parquet else 0.0), 0.0)
        ours["join (with the window test)"] = max(joined - index - convicted, 0.0)
        ours["group-bys (per release, per group, the median)"] = max(whole - joined, 0.0)
        ours["write (the CSV table)"] = best_cpu(lambda: rows.write_csv(out))

        duck_total = startup_cpu(
            [
                sys.executable,
                str(Path(__file__).parent / "duckdb_measure.py"),
                releases_path,
                convictions_path,
                excluded or "/dev/null",
                f"{tmp}/d.csv",
            ]
        )
        duck_start = startup_cpu([sys.executable, "-c", "import duckdb"])
        operators = duckdb_operator_times(releases_path, convictions_path, excluded, f"{tmp}/p.csv")
    busy = sum(operators.values()) or 1.0
    scale = max(duck_total - duck_start, 0.0) / busy
    lines = [
        f"### Breakdown by stage: CPU seconds, {fmt}",
        "",
        stage_breakdown.__doc__.split("\n\n", 1)[1].replace("\n    ", " ").strip(),
        "",
        "| reoffend measure: stage | CPU s | share |",
        "|---|---:|---:|",
    ]
    total = sum(ours.values())
    lines += [f"| {name} | {cpu:.2f} | {100 * cpu / total:.0f}% |" for name, cpu in ours.items()]
    lines += [f"| total | {total:.2f} | 100% |", ""]
    lines += ["| DuckDB SQL: stage (operator type) | CPU s | share |", "|---|---:|---:|"]
    duck = {"start-up (`import duckdb`)": duck_start}
    duck.update({name: seconds * scale for name, seconds in operators.items()})
    duck_sum = sum(duck.values())
    lines += [f"| {name} | {cpu:.2f} | {100 * cpu / duck_sum:.0f}% |" for name, cpu in duck.items()]
    lines += [f"| total (one unprofiled run) | {duck_total:.2f} | 100% |", ""]
    return "\n".join(lines)


DUCK_STAGES = {
    "TABLE_SCAN": "read (parquet/csv scan)",
    "READ_PARQUET": "read (parquet/csv scan)",
    "READ_CSV": "read (parquet/csv scan)",
    "READ_CSV_AUTO": "read (parquet/csv scan)",
    "HASH_JOIN": "joins (releases x convictions; counts back to releases)",
    "HASH_GROUP_BY": "group-bys (index releases, per release, distinct dates, per group)",
    "PERFECT_HASH_GROUP_BY": "group-bys (index releases, per release, distinct dates, per group)",
    "CTE": "materialised CTEs (index releases, counted)",
    "CTE_SCAN": "materialised CTEs (index releases, counted)",
    "BATCH_COPY_TO_FILE": "write (the CSV table)",
    "COPY_TO_FILE": "write (the CSV table)",
}


def duckdb_operator_times(releases: str, convictions: str, excluded, output: str) -> dict[str, float]:
    """Operator seconds of the DuckDB reference query, by stage, from DuckDB's JSON profile."""
    import json
    from statistics import NormalDist

    sys.path.insert(0, str(Path(__file__).parent))
    import duckdb_measure

    con = duckdb_measure.duckdb.connect()
    profile = f"{output}.json"
    con.execute("PRAGMA enable_profiling='json'")
    con.execute(f"PRAGMA profiling_output='{profile}'")
    codes = duckdb_measure.read_codes(excluded) if excluded else []
    sql = duckdb_measure.query(releases, convictions, codes, NormalDist().inv_cdf(0.975))
    con.execute(f"COPY ({sql}) TO '{output}' (HEADER, DELIMITER ',')")
    con.close()
    times: dict[str, float] = {}

    def walk(node: dict) -> None:
        kind = node.get("operator_type") or node.get("type") or ""
        name = node.get("operator_name") or node.get("name") or ""
        stage = DUCK_STAGES.get(name) or DUCK_STAGES.get(kind) or "expressions, filters, sorts"
        times[stage] = times.get(stage, 0.0) + float(node.get("operator_timing", node.get("timing", 0.0)) or 0.0)
        for child in node.get("children", []):
            walk(child)

    with open(profile, encoding="utf-8") as handle:
        tree = json.load(handle)
    for child in tree.get("children", tree.get("operator", [])):
        walk(child)
    return times


if __name__ == "__main__":
    sys.exit(main(sys.argv))
